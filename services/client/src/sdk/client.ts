import { pollDelay, sleep, type BackoffOptions } from './backoff.ts';
import { FolioError, UnavailableError, errorFromResponse, parseRetryAfter } from './errors.ts';
import { SseParser } from './sse.ts';
import {
  isTerminalStatus,
  type DocumentResult,
  type JobAccepted,
  type JobDeleted,
  type JobEvent,
  type JobList,
  type JobStatus,
  type JobView,
  type KeyDeleted,
  type KeyList,
  type KeyStatus,
  type ProcessOptions,
  type ResultFormat,
  type SubmitOptions,
  type UsageStats,
} from './types.ts';

export interface FolioClientOptions {
  /** The server, e.g. `http://127.0.0.1:5058`. */
  baseUrl: string;
  /** A bearer token (not needed against `npm start` on loopback). */
  token?: string;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof fetch;
  /** Extra headers sent with every request. */
  headers?: Record<string, string>;
}

/** What `process` accepts: a file path, bytes, a Blob, a byte stream, or a URL for Folio to fetch. */
export type ProcessInput = string | Uint8Array | Blob | ReadableStream<Uint8Array> | { url: string };

export interface WaitOptions extends BackoffOptions {
  signal?: AbortSignal;
  /** Called with the job whenever its status or page counts change. */
  onProgress?: (job: JobView) => void;
  /** Give up (FolioError `timeout`) after this long. Default: never. */
  timeoutMs?: number;
}

export interface EventsOptions {
  /** Resume after this event (sent as `Last-Event-ID`). */
  lastEventId?: string;
  signal?: AbortSignal;
  /** Reconnection delay when the server sent no `retry:` (default 1 s). */
  reconnectDelayMs?: number;
  /** Consecutive failed (re)connections before giving up (default 10). */
  maxReconnects?: number;
}

interface RequestInit2 {
  query?: Record<string, string | number | boolean | undefined>;
  headers?: Record<string, string>;
  body?: string | FormData | ReadableStream<Uint8Array>;
  signal?: AbortSignal | undefined;
  duplex?: 'half';
}

/**
 * The Folio API from TypeScript or JavaScript: nothing but `fetch` (Node ≥ 22, Deno, Bun,
 * browsers for everything but file paths). Errors are `FolioError`s carrying the API's codes.
 */
export class FolioClient {
  readonly baseUrl: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #headers: Record<string, string>;

  constructor(opts: FolioClientOptions) {
    if (!opts.baseUrl) throw new TypeError('FolioClient: baseUrl is required');
    this.baseUrl = opts.baseUrl.replace(/\/+$/, '');
    this.#token = opts.token;
    this.#fetch = opts.fetch ?? globalThis.fetch.bind(globalThis);
    this.#headers = opts.headers ?? {};
  }

  // ---------------------------------------------------------------------------------------------
  // Documents and jobs

