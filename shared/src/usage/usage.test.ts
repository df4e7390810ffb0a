import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { ValidationError } from '../errors/errors.ts';
import {
  isZeroPriced,
  readStats,
  UsageAggregator,
  UsageLedger,
  usageEventId,
  usageEventTime,
  utcDay,
  type StatsQuery,
  type UsageEvent,
  type UsageStats,
  type UsageTotals,
} from './index.ts';

// The run's private redis-server (test/support/global-setup.ts), never the machine's own.
const connections: Redis[] = [];
function connect(): Redis {
  const r = new Redis(inject('redisUrl'), { maxRetriesPerRequest: 1 });
  connections.push(r);
  return r;
}
afterAll(async () => {
  await Promise.all(connections.map((r) => r.quit()));
});

const newPrefix = () => `tu${randomUUID().slice(0, 8)}`;

const PROVIDERS: [string, string[]][] = [
  ['openai', ['gpt-4o', 'gpt-4o-mini']],
  ['anthropic', ['claude-sonnet-4-20250514']],
  ['openai_compatible', ['qwen2.5vl:7b']],
  ['huggingface', ['Qwen/Qwen2.5-VL-7B-Instruct']],
  ['tesseract', ['tesseract']],
];

/** Deterministic pseudo-random events over 3 tenants, 5 providers and 4 UTC days. */
function makeEvents(n: number, seed: number, jobPrefix = `job${seed}`): UsageEvent[] {
  let s = seed;
  const rnd = (m: number) => ((s = (s * 1103515245 + 12345) % 2 ** 31), s % m);
  return Array.from({ length: n }, (_, i) => {
    const [provider, models] = PROVIDERS[rnd(PROVIDERS.length)]!;
    const model = models[rnd(models.length)]!;
    const jobId = `${jobPrefix}-${i % 40}`;
    const page = 1 + Math.floor(i / 40);
    const inputTokens = rnd(3) === 0 ? 0 : rnd(5000);
    const free = provider === 'tesseract' || provider === 'openai_compatible' || rnd(10) === 0;
    return {
      id: usageEventId(jobId, page, provider, 1),
      tenant: ['acme', 'globex', 'initech'][rnd(3)]!,
      provider,
      model,
      jobId,
      page,
      inputTokens,
      outputTokens: rnd(800),
      costMicroUsd: free ? 0 : rnd(20_000),
      outcome: rnd(20) === 0 ? 'error' : 'ok',
      at: Date.UTC(2025, 5, 10 + rnd(4), rnd(24), rnd(60)),
      source: 'provider_call',
    };
  });
}

/** The stats `readStats` must give, computed from the events themselves. */
function expectedStats(events: UsageEvent[], q: StatsQuery = {}): UsageStats {
  const zero = (): UsageTotals => ({ requests: 0, input_tokens: 0, output_tokens: 0, cost_micro_usd: 0, cost_usd: 0, zero_priced: 0 });
  const out: UsageStats = { totals: zero(), by_provider: {}, by_model: {}, by_day: {}, zero_priced: 0 };
  for (const e of events) {
    const day = utcDay(usageEventTime(e.at));
    if (q.tenant !== undefined && e.tenant !== q.tenant) continue;
    if ((q.from !== undefined && day < q.from) || (q.to !== undefined && day > q.to)) continue;
    const rows = [out.totals, (out.by_provider[e.provider] ??= zero()), ((out.by_model[e.provider] ??= {})[e.model] ??= zero()), (out.by_day[day] ??= zero())];
    for (const r of rows) {
      r.requests += 1;
      r.input_tokens += e.inputTokens;
      r.output_tokens += e.outputTokens;
      r.cost_micro_usd += e.costMicroUsd;
      r.zero_priced += isZeroPriced(e) ? 1 : 0;
    }
  }
  const all = [out.totals, ...Object.values(out.by_provider), ...Object.values(out.by_day), ...Object.values(out.by_model).flatMap(Object.values)];
  for (const r of all) r.cost_usd = r.cost_micro_usd / 1e6;
  out.zero_priced = out.totals.zero_priced;
  return out;
}

async function appendAll(ledger: UsageLedger, events: UsageEvent[]): Promise<void> {
  for (let i = 0; i < events.length; i += 100) await Promise.all(events.slice(i, i + 100).map((e) => ledger.append(e)));
}

/** Reads and applies until nothing is left for this consumer; returns how many it applied. */
async function drain(agg: UsageAggregator, batch = 500): Promise<number> {
  let applied = 0;
  for (;;) {
    const b = await agg.read(batch);
    if (b.entries.length === 0) return applied;
    applied += await agg.apply(b);
  }
}

