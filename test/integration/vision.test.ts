import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startApi } from '@folio/api';
import { ObjectStore, UsageAggregator, createLogger, createMetricsRegistry, freePort, generateMasterKey, readStats } from '@folio/shared';
import { corpusFile, startTestStack, testConfig, type TestStack } from '../support/stack.ts';
import { result, submitAndWait, upload, waitForJob, type JobView } from '../support/client.ts';
import { startFakeVision, type FakeVision } from '../support/fake-vision.ts';

const KEY_OPENAI = 'sk-openai-FOLIO-vision-test-key-000000000001';
const KEY_ANTHROPIC = 'sk-ant-FOLIO-vision-test-key-000000000002';

interface DocPage {
  page: number;
  engine: string;
  model?: string;
  text: string;
  tokens?: { input: number; output: number };
  cost_usd?: number;
  attempts?: Array<{ engine: string; outcome: string; reason?: string }>;
  error?: { code: string; message: string };
}
interface Doc {
  pages: DocPage[];
  cost: { micro_usd: number };
  byok_optimization?: { strategy: string; cascade: Array<{ provider: string }>; recommended_provider: { provider: string } | null; actual_cost_usd: number };
}

let stack: TestStack;
let openai: FakeVision;
let anthropic: FakeVision;
const api = (method: string, path: string, body?: unknown) =>
  fetch(`${stack.url}${path}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
const doc = async (id: string) => (await (await result(stack.url, id, 'json')).json()) as Doc;

beforeAll(async () => {
  openai = await startFakeVision();
  anthropic = await startFakeVision();
  stack = await startTestStack({
    OCR_ENGINE: 'tesseract.js',
    BYOK_ENCRYPTION_KEY: `v1:${generateMasterKey()}`,
    VISION_TIMEOUT_MS: '1500',
    JOB_ATTEMPTS: '2',
  });
  await api('PATCH', '/api/ai/providers/openai', { base_url: `${openai.url}/v1` });
  await api('PATCH', '/api/ai/providers/anthropic', { base_url: anthropic.url });
  expect((await api('POST', '/api/ai/providers/openai/keys', { api_key: KEY_OPENAI })).status).toBe(201);
  expect((await api('POST', '/api/ai/providers/anthropic/keys', { api_key: KEY_ANTHROPIC })).status).toBe(201);
});
afterAll(async () => {
  await stack?.close();
  await openai?.close();
  await anthropic?.close();
});
beforeEach(() => {
  openai.modes = [{ kind: 'ok' }];
  anthropic.modes = [{ kind: 'ok' }];
});

describe('vision providers through the tenant’s keys', () => {
  it('reads a scanned page with the named provider, and records tokens, cost and the plan', async () => {
    openai.modes = [{ kind: 'ok', text: '# The LinnSequencer\n\n32 Track MIDI Sequence Recorder', inputTokens: 1105, outputTokens: 321 }];
    const before = openai.calls.length;
    const job = await submitAndWait(stack.url, corpusFile('scanned/linn.pdf'), { ai_provider: 'openai', model: 'gpt-4o' });
    expect(job.status).toBe('completed');
    const d = await doc(job.job_id);
    expect(d.pages[0]).toMatchObject({ engine: 'openai', model: 'gpt-4o', tokens: { input: 1105, output: 321 } });
    expect(d.pages[0]!.text).toContain('LinnSequencer');
    // gpt-4o: $2.50 / $10.00 per 1M tokens → 1105 × 2.5 + 321 × 10 = 5972.5 → 5973 µ$
    expect(d.cost.micro_usd).toBe(5973);
    expect(d.byok_optimization).toMatchObject({ strategy: 'provider', cascade: [{ provider: 'openai' }, { provider: 'tesseract' }, { provider: 'text_layer' }], actual_cost_usd: 0.005973 });
    expect((job as JobView & { cost: { micro_usd: number } }).cost.micro_usd).toBe(5973);
    const call = openai.calls.at(-1)!;
    expect(openai.calls.length).toBe(before + 1);
    expect(call.path).toBe('/v1/chat/completions');
    expect(call.authorization).toBe(`Bearer ${KEY_OPENAI}`);
    expect(call.imageBytes).toBeGreaterThan(10_000);
  });

  it('waits out a 429 for exactly its retry-after, then completes, holding no worker slot meanwhile', async () => {
    openai.modes = [{ kind: 'rate_limited', retryAfterSeconds: 2 }, { kind: 'ok' }];
    const before = openai.calls.length;
    const job = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'openai' });
    expect(job.status).toBe('completed');
    const calls = openai.calls.slice(before);
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(1_900);
    expect((await doc(job.job_id)).pages[0]!.engine).toBe('openai');
  });

  it('cascades on a server error, a malformed body and a hang, down to local OCR, and says why', async () => {
    for (const mode of [{ kind: 'server_error' }, { kind: 'malformed' }, { kind: 'hang' }] as const) {
      openai.modes = [mode];
      const job = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'openai' });
      expect(job.status, mode.kind).toBe('completed');
      const p = (await doc(job.job_id)).pages[0]!;
      expect(p.engine).toBe('tesseract.js');
      expect(p.attempts?.[0]).toMatchObject({ engine: 'openai', outcome: 'failed' });
      if (mode.kind === 'hang') expect(p.attempts?.[0]?.reason).toContain('did not answer');
    }
  });

  it('with fallback_strategy=none a provider failure fails the page with its code', async () => {
    openai.modes = [{ kind: 'server_error' }];
    const job = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'openai', fallback_strategy: 'none' });
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('provider_error');
  });

  it('marks a rejected key invalid and falls back', async () => {
    anthropic.modes = [{ kind: 'unauthorized' }];
    const job = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'anthropic' });
    expect(job.status).toBe('completed');
    const p = (await doc(job.job_id)).pages[0]!;
    expect(p.attempts?.[0]).toMatchObject({ engine: 'anthropic', outcome: 'failed' });
    const key = (await (await api('GET', '/api/ai/providers/anthropic/keys/default')).json()) as { status: string };
    expect(key.status).toBe('invalid');
    // A fresh key makes the provider usable again.
    await api('POST', '/api/ai/providers/anthropic/keys', { api_key: KEY_ANTHROPIC });
  });

  it('never spends past a job budget: pages over it fall back (cascade) or fail with budget_exceeded', async () => {
    // Worst case of one gpt-4o page ≈ 1105 input + 4096 output tokens ≈ $0.044: a $0.05 budget fits one page.
    const cascade = await submitAndWait(stack.url, corpusFile('scanned/cardinal.pdf'), { ai_provider: 'openai', model: 'gpt-4o', budget_constraint: '0.05' });
    expect(cascade.status).toBe('completed');
    const d = await doc(cascade.job_id);
    const paid = d.pages.filter((p) => p.engine === 'openai');
    expect(paid.length).toBeGreaterThanOrEqual(1);
    expect(d.cost.micro_usd).toBeLessThanOrEqual(50_000);
    expect(d.pages.some((p) => p.attempts?.some((a) => a.reason?.includes('budget')))).toBe(true);

    const strict = await submitAndWait(stack.url, corpusFile('scanned/cardinal.pdf'), { ai_provider: 'openai', model: 'gpt-4o', budget_constraint: '0.05', fallback_strategy: 'none' });
    expect(['partial', 'failed']).toContain(strict.status);
    const s = await doc(strict.job_id);
    expect(s.pages.filter((p) => p.error?.code === 'budget_exceeded').length).toBeGreaterThanOrEqual(1);
    expect(s.cost.micro_usd).toBeLessThanOrEqual(50_000);
  });

  it('holds a tenant to its monthly budget, set through the API', async () => {
    const set = await api('PUT', '/api/ai/budget', { monthly_usd: 0.0001 });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ monthly_usd: 0.0001, month: expect.stringMatching(/^\d{4}-\d{2}$/) });
    try {
      const job = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'openai' });
      expect(job.status).toBe('completed');
      const p = (await doc(job.job_id)).pages[0]!;
      expect(p.engine).toBe('tesseract.js');
      expect(p.attempts?.[0]?.reason).toContain('tenant budget');
      const b = (await (await api('GET', '/api/ai/budget')).json()) as { spent_usd: number; remaining_usd: number };
      expect(b.spent_usd).toBeGreaterThan(0); // the earlier pages of this file
      expect(b.remaining_usd).toBe(0);
    } finally {
      await api('PUT', '/api/ai/budget', { monthly_usd: null });
    }
    expect((await api('PUT', '/api/ai/budget', { monthly_usd: -1 })).status).toBe(400);
  });

  it('shares the load across a provider’s keys, and moves to the next key when one is rate limited', async () => {
    const SECOND = 'sk-openai-FOLIO-vision-test-key-000000000003';
    expect((await api('POST', '/api/ai/providers/openai/keys', { api_key: SECOND, key_name: 'second' })).status).toBe(201);
    try {
      openai.modes = [{ kind: 'rate_limited', retryAfterSeconds: 30 }, { kind: 'ok' }];
      const before = openai.calls.length;
      const started = Date.now();
      const job = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'openai' });
      expect(job.status).toBe('completed');
      // No 30 s wait: the other key took the page at once.
      expect(Date.now() - started).toBeLessThan(25_000);
      const used = openai.calls.slice(before).map((c) => c.authorization);
      expect(new Set(used)).toEqual(new Set([`Bearer ${KEY_OPENAI}`, `Bearer ${SECOND}`]));
      // Pages start at different keys (page number modulo the key count).
      openai.modes = [{ kind: 'ok' }];
      const from = openai.calls.length;
      const cardinal = await submitAndWait(stack.url, corpusFile('scanned/cardinal.pdf'), { ai_provider: 'openai' });
      expect(cardinal.status).toBe('completed');
      expect(new Set(openai.calls.slice(from).map((c) => c.authorization)).size).toBe(2);
    } finally {
      await api('DELETE', '/api/ai/providers/openai/keys/second');
    }
  });

  it('ai_provider=auto follows the optimizer’s plan among the providers with keys', async () => {
    const job = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'auto', quality: 'low_cost' });
    expect(job.status).toBe('completed');
    const d = await doc(job.job_id);
    expect(d.byok_optimization?.strategy).toBe('auto');
    const first = d.byok_optimization!.cascade[0]!.provider;
    expect(['openai', 'anthropic']).toContain(first);
    expect(d.byok_optimization!.cascade.map((c) => c.provider).slice(-2)).toEqual(['tesseract', 'text_layer']);
    expect(d.pages[0]!.engine).toBe(first);
  });

  it('refuses an unknown provider or a model it does not have', async () => {
    expect((await upload(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'nope' })).status).toBe(400);
    expect((await upload(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'openai', model: 'gpt-0' })).status).toBe(400);
    expect((await upload(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'deepseek' })).status).toBe(400);
  });
});

describe('usage', () => {
  it('records every provider call once in the ledger and the totals, and takes external events', async () => {
    const { redis } = stack.api.deps;
    const prefix = stack.config.redis.prefix;
    await new UsageAggregator(redis, prefix, { consumer: 'test' }).runOnce();
    const stats = (await (await api('GET', '/api/ai/usage/stats')).json()) as { by_provider: Record<string, { requests: number; cost_micro_usd: number }> };
    expect(stats.by_provider.openai?.requests).toBeGreaterThanOrEqual(5);
    const ledger = await redis.xlen(`${prefix}:usage:ledger`);
    const tracked = await api('POST', '/api/ai/usage/track', { id: 'ext-1', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1000, output_tokens: 1000 });
    expect(tracked.status).toBe(201);
    expect(((await tracked.json()) as { cost_micro_usd: number }).cost_micro_usd).toBe(750);
    expect((await api('POST', '/api/ai/usage/track', { id: 'ext-1', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1000, output_tokens: 1000 })).status).toBe(200);
    expect(await redis.xlen(`${prefix}:usage:ledger`)).toBe(ledger + 1);
    await new UsageAggregator(redis, prefix, { consumer: 'test' }).runOnce();
    const after = await readStats(redis, prefix, { tenant: 'default' });
    expect(after.by_provider.openai!.cost_micro_usd).toBe(stats.by_provider.openai!.cost_micro_usd + 750);
    const providers = (await (await api('GET', '/api/ai/providers')).json()) as { providers: Array<{ id: string; usage: { requests: number } | null }> };
    expect(providers.providers.find((p) => p.id === 'openai')!.usage!.requests).toBe(after.by_provider.openai!.requests);
    // Tokens priced at zero on a paid provider: the alert metric counts it.
    await api('POST', '/api/ai/usage/track', { id: 'ext-zero', provider: 'openai', model: 'gpt-4o', input_tokens: 500, output_tokens: 50, cost_usd: 0 });
    await new UsageAggregator(redis, prefix, { consumer: 'test' }).runOnce();
    const metrics = await (await fetch(`${stack.url}/metrics`)).text();
    expect(metrics).toMatch(/^folio_usage_zero_priced_calls\{[^}]*\} 1$/m);
    expect(metrics).toMatch(/^folio_usage_cost_usd\{[^}]*provider="openai"[^}]*\} 0\.\d+$/m);
  });

  it('POST /api/ai/pdf/optimize and /api/ai/optimize-cost recommend with alternatives, explained', async () => {
    const o = (await (await api('POST', '/api/ai/pdf/optimize', { page_count: 10, quality: 'high' })).json()) as {
      recommended_provider: { provider: string; estimated_cost_usd: number };
      alternatives: { high_quality: unknown; cost_effective: { estimated_cost_usd: number } };
      explanation: string[];
    };
    expect(['openai', 'anthropic']).toContain(o.recommended_provider.provider);
    expect(o.alternatives.cost_effective.estimated_cost_usd).toBeLessThanOrEqual(o.recommended_provider.estimated_cost_usd);
    expect(o.explanation.join(' ')).toContain('10 page(s)');
    // Among the providers this tenant has keys for, the cheapest for 1M input tokens: gpt-4o-mini at $0.15.
    const c = (await (await api('POST', '/api/ai/optimize-cost', { input_tokens: 1_000_000, output_tokens: 0, quality: 'low_cost', only_usable: true })).json()) as {
      recommended_provider: { estimated_cost_usd: number; provider: string; model: string };
    };
    expect(c.recommended_provider).toMatchObject({ provider: 'openai', model: 'gpt-4o-mini', estimated_cost_usd: 0.15 });
  });
});

describe('a worker killed mid-call', () => {
  it('never double-counts usage: the page is paid once, in the ledger and the totals', async () => {
    const fake = await startFakeVision();
    const key = `v1:${generateMasterKey()}`;
    const env = { OCR_ENGINE: 'tesseract.js', BYOK_ENCRYPTION_KEY: key, WORKER_LOCK_MS: '2000', VISION_TIMEOUT_MS: '20000' };
    const config = testConfig(env);
    await ObjectStore.fromConfig(config).ensureBucket();
    // The API in this process; the workers in a child process we can kill -9.
    const api = await startApi(config, { logger: createLogger({ level: 'silent' }), registry: createMetricsRegistry('api') });
    const workerEnv = async () => ({
      PATH: process.env.PATH ?? '',
      NODE_ENV: 'test',
      LOG_LEVEL: 'silent',
      PORT: String(await freePort()),
      DATA_DIR: config.dataDir,
      REDIS_URL: config.redis.url!,
      REDIS_PREFIX: config.redis.prefix,
      S3_ENDPOINT: config.s3.endpoint!,
      S3_BUCKET: config.s3.bucket,
      S3_ACCESS_KEY_ID: 'S3RVER',
      S3_SECRET_ACCESS_KEY: 'S3RVER',
      ...env,
    });
    const root = path.resolve(import.meta.dirname, '../..');
    const spawnWorker = async () => spawn(process.execPath, ['services/worker/src/main.ts'], { cwd: root, env: await workerEnv(), stdio: 'ignore' });
    let worker = await spawnWorker();
    try {
      const call = (method: string, p: string, body?: unknown) =>
        fetch(`${api.url}${p}`, { method, headers: { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      await call('PATCH', '/api/ai/providers/openai', { base_url: `${fake.url}/v1` });
      await call('POST', '/api/ai/providers/openai/keys', { api_key: KEY_OPENAI });
      fake.modes = [{ kind: 'ok', delayMs: 8_000 }, { kind: 'ok', inputTokens: 1000, outputTokens: 100 }];
      const res = await upload(api.url, corpusFile('scanned/linn.pdf'), { ai_provider: 'openai', model: 'gpt-4o-mini' });
      const { job_id } = (await res.json()) as { job_id: string };
      // The first call is in flight: kill the worker process outright.
      const deadline = Date.now() + 60_000;
      while (fake.calls.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(fake.calls.length).toBe(1);
      worker.kill('SIGKILL');
      await new Promise((r) => worker.once('exit', r));
      worker = await spawnWorker();

      const job = await waitForJob(api.url, job_id, 90_000);
      expect(job.status).toBe('completed');
      expect(fake.calls.length).toBe(2);
      const { redis } = api.deps;
      const prefix = config.redis.prefix;
      const entries = await redis.xrange(`${prefix}:usage:ledger`, '-', '+');
      // One event: the call that answered. The killed call's lease expires unsettled.
      expect(entries.filter(([, f]) => f.includes(job_id))).toHaveLength(1);
      await new UsageAggregator(redis, prefix, { consumer: 'kill-test' }).runOnce();
      const stats = await readStats(redis, prefix, { tenant: 'default' });
      // gpt-4o-mini: 1000 × $0.15 + 100 × $0.60 per 1M = 150 + 60 = 210 µ$
      expect(stats.by_provider.openai).toMatchObject({ requests: 1, cost_micro_usd: 210 });
      const d = (await (await result(api.url, job_id, 'json')).json()) as Doc;
      expect(d.cost.micro_usd).toBe(210);
    } finally {
      worker.kill('SIGKILL');
      await api.close();
      await fake.close();
    }
  }, 150_000);
});
