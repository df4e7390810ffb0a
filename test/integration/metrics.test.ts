import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import {
  ClusterCounters,
  createLogger,
  createMetricsRegistry,
  createQueues,
  createRedis,
  closeQueues,
  freePort,
  generateMasterKey,
  registerClusterMetrics,
  registerQueueMetrics,
} from '@folio/shared';
import { corpusFile, startTestStack, type TestStack } from '../support/stack.ts';
import { result, submitAndWait } from '../support/client.ts';
import { startFakeVision, type FakeVision } from '../support/fake-vision.ts';

const KEY_OPENAI = 'sk-openai-FOLIO-metrics-test-key-000000000001';
const KEY_BROKEN = 'sk-ant-FOLIO-metrics-test-key-000000000002';
const QUEUES = ['plan', 'pages', 'ocr', 'assemble', 'maintenance', 'webhooks'];
const STATES = ['waiting', 'active', 'delayed', 'waiting-children', 'failed', 'completed'];

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (enough of the format for Folio's output). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: m[3] === '+Inf' ? Infinity : Number(m[3]) });
  }
  return out;
}

class Metrics {
  readonly text: string;
  readonly samples: Sample[];
  constructor(text: string) {
    this.text = text;
    this.samples = parseExposition(text);
  }
  /** Samples of `name` whose labels include `labels`. */
  find(name: string, labels: Record<string, string> = {}): Sample[] {
    return this.samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  }
  /** The one sample of `name` with `labels` (undefined when absent). */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const found = this.find(name, labels);
    if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} samples`);
    return found[0]?.value;
  }
  type(name: string): string | undefined {
    return new RegExp(`^# TYPE ${name} (\\w+)$`, 'm').exec(this.text)?.[1];
  }
}

const promtool = spawnSync('which', ['promtool'], { encoding: 'utf8' }).stdout.trim();

/** `promtool check metrics` on an exposition: its findings (empty when clean). */
function promtoolFindings(text: string): string {
  const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return `${r.stdout}${r.stderr}`.trim() + (r.status === 0 ? '' : `\n(exit ${r.status})`);
}

