import type { Redis } from 'ioredis';
import { Counter, type Registry } from 'prom-client';
import { CLUSTER_SERIES, PROVIDER_LATENCY_BUCKETS, decodeSeries, metricsCountersKey, type Labels } from './cluster-counters.ts';
import { SharedRead, registerCustom } from './collect.ts';

interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

interface Source {
  read: SharedRead<Sample[]>;
}

/** Per registry, the Redis connections that can read the hash (the standalone process has two). */
const sourcesByRegistry = new WeakMap<Registry, Set<Source>>();

const CLUSTER_NOTE = 'Cluster-wide total kept in Redis: every process reports the same value (aggregate with max, not sum).';

/**
 * Exposes the cluster-wide counters of `<prefix>:metrics:counters` (see cluster-counters.ts) on
 * this registry, read on each scrape (one HGETALL per scrape, bounded by a timeout; the last values
 * are kept when Redis does not answer). Safe to call twice on one registry (the standalone
 * process): the metrics are registered once, and either connection serves the reads.
 * Returns a function that detaches this connection (call it before closing the connection).
 */
export function registerClusterMetrics(registry: Registry, redis: Redis, prefix: string, opts: { timeoutMs?: number } = {}): () => void {
  const key = metricsCountersKey(prefix);
  const source: Source = {
    read: new SharedRead(
      'cluster metrics',
      async () => {
        // While the connection is down the scrape answers at once with the last values.
        if (redis.status !== 'ready') throw new Error('redis not connected');
        return parseHash(await redis.hgetall(key));
      },
      opts,
    ),
  };
  let sources = sourcesByRegistry.get(registry);
  if (sources === undefined) {
    const set = new Set<Source>();
    sources = set;
    sourcesByRegistry.set(registry, set);
    defineMetrics(registry, async () => {
      const first = set.values().next().value;
      return first === undefined ? undefined : first.read.get();
    });
  }
  sources.add(source);
  const own = sources;
  return () => {
    own.delete(source);
  };
}

function parseHash(h: Record<string, string>): Sample[] {
  const out: Sample[] = [];
  for (const [field, raw] of Object.entries(h)) {
    const s = decodeSeries(field);
    const value = Number(raw);
    if (s !== null && Number.isFinite(value) && value >= 0) out.push({ ...s, value });
  }
  return out;
}

function sameLabelNames(labels: Labels, names: readonly string[]): boolean {
  const keys = Object.keys(labels);
  return keys.length === names.length && names.every((n) => n in labels);
}

interface CounterDef {
  name: string;
  help: string;
  labelNames: readonly string[];
  series: string;
  scale?: number;
}

const COUNTERS: CounterDef[] = [
  {
    name: 'folio_provider_requests_total',
    help: `Vision provider calls made, by provider, model and outcome (ok, error, timeout, rate_limited = HTTP 429, rejected = key refused with 401/403). ${CLUSTER_NOTE}`,
    labelNames: ['provider', 'model', 'outcome'],
    series: CLUSTER_SERIES.providerRequests,
  },
  {
    name: 'folio_provider_tokens_total',
    help: `Tokens charged for vision provider calls, by provider, model and direction (input or output); a timed-out call counts its worst case, as the usage ledger does. ${CLUSTER_NOTE}`,
    labelNames: ['provider', 'model', 'direction'],
    series: CLUSTER_SERIES.providerTokens,
  },
  {
    name: 'folio_provider_cost_usd_total',
    help: `Cost charged for vision provider calls in USD, by provider and model; a timed-out call counts its worst case, as the usage ledger does. ${CLUSTER_NOTE}`,
    labelNames: ['provider', 'model'],
    series: CLUSTER_SERIES.providerCostMicroUsd,
    scale: 1e-6,
  },
  {
    name: 'folio_rate_limit_waits_total',
    help: `Page jobs put back to wait for a provider rate limit (Folio's own admission limits or an HTTP 429), by provider. ${CLUSTER_NOTE}`,
    labelNames: ['provider'],
    series: CLUSTER_SERIES.rateLimitWaits,
  },
  {
    name: 'folio_budget_rejections_total',
    help: `Provider calls refused because their worst-case cost exceeds a budget, by budget scope (job or tenant). ${CLUSTER_NOTE}`,
    labelNames: ['scope'],
    series: CLUSTER_SERIES.budgetRejections,
  },
  {
    name: 'folio_key_decryption_failures_total',
    help: `Stored provider keys that failed their integrity check when decrypted (tampered record or wrong master key); never used. ${CLUSTER_NOTE}`,
    labelNames: [],
    series: CLUSTER_SERIES.keyDecryptionFailures,
  },
];

