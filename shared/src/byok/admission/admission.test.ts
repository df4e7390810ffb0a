import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startEmbeddedRedis } from '../../redis/embedded-redis.ts';
import { Admission, AdmissionUnavailableError, type AdmitRequest, type AdmitResult } from './admission.ts';

// Rate tests shorten the window (Redis TIME cannot be faked): the algorithm does not depend on its length.
const redisUrl = inject('redisUrl');
const connections: Redis[] = [];
function connect(): Redis {
  const r = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
  connections.push(r);
  return r;
}
let redis: Redis;
beforeAll(() => {
  redis = connect();
});
afterAll(async () => {
  await Promise.all(connections.map((c) => c.quit().catch(() => undefined)));
});

const prefix = () => `t${randomUUID().slice(0, 8)}`;
let seq = 0;
function req(over: Partial<AdmitRequest> = {}): AdmitRequest {
  return {
    leaseId: `job:1:${++seq}`,
    keyId: 'key-a',
    limits: { rpm: 0, itpm: 0, otpm: 0 },
    tokens: { input: 0, maxOutput: 0 },
    costMicroUsd: 0,
    budgets: [],
    leaseTtlMs: 60_000,
    ...over,
  };
}
const admitted = (r: AdmitResult) => {
  if (!r.admitted) throw new Error(`expected admission, got ${JSON.stringify(r)}`);
  return r.lease;
};

/** Max admissions in any window (t - w, t]: the count peaks at an admission time. */
function maxInWindow(times: number[], windowMs: number): number {
  const s = [...times].sort((a, b) => a - b);
  let max = 0;
  for (let j = 0, i = 0; j < s.length; j++) {
    while ((s[i] ?? Infinity) <= (s[j] ?? 0) - windowMs) i++;
    max = Math.max(max, j - i + 1);
  }
  return max;
}

