/**
 * Where the usage totals live. Every totals key carries a version (`v<N>`): the aggregator writes
 * into the version `…:usage:totals:current` points at, and `rebuild()` builds version N+1 from the
 * ledger beside it and then moves the pointer, so readers switch from one complete set to the
 * other in a single step.
 *
 * Per version, per scope (`g` = all tenants, `t:<tenant>` = one tenant), two kinds of hash:
 * - `<scope>`           all-time rows: `total`, `p|<provider>`, `pm|<provider>|<model>`, `d|<day>`
 * - `<scope>:d:<day>`   that UTC day's rows: `total`, `p|<provider>`, `pm|<provider>|<model>`
 * A field is `<row>|<metric>`. Tenant, provider and model are URI-encoded, so `|` and `:` in a
 * model id (`qwen2.5vl:7b`) or tenant can never be mistaken for a separator.
 */
export const USAGE_METRICS = ['requests', 'input_tokens', 'output_tokens', 'cost_micro_usd', 'zero_priced'] as const;
export type UsageMetric = (typeof USAGE_METRICS)[number];

export const enc = encodeURIComponent;

export function usageTotalsKeys(prefix: string) {
  const base = `${prefix}:usage:totals`;
  const scope = (v: number, tenant?: string) => (tenant === undefined ? `${base}:v${v}:g` : `${base}:v${v}:t:${enc(tenant)}`);
  return {
    base,
    current: `${base}:current`,
    seq: `${base}:seq`,
    /** Consumer group of version `v` on the ledger: each totals version is fed by its own group. */
    group: (v: number) => `usage-totals-v${v}`,
    groupPrefix: 'usage-totals-v',
    groupVersion: (group: string) => /^usage-totals-v(\d+)$/.exec(group)?.[1],
    meta: (v: number) => `${base}:v${v}:meta`,
    scope,
    day: (scopeKey: string, day: string) => `${scopeKey}:d:${day}`,
    /** SCAN pattern of every versioned key (glob characters in the prefix escaped). */
    versionPattern: `${base.replace(/[*?[\]\\]/g, '\\$&')}:v*`,
    keyVersion: (key: string) => (key.startsWith(`${base}:v`) ? /^(\d+):/.exec(key.slice(base.length + 2))?.[1] : undefined),
  };
}
