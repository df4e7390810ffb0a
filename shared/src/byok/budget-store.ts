import type { Redis } from 'ioredis';

/**
 * Monthly budgets per tenant for provider calls, in USD (`<p>:byok:budgets`: tenant → USD).
 * A tenant without one has the default (`TENANT_MONTHLY_BUDGET_USD`, or none). The spend against
 * it is the admission step's `tenant:<t>` scope of the current month.
 */
export class BudgetStore {
  private readonly redis: Redis;
  private readonly key: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.key = `${prefix}:byok:budgets`;
  }

  async monthlyUsd(tenant: string, fallback: number | undefined): Promise<number | undefined> {
    const v = await this.redis.hget(this.key, tenant);
    if (v === null) return fallback;
    return v === 'none' ? undefined : Number(v);
  }

  /** `null`: no budget for this tenant (overrides the default); `undefined`: back to the default. */
  async setMonthlyUsd(tenant: string, usd: number | null | undefined): Promise<void> {
    if (usd === undefined) await this.redis.hdel(this.key, tenant);
    else await this.redis.hset(this.key, tenant, usd === null ? 'none' : String(usd));
  }
}
