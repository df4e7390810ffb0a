import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusFile, startTestStack, type TestStack } from '../support/stack.ts';
import { result, waitForJob } from '../support/client.ts';

let stack: TestStack;
let files: http.Server;
let origin = '';
let hits = 0;

beforeAll(async () => {
  files = http.createServer((req, res) => {
    hits++;
    if (req.url?.startsWith('/paper.pdf')) {
      res.writeHead(200, { 'content-type': 'application/pdf' });
      fs.createReadStream(corpusFile('born-digital/tracemonkey.pdf')).pipe(res);
    } else if (req.url === '/to-metadata') {
      res.writeHead(302, { location: 'http://169.254.169.254/latest/meta-data/' }).end();
    } else if (req.url === '/notes.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('not a pdf');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  stack = await startTestStack({ URL_FETCH_ALLOW_LIST: '127.0.0.0/8' });
});
afterAll(async () => {
  await stack?.close();
  await new Promise((r) => files.close(r));
});

const processUrl = (url: string) =>
  fetch(`${stack.url}/api/v1/pdf/process-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ url }) });

describe('POST /api/v1/pdf/process-url', () => {
  it('fetches an allow-listed URL and processes it like an upload', async () => {
    const res = await processUrl(`${origin}/paper.pdf?token=secret`);
    expect(res.status).toBe(202);
    const { job_id } = (await res.json()) as { job_id: string };
    const job = await waitForJob(stack.url, job_id);
    expect(job.status).toBe('completed');
    expect(job.filename).toBe('paper.pdf');
    // The query string (often a credential) is not kept.
    expect(job.source_url).toBe(`${origin}/paper.pdf`);
    expect(await (await result(stack.url, job_id, 'text')).text()).toContain('Trace-based Just-in-Time');
  });

  it('refuses a redirect to the cloud metadata address', async () => {
    const res = await processUrl(`${origin}/to-metadata`);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('url_not_allowed');
  });

  it('refuses private addresses that the allow-list does not admit, before connecting', async () => {
    const before = hits;
    for (const url of ['http://10.0.0.1/x.pdf', 'http://[::1]/x.pdf', 'http://169.254.169.254/', 'file:///etc/passwd']) {
      const res = await processUrl(url);
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('url_not_allowed');
    }
    expect(hits).toBe(before);
  });

  it('answers 415 for a fetched document that is not a PDF, and 422 for a remote 404', async () => {
    const txt = await processUrl(`${origin}/notes.txt`);
    expect(txt.status).toBe(415);
    const missing = await processUrl(`${origin}/missing.pdf`);
    expect(missing.status).toBe(422);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('url_fetch_failed');
  });

  it('answers 400 for a body without a url', async () => {
    const res = await fetch(`${stack.url}/api/v1/pdf/process-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(res.status).toBe(400);
    const bad = await fetch(`${stack.url}/api/v1/pdf/process-url`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{nope' });
    expect(bad.status).toBe(400);
  });
});
