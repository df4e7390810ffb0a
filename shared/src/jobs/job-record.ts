import { z } from 'zod';

export const JOB_STATUSES = ['queued', 'planning', 'processing', 'completed', 'partial', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
export const TERMINAL_STATUSES: readonly JobStatus[] = ['completed', 'partial', 'failed', 'cancelled'];
export const isTerminal = (s: JobStatus): boolean => TERMINAL_STATUSES.includes(s);

export const jobErrorSchema = z.object({ code: z.string(), message: z.string() });
export type JobError = z.infer<typeof jobErrorSchema>;

/** The durable state of one Folio job (a Redis hash; BullMQ jobs are only the work items). */
export interface JobRecord {
  id: string;
  tenant: string;
  status: JobStatus;
  filename: string;
  sizeBytes: number;
  sha256: string;
  source: 'upload' | 'url';
  sourceUrl?: string;
  options: Record<string, unknown>;
  pagesTotal?: number;
  pagesDone: number;
  pagesFailed: number;
  createdAt: number;
  startedAt?: number;
  finishedAt?: number;
  expiresAt: number;
  error?: JobError;
  requestId?: string;
  /** The engine plan for pages that need a model (the seed's `byok_optimization`). */
  optimization?: unknown;
  /** What provider calls actually cost, in integer micro-dollars. */
  costMicroUsd?: number;
  /** Delivery of the terminal-state webhook, when the job has a callback_url. */
  webhook?: WebhookState;
}

export interface WebhookAttempt {
  /** Epoch ms. */
  at: number;
  /** The receiver's HTTP status, when it answered. */
  status?: number;
  /** Why no usable answer came (timeout, refused address, connection error). */
  error?: string;
  durationMs: number;
}

export interface WebhookState {
  /** The event id (stable across retries, so receivers can drop duplicates). */
  eventId: string;
  /** origin + path of the callback URL. */
  url: string;
  state: 'pending' | 'delivered' | 'failed';
  attempts: WebhookAttempt[];
  deliveredAt?: number;
}

/** origin + path: what may be shown or logged of a URL (its query string may carry a token). */
export function urlOriginPath(url: string): string {
  try {
    const u = new URL(url);
    return `${u.origin}${u.pathname}`;
  } catch {
    return '';
  }
}

/** Public shape of a job as the API returns it (snake_case, ISO timestamps). */
export function toJobView(r: JobRecord, urls: { status: string; result: string }): Record<string, unknown> {
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return {
    job_id: r.id,
    status: r.status,
    filename: r.filename,
    size_bytes: r.sizeBytes,
    sha256: r.sha256,
    source: r.source,
    ...(r.sourceUrl === undefined ? {} : { source_url: r.sourceUrl }),
    options: typeof r.options.callbackUrl === 'string' ? { ...r.options, callbackUrl: urlOriginPath(r.options.callbackUrl) } : r.options,
    progress: {
      pages_total: r.pagesTotal ?? null,
      pages_done: r.pagesDone,
      pages_failed: r.pagesFailed,
      percent: r.pagesTotal ? Math.floor(((r.pagesDone + r.pagesFailed) / r.pagesTotal) * 100) : 0,
    },
    timings: {
      created_at: iso(r.createdAt),
      started_at: iso(r.startedAt),
      finished_at: iso(r.finishedAt),
      duration_ms: r.finishedAt === undefined ? null : r.finishedAt - r.createdAt,
    },
    expires_at: iso(r.expiresAt),
    ...(r.optimization === undefined ? {} : { byok_optimization: r.optimization }),
    cost: { micro_usd: r.costMicroUsd ?? 0, usd: (r.costMicroUsd ?? 0) / 1e6 },
    error: r.error ?? null,
    ...(r.webhook === undefined
      ? {}
      : {
          webhook: {
            url: r.webhook.url,
            state: r.webhook.state,
            attempts: r.webhook.attempts.map((a) => ({
              at: new Date(a.at).toISOString(),
              ...(a.status === undefined ? {} : { status: a.status }),
              ...(a.error === undefined ? {} : { error: a.error }),
              duration_ms: a.durationMs,
            })),
            ...(r.webhook.deliveredAt === undefined ? {} : { delivered_at: new Date(r.webhook.deliveredAt).toISOString() }),
          },
        }),
    urls,
  };
}
