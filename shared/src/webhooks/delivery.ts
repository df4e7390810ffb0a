import { randomUUID } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { UnrecoverableError, type Queue } from 'bullmq';
import { AppError } from '../errors/errors.ts';
import { toJobView, urlOriginPath, type JobStatus, type WebhookAttempt } from '../jobs/job-record.ts';
import type { JobStore, TerminalHook } from '../jobs/job-store.ts';
import type { Logger } from '../logging/logger.ts';
import { bullJobIds } from '../queues/catalog.ts';
import { defaultLookup, describeUrl, parseAllowList, pinnedLookup, vetUrl, type Target } from '../net/vet-url.ts';
import { WEBHOOK_HEADERS, signWebhook } from './signing.ts';

export const WEBHOOK_EVENT_TYPES = {
  completed: 'job.completed',
  partial: 'job.partial',
  failed: 'job.failed',
  cancelled: 'job.cancelled',
} as const satisfies Partial<Record<JobStatus, string>>;

/** The BullMQ backoff type of webhook jobs (the strategy is in the worker's settings). */
export const WEBHOOK_BACKOFF_TYPE = 'folio-full-jitter';

/** Full jitter: attempt n (1-based, after its failure) waits a random time in [0, base × 2^(n-1)), at most an hour. */
export function fullJitterBackoff(attemptsMade: number, baseMs: number): number {
  const ceiling = Math.min(3_600_000, baseMs * 2 ** Math.max(0, attemptsMade - 1));
  return Math.floor(Math.random() * ceiling);
}

/**
 * The terminal-state hook of a JobStore: when the job has a callback_url, start its webhook
 * record (state pending, a fresh event id) and enqueue one delivery job (id derived from the job id,
 * so a second call adds nothing).
 */
export function webhookTerminalHook(
  jobs: JobStore,
  queue: () => Queue,
  opts: { maxAttempts: number; backoffMs: number; logger?: Logger },
): TerminalHook {
  return async (jobId) => {
    try {
      const rec = await jobs.get(jobId);
      const url = rec?.options.callbackUrl;
      if (typeof url !== 'string') return;
      await jobs.initWebhook(jobId, { eventId: randomUUID(), url: urlOriginPath(url), state: 'pending', attempts: [] });
      await queue().add(
        'webhook',
        { jobId },
        {
          jobId: bullJobIds.webhook(jobId),
          attempts: opts.maxAttempts,
          backoff: { type: WEBHOOK_BACKOFF_TYPE, delay: opts.backoffMs },
          removeOnComplete: { age: 3_600, count: 1_000 },
          removeOnFail: { age: 24 * 3_600, count: 5_000 },
        },
      );
    } catch (err) {
      opts.logger?.error({ jobId, err: err instanceof Error ? err.message : String(err) }, 'could not enqueue the job\'s webhook');
      throw err;
    }
  };
}

export interface DeliveryOptions {
  secret: string;
  allowList: readonly string[];
  timeoutMs: number;
  /** This attempt is the last one BullMQ will make. */
  lastAttempt: boolean;
  logger?: Logger;
  /** For tests: DNS override. */
  lookup?: (hostname: string) => Promise<Array<{ address: string; family: 4 | 6 }>>;
}

/**
 * One delivery attempt of a job's webhook. Resolves when the receiver answered 2xx; throws (for
 * BullMQ to retry) on 5xx, 408, 429, redirects, timeouts and connection errors; throws
 * UnrecoverableError on other 4xx and on a URL that no longer passes vetting. Every attempt is
 * recorded on the job.
 */
export async function deliverWebhook(jobs: JobStore, jobId: string, opts: DeliveryOptions): Promise<'delivered' | 'gone'> {
  const rec = await jobs.get(jobId);
  const url = rec?.options.callbackUrl;
  if (rec === null || typeof url !== 'string' || rec.webhook === undefined) return 'gone';
  const status = rec.status as keyof typeof WEBHOOK_EVENT_TYPES;
  const type = WEBHOOK_EVENT_TYPES[status];
  if (type === undefined) return 'gone';
  const { webhook: _attempts, ...view } = toJobView(rec, { status: `/api/v1/pdf/jobs/${rec.id}`, result: `/api/v1/pdf/jobs/${rec.id}/result` });
  const body = JSON.stringify({
    id: rec.webhook.eventId,
    type,
    created_at: new Date(rec.finishedAt ?? Date.now()).toISOString(),
    data: view,
  });

  const started = Date.now();
  let outcome: { status?: number; error?: string; permanent: boolean; ok: boolean };
  try {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`timed out after ${opts.timeoutMs} ms`)), opts.timeoutMs);
    try {
      const target = await vetUrl(new URL(url), parseAllowList(opts.allowList), opts.lookup ?? defaultLookup, controller.signal);
      const timestamp = Math.floor(Date.now() / 1000);
      const code = await post(target, body, {
        'content-type': 'application/json',
        'user-agent': 'Folio-Webhooks/1',
        [WEBHOOK_HEADERS.eventId]: rec.webhook.eventId,
        [WEBHOOK_HEADERS.timestamp]: String(timestamp),
        [WEBHOOK_HEADERS.signature]: signWebhook(opts.secret, timestamp, body),
      }, controller.signal);
      const ok = code >= 200 && code <= 299;
      outcome = { status: code, ok, permanent: !ok && code >= 400 && code <= 499 && code !== 408 && code !== 429 };
    } finally {
      clearTimeout(timer);
    }
  } catch (err) {
    const refused = err instanceof AppError && err.code === 'url_not_allowed';
    outcome = { error: err instanceof Error ? err.message : String(err), ok: false, permanent: refused };
  }
  const attempt: WebhookAttempt = {
    at: started,
    ...(outcome.status === undefined ? {} : { status: outcome.status }),
    ...(outcome.error === undefined ? {} : { error: outcome.error.slice(0, 300) }),
    durationMs: Date.now() - started,
  };
  if (outcome.ok) {
    await jobs.recordWebhookAttempt(jobId, attempt, 'delivered', Date.now());
    return 'delivered';
  }
  const final = outcome.permanent || opts.lastAttempt;
  await jobs.recordWebhookAttempt(jobId, attempt, final ? 'failed' : 'pending');
  const message = outcome.status === undefined ? `webhook delivery to ${describeUrl(new URL(url))} failed: ${outcome.error}` : `webhook receiver answered HTTP ${outcome.status}`;
  opts.logger?.warn({ jobId, status: outcome.status, err: outcome.error, final }, 'webhook delivery failed');
  throw outcome.permanent ? new UnrecoverableError(message) : new Error(message);
}

/** One POST to the vetted, pinned address; resolves with the status code. Redirects are not followed. */
function post(target: Target, body: string, headers: Record<string, string>, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const { url } = target;
    const req = (url.protocol === 'https:' ? https : http).request({
      protocol: url.protocol,
      hostname: target.host,
      port: url.port === '' ? undefined : Number(url.port),
      path: `${url.pathname}${url.search}`,
      method: 'POST',
      headers: { ...headers, host: url.host, 'content-length': String(Buffer.byteLength(body)) },
      ...(url.protocol === 'https:' && net.isIP(target.host) === 0 ? { servername: target.host } : {}),
      lookup: pinnedLookup(target.addresses),
      agent: false,
    });
    const onAbort = (): void => void req.destroy(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    req.on('response', (res) => {
      signal.removeEventListener('abort', onAbort);
      res.resume(); // the answer's body does not matter
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (err) => {
      signal.removeEventListener('abort', onAbort);
      reject(signal.aborted ? signal.reason : err);
    });
    req.end(body);
  });
}