function defineMetrics(registry: Registry, snapshot: () => Promise<Sample[] | undefined>): void {
  for (const def of COUNTERS) {
    const scale = def.scale ?? 1;
    new Counter({
      name: def.name,
      help: def.help,
      labelNames: def.labelNames,
      registers: [registry],
      // The hash holds absolute totals: each scrape replaces this counter's values with them
      // (a failed read keeps the previous ones).
      async collect() {
        const samples = await snapshot();
        if (samples === undefined) return;
        this.reset();
        for (const s of samples) {
          if (s.name !== def.series || !sameLabelNames(s.labels, def.labelNames)) continue;
          if (def.labelNames.length === 0) this.inc(s.value * scale);
          else this.inc(s.labels, s.value * scale);
        }
      },
    });
  }

  // A histogram whose observations happen in other threads and processes: bucket counts and the
  // sum are Redis counters too, and this collector exposes them as a regular histogram.
  const name = 'folio_provider_latency_seconds';
  const help = `Wall time of vision provider calls in seconds, by provider and model (every call made, whatever its outcome). ${CLUSTER_NOTE}`;
  let last: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
  registerCustom(registry, {
    name,
    async get() {
      const samples = await snapshot();
      if (samples !== undefined) last = latencyValues(name, samples);
      return { name, help, type: 'histogram', values: last, aggregator: 'sum' };
    },
    reset() {
      last = [];
    },
  });
}

function latencyValues(name: string, samples: Sample[]) {
  const series = new Map<string, { labels: Labels; byLe: Map<string, number>; sumUs: number }>();
  const entry = (labels: Labels) => {
    const provider = labels.provider ?? 'none';
    const model = labels.model ?? 'none';
    const id = JSON.stringify([provider, model]);
    let e = series.get(id);
    if (e === undefined) {
      e = { labels: { provider, model }, byLe: new Map(), sumUs: 0 };
      series.set(id, e);
    }
    return e;
  };
  for (const s of samples) {
    if (s.name === CLUSTER_SERIES.providerLatencyBucket && s.labels.le !== undefined) {
      const e = entry(s.labels);
      e.byLe.set(s.labels.le, (e.byLe.get(s.labels.le) ?? 0) + s.value);
    } else if (s.name === CLUSTER_SERIES.providerLatencySumUs) {
      entry(s.labels).sumUs += s.value;
    }
  }
  const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
  for (const { labels, byLe, sumUs } of series.values()) {
    // Stored per bucket hit; exposed cumulative. `+Inf` is the count of every observation.
    const hits = [...byLe.entries()].map(([le, n]) => ({ le: le === '+Inf' ? Infinity : Number(le), n })).filter((h) => !Number.isNaN(h.le));
    const count = hits.reduce((a, h) => a + h.n, 0);
    for (const le of PROVIDER_LATENCY_BUCKETS) {
      values.push({ metricName: `${name}_bucket`, labels: { ...labels, le }, value: hits.filter((h) => h.le <= le).reduce((a, h) => a + h.n, 0) });
    }
    values.push({ metricName: `${name}_bucket`, labels: { ...labels, le: '+Inf' }, value: count });
    values.push({ metricName: `${name}_sum`, labels, value: sumUs / 1e6 });
    values.push({ metricName: `${name}_count`, labels, value: count });
  }
  return values;
}