  /** Submits a PDF (streamed from disk for a path) or a URL; answers as soon as the job is queued. */
  async process(input: ProcessInput, options: SubmitOptions = {}): Promise<JobAccepted> {
    const { idempotencyKey, filename, signal, ...processing } = options;
    const headers: Record<string, string> = idempotencyKey === undefined ? {} : { 'idempotency-key': idempotencyKey };
    let res: Response;
    if (typeof input === 'object' && input !== null && 'url' in input && typeof input.url === 'string') {
      res = await this.#send('POST', '/api/v1/pdf/process-url', {
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ url: input.url, ...jsonOptions(processing) }),
        signal,
      });
    } else if (isReadableStream(input)) {
      const boundary = `----folio${crypto.randomUUID().replaceAll('-', '')}`;
      res = await this.#send('POST', '/api/v1/pdf/process', {
        headers: { ...headers, 'content-type': `multipart/form-data; boundary=${boundary}` },
        body: multipartStream(boundary, input, filename ?? 'document.pdf', formOptions(processing)),
        signal,
        duplex: 'half',
      });
    } else {
      const form = new FormData();
      let blob: Blob;
      let name = filename;
      if (typeof input === 'string') {
        const fs = await import('node:fs');
        blob = await fs.openAsBlob(input, { type: 'application/pdf' });
        name ??= input.split(/[\\/]/).pop();
      } else if (input instanceof Uint8Array) {
        blob = new Blob([input as Uint8Array<ArrayBuffer>], { type: 'application/pdf' });
      } else if (input instanceof Blob) {
        blob = input;
        name ??= (input as { name?: string }).name;
      } else {
        throw new TypeError('process: input must be a path, Uint8Array, Blob, ReadableStream or { url }');
      }
      form.set('file', blob, name ?? 'document.pdf');
      for (const [k, v] of Object.entries(formOptions(processing))) form.set(k, v);
      res = await this.#send('POST', '/api/v1/pdf/process', { headers, body: form, signal });
    }
    const body = (await readJson(res)) as Omit<JobAccepted, 'replayed'>;
    return { ...body, replayed: res.headers.get('idempotent-replayed') === 'true' };
  }

  /** A job: status, progress in pages, timings, cost, error. */
  async getJob(id: string, opts: { signal?: AbortSignal } = {}): Promise<JobView> {
    return (await this.#pollJob(id, opts.signal)).job;
  }

  /** The tenant's recent jobs, newest first. */
  async listJobs(opts: { status?: JobStatus; limit?: number; signal?: AbortSignal } = {}): Promise<JobList> {
    const res = await this.#send('GET', '/api/v1/pdf/jobs', { query: { status: opts.status, limit: opts.limit }, signal: opts.signal });
    return (await readJson(res)) as JobList;
  }

  /**
   * Polls until the job is terminal (completed, partial, failed, cancelled) and returns it. Delays
   * grow from 250 ms to 5 s, restart when the job moves, and never undercut the server's
   * `Retry-After`; a 503 or a dropped connection is retried (10 in a row fail the wait).
   */
  async waitFor(jobId: string, opts: WaitOptions = {}): Promise<JobView> {
    const deadline = opts.timeoutMs === undefined ? Infinity : Date.now() + opts.timeoutMs;
    let attempt = 0;
    let errors = 0;
    let seen = '';
    for (;;) {
      let retryAfterMs: number | undefined;
      try {
        const polled = await this.#pollJob(jobId, opts.signal);
        errors = 0;
        retryAfterMs = polled.retryAfterMs;
        const { job } = polled;
        const key = `${job.status}/${job.progress.pages_total}/${job.progress.pages_done}/${job.progress.pages_failed}`;
        if (key !== seen) {
          seen = key;
          attempt = 0;
          opts.onProgress?.(job);
        }
        if (isTerminalStatus(job.status)) return job;
      } catch (err) {
        if (!(err instanceof UnavailableError) || ++errors >= 10) throw err;
        retryAfterMs = err.retryAfterMs;
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) throw new FolioError({ code: 'timeout', status: 0, message: `Job ${jobId} did not finish within ${opts.timeoutMs} ms` });
      await sleep(Math.min(pollDelay(attempt++, retryAfterMs, opts), remaining), opts.signal);
    }
  }

  /** The result of a completed (or partial) job: `json` is document.json, `text` and `markdown` strings. */
  async result(jobId: string, format?: 'json', opts?: { signal?: AbortSignal }): Promise<DocumentResult>;
  async result(jobId: string, format: 'text' | 'markdown', opts?: { signal?: AbortSignal }): Promise<string>;
  async result(jobId: string, format: ResultFormat, opts?: { signal?: AbortSignal }): Promise<DocumentResult | string>;
  async result(jobId: string, format: ResultFormat = 'json', opts: { signal?: AbortSignal } = {}): Promise<DocumentResult | string> {
    const res = await this.#send('GET', `/api/v1/pdf/jobs/${encodeURIComponent(jobId)}/result`, { query: { format }, signal: opts.signal });
    return format === 'json' ? ((await readJson(res)) as DocumentResult) : await res.text();
  }

  /** Cancels a running job, or deletes a finished one (its upload and results go too). */
  async cancel(jobId: string, opts: { signal?: AbortSignal } = {}): Promise<JobDeleted> {
    const res = await this.#send('DELETE', `/api/v1/pdf/jobs/${encodeURIComponent(jobId)}`, { signal: opts.signal });
    return (await readJson(res)) as JobDeleted;
  }

  /**
   * The job's live events (`GET /api/v1/pdf/jobs/:id/events`, Server-Sent Events), until the
   * terminal `status` event. A dropped connection is reopened with `Last-Event-ID` after the
   * server's `retry:` delay; `break` out of the loop to stop listening.
   */
  async *events(jobId: string, opts: EventsOptions = {}): AsyncGenerator<JobEvent, void, undefined> {
    let lastEventId = opts.lastEventId;
    let retryMs = opts.reconnectDelayMs ?? 1_000;
    const maxReconnects = opts.maxReconnects ?? 10;
    let failures = 0;
    for (;;) {
      let res: Response | undefined;
      try {
        res = await this.#send('GET', `/api/v1/pdf/jobs/${encodeURIComponent(jobId)}/events`, {
          headers: { accept: 'text/event-stream', ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }) },
          signal: opts.signal,
        });
      } catch (err) {
        if (!(err instanceof UnavailableError) || opts.signal?.aborted) throw err;
        if (err.retryAfterMs !== undefined) retryMs = err.retryAfterMs;
      }
      if (res?.body) {
        const parser = new SseParser();
        const decoder = new TextDecoder();
        try {
          for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
            const events = parser.push(decoder.decode(chunk, { stream: true }));
            if (parser.retryMs !== undefined) retryMs = parser.retryMs;
            for (const ev of events) {
              failures = 0;
              if (ev.id !== undefined) lastEventId = ev.id;
              const event: JobEvent = { ...ev, json: tryJson(ev.data) };
              yield event;
              if (isTerminalEvent(event)) return;
            }
          }
          for (const ev of parser.end()) {
            if (ev.id !== undefined) lastEventId = ev.id;
            const event: JobEvent = { ...ev, json: tryJson(ev.data) };
            yield event;
            if (isTerminalEvent(event)) return;
          }
        } catch (err) {
          if (opts.signal?.aborted) throw err;
          // The connection dropped mid-stream: reconnect below.
        }
      }
      if (++failures > maxReconnects) {
        throw new UnavailableError({ code: 'stream_ended', status: 0, message: `The event stream of job ${jobId} kept closing before its terminal status` });
      }
      await sleep(retryMs, opts.signal);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Provider keys (admin) and usage

  /** Stores (or replaces) a provider key of the tenant. Admin only. */
  async addKey(provider: string, apiKey: string, opts: { keyName?: string; environment?: string; signal?: AbortSignal } = {}): Promise<KeyStatus> {
    const body = { api_key: apiKey, ...(opts.keyName ? { key_name: opts.keyName } : {}), ...(opts.environment ? { environment: opts.environment } : {}) };
    const res = await this.#send('POST', `/api/ai/providers/${encodeURIComponent(provider)}/keys`, {
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: opts.signal,
    });
    return (await readJson(res)) as KeyStatus;
  }

  /** The tenant's keys of a provider (fingerprints and last four characters, never the keys). Admin only. */
  async listKeys(provider: string, opts: { signal?: AbortSignal } = {}): Promise<KeyList> {
    const res = await this.#send('GET', `/api/ai/providers/${encodeURIComponent(provider)}/keys`, { signal: opts.signal });
    return (await readJson(res)) as KeyList;
  }

  /** Deletes a key (`previous: true`: only its replaced one). Admin only. */
  async removeKey(provider: string, name: string, opts: { previous?: boolean; signal?: AbortSignal } = {}): Promise<KeyDeleted> {
    const res = await this.#send('DELETE', `/api/ai/providers/${encodeURIComponent(provider)}/keys/${encodeURIComponent(name)}`, {
      query: { previous: opts.previous ? 'true' : undefined },
      signal: opts.signal,
    });
    return (await readJson(res)) as KeyDeleted;
  }

  /** Usage totals of the tenant (days `YYYY-MM-DD`, UTC; admins: `all` tenants). */
  async usage(opts: { from?: string; to?: string; all?: boolean; signal?: AbortSignal } = {}): Promise<UsageStats> {
    const res = await this.#send('GET', '/api/ai/usage/stats', { query: { from: opts.from, to: opts.to, all: opts.all ? 'true' : undefined }, signal: opts.signal });
    return (await readJson(res)) as UsageStats;
  }

  /** The caller's name, role and tenant. */
  async whoami(opts: { signal?: AbortSignal } = {}): Promise<{ name: string; role: string; tenant: string }> {
    return (await readJson(await this.#send('GET', '/api/v1/auth/whoami', { signal: opts.signal }))) as { name: string; role: string; tenant: string };
  }

  // ---------------------------------------------------------------------------------------------
  // Plumbing

  async #pollJob(id: string, signal?: AbortSignal): Promise<{ job: JobView; retryAfterMs: number | undefined }> {
    const res = await this.#send('GET', `/api/v1/pdf/jobs/${encodeURIComponent(id)}`, { signal });
    const job = (await readJson(res)) as JobView;
    return { job, retryAfterMs: parseRetryAfter(res.headers.get('retry-after')) };
  }

  /** One request; an error status becomes the FolioError of its body, no answer an UnavailableError. */
  async #send(method: string, path: string, init: RequestInit2 = {}): Promise<Response> {
    const url = new URL(this.baseUrl + path);
    for (const [k, v] of Object.entries(init.query ?? {})) if (v !== undefined) url.searchParams.set(k, String(v));
    const headers: Record<string, string> = { ...this.#headers, ...init.headers };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let res: Response;
    try {
      res = await this.#fetch(url, {
        method,
        headers,
        ...(init.body === undefined ? {} : { body: init.body }),
        ...(init.signal ? { signal: init.signal } : {}),
        ...(init.duplex ? { duplex: init.duplex } : {}),
      } as RequestInit);
    } catch (err) {
      if (init.signal?.aborted) throw err;
      throw new UnavailableError({ code: 'network_error', status: 0, message: `${method} ${url.origin}${url.pathname}: ${(err as Error).message}`, cause: err });
    }
    if (res.ok) return res;
    const text = await res.text().catch(() => '');
    throw errorFromResponse(res.status, tryJson(text), res.headers);
  }
}