describe('rate limits (sliding log on Redis TIME)', () => {
  it('never admits more than the RPM in any window, with clients retrying at retryAfterMs', async () => {
    const p = prefix();
    const clients = [0, 1, 2, 3].map(() => new Admission(connect(), p, { windowMs: 1000 }));
    const times: number[] = [];
    const until = Date.now() + 2600;
    await Promise.all(
      clients.map(async (c) => {
        while (Date.now() < until) {
          const r = await c.admit(req({ limits: { rpm: 5, itpm: 0, otpm: 0 } }));
          if (r.admitted) times.push(r.lease.createdAtMs);
          else if (r.reason === 'rpm') await sleep(r.retryAfterMs);
          else throw new Error(JSON.stringify(r));
        }
      }),
    );
    expect(maxInWindow(times, 1000)).toBeLessThanOrEqual(5);
    // 3 windows' worth (t=0, ~1000, ~2000): the limiter does not starve either.
    expect(times.length).toBeGreaterThanOrEqual(15);
  });

  it('admits exactly RPM of 200 concurrent admits from several connections', async () => {
    const p = prefix();
    const admissions = [0, 1, 2, 3, 4].map(() => new Admission(connect(), p));
    const results = await Promise.all(
      Array.from({ length: 200 }, (_, i) => admissions[i % 5]!.admit(req({ limits: { rpm: 10, itpm: 0, otpm: 0 } }))),
    );
    expect(results.filter((r) => r.admitted)).toHaveLength(10);
    for (const r of results) {
      if (!r.admitted) {
        expect(r.reason).toBe('rpm');
        if (r.reason === 'rpm') expect(r.retryAfterMs).toBeGreaterThan(59_000);
      }
    }
  });

  it('retryAfterMs is exact: earlier is refused, after it is admitted', async () => {
    const adm = new Admission(redis, prefix(), { windowMs: 1000 });
    const limits = { rpm: 3, itpm: 0, otpm: 0 };
    for (let i = 0; i < 3; i++) admitted(await adm.admit(req({ limits })));
    const first = await adm.admit(req({ limits }));
    if (first.admitted || first.reason !== 'rpm') throw new Error(JSON.stringify(first));
    expect(first.retryAfterMs).toBeGreaterThan(900);
    expect(first.retryAfterMs).toBeLessThanOrEqual(1000);
    await sleep(first.retryAfterMs - 100);
    const early = await adm.admit(req({ limits }));
    if (early.admitted || early.reason !== 'rpm') throw new Error(JSON.stringify(early));
    expect(early.retryAfterMs).toBeLessThanOrEqual(100);
    await sleep(early.retryAfterMs);
    admitted(await adm.admit(req({ limits })));
  });

  it('token waits are until the entry whose departure frees enough', async () => {
    const adm = new Admission(redis, prefix(), { windowMs: 1000 });
    const limits = { rpm: 0, itpm: 100, otpm: 0 };
    const a = admitted(await adm.admit(req({ limits, tokens: { input: 60, maxOutput: 0 } })));
    await sleep(300);
    const b = admitted(await adm.admit(req({ limits, tokens: { input: 30, maxOutput: 0 } })));
    // 90 used: 50 more needs the first (60) to leave; 80 more needs both to leave.
    const r50 = await adm.admit(req({ limits, tokens: { input: 50, maxOutput: 0 } }));
    const r80 = await adm.admit(req({ limits, tokens: { input: 80, maxOutput: 0 } }));
    if (r50.admitted || r50.reason !== 'itpm' || r80.admitted || r80.reason !== 'itpm') throw new Error(JSON.stringify([r50, r80]));
    expect(r80.retryAfterMs - r50.retryAfterMs).toBeGreaterThanOrEqual(Math.floor(b.createdAtMs - a.createdAtMs) - 1);
    expect(r80.retryAfterMs - r50.retryAfterMs).toBeLessThanOrEqual(Math.ceil(b.createdAtMs - a.createdAtMs) + 1);
    await sleep(r50.retryAfterMs);
    admitted(await adm.admit(req({ limits, tokens: { input: 50, maxOutput: 0 } })));
  });

  it('limits input and output tokens separately (and combined), and settles to actual tokens', async () => {
    const adm = new Admission(redis, prefix(), { windowMs: 60_000 });
    const limits = { rpm: 0, itpm: 1000, otpm: 100 };
    const first = admitted(await adm.admit(req({ limits, tokens: { input: 500, maxOutput: 60 } })));
    const out = await adm.admit(req({ limits, tokens: { input: 100, maxOutput: 60 } }));
    expect(out).toMatchObject({ admitted: false, reason: 'otpm' });
    const inp = await adm.admit(req({ limits, tokens: { input: 600, maxOutput: 10 } }));
    expect(inp).toMatchObject({ admitted: false, reason: 'itpm' });
    admitted(await adm.admit(req({ limits, tokens: { input: 400, maxOutput: 40 } }))); // 900 in, 100 out
    expect(await adm.admit(req({ limits, tokens: { input: 0, maxOutput: 200 } }))).toEqual({ admitted: false, reason: 'too_large', limit: 'otpm' });
    // The first call used 10 of its 60 output tokens: 50 come back.
    await adm.settle(first.id, { costMicroUsd: 0, inputTokens: 500, outputTokens: 10 });
    admitted(await adm.admit(req({ limits, tokens: { input: 100, maxOutput: 50 } })));
    expect(await adm.admit(req({ limits, tokens: { input: 0, maxOutput: 1 } }))).toMatchObject({ reason: 'otpm' });
    // Combined TPM (the catalog's `tpm`): 700 + 300 fit in 1000, 1 more does not.
    const both = { rpm: 0, itpm: 0, otpm: 0, tpm: 1000 };
    admitted(await adm.admit(req({ keyId: 'key-b', limits: both, tokens: { input: 700, maxOutput: 300 } })));
    expect(await adm.admit(req({ keyId: 'key-b', limits: both, tokens: { input: 1, maxOutput: 0 } }))).toMatchObject({ reason: 'tpm' });
  });
});

