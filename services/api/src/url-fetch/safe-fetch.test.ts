import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { fetchDocument, isAddressBlocked, type SafeFetchOptions } from './safe-fetch.ts';

// Every server listens on 127.0.0.1; every refusal case must fail before connecting, so nothing
// in this file ever talks to a non-loopback address.

interface TestServer {
  origin: string;
  port: number;
  requests: http.IncomingMessage[];
}

const servers: http.Server[] = [];

async function startServer(handler: (req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
  const requests: http.IncomingMessage[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req);
    handler(req, res);
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { origin: `http://127.0.0.1:${port}`, port, requests };
}

afterEach(async () => {
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

const LOOPBACK: SafeFetchOptions = { allowList: ['127.0.0.0/8'], maxBytes: 1024, timeoutMs: 2000 };
const STRICT: SafeFetchOptions = { allowList: [], maxBytes: 1024, timeoutMs: 2000 };

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/** A lookup override that records the names asked for and answers from a fixed table. */
function fakeDns(table: Record<string, string[]>): { lookup: NonNullable<SafeFetchOptions['lookup']>; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    lookup: async (hostname) => {
      asked.push(hostname);
      const answers = table[hostname];
      if (answers === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
      return answers.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
    },
  };
}

const PDF = Buffer.from('%PDF-1.7\n1 0 obj\n<<>>\nendobj\n%%EOF\n');

describe('isAddressBlocked', () => {
  it.each([
    // IPv4 special-purpose ranges, edges included
    ['0.0.0.0', true],
    ['0.255.255.255', true],
    ['10.0.0.1', true],
    ['10.255.255.255', true],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['169.254.169.254', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.0.0.8', true],
    ['192.0.2.1', true],
    ['192.168.1.1', true],
    ['198.18.0.1', true],
    ['198.19.255.255', true],
    ['198.51.100.7', true],
    ['203.0.113.9', true],
    ['224.0.0.1', true],
    ['239.255.255.250', true],
    ['240.0.0.1', true],
    ['255.255.255.255', true],
    // public IPv4, including neighbours of the blocked ranges
    ['8.8.8.8', false],
    ['1.1.1.1', false],
    ['9.255.255.255', false],
    ['11.0.0.0', false],
    ['100.63.255.255', false],
    ['100.128.0.0', false],
    ['172.15.255.255', false],
    ['172.32.0.0', false],
    ['192.0.3.1', false],
    ['198.17.255.255', false],
    ['198.20.0.0', false],
    ['223.255.255.255', false],
    // IPv6
    ['::', true],
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true],
    ['fc00::1', true],
    ['fd00:ec2::254', true],
    ['fe80::1', true],
    ['fe80::1%eth0', true],
    ['febf::1', true],
    ['ff02::1', true],
    ['2001:db8::1', true],
    ['64:ff9b::a00:1', true],
    ['64:ff9b::8.8.8.8', true],
    // IPv4 embedded in IPv6 is judged as the IPv4 address
    ['::ffff:127.0.0.1', true],
    ['::ffff:7f00:1', true],
    ['::ffff:169.254.169.254', true],
    ['::ffff:10.0.0.1', true],
    ['::127.0.0.1', true],
    ['2002:7f00:1::', true],
    ['::ffff:8.8.8.8', false],
    ['2002:808:808::1', false],
    // public IPv6
    ['2606:4700::1111', false],
    ['2001:4860:4860::8888', false],
    ['2a00:1450:4001:82b::200e', false],
    ['[2606:4700::1111]', false],
    // not addresses at all: fail closed
    ['', true],
    ['example.com', true],
    ['127.1', true],
    ['1.2.3.4.5', true],
  ])('%s -> %s', (address, blocked) => {
    expect(isAddressBlocked(address)).toBe(blocked);
  });
});

describe('fetchDocument: refusals before any connection', () => {
  it('refuses a loopback URL without an allow-list entry, and never connects', async () => {
    const server = await startServer((_req, res) => res.end(PDF));
    await expect(fetchDocument(`${server.origin}/doc.pdf`, STRICT)).rejects.toMatchObject({ code: 'url_not_allowed' });
    expect(server.requests).toHaveLength(0);
  });

  it.each([
    ['hex/short IPv4', (port: number) => `http://0x7f.1:${port}/`],
    ['decimal IPv4', (port: number) => `http://2130706433:${port}/`],
    ['octal IPv4', (port: number) => `http://017700000001:${port}/`],
    ['IPv4-mapped IPv6', (port: number) => `http://[::ffff:127.0.0.1]:${port}/`],
    ['IPv6 loopback', (port: number) => `http://[::1]:${port}/`],
    ['unspecified', (port: number) => `http://0.0.0.0:${port}/`],
  ])('refuses the %s spelling of a local address', async (_name, makeUrl) => {
    const server = await startServer((_req, res) => res.end(PDF));
    await expect(fetchDocument(makeUrl(server.port), STRICT)).rejects.toMatchObject({ code: 'url_not_allowed' });
    expect(server.requests).toHaveLength(0);
  });

  it.each(['ftp://example.com/doc.pdf', 'file:///etc/passwd', 'data:application/pdf;base64,JVBERi0=', 'javascript:alert(1)', 'gopher://127.0.0.1:6379/_INFO'])(
    'refuses the scheme of %s',
    async (url) => {
      await expect(fetchDocument(url, LOOPBACK)).rejects.toMatchObject({ code: 'url_not_allowed' });
    },
  );

  it('refuses something that is not a URL', async () => {
    await expect(fetchDocument('not a url', LOOPBACK)).rejects.toMatchObject({ code: 'url_not_allowed' });
  });

  it('refuses credentials in the URL without echoing them', async () => {
    const server = await startServer((_req, res) => res.end(PDF));
    const err = await fetchDocument(`http://alice:s3cret@127.0.0.1:${server.port}/doc.pdf`, LOOPBACK).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'url_not_allowed' });
    expect(String((err as Error).message)).not.toContain('s3cret');
    expect(server.requests).toHaveLength(0);
  });

  it('refuses a hostname that resolves to a private address', async () => {
    const dns = fakeDns({ 'files.example': ['10.0.0.5'] });
    await expect(fetchDocument('http://files.example/doc.pdf', { ...STRICT, lookup: dns.lookup })).rejects.toMatchObject({
      code: 'url_not_allowed',
    });
    expect(dns.asked).toEqual(['files.example']);
  });

  it('refuses a hostname when any one of its addresses is private, without revealing it', async () => {
    const dns = fakeDns({ 'mixed.example': ['93.184.216.34', '2606:4700::1111', 'fd00:ec2::254'] });
    const err = await fetchDocument('http://mixed.example/doc.pdf', { ...STRICT, lookup: dns.lookup }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'url_not_allowed' });
    expect(String((err as Error).message)).not.toContain('fd00');
  });

  it.each(['http://localhost/', 'http://LOCALHOST./x.pdf', 'http://api.localhost/', 'http://metadata.google.internal/computeMetadata/v1/'])(
    'refuses %s by name, before any DNS lookup',
    async (url) => {
      // Even a lookup that claims a public address must not be consulted.
      const dns = fakeDns({ localhost: ['8.8.8.8'], 'api.localhost': ['8.8.8.8'], 'metadata.google.internal': ['8.8.8.8'] });
      await expect(fetchDocument(url, { ...STRICT, lookup: dns.lookup })).rejects.toMatchObject({ code: 'url_not_allowed' });
      expect(dns.asked).toEqual([]);
    },
  );

  it('reports an unresolvable host as url_fetch_failed', async () => {
    const dns = fakeDns({});
    await expect(fetchDocument('http://nowhere.example/doc.pdf', { ...STRICT, lookup: dns.lookup })).rejects.toMatchObject({
      code: 'url_fetch_failed',
    });
  });

  it('rejects a malformed allow-list entry instead of ignoring it', async () => {
    await expect(fetchDocument('http://127.0.0.1/', { ...STRICT, allowList: ['127.0.0.0/33'] })).rejects.toThrow(/allow-list/);
  });
});

