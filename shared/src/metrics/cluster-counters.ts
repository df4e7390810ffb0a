import type { Redis } from 'ioredis';

/**
 * Cluster-wide counters kept in Redis, for events that happen where a process's own metrics
 * registry cannot see them: inside BullMQ's sandboxed worker threads (provider calls, rate-limit
 * waits, budget rejections) and in every process that decrypts keys. Each event is an HINCRBY on
 * ONE hash, `<prefix>:metrics:counters`, whose fields name the series in exposition syntax, e.g.
 * `folio_provider_requests_total{provider="openai",model="gpt-4o",outcome="ok"}`. Every process
 * exposes the whole hash on /metrics (see cluster-metrics.ts), so each one reports the same
 * cluster totals: aggregate them with `max`, never `sum`.
 *
 * Values are integers (counts, tokens, µ$, µs), so concurrent increments from any number of
 * threads and processes add up exactly. Labels are bounded by construction: catalog provider and
 * model ids, fixed enumerations; never job ids or tenants.
 *
 * Recording never throws and is never awaited on a request or job path: a metric that cannot be
 * written (Redis down) is lost, the work goes on.
 */

export const metricsCountersKey = (prefix: string) => `${prefix}:metrics:counters`;

export const PROVIDER_REQUEST_OUTCOMES = ['ok', 'error', 'timeout', 'rate_limited', 'rejected'] as const;
export type ProviderRequestOutcome = (typeof PROVIDER_REQUEST_OUTCOMES)[number];

/** Upper bounds (seconds) of the provider latency histogram's buckets. */
export const PROVIDER_LATENCY_BUCKETS = [0.25, 0.5, 1, 2, 5, 10, 20, 30, 60, 120] as const;

/** Field names (series) of the hash. The `:`-suffixed ones are internal parts of a histogram. */
export const CLUSTER_SERIES = {
  providerRequests: 'folio_provider_requests_total',
  providerTokens: 'folio_provider_tokens_total',
  /** Exposed as `folio_provider_cost_usd_total` (stored in integer µ$). */
  providerCostMicroUsd: 'folio_provider_cost_micro_usd',
  /** One field per bucket hit (not cumulative), `le` = the bucket's upper bound or `+Inf`. */
  providerLatencyBucket: 'folio_provider_latency_seconds:bucket',
  /** Sum of the observed latencies in integer µs. */
  providerLatencySumUs: 'folio_provider_latency_seconds:sum_us',
  rateLimitWaits: 'folio_rate_limit_waits_total',
  budgetRejections: 'folio_budget_rejections_total',
  keyDecryptionFailures: 'folio_key_decryption_failures_total',
} as const;

export type Labels = Record<string, string>;

const escapeValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const unescapeValue = (v: string) => v.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));

/** A label value safe to keep: at most 64 characters of an id's alphabet. */
export function boundLabel(value: string | undefined, fallback = 'none'): string {
  if (value === undefined || value.length === 0) return fallback;
  return value.slice(0, 64).replace(/[^A-Za-z0-9_.:/@+-]/g, '_');
}

export function encodeSeries(name: string, labels: Labels = {}): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${escapeValue(v)}"`);
  return parts.length === 0 ? name : `${name}{${parts.join(',')}}`;
}