// ---------------------------------------------------------------------------------------------
// Helpers

function isReadableStream(x: unknown): x is ReadableStream<Uint8Array> {
  return typeof x === 'object' && x !== null && typeof (x as ReadableStream).getReader === 'function' && !(x instanceof Blob);
}

async function readJson(res: Response): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new FolioError({ code: 'bad_response', status: res.status, message: `Expected JSON, got: ${text.slice(0, 200)}`, requestId: res.headers.get('x-request-id') ?? undefined, cause: err });
  }
}

function tryJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** The event that ends a job's stream: its `status` event with a terminal status (or `done`/`end`). */
export function isTerminalEvent(e: { event: string; json: unknown }): boolean {
  if (e.event === 'done' || e.event === 'end') return true;
  const status = (e.json as { status?: unknown } | undefined)?.status;
  return e.event === 'status' && typeof status === 'string' && isTerminalStatus(status);
}

/** Options as multipart field values (strings). */
export function formOptions(o: ProcessOptions): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? v.join('+') : String(v);
  }
  return out;
}

/** Options as JSON fields (`languages` joined). */
function jsonOptions(o: ProcessOptions): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || v === null) continue;
    out[k] = Array.isArray(v) ? v.join('+') : v;
  }
  return out;
}

/** A multipart/form-data body streamed from a byte stream: the `file` part, then the option fields. */
function multipartStream(boundary: string, file: ReadableStream<Uint8Array>, filename: string, fields: Record<string, string>): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  const quoted = (s: string) => s.replace(/[\r\n"]/g, (c) => (c === '"' ? '%22' : ' '));
  async function* parts(): AsyncGenerator<Uint8Array> {
    yield enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${quoted(filename)}"\r\nContent-Type: application/pdf\r\n\r\n`);
    for await (const chunk of file as AsyncIterable<Uint8Array>) yield chunk;
    yield enc.encode('\r\n');
    for (const [k, v] of Object.entries(fields)) {
      yield enc.encode(`--${boundary}\r\nContent-Disposition: form-data; name="${quoted(k)}"\r\n\r\n${v}\r\n`);
    }
    yield enc.encode(`--${boundary}--\r\n`);
  }
  const it = parts();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await it.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await it.return(undefined);
    },
  });
}