describe('fetchDocument: allowed fetches', () => {
  it('fetches from loopback when 127.0.0.0/8 is allow-listed', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf', 'content-length': PDF.length });
      res.end(PDF);
    });
    const doc = await fetchDocument(`${server.origin}/files/report.pdf?sig=abc`, LOOPBACK);
    expect(await readAll(doc.stream)).toEqual(PDF);
    expect(doc.contentType).toBe('application/pdf');
    expect(doc.contentLength).toBe(PDF.length);
    expect(doc.finalUrl).toBe(`${server.origin}/files/report.pdf?sig=abc`);
    expect(doc.filename).toBe('report.pdf');
    expect(server.requests[0]?.url).toBe('/files/report.pdf?sig=abc');
  });

  it('admits a single-host CIDR entry', async () => {
    const server = await startServer((_req, res) => res.end(PDF));
    const doc = await fetchDocument(`${server.origin}/`, { ...STRICT, allowList: ['127.0.0.1/32'] });
    expect(await readAll(doc.stream)).toEqual(PDF);
  });

  it('connects to the vetted address and keeps the original Host header (no second DNS lookup)', async () => {
    const server = await startServer((_req, res) => res.end(PDF));
    // If the connection did its own resolution, "files.test" would not resolve at all.
    const dns = fakeDns({ 'files.test': ['127.0.0.1'] });
    const doc = await fetchDocument(`http://files.test:${server.port}/a.pdf`, { ...LOOPBACK, lookup: dns.lookup });
    expect(await readAll(doc.stream)).toEqual(PDF);
    expect(dns.asked).toEqual(['files.test']);
    expect(server.requests[0]?.headers.host).toBe(`files.test:${server.port}`);
  });

  it('admits an allow-listed hostname whatever it resolves to, including by-name refusals', async () => {
    const server = await startServer((_req, res) => res.end(PDF));
    const dns = fakeDns({ 'files.internal': ['127.0.0.1'], localhost: ['127.0.0.1'] });
    const viaName = await fetchDocument(`http://files.internal:${server.port}/x.pdf`, { ...STRICT, allowList: ['Files.Internal'], lookup: dns.lookup });
    expect(await readAll(viaName.stream)).toEqual(PDF);
    const viaLocalhost = await fetchDocument(`http://localhost:${server.port}/x.pdf`, { ...STRICT, allowList: ['localhost'], lookup: dns.lookup });
    expect(await readAll(viaLocalhost.stream)).toEqual(PDF);
    // ...but a hostname entry admits only that name.
    await expect(fetchDocument(`${server.origin}/x.pdf`, { ...STRICT, allowList: ['files.internal'] })).rejects.toMatchObject({
      code: 'url_not_allowed',
    });
    expect(server.requests).toHaveLength(2);
  });
});