export function decodeSeries(field: string): { name: string; labels: Labels } | null {
  const m = /^([A-Za-z_:][A-Za-z0-9_:]*)(?:\{(.*)\})?$/s.exec(field);
  if (!m) return null;
  const labels: Labels = {};
  const body = m[2] ?? '';
  const re = /([A-Za-z_][A-Za-z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/gy;
  let pos = 0;
  while (pos < body.length) {
    re.lastIndex = pos;
    const l = re.exec(body);
    if (!l) return null;
    labels[l[1] as string] = unescapeValue(l[2] as string);
    pos = re.lastIndex;
  }
  return { name: m[1] as string, labels };
}

/** The bucket (upper bound as a label value) an observation falls into. */
export function latencyBucket(seconds: number): string {
  const b = PROVIDER_LATENCY_BUCKETS.find((le) => seconds <= le);
  return b === undefined ? '+Inf' : String(b);
}

export interface ProviderCallRecord {
  provider: string;
  model: string;
  outcome: ProviderRequestOutcome;
  /** Wall time of the call, when one was made. */
  latencySeconds?: number;
  /** Tokens and cost as charged (the usage ledger's numbers). */
  inputTokens?: number;
  outputTokens?: number;
  costMicroUsd?: number;
}

/** What the provider path records (see ClusterCounters); a seam for tests. */
export interface ProviderMetrics {
  providerCall(r: ProviderCallRecord): Promise<void>;
  rateLimitWait(provider: string): Promise<void>;
  budgetRejection(scope: string): Promise<void>;
}

/** Writes cluster-wide counters (HINCRBY on `<prefix>:metrics:counters`); see the file comment. */
export class ClusterCounters implements ProviderMetrics {
  private readonly redis: Redis;
  private readonly key: string;
  private readonly onError: ((err: unknown) => void) | undefined;

  constructor(redis: Redis, prefix: string, opts: { onError?: (err: unknown) => void } = {}) {
    this.redis = redis;
    this.key = metricsCountersKey(prefix);
    this.onError = opts.onError;
  }

  /** Adds each `by` (a non-negative integer) to its series in one round trip; resolves once written or lost, never rejects. */
  async add(entries: ReadonlyArray<readonly [name: string, labels: Labels, by: number]>): Promise<void> {
    const p = this.redis.pipeline();
    let n = 0;
    for (const [name, labels, by] of entries) {
      const v = Math.round(by);
      if (!Number.isFinite(v) || v <= 0) continue;
      p.hincrby(this.key, encodeSeries(name, labels), v);
      n++;
    }
    if (n === 0) return;
    try {
      const res = await p.exec();
      const failed = res?.find(([err]) => err !== null);
      if (failed) throw failed[0];
    } catch (err) {
      this.onError?.(err);
    }
  }

  providerCall(r: ProviderCallRecord): Promise<void> {
    const pm = { provider: boundLabel(r.provider), model: boundLabel(r.model) };
    const entries: Array<[string, Labels, number]> = [[CLUSTER_SERIES.providerRequests, { ...pm, outcome: r.outcome }, 1]];
    if (r.inputTokens) entries.push([CLUSTER_SERIES.providerTokens, { ...pm, direction: 'input' }, r.inputTokens]);
    if (r.outputTokens) entries.push([CLUSTER_SERIES.providerTokens, { ...pm, direction: 'output' }, r.outputTokens]);
    if (r.costMicroUsd) entries.push([CLUSTER_SERIES.providerCostMicroUsd, pm, r.costMicroUsd]);
    if (r.latencySeconds !== undefined && Number.isFinite(r.latencySeconds) && r.latencySeconds >= 0) {
      entries.push([CLUSTER_SERIES.providerLatencyBucket, { ...pm, le: latencyBucket(r.latencySeconds) }, 1]);
      // +1 µs keeps a zero-time observation visible to add(), which skips zeros.
      entries.push([CLUSTER_SERIES.providerLatencySumUs, pm, Math.max(1, Math.round(r.latencySeconds * 1e6))]);
    }
    return this.add(entries);
  }

  rateLimitWait(provider: string): Promise<void> {
    return this.add([[CLUSTER_SERIES.rateLimitWaits, { provider: boundLabel(provider) }, 1]]);
  }

  /** `scope`: `job` or `tenant` (anything else is counted as `other`). */
  budgetRejection(scope: string): Promise<void> {
    return this.add([[CLUSTER_SERIES.budgetRejections, { scope: scope === 'job' || scope === 'tenant' ? scope : 'other' }, 1]]);
  }

  keyDecryptionFailure(): Promise<void> {
    return this.add([[CLUSTER_SERIES.keyDecryptionFailures, {}, 1]]);
  }
}