describe('budgets and leases', () => {
  it('64 concurrent admits never reserve past the budget, all or nothing across scopes; settling frees room', async () => {
    const p = prefix();
    const admissions = [0, 1, 2, 3].map(() => new Admission(connect(), p));
    const budgets = [
      { scope: 'job:j1', limitMicroUsd: 1000 },
      { scope: 'tenant:acme', limitMicroUsd: 1_000_000, period: 'month' as const },
    ];
    const costs = Array.from({ length: 64 }, (_, i) => 37 + ((i * 53) % 113));
    const results = await Promise.all(costs.map((c, i) => admissions[i % 4]!.admit(req({ costMicroUsd: c, budgets }))));
    const leases = results.flatMap((r) => (r.admitted ? [r.lease] : []));
    const sum = leases.reduce((s, l) => s + l.costMicroUsd, 0);
    expect(sum).toBeLessThanOrEqual(1000);
    // Full: every refused call was larger than what is left, and the largest costs 149.
    expect(sum).toBeGreaterThan(1000 - 150);
    for (const r of results) if (!r.admitted) expect(r).toMatchObject({ reason: 'budget_exceeded', scope: 'job:j1', scopeKey: 'job:j1' });
    const adm = admissions[0]!;
    expect(await adm.spend('job:j1')).toEqual({ scopeKey: 'job:j1', spentMicroUsd: 0, reservedMicroUsd: sum, limitMicroUsd: 1000 });
    // The refused calls reserved nothing on the tenant either.
    expect((await adm.spend('tenant:acme', 'month')).reservedMicroUsd).toBe(sum);

    for (const l of leases) await adm.settle(l.id, { costMicroUsd: Math.floor(l.costMicroUsd / 10), inputTokens: 0, outputTokens: 0 });
    const spent = leases.reduce((s, l) => s + Math.floor(l.costMicroUsd / 10), 0);
    expect(await adm.spend('job:j1')).toMatchObject({ spentMicroUsd: spent, reservedMicroUsd: 0 });
    expect(await adm.spend('tenant:acme', 'month')).toMatchObject({ spentMicroUsd: spent, reservedMicroUsd: 0 });
    const room = 1000 - spent;
    admitted(await adm.admit(req({ costMicroUsd: room, budgets })));
    expect(await adm.admit(req({ costMicroUsd: 1, budgets }))).toEqual({
      admitted: false, reason: 'budget_exceeded', scope: 'job:j1', scopeKey: 'job:j1', remainingMicroUsd: 0,
    });
  });

  it('re-admitting a lease id is idempotent; settle twice and settle after refund do nothing', async () => {
    const adm = new Admission(redis, prefix());
    const budgets = [{ scope: 'job:j2', limitMicroUsd: 500 }];
    const limits = { rpm: 1, itpm: 0, otpm: 0 };
    const one = await adm.admit(req({ leaseId: 'j2:1:openai:0', limits, costMicroUsd: 300, budgets }));
    const again = await adm.admit(req({ leaseId: 'j2:1:openai:0', limits, costMicroUsd: 300, budgets }));
    expect(again).toEqual({ ...one, reused: true });
    expect(await adm.spend('job:j2')).toMatchObject({ reservedMicroUsd: 300 });
    expect(await adm.admit(req({ limits }))).toMatchObject({ admitted: false, reason: 'rpm' }); // one request taken, not two

    const s1 = await adm.settle('j2:1:openai:0', { costMicroUsd: 120, inputTokens: 1, outputTokens: 2 });
    expect(s1).toMatchObject({ status: 'settled', lease: { state: 'settled', settlement: { outcome: 'actual', costMicroUsd: 120 } } });
    const s2 = await adm.settle('j2:1:openai:0', { costMicroUsd: 999, inputTokens: 1, outputTokens: 2 });
    expect(s2).toMatchObject({ status: 'already_settled', lease: { settlement: { costMicroUsd: 120 } } });
    expect(await adm.refund('j2:1:openai:0')).toMatchObject({ status: 'already_settled' });
    expect(await adm.spend('job:j2')).toEqual({ scopeKey: 'job:j2', spentMicroUsd: 120, reservedMicroUsd: 0, limitMicroUsd: 500 });
    expect((await adm.admit(req({ leaseId: 'j2:1:openai:0', costMicroUsd: 300, budgets })))).toMatchObject({ admitted: true, reused: true, lease: { state: 'settled' } });

    // refund: nothing spent, the request slot comes back; a settle after it changes nothing.
    const adm2 = new Admission(redis, prefix());
    const r = admitted(await adm2.admit(req({ limits, costMicroUsd: 300, budgets })));
    expect(await adm2.refund(r.id)).toMatchObject({ status: 'settled', lease: { settlement: { outcome: 'refund', costMicroUsd: 0 } } });
    expect(await adm2.settle(r.id, { costMicroUsd: 300, inputTokens: 0, outputTokens: 0 })).toMatchObject({ status: 'already_settled' });
    expect(await adm2.spend('job:j2')).toMatchObject({ spentMicroUsd: 0, reservedMicroUsd: 0 });
    admitted(await adm2.admit(req({ limits })));
    // worst case: the reservation becomes the spend.
    const w = admitted(await adm2.admit(req({ costMicroUsd: 250, budgets })));
    await adm2.settleWorstCase(w.id);
    expect(await adm2.spend('job:j2')).toMatchObject({ spentMicroUsd: 250, reservedMicroUsd: 0 });
    expect(await adm2.settle('never-admitted', { costMicroUsd: 1, inputTokens: 0, outputTokens: 0 })).toEqual({ status: 'unknown' });
  });

  it('reclaims expired leases (no false budget_exceeded, no stuck key) and records a late settle once', async () => {
    const adm = new Admission(redis, prefix(), { windowMs: 500 });
    const budgets = [{ scope: 'tenant:t3', limitMicroUsd: 1000 }];
    const limits = { rpm: 1, itpm: 0, otpm: 0 };
    // A worker takes a lease and "crashes".
    const crashed = admitted(await adm.admit(req({ limits, costMicroUsd: 800, budgets, leaseTtlMs: 300 })));
    expect(await adm.admit(req({ keyId: 'other', costMicroUsd: 800, budgets }))).toMatchObject({ reason: 'budget_exceeded', remainingMicroUsd: 200 });
    await sleep(550);
    // Budget reclaimed at TTL, the key's request slot freed by the window: nothing is stuck.
    const next = admitted(await adm.admit(req({ limits, costMicroUsd: 800, budgets })));
    expect(await adm.spend('tenant:t3')).toMatchObject({ spentMicroUsd: 0, reservedMicroUsd: 800 });
    // The "crashed" worker was only slow: its settle records the spend once, releases nothing twice.
    const late = await adm.settle(crashed.id, { costMicroUsd: 150, inputTokens: 0, outputTokens: 0 });
    expect(late).toMatchObject({ status: 'settled' });
    expect(await adm.spend('tenant:t3')).toMatchObject({ spentMicroUsd: 150, reservedMicroUsd: 800 });
    expect(await adm.settle(crashed.id, { costMicroUsd: 150, inputTokens: 0, outputTokens: 0 })).toMatchObject({ status: 'already_settled' });
    await adm.settle(next.id, { costMicroUsd: 700, inputTokens: 0, outputTokens: 0 });
    expect(await adm.spend('tenant:t3')).toMatchObject({ spentMicroUsd: 850, reservedMicroUsd: 0 });
    // A re-admit of the expired lease id says so instead of granting a new call.
    const stale = admitted(await adm.admit(req({ leaseId: crashed.id, costMicroUsd: 800, budgets })));
    expect(stale.state).toBe('settled');
  });

  it('derives the monthly scope key from Redis TIME', async () => {
    const p = prefix();
    const adm = new Admission(redis, p);
    const [sec] = await redis.time();
    const ym = new Date(Number(sec) * 1000).toISOString().slice(0, 7);
    const lease = admitted(await adm.admit(req({ costMicroUsd: 5, budgets: [{ scope: 'tenant:acme', limitMicroUsd: 100, period: 'month' }] })));
    expect(lease.scopes).toEqual([{ scopeKey: `tenant:acme:${ym}`, reservedMicroUsd: 5 }]);
    expect(await redis.hget(`${p}:adm:budget:tenant:acme:${ym}`, 'reserved')).toBe('5');
    expect((await adm.spend('tenant:acme', 'month')).scopeKey).toBe(`tenant:acme:${ym}`);
  });

  it('computes YYYY-MM like JavaScript at month, year and leap-day boundaries', async () => {
    const inc = fs.readFileSync(path.join(import.meta.dirname, 'includes/admission.lua'), 'utf8');
    const lua = `local rcall = redis.call\n${inc}\nlocal out = {}\nfor i, s in ipairs(ARGV) do out[i] = yearMonth(tonumber(s)) end\nreturn out`;
    const dates = ['1970-01-01T00:00:00Z', '2000-02-29T23:59:59Z', '2000-03-01T00:00:00Z', '2024-12-31T23:59:59Z',
      '2025-01-01T00:00:00Z', '2026-11-30T23:59:59Z', '2100-02-28T12:00:00Z', '2100-03-01T00:00:00Z'];
    const secs = dates.map((d) => Date.parse(d) / 1000);
    for (let s = Date.parse('2026-01-01') / 1000; s < Date.parse('2029-01-01') / 1000; s += 86400 * 7 + 3607) secs.push(s);
    const got = (await redis.eval(lua, 0, ...secs.map(String))) as string[];
    expect(got).toEqual(secs.map((s) => new Date(s * 1000).toISOString().slice(0, 7)));
  });

  it('rejects (fails closed) when Redis is down', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-adm-'));
    const server = await startEmbeddedRedis({ dir, persistent: false });
    const producer = new Redis(server.url, { maxRetriesPerRequest: 1, retryStrategy: () => 100 });
    const blocking = new Redis(server.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    try {
      for (const c of [producer, blocking]) c.on('error', () => undefined);
      const a = new Admission(producer, 'down', { commandTimeoutMs: 1000 });
      const b = new Admission(blocking, 'down', { commandTimeoutMs: 1000 });
      admitted(await a.admit(req({ costMicroUsd: 1 })));
      admitted(await b.admit(req({ costMicroUsd: 1 })));
      await server.stop();
      await expect(a.admit(req({ costMicroUsd: 1 }))).rejects.toBeInstanceOf(AdmissionUnavailableError);
      // A connection that would wait for Redis forever still gets an answer: no.
      await expect(b.admit(req({ costMicroUsd: 1 }))).rejects.toThrow(/within 1000 ms/);
      await expect(a.settle('x', { costMicroUsd: 1, inputTokens: 0, outputTokens: 0 })).rejects.toBeInstanceOf(AdmissionUnavailableError);
    } finally {
      // quit() would wait for the dead server: drop the sockets.
      producer.disconnect();
      blocking.disconnect();
      await server.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects malformed requests before touching Redis', async () => {
    const adm = new Admission(redis, prefix());
    await expect(adm.admit(req({ costMicroUsd: 1.5 }))).rejects.toBeInstanceOf(RangeError);
    await expect(adm.admit(req({ budgets: [{ scope: 'a', limitMicroUsd: -2 }] }))).rejects.toBeInstanceOf(RangeError);
    await expect(adm.admit(req({ budgets: [{ scope: 'a', limitMicroUsd: 1 }, { scope: 'a', limitMicroUsd: 2 }] }))).rejects.toBeInstanceOf(RangeError);
  });
});
