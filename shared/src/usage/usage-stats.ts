import type { Redis } from 'ioredis';
import { ValidationError } from '../errors/errors.ts';
import { USAGE_METRICS, usageTotalsKeys, type UsageMetric } from './usage-keys.ts';

/** Integer counters, plus `cost_usd` (µ$ / 1e6) for display only: sum µ$, never dollars. */
export type UsageTotals = Record<UsageMetric, number> & { cost_usd: number };

export interface UsageStats {
  totals: UsageTotals;
  by_provider: Record<string, UsageTotals>;
  /** provider → model → totals (model ids may contain `/` or `:`, so they are not joined). */
  by_model: Record<string, Record<string, UsageTotals>>;
  /** UTC day (`YYYY-MM-DD`, the day the usage happened) → totals. */
  by_day: Record<string, UsageTotals>;
  /** Events with tokens but no cost from a provider that should charge: a missing price. */
  zero_priced: number;
}

export interface StatsQuery {
  /** Only this tenant's usage. */
  tenant?: string;
  /** First UTC day included (`YYYY-MM-DD`). */
  from?: string;
  /** Last UTC day included (`YYYY-MM-DD`). */
  to?: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * Usage totals as the aggregator has applied them so far (it lags the ledger by at most its poll
 * interval). Without a day range the all-time hashes answer; with one, the per-day hashes of the
 * days in range that have usage are summed.
 */
export async function readStats(redis: Redis, prefix: string, q: StatsQuery = {}): Promise<UsageStats> {
  for (const d of [q.from, q.to]) {
    if (d !== undefined && (!DAY.test(d) || Number.isNaN(Date.parse(`${d}T00:00:00Z`)))) {
      throw new ValidationError(`Invalid day ${JSON.stringify(d)}; expected YYYY-MM-DD`);
    }
  }
  if (q.from !== undefined && q.to !== undefined && q.from > q.to) throw new ValidationError('`from` is after `to`');

  const acc = new Acc();
  const k = usageTotalsKeys(prefix);
  const version = await redis.get(k.current);
  if (version === null) return acc.result();
  const scope = k.scope(Number(version), q.tenant);
  const all = await redis.hgetall(scope);
  const ranged = q.from !== undefined || q.to !== undefined;
  const inRange = (day: string) => (q.from === undefined || day >= q.from) && (q.to === undefined || day <= q.to);

  const days = new Set<string>();
  for (const [field, value] of Object.entries(all)) {
    const parts = field.split('|');
    if (parts[0] === 'd') {
      if (parts[1] !== undefined && inRange(parts[1])) {
        days.add(parts[1]);
        acc.add(parts, Number(value));
      }
    } else if (!ranged) {
      acc.add(parts, Number(value));
    }
  }
  if (ranged && days.size > 0) {
    // Only days that have usage: the all-time hash lists them, so an open range costs nothing extra.
    const p = redis.pipeline();
    for (const day of days) p.hgetall(k.day(scope, day));
    for (const [err, h] of (await p.exec()) ?? []) {
      if (err) throw err;
      for (const [field, value] of Object.entries(h as Record<string, string>)) acc.add(field.split('|'), Number(value));
    }
  }
  return acc.result();
}

/** Sums hash fields (`<row>|<metric>`, row parts URI-encoded) into the stats shape. */
class Acc {
  private readonly totals = zero();
  private readonly byProvider: Record<string, UsageTotals> = {};
  private readonly byModel: Record<string, Record<string, UsageTotals>> = {};
  private readonly byDay: Record<string, UsageTotals> = {};

  add(parts: string[], value: number): void {
    const metric = parts.at(-1) as UsageMetric;
    if (!USAGE_METRICS.includes(metric)) return;
    const [kind, a = '', b = ''] = parts;
    let row: UsageTotals;
    if (kind === 'total' && parts.length === 2) row = this.totals;
    else if (kind === 'p' && parts.length === 3) row = this.byProvider[decodeURIComponent(a)] ??= zero();
    else if (kind === 'pm' && parts.length === 4) row = (this.byModel[decodeURIComponent(a)] ??= {})[decodeURIComponent(b)] ??= zero();
    else if (kind === 'd' && parts.length === 3) row = this.byDay[a] ??= zero();
    else return;
    row[metric] += value;
  }

  result(): UsageStats {
    const rows = [this.totals, ...Object.values(this.byProvider), ...Object.values(this.byDay), ...Object.values(this.byModel).flatMap(Object.values)];
    for (const r of rows) r.cost_usd = r.cost_micro_usd / 1e6;
    const byDay = Object.fromEntries(Object.entries(this.byDay).sort(([x], [y]) => (x < y ? -1 : 1)));
    return { totals: this.totals, by_provider: this.byProvider, by_model: this.byModel, by_day: byDay, zero_priced: this.totals.zero_priced };
  }
}

function zero(): UsageTotals {
  return { requests: 0, input_tokens: 0, output_tokens: 0, cost_micro_usd: 0, cost_usd: 0, zero_priced: 0 };
}
