export * from './usage-event.ts';
export * from './usage-ledger.ts';
export * from './usage-aggregator.ts';
export * from './usage-stats.ts';
export { USAGE_METRICS, type UsageMetric } from './usage-keys.ts';