async function checkAll(redis: Redis, prefix: string, events: UsageEvent[]): Promise<void> {
  const queries: StatsQuery[] = [{}, { tenant: 'acme' }, { tenant: 'globex', from: '2025-06-11' }, { from: '2025-06-11', to: '2025-06-12' }, { to: '2025-06-10' }];
  for (const q of queries) expect(await readStats(redis, prefix, q), JSON.stringify(q)).toEqual(expectedStats(events, q));
}

describe('UsageLedger', () => {
  it('keeps one ledger entry per event id, however often and concurrently it is appended', async () => {
    const redis = connect();
    const prefix = newPrefix();
    const ledger = new UsageLedger(redis, prefix);
    const [e] = makeEvents(1, 1);
    // Six workers append the same call at once: exactly one entry.
    const results = await Promise.all(Array.from({ length: 6 }, () => new UsageLedger(connect(), prefix).append(e!)));
    expect(results.filter((r) => r.appended)).toHaveLength(1);
    const first = results[0]!;
    expect(results.every((r) => r.streamId === first.streamId)).toBe(true);
    expect((await ledger.append(e!)).appended).toBe(false);
    // The next attempt of the same page is another call, and another entry.
    expect((await ledger.append({ ...e!, id: usageEventId(e!.jobId!, e!.page!, e!.provider, 2) })).appended).toBe(true);
    expect(await redis.xlen(ledger.key)).toBe(2);

    const [, fields] = (await redis.xrange(ledger.key, first.streamId, first.streamId))[0]!;
    expect(fields).toEqual(expect.arrayContaining(['tenant', e!.tenant, 'cost_micro_usd', String(e!.costMicroUsd), 'at', String(e!.at), 'job_id', e!.jobId, 'source', 'provider_call']));
    await expect(ledger.append({ ...e!, inputTokens: -1 })).rejects.toBeInstanceOf(ValidationError);
    await expect(ledger.append({ ...e!, at: 'yesterday' })).rejects.toBeInstanceOf(ValidationError);
  });
});