describe('fetchDocument: redirects', () => {
  it('follows a relative redirect and reports the final URL', async () => {
    const server = await startServer((req, res) => {
      if (req.url === '/start') {
        res.writeHead(302, { location: 'docs/final.pdf' });
        res.end();
      } else {
        res.end(PDF);
      }
    });
    const doc = await fetchDocument(`${server.origin}/start`, LOOPBACK);
    expect(await readAll(doc.stream)).toEqual(PDF);
    expect(doc.finalUrl).toBe(`${server.origin}/docs/final.pdf`);
    expect(doc.filename).toBe('final.pdf');
    expect(server.requests.map((r) => r.url)).toEqual(['/start', '/docs/final.pdf']);
  });

  it.each(['http://169.254.169.254/latest/meta-data/', 'http://10.0.0.1/doc.pdf', 'http://[fd00:ec2::254]/', 'http://localhost/'])(
    'refuses a redirect from an allowed server to %s',
    async (location) => {
      const server = await startServer((_req, res) => {
        res.writeHead(301, { location });
        res.end();
      });
      await expect(fetchDocument(`${server.origin}/start`, LOOPBACK)).rejects.toMatchObject({ code: 'url_not_allowed' });
      expect(server.requests).toHaveLength(1);
    },
  );

  it('re-vets the scheme of every hop', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(307, { location: 'file:///etc/passwd' });
      res.end();
    });
    await expect(fetchDocument(`${server.origin}/start`, LOOPBACK)).rejects.toMatchObject({ code: 'url_not_allowed' });
  });

  it('re-resolves a redirect target hostname and refuses a private answer', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(302, { location: 'http://internal.example/doc.pdf' });
      res.end();
    });
    const dns = fakeDns({ 'internal.example': ['192.168.0.10'] });
    await expect(fetchDocument(`${server.origin}/start`, { ...LOOPBACK, lookup: dns.lookup })).rejects.toMatchObject({
      code: 'url_not_allowed',
    });
    expect(dns.asked).toEqual(['internal.example']);
  });

  it('gives up on a redirect loop with url_fetch_failed after maxRedirects hops', async () => {
    const server = await startServer((req, res) => {
      res.writeHead(302, { location: req.url === '/a' ? '/b' : '/a' });
      res.end();
    });
    await expect(fetchDocument(`${server.origin}/a`, { ...LOOPBACK, maxRedirects: 3 })).rejects.toMatchObject({ code: 'url_fetch_failed' });
    // The original request plus three followed redirects, then stop.
    expect(server.requests).toHaveLength(4);
  });

  it('defaults to five redirects', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(308, { location: '/again' });
      res.end();
    });
    await expect(fetchDocument(`${server.origin}/again`, LOOPBACK)).rejects.toMatchObject({ code: 'url_fetch_failed' });
    expect(server.requests).toHaveLength(6);
  });
});

