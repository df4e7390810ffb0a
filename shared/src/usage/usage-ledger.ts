import type { Redis } from 'ioredis';
import { ValidationError } from '../errors/errors.ts';
import { usageEventSchema, usageEventTime, type UsageEvent } from './usage-event.ts';

/**
 * Appends an event to the ledger stream unless its id was seen before, in one step: the dedup
 * check, the XADD and the dedup mark cannot be separated by a crash or by a concurrent append of
 * the same id, so each id has at most one ledger entry (within the dedup key's TTL).
 * KEYS[1] dedup key, KEYS[2] ledger stream. ARGV[1] dedup TTL (s), ARGV[2..] field/value pairs.
 * Returns {1, streamId} when appended, {0, streamId of the first append} for a duplicate.
 */
const APPEND_LUA = `
local seen = redis.call('GET', KEYS[1])
if seen then return {0, seen} end
local sid = redis.call('XADD', KEYS[2], '*', unpack(ARGV, 2))
redis.call('SET', KEYS[1], sid, 'EX', ARGV[1])
return {1, sid}
`;

type RedisWithAppend = Redis & {
  folioUsageAppend(seenKey: string, stream: string, ttl: string, ...fields: string[]): Promise<[number, string]>;
};

/** Long enough to outlive any retry or late re-delivery of an external record (about 13 months). */
const DEFAULT_DEDUP_TTL_S = 400 * 24 * 3600;

/** An event as stored in the ledger: `at` normalised to epoch ms. */
export type LedgerEvent = Omit<UsageEvent, 'at'> & { at: number };

export const usageLedgerKey = (prefix: string) => `${prefix}:usage:ledger`;

/**
 * The usage ledger: ONE Redis stream, `<prefix>:usage:ledger`, holding every usage event once.
 * It is the source of truth: the totals the aggregator keeps can always be rebuilt from it, so it
 * is never trimmed here (archive or trim it only together with a rebuild from the archive).
 */
export class UsageLedger {
  private readonly redis: RedisWithAppend;
  private readonly prefix: string;
  private readonly dedupTtlSeconds: number;

  constructor(redis: Redis, prefix: string, opts: { dedupTtlSeconds?: number } = {}) {
    if (!('folioUsageAppend' in redis)) {
      redis.defineCommand('folioUsageAppend', { numberOfKeys: 2, lua: APPEND_LUA });
    }
    this.redis = redis as RedisWithAppend;
    this.prefix = prefix;
    this.dedupTtlSeconds = opts.dedupTtlSeconds ?? DEFAULT_DEDUP_TTL_S;
  }

  get key(): string {
    return usageLedgerKey(this.prefix);
  }

  /**
   * Appends `event` exactly once per `event.id`: a repeated append (a retry, a re-run worker, a
   * client re-sending an external record) returns `appended: false` and the first entry's id.
   * Throws ValidationError for an event that does not match `usageEventSchema`.
   */
  async append(event: UsageEvent): Promise<{ appended: boolean; streamId: string }> {
    const parsed = usageEventSchema.safeParse(event);
    if (!parsed.success) throw new ValidationError('Invalid usage event', parsed.error.issues);
    const e = parsed.data;
    const fields = [
      'id', e.id,
      'tenant', e.tenant,
      'provider', e.provider,
      'model', e.model,
      'input_tokens', String(e.inputTokens),
      'output_tokens', String(e.outputTokens),
      'cost_micro_usd', String(e.costMicroUsd),
      'outcome', e.outcome,
      'at', String(usageEventTime(e.at)),
      'source', e.source,
    ];
    if (e.jobId !== undefined) fields.push('job_id', e.jobId);
    if (e.page !== undefined) fields.push('page', String(e.page));
    const [appended, streamId] = await this.redis.folioUsageAppend(
      `${this.prefix}:usage:seen:${e.id}`,
      this.key,
      String(this.dedupTtlSeconds),
      ...fields,
    );
    return { appended: appended === 1, streamId };
  }
}

/** Reads a ledger entry's flat field list back into an event; null if it is not a valid one. */
export function parseLedgerEntry(flat: readonly string[]): LedgerEvent | null {
  const h: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) h[flat[i] as string] = flat[i + 1] as string;
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  const parsed = usageEventSchema.safeParse({
    id: h.id,
    tenant: h.tenant,
    provider: h.provider,
    model: h.model,
    jobId: h.job_id,
    page: num(h.page),
    inputTokens: num(h.input_tokens),
    outputTokens: num(h.output_tokens),
    costMicroUsd: num(h.cost_micro_usd),
    outcome: h.outcome,
    at: num(h.at),
    source: h.source,
  });
  return parsed.success ? { ...parsed.data, at: parsed.data.at as number } : null;
}
