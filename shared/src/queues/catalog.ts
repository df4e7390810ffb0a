import { z } from 'zod';
import type { DefaultJobOptions } from 'bullmq';

/**
 * The one catalog of Folio's background jobs: name → queue, payload schema and default options.
 * Payloads hold ids and page numbers only — never file contents, never secrets (Redis keeps job
 * data in clear). They are validated when enqueued and again when picked up.
 */
export const QUEUE_NAMES = {
  plan: 'plan',
  pages: 'pages',
  ocr: 'ocr',
  assemble: 'assemble',
  maintenance: 'maintenance',
  webhooks: 'webhooks',
} as const;
export type QueueName = (typeof QUEUE_NAMES)[keyof typeof QUEUE_NAMES];

const jobId = z.string().uuid();

export const planPayload = z.object({ jobId });
export type PlanPayload = z.infer<typeof planPayload>;

export const pagesPayload = z
  .object({ jobId, firstPage: z.number().int().positive(), lastPage: z.number().int().positive() })
  .refine((p) => p.lastPage >= p.firstPage, 'lastPage before firstPage');
export type PagesPayload = z.infer<typeof pagesPayload>;

export const ocrPayload = z.object({ jobId, page: z.number().int().positive() });
export type OcrPayload = z.infer<typeof ocrPayload>;

export const assemblePayload = z.object({ jobId });
export type AssemblePayload = z.infer<typeof assemblePayload>;

/** Delivers a job's terminal-state webhook; everything else (URL, event id) is read from the job record. */
export const webhookPayload = z.object({ jobId });
export type WebhookPayload = z.infer<typeof webhookPayload>;

export const retentionPayload = z.object({});
export type RetentionPayload = z.infer<typeof retentionPayload>;

/** What a pages job returns to its assemble parent. */
export const pagesResult = z.object({ key: z.string(), firstPage: z.number().int(), lastPage: z.number().int() });
export type PagesResult = z.infer<typeof pagesResult>;

export const JOB_CATALOG = {
  plan: { queue: QUEUE_NAMES.plan, payload: planPayload },
  pages: { queue: QUEUE_NAMES.pages, payload: pagesPayload },
  ocr: { queue: QUEUE_NAMES.ocr, payload: ocrPayload },
  assemble: { queue: QUEUE_NAMES.assemble, payload: assemblePayload },
  'retention-sweep': { queue: QUEUE_NAMES.maintenance, payload: retentionPayload },
  webhook: { queue: QUEUE_NAMES.webhooks, payload: webhookPayload },
} as const;
export type JobName = keyof typeof JOB_CATALOG;

/** Retries with exponential backoff help against S3 or Redis hiccups; permanent failures never throw. */
export function defaultJobOptions(attempts: number): DefaultJobOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: 1_000 },
    // Keep finished BullMQ jobs briefly: the job record in Redis is the durable state.
    removeOnComplete: { age: 3_600, count: 1_000 },
    removeOnFail: { age: 24 * 3_600, count: 5_000 },
  };
}

/** BullMQ job ids derived from the Folio job id, so re-adding after a crash is a no-op. */
export const bullJobIds = {
  plan: (id: string) => `plan-${id}`,
  assemble: (id: string) => `assemble-${id}`,
  pages: (id: string, firstPage: number) => `pages-${id}-${firstPage}`,
  ocr: (id: string, page: number) => `ocr-${id}-${page}`,
  webhook: (id: string) => `webhook-${id}`,
};

/** Reads a pages/ocr BullMQ job key (`<prefix>:<queue>:<kind>-<uuid>-<page>`) back into its parts. */
export function parseChildKey(key: string): { kind: 'pages' | 'ocr'; firstPage: number } | null {
  const m = /(pages|ocr)-[0-9a-f-]{36}-(\d+)$/.exec(key);
  return m ? { kind: m[1] as 'pages' | 'ocr', firstPage: Number(m[2]) } : null;
}
