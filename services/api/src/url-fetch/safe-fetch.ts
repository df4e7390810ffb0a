/**
 * Fetches the PDF behind a user-supplied URL (`POST /api/v1/pdf/process-url`) without letting
 * the caller reach our own network (SSRF).
 *
 * The defences, in order:
 *  - only http(s), no credentials in the URL;
 *  - well-known internal names (localhost, the GCE metadata host) are refused before any lookup;
 *  - every address the hostname resolves to must be public (or admitted by the allow-list);
 *  - the socket connects to exactly the addresses we vetted (a pinned `lookup`), so a DNS answer
 *    that changes between check and connect (rebinding) cannot redirect us;
 *  - redirects are followed by hand and every hop goes through the same checks from scratch;
 *  - a deadline covers DNS + connect + headers, and the body is cut off at `maxBytes`.
 *
 * Error messages end up in API responses, so they name at most origin + path, never the query
 * string (it often carries signed-URL tokens) and never the internal address a name resolved to.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { Transform, type Readable } from 'node:stream';
import {
  AppError,
  UrlFetchError,
  UrlNotAllowedError,
  defaultLookup,
  describeUrl as describe,
  errorCode,
  parseAllowList,
  pinnedLookup,
  vetUrl as vet,
  type Target,
} from '@folio/shared';

/** The address rules live in `@folio/shared` (shared with webhook delivery); re-exported for callers and tests. */
export { isAddressBlocked } from '@folio/shared';

export interface SafeFetchOptions {
  /** Entries admitted despite the private-address rules: CIDRs ("127.0.0.0/8", "::1/128", "10.1.2.0/24") or exact hostnames ("files.internal"). Empty by default. */
  allowList: readonly string[];
  /** Maximum body bytes; exceeding aborts with AppError code file_too_large. */
  maxBytes: number;
  /** Whole-request timeout (connect + headers), ms. */
  timeoutMs: number;
  /** Default 5. */
  maxRedirects?: number;
  /** For tests: DNS lookup override with node's dns.lookup signature semantics (all: true). Defaults to node:dns/promises lookup. */
  lookup?: (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
  signal?: AbortSignal;
}

export interface FetchedDocument {
  /** The body, with the byte limit enforced while streaming (error file_too_large when exceeded). */
  stream: Readable;
  finalUrl: string;
  contentType: string | undefined;
  contentLength: number | undefined;
  /** From Content-Disposition if present, else the last path segment, else 'document.pdf'; sanitised. */
  filename: string;
}

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

/** One GET; resolves at response headers. Aborting `signal` (timeout or caller) destroys it. */
function request(target: Target, signal: AbortSignal): Promise<http.IncomingMessage> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const { url } = target;
    const isIpLiteral = net.isIP(target.host) !== 0;
    const req = (url.protocol === 'https:' ? https : http).request({
      protocol: url.protocol,
      hostname: target.host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'GET',
      // The Host header and SNI name the original host, not the IP we pinned, so virtual hosts
      // and certificate checks work as with a normal fetch.
      headers: { host: url.host, 'user-agent': 'Folio-URL-Fetch/1', accept: 'application/pdf, */*;q=0.5' },
      ...(url.protocol === 'https:' && !isIpLiteral ? { servername: target.host } : {}),
      lookup: pinnedLookup(target.addresses),
      // No pooling: a kept-alive socket from an earlier request would skip our pinned lookup.
      agent: false,
    });
    const onAbort = (): void => {
      req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    };
    const done = (): void => signal.removeEventListener('abort', onAbort);
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('response', (res) => {
      done();
      resolve(res);
    });
    req.on('error', (err) => {
      done();
      if (signal.aborted) reject(signal.reason);
      else reject(new UrlFetchError(`Could not fetch ${describe(url)}`, { code: errorCode(err) }));
    });
    req.end();
  });
}