/** Every metric family is declared once, with help text and a type. */
function expectWellFormed(m: Metrics) {
  const types = [...m.text.matchAll(/^# TYPE (\S+) (\w+)$/gm)].map((x) => x[1]!);
  expect(new Set(types).size, 'a metric family declared twice').toBe(types.length);
  for (const t of types) expect(m.text, `help of ${t}`).toMatch(new RegExp(`^# HELP ${t} \\S`, 'm'));
  if (promtool) expect(promtoolFindings(m.text)).toBe('');
}

describe('metrics on a running stack', () => {
  let stack: TestStack;
  let openai: FakeVision;
  let worker: ChildProcess | undefined;
  const api = (method: string, p: string, body?: unknown) =>
    fetch(`${stack.url}${p}`, { method, headers: body === undefined ? {} : { 'content-type': 'application/json' }, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
  const scrape = async (base: string) => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    return new Metrics(await res.text());
  };
  const pageEngines = async (id: string) => ((await (await result(stack.url, id, 'json')).json()) as { pages: Array<{ engine: string }> }).pages.map((p) => p.engine);

  beforeAll(async () => {
    openai = await startFakeVision();
    stack = await startTestStack({
      OCR_ENGINE: 'tesseract.js',
      BYOK_ENCRYPTION_KEY: `v1:${generateMasterKey()}`,
      VISION_TIMEOUT_MS: '5000',
      JOB_ATTEMPTS: '2',
    });
    expect((await api('PATCH', '/api/ai/providers/openai', { base_url: `${openai.url}/v1` })).status).toBe(200);
    expect((await api('POST', '/api/ai/providers/openai/keys', { api_key: KEY_OPENAI })).status).toBe(201);

    // A text PDF, a scanned one (local OCR), a vision page that gets one 429 first, and a vision
    // page refused by its job budget (it falls back to local OCR).
    const text = await submitAndWait(stack.url, corpusFile('born-digital/tracemonkey.pdf'));
    expect(text.status).toBe('completed');
    const scanned = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'));
    expect(scanned.status).toBe('completed');
    expect(await pageEngines(scanned.job_id)).toEqual(['tesseract.js']);
    openai.modes = [{ kind: 'rate_limited', retryAfterSeconds: 1 }, { kind: 'ok', inputTokens: 1105, outputTokens: 321 }];
    const vision = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'openai', model: 'gpt-4o' });
    expect(vision.status).toBe('completed');
    expect(await pageEngines(vision.job_id)).toEqual(['openai']);
    openai.modes = [{ kind: 'ok' }];
    const calls = openai.calls.length;
    const budget = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { ai_provider: 'openai', model: 'gpt-4o', budget_constraint: '0.001' });
    expect(budget.status).toBe('completed');
    expect(await pageEngines(budget.job_id)).toEqual(['tesseract.js']);
    expect(openai.calls.length).toBe(calls);

    // A stored key whose ciphertext was tampered with: decrypting it fails (and is counted).
    expect((await api('POST', '/api/ai/providers/anthropic/keys', { api_key: KEY_BROKEN, key_name: 'broken' })).status).toBe(201);
    const { redis } = stack.api.deps;
    const rec = `${stack.config.redis.prefix}:byok:key:default:anthropic:broken`;
    const ct = (await redis.hget(rec, 'ciphertext'))!;
    await redis.hset(rec, 'ciphertext', `${ct.slice(0, -2)}${ct.at(-2) === 'A' ? 'B' : 'A'}${ct.at(-1)}`);
    const verify = await api('POST', '/api/ai/providers/anthropic/keys/broken/verify');
    expect(((await verify.json()) as { error: { code: string } }).error.code).toBe('key_decryption_failed');
  }, 240_000);

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGTERM');
      await new Promise((r) => worker!.once('exit', r));
    }
    await stack?.close();
    await openai?.close();
  });

  it('reports queues, workers, pages by engine and the provider path, once each, in a form promtool accepts', async () => {
    const m = await scrape(stack.url);
    expectWellFormed(m);

    // Queues: every state of every queue, and the workers this process runs.
    expect(m.type('folio_queue_jobs')).toBe('gauge');
    for (const queue of QUEUES) {
      for (const state of STATES) expect(m.value('folio_queue_jobs', { queue, state }), `${queue} ${state}`).toBeGreaterThanOrEqual(0);
      expect(m.value('folio_workers', { queue }), `workers of ${queue}`).toBeGreaterThanOrEqual(1);
    }
    expect(m.value('folio_queue_jobs', { queue: 'plan', state: 'completed' })).toBeGreaterThanOrEqual(4);
    expect(m.value('folio_queue_jobs', { queue: 'ocr', state: 'completed' })).toBeGreaterThanOrEqual(3);

    // Pages by engine, at assemble: 14 text pages, 2 by local OCR, 1 by OpenAI.
    expect(m.value('folio_pages_processed_total', { engine: 'text_layer', outcome: 'ok' })).toBe(14);
    expect(m.value('folio_pages_processed_total', { engine: 'tesseract.js', outcome: 'ok' })).toBe(2);
    expect(m.value('folio_pages_processed_total', { engine: 'openai', outcome: 'ok' })).toBe(1);
    expect(m.type('folio_page_duration_seconds')).toBe('histogram');
    expect(m.value('folio_page_duration_seconds_count', { engine: 'text_layer' })).toBe(14);
    expect(m.value('folio_page_duration_seconds_count', { engine: 'tesseract.js' })).toBe(2);
    expect(m.value('folio_page_duration_seconds_count', { engine: 'openai' })).toBe(1);
    expect(m.value('folio_page_duration_seconds_sum', { engine: 'tesseract.js' })).toBeGreaterThan(0.05);
    for (const s of m.find('folio_pages_processed_total')) expect(['text_layer', 'tesseract', 'tesseract.js', 'openai', 'anthropic', 'none']).toContain(s.labels.engine);

    // The provider path (recorded in the OCR threads, through Redis).
    const gpt = { provider: 'openai', model: 'gpt-4o' };
    expect(m.type('folio_provider_requests_total')).toBe('counter');
    expect(m.value('folio_provider_requests_total', { ...gpt, outcome: 'ok' })).toBe(1);
    expect(m.value('folio_provider_requests_total', { ...gpt, outcome: 'rate_limited' })).toBe(1);
    expect(m.value('folio_provider_tokens_total', { ...gpt, direction: 'input' })).toBe(1105);
    expect(m.value('folio_provider_tokens_total', { ...gpt, direction: 'output' })).toBe(321);
    // gpt-4o: 1105 × $2.50 + 321 × $10.00 per 1M tokens = 5973 µ$
    expect(m.value('folio_provider_cost_usd_total', gpt)).toBeCloseTo(0.005973, 9);
    expect(m.type('folio_provider_latency_seconds')).toBe('histogram');
    expect(m.value('folio_provider_latency_seconds_count', gpt)).toBe(2);
    expect(m.value('folio_provider_latency_seconds_bucket', { ...gpt, le: '+Inf' })).toBe(2);
    expect(m.value('folio_provider_latency_seconds_sum', gpt)).toBeGreaterThan(0);
    const buckets = m.find('folio_provider_latency_seconds_bucket', gpt).map((s) => s.value);
    expect(buckets).toEqual([...buckets].sort((a, b) => a - b));
    expect(m.value('folio_rate_limit_waits_total', { provider: 'openai' })).toBeGreaterThanOrEqual(1);
    expect(m.value('folio_budget_rejections_total', { scope: 'job' })).toBeGreaterThanOrEqual(1);
    expect(m.value('folio_key_decryption_failures_total')).toBe(1);
    // Bounded labels: catalog ids only (no job ids, no tenants).
    for (const s of m.samples.filter((x) => x.name.startsWith('folio_provider_'))) {
      expect(Object.keys(s.labels).sort()).not.toContain('tenant');
      expect(JSON.stringify(s.labels)).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-/);
    }

    // The metrics that were there before.
    expect(m.value('folio_jobs_finished_total', { status: 'completed' })).toBe(4);
    expect(m.value('folio_job_duration_seconds_count', { status: 'completed' })).toBe(4);
    expect(m.find('folio_http_requests_total').length).toBeGreaterThan(0);
    expect(m.type('folio_http_request_duration_seconds')).toBe('histogram');
    expect(m.type('folio_usage_zero_priced_calls')).toBe('gauge');
  });

  it('serves the same cluster-wide provider counters from a separate worker process', async () => {
    const port = await freePort();
    const c = stack.config;
    worker = spawn(process.execPath, ['services/worker/src/main.ts'], {
      cwd: path.resolve(import.meta.dirname, '../..'),
      stdio: 'ignore',
      env: {
        PATH: process.env.PATH ?? '',
        NODE_ENV: 'test',
        LOG_LEVEL: 'silent',
        HOST: '127.0.0.1',
        PORT: String(port),
        DATA_DIR: c.dataDir,
        REDIS_URL: c.redis.url!,
        REDIS_PREFIX: c.redis.prefix,
        S3_ENDPOINT: c.s3.endpoint!,
        S3_BUCKET: c.s3.bucket,
        S3_ACCESS_KEY_ID: 'S3RVER',
        S3_SECRET_ACCESS_KEY: 'S3RVER',
        OCR_ENGINE: 'tesseract.js',
      },
    });
    const base = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + 60_000;
    let m: Metrics | undefined;
    while (Date.now() < deadline) {
      const res = await fetch(`${base}/metrics`).catch(() => null);
      if (res?.status === 200) {
        m = new Metrics(await res.text());
        // Its workers are connected once every queue counts two (this stack's and its own).
        if (QUEUES.every((queue) => (m!.value('folio_workers', { queue }) ?? 0) >= 2)) break;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    expect(m, 'worker /metrics').toBeDefined();
    expectWellFormed(m!);
    expect(m!.find('folio_process_cpu_seconds_total')[0]?.labels.role).toBe('worker');
    for (const queue of QUEUES) expect(m!.value('folio_workers', { queue })).toBeGreaterThanOrEqual(2);
    const gpt = { provider: 'openai', model: 'gpt-4o' };
    expect(m!.value('folio_provider_requests_total', { ...gpt, outcome: 'ok' })).toBe(1);
    expect(m!.value('folio_provider_tokens_total', { ...gpt, direction: 'input' })).toBe(1105);
    expect(m!.value('folio_provider_cost_usd_total', gpt)).toBeCloseTo(0.005973, 9);
    expect(m!.value('folio_provider_latency_seconds_count', gpt)).toBe(2);
    expect(m!.value('folio_rate_limit_waits_total', { provider: 'openai' })).toBeGreaterThanOrEqual(1);
    expect(m!.value('folio_budget_rejections_total', { scope: 'job' })).toBeGreaterThanOrEqual(1);
    expect(m!.value('folio_key_decryption_failures_total')).toBe(1);
    expect(m!.value('folio_queue_jobs', { queue: 'plan', state: 'completed' })).toBeGreaterThanOrEqual(4);
  }, 90_000);
});

