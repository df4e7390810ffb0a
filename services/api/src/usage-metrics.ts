import type { Redis } from 'ioredis';
import { Gauge, type Registry } from 'prom-client';
import { DEFAULT_COLLECT_TIMEOUT_MS, readStats, withDeadline } from '@folio/shared';

/**
 * Usage totals read from Redis on each scrape (the ledger's aggregates, shared by every process),
 * including the alert signal: provider calls that reported tokens but priced to zero (a price
 * missing from the catalog).
 */
export function registerUsageMetrics(registry: Registry, redis: Redis, prefix: string): void {
  let last: Awaited<ReturnType<typeof readStats>> | undefined;
  const refresh = async () => {
    // Bounded: a scrape while Redis does not answer reports the last values.
    last = await withDeadline(readStats(redis, prefix), DEFAULT_COLLECT_TIMEOUT_MS, 'usage metrics').catch(() => last);
    return last;
  };
  new Gauge({
    name: 'folio_usage_zero_priced_calls',
    help: 'Provider calls that reported tokens but priced to zero (alert: a price is missing from the catalog).',
    registers: [registry],
    async collect() {
      const s = await refresh();
      this.set(s?.zero_priced ?? 0);
    },
  });
  new Gauge({
    name: 'folio_usage_cost_usd',
    help: 'Cost of provider calls recorded in the usage ledger, by provider, in USD.',
    labelNames: ['provider'],
    registers: [registry],
    async collect() {
      const s = await refresh();
      for (const [provider, row] of Object.entries(s?.by_provider ?? {})) this.set({ provider }, row.cost_micro_usd / 1e6);
    },
  });
}