export async function fetchDocument(url: string, options: SafeFetchOptions): Promise<FetchedDocument> {
  const allow = parseAllowList(options.allowList);
  const lookup = options.lookup ?? defaultLookup;
  const maxRedirects = options.maxRedirects ?? 5;

  let current: URL;
  try {
    current = new URL(url);
  } catch {
    throw new UrlNotAllowedError('The URL is not a valid absolute URL');
  }

  // One deadline for the whole chain (DNS, connect, redirects, headers); the caller's signal
  // feeds the same controller so every wait below has a single thing to listen to.
  const controller = new AbortController();
  const timer = setTimeout(() => {
    controller.abort(new UrlFetchError(`Timed out after ${options.timeoutMs} ms fetching ${describe(current)}`));
  }, options.timeoutMs);
  const onCallerAbort = (): void => controller.abort(options.signal?.reason);
  if (options.signal?.aborted) onCallerAbort();
  else options.signal?.addEventListener('abort', onCallerAbort, { once: true });

  try {
    for (let redirects = 0; ; redirects++) {
      const target = await vet(current, allow, lookup, controller.signal);
      const res = await request(target, controller.signal);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;

      if (REDIRECT_STATUSES.has(status) && location !== undefined) {
        res.resume(); // discard the redirect body so the socket can close
        if (redirects >= maxRedirects) {
          throw new UrlFetchError(`Too many redirects (more than ${maxRedirects}) fetching ${describe(current)}`, { status });
        }
        try {
          current = new URL(location, current);
        } catch {
          throw new UrlFetchError(`Invalid redirect location from ${describe(current)}`, { status });
        }
        continue; // the next iteration re-vets the new URL from scratch
      }

      if (status < 200 || status > 299) {
        res.resume();
        throw new UrlFetchError(`${describe(current)} answered with HTTP ${status}`, { status });
      }
      return finish(res, current, options);
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener('abort', onCallerAbort);
  }
}

function finish(res: http.IncomingMessage, finalUrl: URL, options: SafeFetchOptions): FetchedDocument {
  const lengthHeader = res.headers['content-length'];
  const contentLength = lengthHeader !== undefined && /^\d+$/.test(lengthHeader) ? Number(lengthHeader) : undefined;
  if (contentLength !== undefined && contentLength > options.maxBytes) {
    res.destroy(); // do not download what we already know we will reject
    throw tooLarge(options.maxBytes);
  }

  // Content-Length can lie or be absent (chunked), so the limit is also enforced on the bytes
  // actually received. We never send Accept-Encoding, so these are the stored bytes.
  let received = 0;
  const body = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received > options.maxBytes) callback(tooLarge(options.maxBytes));
      else callback(null, chunk);
    },
  });
  res.on('error', (err) => {
    body.destroy(err instanceof AppError ? err : new UrlFetchError(`The download of ${describe(finalUrl)} was interrupted`, { code: errorCode(err) }));
  });
  const onCallerAbort = (): void => {
    body.destroy(options.signal?.reason instanceof Error ? options.signal.reason : new Error('aborted'));
  };
  options.signal?.addEventListener('abort', onCallerAbort, { once: true });
  body.on('close', () => {
    // Whether the body finished, failed or the consumer gave up: stop the download.
    res.destroy();
    options.signal?.removeEventListener('abort', onCallerAbort);
  });
  res.pipe(body);

  return {
    stream: body,
    finalUrl: finalUrl.href,
    contentType: res.headers['content-type'],
    contentLength,
    filename: pickFilename(res.headers['content-disposition'], finalUrl),
  };
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('file_too_large', `The document is larger than the limit of ${maxBytes} bytes`);
}

// ---------------------------------------------------------------------------------------------
// Filenames: the name is user-controlled text that reaches storage keys, logs and downloads.

function pickFilename(disposition: string | undefined, url: URL): string {
  const fromHeader = disposition === undefined ? undefined : sanitiseFilename(dispositionFilename(disposition));
  const lastSegment = url.pathname.split('/').pop() ?? '';
  return fromHeader ?? sanitiseFilename(percentDecode(lastSegment, 'utf-8')) ?? 'document.pdf';
}

/** RFC 6266: `filename*` (RFC 8187 encoded) wins over plain `filename`. */
function dispositionFilename(header: string): string | undefined {
  const extended = /(?:^|;)\s*filename\*\s*=\s*([^;]*)/i.exec(header)?.[1]?.trim();
  const parts = extended === undefined ? undefined : /^([^']*)'[^']*'(.*)$/.exec(extended);
  if (parts?.[2] !== undefined) return percentDecode(parts[2], parts[1]?.toLowerCase() === 'utf-8' ? 'utf-8' : 'latin1');
  const plain = /(?:^|;)\s*filename\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;]*))/i.exec(header);
  const value = plain?.[1] !== undefined ? plain[1].replace(/\\(.)/g, '$1') : plain?.[2]?.trim();
  return value === undefined ? undefined : latin1AsUtf8(value);
}

/** Node hands header values over as latin1, but servers commonly put raw UTF-8 in `filename=`;
 * reinterpret when the bytes are valid UTF-8 (pure ASCII is unchanged either way). */
function latin1AsUtf8(text: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(text, 'latin1'));
  } catch {
    return text;
  }
}

function percentDecode(text: string, charset: 'utf-8' | 'latin1'): string {
  const bytes = Buffer.from(text.replace(/%([0-9a-f]{2})/gi, (_m, hex: string) => String.fromCharCode(parseInt(hex, 16))), 'latin1');
  // Invalid UTF-8 becomes U+FFFD instead of throwing: a bad name is not worth failing the fetch.
  return bytes.toString(charset === 'utf-8' ? 'utf8' : 'latin1');
}

/** Last path component, no control or bidi-override characters, no leading dots, ≤ 200 chars. */
function sanitiseFilename(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const base = raw.split(/[\\/]/).pop() ?? '';
  const cleaned = base
    .replace(/[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, '')
    .trim()
    .replace(/^\.+/, '');
  const cut = Array.from(cleaned).slice(0, 200).join('').trim(); // by code point: never split a surrogate pair
  return cut === '' ? undefined : cut;
}