describe('fetchDocument: failures', () => {
  it('turns a 404 into url_fetch_failed with the status, without the query string', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(404);
      res.end('nope');
    });
    const err = await fetchDocument(`${server.origin}/missing.pdf?token=topsecret`, LOOPBACK).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'url_fetch_failed', details: { status: 404 } });
    expect(String((err as Error).message)).toContain('/missing.pdf');
    expect(String((err as Error).message)).not.toContain('topsecret');
  });

  it('turns a refused connection into url_fetch_failed', async () => {
    const server = await startServer(() => {});
    const { port } = server;
    await new Promise<void>((resolve) => servers.splice(0)[0]?.close(() => resolve()));
    await expect(fetchDocument(`http://127.0.0.1:${port}/doc.pdf?token=x`, LOOPBACK)).rejects.toMatchObject({
      code: 'url_fetch_failed',
      details: { code: 'ECONNREFUSED' },
    });
  });

  it('times out with url_fetch_failed when headers never come', async () => {
    const server = await startServer(() => {
      /* never answer */
    });
    const started = Date.now();
    await expect(fetchDocument(`${server.origin}/slow.pdf`, { ...LOOPBACK, timeoutMs: 200 })).rejects.toMatchObject({
      code: 'url_fetch_failed',
      message: expect.stringMatching(/timed out/i),
    });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(server.requests).toHaveLength(1);
  });

  it('rejects with the caller abort reason', async () => {
    const server = await startServer(() => {});
    const controller = new AbortController();
    const pending = fetchDocument(`${server.origin}/slow.pdf`, { ...LOOPBACK, signal: controller.signal });
    setTimeout(() => controller.abort(new Error('client went away')), 50);
    await expect(pending).rejects.toThrow('client went away');
  });
});

