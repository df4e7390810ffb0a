/**
 * Rate-limiter bench: `node bench/rate-limit.ts [--seconds 90] [--window-ms 60000] [--limit 120] [--workers 3]`
 *
 * Starts a private redis-server (free port, temp dir; never the shared 6379) and forks `--workers`
 * copies of this file (`--worker`), each hammering Admission.admit for ONE provider key with an
 * RPM limit of `--limit` per `--window-ms`: on a refusal it sleeps the returned retryAfterMs and
 * tries again; each admitted call is settled at once. The admission times (Redis server time,
 * from the leases) are pooled to check the limiter:
 *
 * - max admitted in any rolling window (t - W, t]: must never exceed the limit;
 * - utilisation: admitted per rolling window / limit, sampled every W/600 over the windows lying
 *   fully inside the run (target >= 95 %: a retry lands as soon as a slot frees);
 * - overhead: round trip of an admit (and of a settle) as the client sees it, median and p99 µs.
 *
 * Bounded: children stop at `--seconds`, everything is killed after `--seconds` + 30 s; the
 * redis-server and temp dir are removed on exit. Prints a markdown table.
 */
import { fork, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { Admission, startEmbeddedRedis } from '@folio/shared';

interface WorkerConfig {
  url: string;
  prefix: string;
  seconds: number;
  windowMs: number;
  limit: number;
  index: number;
}
interface WorkerResult {
  admittedAt: number[];
  admitUs: number[];
  settleUs: number[];
  refused: number;
}

const { values } = parseArgs({
  options: {
    worker: { type: 'string' },
    seconds: { type: 'string', default: '90' },
    'window-ms': { type: 'string', default: '60000' },
    limit: { type: 'string', default: '120' },
    workers: { type: 'string', default: '3' },
  },
});

if (values.worker !== undefined) await runWorker(JSON.parse(values.worker) as WorkerConfig);
else await main();

/** One client process: waits for 'go', then admits as fast as the limiter lets it until the deadline. */
async function runWorker(cfg: WorkerConfig): Promise<void> {
  const redis = new Redis(cfg.url, { maxRetriesPerRequest: 1 });
  const adm = new Admission(redis, cfg.prefix, { windowMs: cfg.windowMs });
  await redis.ping(); // connected (and scripts defined) before the clock starts
  process.send?.('ready');
  const deadline = await new Promise<number>((resolve) => process.once('message', (m) => resolve(Number(m))));
  const res: WorkerResult = { admittedAt: [], admitUs: [], settleUs: [], refused: 0 };
  let n = 0;
  while (Date.now() < deadline) {
    const t0 = process.hrtime.bigint();
    const r = await adm.admit({
      leaseId: `w${cfg.index}:${n++}`,
      keyId: 'bench-key',
      limits: { rpm: cfg.limit, itpm: 0, otpm: 0 },
      tokens: { input: 1000, maxOutput: 500 },
      costMicroUsd: 7500,
      budgets: [{ scope: 'tenant:bench', limitMicroUsd: -1, period: 'month' }],
      leaseTtlMs: 120_000,
    });
    res.admitUs.push(Number(process.hrtime.bigint() - t0) / 1000);
    if (r.admitted) {
      res.admittedAt.push(r.lease.createdAtMs);
      const t1 = process.hrtime.bigint();
      await adm.settle(r.lease.id, { costMicroUsd: 3000, inputTokens: 1000, outputTokens: 200 });
      res.settleUs.push(Number(process.hrtime.bigint() - t1) / 1000);
    } else if (r.reason === 'rpm') {
      res.refused++;
      await sleep(Math.min(r.retryAfterMs, Math.max(0, deadline - Date.now())));
    } else throw new Error(`unexpected refusal ${JSON.stringify(r)}`);
  }
  await redis.quit();
  process.send?.(res, () => process.exit(0));
}

async function main(): Promise<void> {
  const seconds = Number(values.seconds);
  const windowMs = Number(values['window-ms']);
  const limit = Number(values.limit);
  const workers = Number(values.workers);
  if (!(seconds * 1000 > windowMs)) throw new Error('--seconds must be longer than the window to measure a full one');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-ratebench-'));
  const redis = await startEmbeddedRedis({ dir, persistent: false });
  const children: ChildProcess[] = [];
  const killer = setTimeout(() => {
    console.error('bench overran: stopping');
    for (const c of children) c.kill('SIGKILL');
    void redis.stop().finally(() => process.exit(1));
  }, seconds * 1000 + 30_000);
  try {
    const results: Array<Promise<WorkerResult>> = [];
    const ready: Array<Promise<void>> = [];
    for (let index = 0; index < workers; index++) {
      const cfg: WorkerConfig = { url: redis.url, prefix: 'ratebench', seconds, windowMs, limit, index };
      const child = fork(import.meta.filename, ['--worker', JSON.stringify(cfg)], { stdio: 'inherit' });
      children.push(child);
      ready.push(new Promise((resolve) => child.once('message', () => resolve())));
      results.push(
        new Promise((resolve, reject) => {
          child.on('message', (m) => {
            if (typeof m === 'object') resolve(m as unknown as WorkerResult);
          });
          child.once('exit', (code) => reject(new Error(`worker ${index} exited with ${code} before reporting`)));
        }),
      );
    }
    await Promise.all(ready);
    const deadline = Date.now() + seconds * 1000;
    for (const c of children) c.send(deadline);
    const all = await Promise.all(results);
    report(all, { seconds, windowMs, limit, workers });
  } finally {
    clearTimeout(killer);
    for (const c of children) if (c.exitCode === null) c.kill();
    await redis.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function report(all: WorkerResult[], o: { seconds: number; windowMs: number; limit: number; workers: number }): void {
  const times = all.flatMap((r) => r.admittedAt).sort((a, b) => a - b);
  const first = times[0] ?? 0;
  const end = first + o.seconds * 1000;
  // (t - W, t] holds what the limiter counts at t; the count peaks at an admission time.
  let maxInWindow = 0;
  for (let j = 0, i = 0; j < times.length; j++) {
    while ((times[i] ?? Infinity) <= (times[j] ?? 0) - o.windowMs) i++;
    maxInWindow = Math.max(maxInWindow, j - i + 1);
  }
  const counts: number[] = [];
  const step = o.windowMs / 600;
  for (let s = first + o.windowMs; s <= end; s += step) {
    counts.push(times.filter((t) => t > s - o.windowMs && t <= s).length);
  }
  const mean = counts.reduce((a, b) => a + b, 0) / Math.max(1, counts.length);
  const min = counts.length ? Math.min(...counts) : 0;
  const admitUs = all.flatMap((r) => r.admitUs);
  const settleUs = all.flatMap((r) => r.settleUs);
  const pct = (x: number) => `${((100 * x) / o.limit).toFixed(1)} %`;
  const rows: Array<[string, string]> = [
    ['set-up', `${o.workers} processes, 1 key, limit ${o.limit} per ${o.windowMs} ms window, ${o.seconds} s`],
    ['admitted / refused (retried)', `${times.length} / ${all.reduce((s, r) => s + r.refused, 0)}`],
    ['max admitted in any rolling window', `${maxInWindow} (${pct(maxInWindow)} of limit; must be <= 100 %)`],
    ['rolling windows inside the run: mean', `${mean.toFixed(1)} (${pct(mean)} of limit; target >= 95 %)`],
    ['rolling windows inside the run: min', `${min} (${pct(min)})`],
    ['overall rate', `${((times.length * o.windowMs) / (o.seconds * 1000)).toFixed(1)} per window (includes the first window's burst)`],
    ['admit round trip median / p99', `${quantile(admitUs, 0.5).toFixed(0)} / ${quantile(admitUs, 0.99).toFixed(0)} µs (n=${admitUs.length})`],
    ['settle round trip median / p99', `${quantile(settleUs, 0.5).toFixed(0)} / ${quantile(settleUs, 0.99).toFixed(0)} µs (n=${settleUs.length})`],
  ];
  console.log('| rate-limit bench | |\n|---|---|');
  for (const [k, v] of rows) console.log(`| ${k} | ${v} |`);
  if (maxInWindow > o.limit) process.exitCode = 1;
}

function quantile(xs: number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? 0;
}