describe('UsageAggregator', () => {
  it('applies each of 1,000 entries exactly once with 3 aggregators running at once', async () => {
    const prefix = newPrefix();
    const ledger = new UsageLedger(connect(), prefix);
    const events = makeEvents(1_000, 7);
    await appendAll(ledger, events);
    await appendAll(ledger, events.slice(0, 100)); // duplicates: not in the ledger twice
    // The third one claims anything pending at once, even entries the others are applying right
    // now: the XACK guard in the apply script must keep those from being counted twice.
    const aggs = [
      new UsageAggregator(connect(), prefix, { consumer: 'a' }),
      new UsageAggregator(connect(), prefix, { consumer: 'b' }),
      new UsageAggregator(connect(), prefix, { consumer: 'c', claimIdleMs: 0 }),
    ];
    const applied = await Promise.all(aggs.map((a) => drain(a, 37)));
    expect(applied.reduce((x, y) => x + y, 0)).toBe(1_000);
    await checkAll(connect(), prefix, events);
    expect(await aggs[0]!.runOnce()).toBe(0);
  });

  it('does not double count when a consumer dies after reading, or an apply is retried', async () => {
    const redis = connect();
    const prefix = newPrefix();
    const events = makeEvents(20, 3);
    await appendAll(new UsageLedger(redis, prefix), events);

    // "dead" reads the entries and stops before applying them.
    const dead = new UsageAggregator(connect(), prefix, { consumer: 'dead' });
    const stale = await dead.read(50);
    expect(stale.entries).toHaveLength(20);
    const live = new UsageAggregator(connect(), prefix, { consumer: 'live', claimIdleMs: 30 });
    expect(await live.runOnce()).toBe(0); // not idle long enough to be taken over yet
    await sleep(50);
    const claimed = await live.read(50);
    expect(claimed.entries.map((e) => e.id)).toEqual(stale.entries.map((e) => e.id));
    expect(await live.apply(claimed)).toBe(20);
    // The same script run again (a retry after a lost reply), and the stalled consumer waking up:
    // both find the entries acknowledged and change nothing.
    expect(await live.apply(claimed)).toBe(0);
    expect(await dead.apply(stale)).toBe(0);
    expect(await readStats(redis, prefix)).toEqual(expectedStats(events));
    expect(await redis.xpending(`${prefix}:usage:ledger`, 'usage-totals-v1')).toEqual([0, null, null, null]);
  });

  it('rebuild() reproduces the incremental totals, also while events keep arriving', async () => {
    const redis = connect();
    const prefix = newPrefix();
    const ledger = new UsageLedger(connect(), prefix);
    const first = makeEvents(300, 11, 'r1');
    await appendAll(ledger, first);
    const agg = new UsageAggregator(connect(), prefix);
    expect(await drain(agg)).toBe(300);
    const before = await readStats(redis, prefix);

    const rebuilt = await new UsageAggregator(connect(), prefix).rebuild();
    expect(rebuilt).toEqual({ version: 2, entries: 300, swapped: true });
    expect(await readStats(redis, prefix)).toEqual(before);
    await checkAll(redis, prefix, first);
    // The replaced version's keys and consumer group are gone.
    expect((await redis.keys(`${prefix}:usage:totals:v1:*`)).length).toBe(0);
    expect(((await redis.xinfo('GROUPS', ledger.key)) as unknown[][]).map((g) => g[1])).toEqual(['usage-totals-v2']);

    // Appends and an aggregator run during a (slow, small-batch) rebuild, then two rebuilds at once.
    const second = makeEvents(200, 12, 'r2');
    const rebuilding = new UsageAggregator(connect(), prefix).rebuild(20);
    const appending = (async () => {
      for (const e of second) await ledger.append(e);
    })();
    const aggregating = (async () => {
      for (let i = 0; i < 20; i++) await agg.runOnce(15);
    })();
    await Promise.all([rebuilding, appending, aggregating]);
    const twice = await Promise.all([new UsageAggregator(connect(), prefix).rebuild(30), new UsageAggregator(connect(), prefix).rebuild(30)]);
    expect(twice.some((r) => r.swapped)).toBe(true);
    await drain(agg);
    await checkAll(redis, prefix, [...first, ...second]);
    expect(((await redis.xinfo('GROUPS', ledger.key)) as unknown[][]).length).toBe(1);
  });

  it('counts an event on the UTC day it happened', async () => {
    const redis = connect();
    const prefix = newPrefix();
    const ledger = new UsageLedger(redis, prefix);
    const base = makeEvents(1, 5)[0]!;
    const times = ['2024-12-31T23:30:00-02:00', Date.UTC(2025, 0, 1, 23, 59, 59, 999), '2025-01-02T00:30:00+01:00', '2025-01-02T00:00:00Z'];
    for (const [i, at] of times.entries()) await ledger.append({ ...base, id: `ext-${i}`, source: 'external', at });
    await new UsageAggregator(redis, prefix).runOnce();
    const stats = await readStats(redis, prefix);
    expect(Object.keys(stats.by_day)).toEqual(['2025-01-01', '2025-01-02']);
    expect(stats.by_day['2025-01-01']?.requests).toBe(3);
    expect((await readStats(redis, prefix, { from: '2025-01-02' })).totals.requests).toBe(1);
    await expect(readStats(redis, prefix, { from: '2025-1-2' })).rejects.toBeInstanceOf(ValidationError);
  });

  it('counts tokens at zero cost from a provider that charges as zero_priced', async () => {
    const redis = connect();
    const prefix = newPrefix();
    const ledger = new UsageLedger(redis, prefix);
    const base = { ...makeEvents(1, 9)[0]!, inputTokens: 100, outputTokens: 10, costMicroUsd: 0 };
    await ledger.append({ ...base, id: 'z1', provider: 'openai', model: 'gpt-4o' }); // zero-priced
    await ledger.append({ ...base, id: 'z2', provider: 'tesseract', model: 'tesseract' }); // local: free
    await ledger.append({ ...base, id: 'z3', provider: 'openai_compatible', model: 'llama3.1:8b' }); // self-hosted: free
    await ledger.append({ ...base, id: 'z4', provider: 'openai', model: 'gpt-4o', inputTokens: 0, outputTokens: 0 }); // no tokens
    await ledger.append({ ...base, id: 'z5', provider: 'anthropic', model: 'claude-sonnet-4-20250514', costMicroUsd: 450 });
    await new UsageAggregator(redis, prefix).runOnce();
    const stats = await readStats(redis, prefix);
    expect(stats.zero_priced).toBe(1);
    expect(stats.by_provider.openai?.zero_priced).toBe(1);
    expect(stats.by_model.openai_compatible?.['llama3.1:8b']?.requests).toBe(1);
    expect(stats.totals.cost_usd).toBe(0.00045);
  });

  it('shows a tenant only its own usage', async () => {
    const redis = connect();
    const prefix = newPrefix();
    const events = makeEvents(120, 21);
    await appendAll(new UsageLedger(redis, prefix), events);
    const agg = new UsageAggregator(redis, prefix);
    agg.start(10, 25);
    while ((await readStats(redis, prefix)).totals.requests < 120) await sleep(10);
    await agg.stop();
    const acme = await readStats(redis, prefix, { tenant: 'acme' });
    expect(acme).toEqual(expectedStats(events, { tenant: 'acme' }));
    expect(acme.totals.requests).toBe(events.filter((e) => e.tenant === 'acme').length);
    expect(acme.totals.requests).toBeLessThan(120);
    expect(await readStats(redis, prefix, { tenant: 'nobody' })).toEqual(expectedStats([]));
  });
});