describe('fetchDocument: size limit', () => {
  it('refuses a Content-Length above maxBytes before reading the body', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': 2000 });
      res.end(Buffer.alloc(2000));
    });
    await expect(fetchDocument(`${server.origin}/big.pdf`, { ...LOOPBACK, maxBytes: 1000 })).rejects.toMatchObject({ code: 'file_too_large' });
  });

  it('cuts off a chunked body that streams past maxBytes', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/pdf' }); // no Content-Length: chunked
      for (let i = 0; i < 10; i++) res.write(Buffer.alloc(300, i));
      res.end();
    });
    const doc = await fetchDocument(`${server.origin}/big.pdf`, { ...LOOPBACK, maxBytes: 1000 });
    expect(doc.contentLength).toBeUndefined();
    await expect(readAll(doc.stream)).rejects.toMatchObject({ code: 'file_too_large' });
  });

  it('accepts a chunked body of exactly maxBytes', async () => {
    const server = await startServer((_req, res) => {
      res.write(Buffer.alloc(600, 1));
      res.end(Buffer.alloc(400, 2));
    });
    const doc = await fetchDocument(`${server.origin}/edge.pdf`, { ...LOOPBACK, maxBytes: 1000 });
    expect((await readAll(doc.stream)).length).toBe(1000);
  });

  it('reports a body cut short by the server as url_fetch_failed', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'content-length': 500 });
      res.write(Buffer.alloc(100));
      setTimeout(() => res.socket?.destroy(), 20);
    });
    const doc = await fetchDocument(`${server.origin}/short.pdf`, LOOPBACK);
    await expect(readAll(doc.stream)).rejects.toMatchObject({ code: 'url_fetch_failed' });
  });
});

describe('fetchDocument: filename', () => {
  async function filenameFor(disposition: string | undefined, path = '/files/fallback.pdf'): Promise<string> {
    const server = await startServer((_req, res) => {
      if (disposition !== undefined) res.setHeader('content-disposition', disposition);
      res.end(PDF);
    });
    const doc = await fetchDocument(`${server.origin}${path}`, LOOPBACK);
    doc.stream.resume();
    return doc.filename;
  }

  it.each([
    ['attachment; filename="report 2024.pdf"', 'report 2024.pdf'],
    ['attachment; filename=plain.pdf', 'plain.pdf'],
    ['inline; filename="a\\"quoted\\".pdf"', 'a"quoted".pdf'],
    [`attachment; filename="fallback.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`, 'résumé.pdf'],
    [`attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd`, 'passwd'],
    ['attachment; filename="..\\\\windows\\\\evil.pdf"', 'evil.pdf'],
    [`attachment; filename*=UTF-8''bad%07na%0Ame%E2%80%AE.pdf`, 'badname.pdf'],
    ['attachment; filename="..hidden.pdf"', 'hidden.pdf'],
  ])('%s -> %s', async (disposition, expected) => {
    expect(await filenameFor(disposition)).toBe(expected);
  });

  it('caps the name at 200 characters', async () => {
    const name = await filenameFor(`attachment; filename="${'x'.repeat(300)}.pdf"`);
    expect(name).toBe('x'.repeat(200));
  });

  it('uses the decoded last path segment when there is no Content-Disposition', async () => {
    expect(await filenameFor(undefined, '/dir/my%20doc.pdf?x=1')).toBe('my doc.pdf');
  });

  it('falls back to the path when the Content-Disposition name is empty after sanitising', async () => {
    expect(await filenameFor('attachment; filename="../"', '/dir/from-path.pdf')).toBe('from-path.pdf');
  });

  it("falls back to 'document.pdf' when neither gives a name", async () => {
    expect(await filenameFor(undefined, '/')).toBe('document.pdf');
    expect(await filenameFor('attachment', '/dir/')).toBe('document.pdf');
  });
});