/**
 * A Redis stand-in that connects and passes the ready check, then never answers a command: what a
 * scrape sees when Redis hangs (the connection is up, replies never come).
 */
async function startStalledRedis(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    let buf = '';
    socket.on('data', (d: Buffer) => {
      buf += d.toString('latin1');
      // RESP arrays of bulk strings: *<n>\r\n($<len>\r\n<arg>\r\n)*
      for (;;) {
        const m = /^\*(\d+)\r\n/.exec(buf);
        if (!m) return;
        let pos = m[0].length;
        const args: string[] = [];
        for (let i = 0; i < Number(m[1]); i++) {
          const l = /^\$(\d+)\r\n/.exec(buf.slice(pos));
          if (!l || buf.length < pos + l[0].length + Number(l[1]) + 2) return;
          pos += l[0].length;
          args.push(buf.slice(pos, pos + Number(l[1])));
          pos += Number(l[1]) + 2;
        }
        buf = buf.slice(pos);
        const cmd = args.map((a) => a.toLowerCase());
        if (cmd[0] === 'info') {
          const info = '# Server\r\nredis_version:7.2.4\r\n# Persistence\r\nloading:0\r\n';
          socket.write(`$${Buffer.byteLength(info)}\r\n${info}\r\n`);
        } else if (cmd[0] === 'hello') {
          socket.write("-ERR unknown command 'hello'\r\n"); // stays on RESP2
        } else if (cmd[0] === 'client' && (cmd[1] === 'setname' || cmd[1] === 'setinfo')) {
          socket.write('+OK\r\n');
        }
        // Anything else: no reply, ever.
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `redis://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

describe('a scrape while Redis does not answer', () => {
  const logger = createLogger({ level: 'silent' });

  it('answers within its timeout when Redis hangs', async () => {
    const stalled = await startStalledRedis();
    const redis = createRedis(stalled.url, 'worker', logger, 'stalled');
    const queues = createQueues(redis, 'stalled', 1);
    try {
      await new Promise<void>((resolve, reject) => {
        if (redis.status === 'ready') return resolve();
        redis.once('ready', () => resolve());
        setTimeout(() => reject(new Error(`not ready: ${redis.status}`)), 5_000).unref();
      });
      const registry = createMetricsRegistry('worker');
      registerQueueMetrics(registry, queues, { ready: () => redis.status === 'ready', timeoutMs: 500 });
      registerClusterMetrics(registry, redis, 'stalled', { timeoutMs: 500 });
      const t0 = performance.now();
      const m = new Metrics(await registry.metrics());
      expect(performance.now() - t0).toBeLessThan(3_000);
      expect(m.type('folio_queue_jobs')).toBe('gauge');
      expect(m.type('folio_provider_requests_total')).toBe('counter');
      expect(m.find('folio_queue_jobs')).toEqual([]);
    } finally {
      redis.disconnect();
      await stalled.close();
    }
  });

  it('keeps the last values when Redis goes away', async () => {
    const url = inject('redisUrl');
    const prefix = `mlast${Date.now() % 100000}`;
    const redis = createRedis(url, 'worker', logger, 'metrics-last');
    const queues = createQueues(redis, prefix, 1);
    try {
      await new ClusterCounters(redis, prefix).providerCall({ provider: 'openai', model: 'gpt-4o', outcome: 'ok', latencySeconds: 0.7, inputTokens: 10, outputTokens: 5, costMicroUsd: 75 });
      await queues.plan.add('plan', { jobId: '00000000-0000-4000-8000-000000000000' }, { delay: 60_000 });
      const registry = createMetricsRegistry('worker');
      // One registry, two sources (as in the standalone process): registered once.
      registerQueueMetrics(registry, queues, { ready: () => redis.status === 'ready' });
      registerQueueMetrics(registry, queues, { ready: () => redis.status === 'ready' });
      registerClusterMetrics(registry, redis, prefix);
      registerClusterMetrics(registry, redis, prefix);
      const first = new Metrics(await registry.metrics());
      expectWellFormed(first);
      expect(first.value('folio_queue_jobs', { queue: 'plan', state: 'delayed' })).toBe(1);
      expect(first.value('folio_provider_cost_usd_total', { provider: 'openai', model: 'gpt-4o' })).toBeCloseTo(0.000075, 9);
      expect(first.value('folio_provider_latency_seconds_bucket', { provider: 'openai', model: 'gpt-4o', le: '0.5' })).toBe(0);
      expect(first.value('folio_provider_latency_seconds_bucket', { provider: 'openai', model: 'gpt-4o', le: '1' })).toBe(1);
      expect(first.value('folio_provider_latency_seconds_sum', { provider: 'openai', model: 'gpt-4o' })).toBeCloseTo(0.7, 6);

      await queues.plan.obliterate({ force: true });
      redis.disconnect();
      await new Promise((r) => setTimeout(r, 300));
      const t0 = performance.now();
      const second = new Metrics(await registry.metrics());
      expect(performance.now() - t0).toBeLessThan(3_000);
      expect(second.value('folio_queue_jobs', { queue: 'plan', state: 'delayed' })).toBe(1);
      expect(second.value('folio_provider_requests_total', { provider: 'openai', model: 'gpt-4o', outcome: 'ok' })).toBe(1);
      expect(second.value('folio_provider_latency_seconds_count', { provider: 'openai', model: 'gpt-4o' })).toBe(1);
    } finally {
      await closeQueues(queues);
      redis.disconnect();
    }
  });
});

