import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signWebhook, verifyWebhook } from '@folio/shared';
import { upload } from '../support/client.ts';
import { corpusFile, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * Live status (SSE on the job's event stream) and webhooks (signed, retried with backoff, every
 * attempt visible on the job), on a real stack with a webhook receiver on loopback.
 */

const ADMIN = 'admin-token-for-events-tests-0123456789';
const SECRET = 'webhook-secret-for-tests-0123456789abcdef';
const DOC = corpusFile('born-digital/TAMReview.pdf'); // 23 pages: 6 chunks of 4

interface Frame {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

let stack: TestStack;
let receiver: http.Server;
let hookUrl = '';
let otherTenant = '';
const deliveries: Array<{ headers: http.IncomingHttpHeaders; body: string; answered: number }> = [];
const seen = new Set<string>();
const verdicts: unknown[] = [];

const auth = (token = ADMIN) => ({ authorization: `Bearer ${token}` });

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      // Fails twice, then accepts: the third attempt is the one that counts.
      const answered = deliveries.length < 2 ? 500 : 200;
      if (answered === 200) verdicts.push(verifyWebhook(SECRET, req.headers, body, { toleranceSec: 300, seen }));
      deliveries.push({ headers: req.headers, body, answered });
      res.writeHead(answered).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/folio?token=abc`;
  stack = await startTestStack({
    AUTH_REQUIRED: 'true',
    ADMIN_TOKEN: ADMIN,
    TEXT_CHUNK_PAGES: '4',
    SSE_HEARTBEAT_MS: '150',
    WEBHOOK_ALLOW_LIST: '127.0.0.0/8',
    WEBHOOK_SIGNING_SECRET: SECRET,
    WEBHOOK_BACKOFF_MS: '50',
  });
  const created = await fetch(`${stack.url}/api/v1/auth/tokens`, {
    method: 'POST',
    headers: { ...auth(), 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'other', role: 'client', tenant: 'other-tenant' }),
  });
  otherTenant = ((await created.json()) as { token: string }).token;
});

afterAll(async () => {
  await stack?.close();
  await new Promise((r) => receiver?.close(r));
});

/** Reads an SSE response until it ends (or `stopAfterMs`), as frames. */
async function readSse(path: string, opts: { headers?: Record<string, string>; stopAfterMs?: number } = {}): Promise<{ status: number; type: string; frames: Frame[] }> {
  const controller = new AbortController();
  const res = await fetch(`${stack.url}${path}`, { headers: { ...auth(), ...opts.headers }, signal: controller.signal });
  const frames: Frame[] = [];
  if (res.status !== 200 || res.body === null) return { status: res.status, type: res.headers.get('content-type') ?? '', frames };
  const timer = opts.stopAfterMs === undefined ? undefined : setTimeout(() => controller.abort(), opts.stopAfterMs);
  const decoder = new TextDecoder();
  let buf = '';
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buf += decoder.decode(chunk, { stream: true });
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const frame: Frame = {};
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) frame.comment = line.slice(1).trim();
          else {
            const [k, ...rest] = line.split(':');
            const v = rest.join(':').replace(/^ /, '');
            if (k === 'id' || k === 'event' || k === 'data') frame[k] = v;
          }
        }
        frames.push(frame);
      }
    }
  } catch (err) {
    if (!controller.signal.aborted) throw err;
  } finally {
    if (timer) clearTimeout(timer);
  }
  return { status: res.status, type: res.headers.get('content-type') ?? '', frames };
}

async function submit(fields: Record<string, string>): Promise<Response> {
  return upload(stack.url, DOC, fields, auth());
}

async function jobOf(id: string, token = ADMIN): Promise<Record<string, unknown> & { status: string }> {
  const res = await fetch(`${stack.url}/api/v1/pdf/jobs/${id}`, { headers: auth(token) });
  expect(res.status).toBe(200);
  return (await res.json()) as Record<string, unknown> & { status: string };
}

describe('job events over SSE, and webhooks', () => {
  let jobId = '';
  let firstRun: Frame[] = [];

  it('streams the current state, every progress event in order, and ends after the terminal status', async () => {
    const res = await submit({ ocr: 'never', callback_url: hookUrl });
    expect(res.status).toBe(202);
    jobId = ((await res.json()) as { job_id: string }).job_id;
    const { status, type, frames } = await readSse(`/api/v1/pdf/jobs/${jobId}/events`);
    expect(status).toBe(200);
    expect(type).toMatch(/^text\/event-stream/);
    const events = frames.filter((f) => f.event !== undefined);
    // First: the job view, without an id.
    expect(events[0]!.event).toBe('status');
    expect(events[0]!.id).toBeUndefined();
    expect(JSON.parse(events[0]!.data!)).toMatchObject({ job_id: jobId });
    const streamed = events.slice(1);
    firstRun = streamed;
    const ids = streamed.map((e) => e.id!);
    expect(ids.every((i) => /^\d+-\d+$/.test(i))).toBe(true);
    const cmp = (a: string, b: string) => {
      const [am, as] = a.split('-').map(BigInt) as [bigint, bigint];
      const [bm, bs] = b.split('-').map(BigInt) as [bigint, bigint];
      return am === bm ? (as < bs ? -1 : 1) : am < bm ? -1 : 1;
    };
    for (let i = 1; i < ids.length; i++) expect(cmp(ids[i - 1]!, ids[i]!)).toBe(-1);
    const progress = streamed.filter((e) => e.event === 'progress').map((e) => JSON.parse(e.data!) as { pages_done: number; pages_failed: number; pages_total: number });
    expect(progress).toHaveLength(6);
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.pages_done).toBeGreaterThan(progress[i - 1]!.pages_done);
    expect(progress.at(-1)).toMatchObject({ pages_done: 23, pages_failed: 0, pages_total: 23 });
    const statuses = streamed.filter((e) => e.event === 'status').map((e) => (JSON.parse(e.data!) as { status: string }).status);
    expect(statuses).toEqual(['planning', 'processing', 'completed']);
    const last = JSON.parse(streamed.at(-1)!.data!) as Record<string, unknown>;
    expect(streamed.at(-1)!.event).toBe('status');
    expect(last).toMatchObject({ type: 'status', status: 'completed', pages_done: 23, pages_total: 23 });
    expect(typeof last.at).toBe('string');
  });

  it('resumes after Last-Event-ID (header or query), replaying exactly what came after it', async () => {
    const middle = firstRun[3]!.id!;
    const byHeader = await readSse(`/api/v1/pdf/jobs/${jobId}/events`, { headers: { 'Last-Event-ID': middle } });
    const after = byHeader.frames.filter((f) => f.event !== undefined).slice(1);
    expect(after.map((f) => f.id)).toEqual(firstRun.slice(4).map((f) => f.id));
    expect(after.map((f) => f.data)).toEqual(firstRun.slice(4).map((f) => f.data));
    const byQuery = await readSse(`/api/v1/pdf/jobs/${jobId}/events?last_event_id=${encodeURIComponent(middle)}`);
    expect(byQuery.frames.filter((f) => f.event !== undefined).slice(1).map((f) => f.id)).toEqual(firstRun.slice(4).map((f) => f.id));
    expect((await readSse(`/api/v1/pdf/jobs/${jobId}/events`, { headers: { 'Last-Event-ID': 'nonsense' } })).status).toBe(400);
  });

  it('delivers the webhook signed, retrying after 500s; the job shows every attempt', async () => {
    const deadline = Date.now() + 20_000;
    let job = await jobOf(jobId);
    while ((job.webhook as { state?: string } | undefined)?.state !== 'delivered' && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      job = await jobOf(jobId);
    }
    const webhook = job.webhook as { url: string; state: string; delivered_at?: string; attempts: Array<{ at: string; status?: number; duration_ms: number }> };
    expect(webhook.state).toBe('delivered');
    expect(webhook.url).toBe(hookUrl.replace(/\?.*$/, '')); // origin + path only
    expect(webhook.attempts.map((a) => a.status)).toEqual([500, 500, 200]);
    expect(typeof webhook.delivered_at).toBe('string');
    expect((job.options as { callbackUrl: string }).callbackUrl).not.toContain('token=');
    expect(job).not.toHaveProperty('Retry-After');

    expect(deliveries).toHaveLength(3);
    const ok = deliveries[2]!;
    expect(verdicts).toEqual([{ ok: true, eventId: ok.headers['folio-event-id'], timestamp: Number(ok.headers['folio-timestamp']) }]);
    const payload = JSON.parse(ok.body) as { id: string; type: string; created_at: string; data: { job_id: string; status: string } };
    expect(payload).toMatchObject({ id: ok.headers['folio-event-id'], type: 'job.completed', data: { job_id: jobId, status: 'completed' } });
    expect(ok.headers['folio-signature']).toBe(signWebhook(SECRET, ok.headers['folio-timestamp'] as string, ok.body));
    // Every attempt carries the same event id: receivers drop duplicates by it.
    expect(new Set(deliveries.map((d) => d.headers['folio-event-id'])).size).toBe(1);
  });

  it('refuses replays, stale timestamps and tampered bodies with verifyWebhook', () => {
    const ok = deliveries[2]!;
    // The same delivery resent as is: the event id was seen.
    expect(verifyWebhook(SECRET, ok.headers, ok.body, { seen })).toEqual({ ok: false, reason: 'replayed' });
    // Re-signed (by someone holding the secret) with a timestamp ten minutes old.
    const old = Math.floor(Date.now() / 1000) - 600;
    const stale = { ...ok.headers, 'folio-timestamp': String(old), 'folio-signature': signWebhook(SECRET, old, ok.body) };
    expect(verifyWebhook(SECRET, stale, ok.body, { seen: new Set() })).toEqual({ ok: false, reason: 'timestamp_out_of_range' });
    // An old timestamp put on the captured signature does not verify at all.
    expect(verifyWebhook(SECRET, { ...ok.headers, 'folio-timestamp': String(old) }, ok.body)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(SECRET, ok.headers, ok.body.replace('completed', 'failed'))).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook('another-secret', ok.headers, ok.body)).toEqual({ ok: false, reason: 'bad_signature' });
    expect(verifyWebhook(SECRET, {}, ok.body)).toEqual({ ok: false, reason: 'missing_headers' });
  });

  it('refuses private, metadata and non-http callback URLs at submission', async () => {
    for (const url of ['http://10.0.0.1/hook', 'http://169.254.169.254/', 'http://[::1]:9/x', 'http://localhost/x']) {
      const res = await submit({ ocr: 'never', callback_url: url });
      expect(res.status, url).toBe(400);
      expect(((await res.json()) as { error: { code: string } }).error.code, url).toBe('url_not_allowed');
    }
    const ftp = await submit({ ocr: 'never', callback_url: 'ftp://example.com/x' });
    expect(ftp.status).toBe(400);
    expect(((await ftp.json()) as { error: { code: string } }).error.code).toBe('validation_failed');
  });

  /** A job record nothing works on (no plan step queued): it stays queued until cancelled. */
  async function idleJob(): Promise<string> {
    const id = randomUUID();
    const now = Date.now();
    await stack.api.deps.jobs.create({
      id, tenant: 'default', filename: 'idle.pdf', sizeBytes: 1, sha256: '0'.repeat(64), source: 'upload', options: {}, createdAt: now, expiresAt: now + 3_600_000,
    });
    return id;
  }

  it('sends heartbeats while nothing happens, and ends with the cancelled status after DELETE', async () => {
    const id = await idleJob();
    const reading = readSse(`/api/v1/pdf/jobs/${id}/events`);
    await new Promise((r) => setTimeout(r, 700));
    // The status answer keeps its Retry-After for pollers.
    const polled = await fetch(`${stack.url}/api/v1/pdf/jobs/${id}`, { headers: auth() });
    expect(polled.headers.get('retry-after')).toBe('2');
    expect((await fetch(`${stack.url}/api/v1/pdf/jobs/${id}`, { method: 'DELETE', headers: auth() })).status).toBe(200);
    const { frames } = await reading;
    expect(JSON.parse(frames[0]!.data!)).toMatchObject({ status: 'queued' });
    expect(frames.filter((f) => f.comment === 'ping').length).toBeGreaterThanOrEqual(3);
    const last = frames.filter((f) => f.event !== undefined).at(-1)!;
    expect(last.event).toBe('status');
    expect(JSON.parse(last.data!)).toMatchObject({ status: 'cancelled' });
  });

  it('closes the stream and its Redis connection when the client goes', async () => {
    const id = await idleJob();
    const before = stack.api.deps.streams!.size;
    const { frames } = await readSse(`/api/v1/pdf/jobs/${id}/events`, { stopAfterMs: 300 });
    expect(frames[0]!.event).toBe('status');
    const deadline = Date.now() + 5_000;
    while (stack.api.deps.streams!.size > before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(stack.api.deps.streams!.size).toBe(before);
  });

  it('answers 404 for another tenant\'s job events', async () => {
    const res = await readSse(`/api/v1/pdf/jobs/${jobId}/events`, { headers: auth(otherTenant) });
    expect(res.status).toBe(404);
    expect((await readSse(`/api/v1/pdf/jobs/00000000-0000-4000-8000-000000000000/events`)).status).toBe(404);
  });
});
