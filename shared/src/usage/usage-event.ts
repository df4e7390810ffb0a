import { z } from 'zod';

/**
 * One billable (or possibly billable) thing that happened: a call to an AI provider or OCR engine
 * made for a job page, or a usage record reported from outside (`source: 'external'`).
 *
 * `id` is what makes the ledger exactly-once: it must be deterministic for the thing it counts, so
 * that a retried append (a worker killed after the provider call and run again) carries the same
 * id and is recognised as a duplicate. Provider calls use `usageEventId(...)`; external events bring
 * their own id.
 *
 * Units: token counts are whole tokens; cost is integer micro-dollars (1 USD = 1_000_000 µ$), the
 * unit the BYOK catalog computes prices in, so sums never suffer float rounding.
 */

const nonNegativeInt = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Names end up inside Redis key names and hash fields (encoded), so keep them bounded. */
const name = z.string().min(1).max(200);

export const USAGE_OUTCOMES = ['ok', 'error', 'unknown'] as const;
export type UsageOutcome = (typeof USAGE_OUTCOMES)[number];

export const USAGE_SOURCES = ['provider_call', 'external'] as const;
export type UsageSource = (typeof USAGE_SOURCES)[number];

export const usageEventSchema = z.strictObject({
  id: z.string().min(1).max(512),
  tenant: name,
  provider: name,
  model: name,
  jobId: z.string().min(1).max(200).optional(),
  page: z.number().int().positive().optional(),
  inputTokens: nonNegativeInt,
  outputTokens: nonNegativeInt,
  costMicroUsd: nonNegativeInt,
  outcome: z.enum(USAGE_OUTCOMES),
  /** When the usage happened (not when it was appended): the UTC day of this time is the event's day. */
  at: z.union([z.iso.datetime({ offset: true }), nonNegativeInt]),
  source: z.enum(USAGE_SOURCES),
});

export type UsageEvent = z.infer<typeof usageEventSchema>;

/**
 * The id of one provider call: the same page of the same job sent to the same engine on the same
 * attempt is the same call, however often the worker that made it is re-run.
 */
export function usageEventId(jobId: string, page: number, engine: string, attempt: number): string {
  return `${jobId}:${page}:${engine}:${attempt}`;
}

/** Epoch ms of an event's `at` (an ISO string with offset, or epoch ms). */
export function usageEventTime(at: string | number): number {
  const ms = typeof at === 'number' ? at : Date.parse(at);
  if (!Number.isFinite(ms)) throw new RangeError(`Invalid usage event time: ${String(at)}`);
  return ms;
}

/** The UTC calendar day (`YYYY-MM-DD`) of an epoch ms time: per-day totals use the event's day. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

/**
 * Providers whose calls can legitimately cost nothing (local engines, self-hosted or free-tier
 * endpoints). Tokens counted at zero cost for any other provider mean a missing price: the
 * aggregator counts those events as `zero_priced` so an alert can fire.
 */
export const POSSIBLY_FREE_PROVIDERS: readonly string[] = ['text_layer', 'tesseract', 'openai_compatible', 'huggingface'];

export function isZeroPriced(e: Pick<UsageEvent, 'provider' | 'inputTokens' | 'outputTokens' | 'costMicroUsd'>): boolean {
  return e.inputTokens + e.outputTokens > 0 && e.costMicroUsd === 0 && !POSSIBLY_FREE_PROVIDERS.includes(e.provider);
}
