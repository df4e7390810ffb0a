import { describe, expect, it } from 'vitest';
import { backoffDelay, pollDelay, sleep } from './backoff.ts';
import { FolioClient } from './client.ts';
import { FolioError, NotFoundError, UnavailableError, ValidationError, errorFromResponse, parseRetryAfter } from './errors.ts';

describe('backoff', () => {
  it('doubles from 250 ms up to 5 s', () => {
    expect([0, 1, 2, 3, 4, 5, 6, 10].map((a) => backoffDelay(a))).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 5000]);
  });

  it('never polls sooner than Retry-After, and caps a huge one', () => {
    expect(pollDelay(0, 1000)).toBe(1000);
    expect(pollDelay(4, 1000)).toBe(4000);
    expect(pollDelay(0, undefined)).toBe(250);
    expect(pollDelay(0, 3_600_000)).toBe(60_000);
    expect(pollDelay(0, 10_000, { maxRetryAfterMs: 20_000 })).toBe(10_000);
  });

  it('parses Retry-After seconds and dates', () => {
    expect(parseRetryAfter('2')).toBe(2000);
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter('soon')).toBeUndefined();
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:03 GMT', now)).toBe(3000);
  });

  it('sleep rejects when aborted', async () => {
    const c = new AbortController();
    const p = sleep(10_000, c.signal);
    c.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
  });
});

describe('errors', () => {
  it('maps error bodies to classes with the stable code and request id', () => {
    const h = new Headers({ 'x-request-id': 'r1', 'retry-after': '3' });
    const nf = errorFromResponse(404, { error: { code: 'not_found', message: 'No such job' } }, h);
    expect(nf).toBeInstanceOf(NotFoundError);
    expect(nf).toMatchObject({ code: 'not_found', status: 404, requestId: 'r1' });
    expect(errorFromResponse(400, { error: { code: 'validation_failed', message: 'x', details: [{ field: 'limit' }] } }, h)).toBeInstanceOf(ValidationError);
    const un = errorFromResponse(503, { error: { code: 'dependency_unavailable', message: 'down' } }, h);
    expect(un).toBeInstanceOf(UnavailableError);
    expect(un.retryAfterMs).toBe(3000);
    const other = errorFromResponse(409, { error: { code: 'job_not_finished', message: 'no' } }, new Headers());
    expect(other).toBeInstanceOf(FolioError);
    expect(other.code).toBe('job_not_finished');
  });
});

/** A fake fetch answering from a list of responses; records when each request came. */
function fakeFetch(responses: Array<() => Response>) {
  const calls: Array<{ url: string; at: number; headers: Headers }> = [];
  const f = (async (url: URL | string, init?: RequestInit) => {
    calls.push({ url: String(url), at: Date.now(), headers: new Headers(init?.headers) });
    const next = responses.shift();
    if (!next) throw new Error('no more responses');
    return next();
  }) as typeof fetch;
  return { f, calls };
}

const job = (status: string, done = 0, total: number | null = 2) =>
  JSON.stringify({ job_id: 'j', status, progress: { pages_total: total, pages_done: done, pages_failed: 0, percent: 0 }, error: null });

describe('waitFor', () => {
  it('backs off, honours Retry-After, retries a 503 and reports progress changes', async () => {
    const { f, calls } = fakeFetch([
      () => new Response(job('queued'), { headers: { 'retry-after': '0' } }),
      () => new Response(job('queued'), { headers: { 'retry-after': '0' } }),
      () => new Response(JSON.stringify({ error: { code: 'dependency_unavailable', message: 'down' } }), { status: 503, headers: { 'retry-after': '0' } }),
      () => new Response(job('processing', 1), { headers: { 'retry-after': '0' } }),
      () => new Response(job('completed', 2)),
    ]);
    const client = new FolioClient({ baseUrl: 'http://folio.test/', fetch: f, token: 't' });
    const seen: string[] = [];
    const done = await client.waitFor('j', { initialMs: 10, maxMs: 40, onProgress: (j) => seen.push(`${j.status}:${j.progress.pages_done}`) });
    expect(done.status).toBe('completed');
    expect(seen).toEqual(['queued:0', 'processing:1', 'completed:2']);
    expect(calls).toHaveLength(5);
    expect(calls[0]!.url).toBe('http://folio.test/api/v1/pdf/jobs/j');
    expect(calls[0]!.headers.get('authorization')).toBe('Bearer t');
    const gaps = calls.slice(1).map((c, i) => c.at - calls[i]!.at);
    // 10 ms, then 20 ms (backoff grows while nothing changes), 40 ms (503), then reset to 10 ms after progress
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[1]).toBeGreaterThanOrEqual(19);
    expect(gaps[2]).toBeGreaterThanOrEqual(39);
  });

  it('waits at least Retry-After', async () => {
    const { f, calls } = fakeFetch([() => new Response(job('queued'), { headers: { 'retry-after': '1' } }), () => new Response(job('failed'))]);
    const client = new FolioClient({ baseUrl: 'http://folio.test', fetch: f });
    await client.waitFor('j', { initialMs: 5 });
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(990);
  });

  it('times out with code timeout', async () => {
    const { f } = fakeFetch(Array.from({ length: 50 }, () => () => new Response(job('queued'))));
    const client = new FolioClient({ baseUrl: 'http://folio.test', fetch: f });
    await expect(client.waitFor('j', { initialMs: 10, timeoutMs: 50 })).rejects.toMatchObject({ code: 'timeout' });
  });
});

describe('events', () => {
  it('reconnects with Last-Event-ID after a dropped stream and stops at the terminal status', async () => {
    const { f, calls } = fakeFetch([
      () => new Response('retry: 5\nid: 1\nevent: progress\ndata: {"pages_done":1}\n\nid: 2\nevent: progress\ndata: {"pages_done":2}\n\nid: 3\nevent: prog', { headers: { 'content-type': 'text/event-stream' } }),
      () => new Response(': hi\n\nid: 3\nevent: status\ndata: {"status":"completed"}\n\nid: 4\nevent: never\ndata: x\n\n', { headers: { 'content-type': 'text/event-stream' } }),
    ]);
    const client = new FolioClient({ baseUrl: 'http://folio.test', fetch: f });
    const got: Array<[string | undefined, string]> = [];
    for await (const e of client.events('j')) got.push([e.id, e.event]);
    expect(got).toEqual([['1', 'progress'], ['2', 'progress'], ['3', 'status']]);
    expect(calls[0]!.headers.get('last-event-id')).toBeNull();
    expect(calls[1]!.headers.get('last-event-id')).toBe('2');
    expect(calls[1]!.url).toBe('http://folio.test/api/v1/pdf/jobs/j/events');
  });

  it('throws NotFoundError when the route or job is unknown', async () => {
    const { f } = fakeFetch([() => new Response(JSON.stringify({ error: { code: 'not_found', message: 'No such job' } }), { status: 404 })]);
    const client = new FolioClient({ baseUrl: 'http://folio.test', fetch: f });
    const it = client.events('j');
    await expect(it.next()).rejects.toBeInstanceOf(NotFoundError);
  });
});
