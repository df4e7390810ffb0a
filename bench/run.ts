/**
 * Folio benchmark: `npm run bench [text|small|ocr] [--same-bytes] [--wait-load]` (no part named: all three).
 *
 * Starts a private redis-server (free port, never the shared 6379) and an s3rver in a temp dir,
 * then Folio stacks (API + workers in this process, default concurrency, tokens required: the
 * bench calls with a client token), and measures:
 *
 * - text:  freeculture.pdf (352 pages) uploaded through the HTTP API and polled every 20 ms until
 *          `completed`: with default options (1 warm-up + 5 runs) and with `ocr=never` (5 runs),
 *          beside `pdftotext freeculture.pdf /dev/null` (median of 5). Each upload gets a unique
 *          trailing PDF comment so every run is a new document (no warm caches by content hash);
 *          `--same-bytes` uploads the file unchanged.
 * - small: 200 generated one-page PDFs uploaded at concurrency 20: 202 latency p50/p99 and jobs/s
 *          until all are `completed`; plus plain BullMQ (200 adds, no-op worker) on the same Redis.
 * - ocr:   scanned/freeculture-p20-29.pdf (10 image-only pages, 300 DPI) with default options
 *          (every page OCR'd), 1 warm-up + 3 runs, on one stack per engine set-up (native
 *          tesseract, native with OCR_CONCURRENCY=3, tesseract.js; each stopped before the next
 *          starts): wall time, pages/min and CER against freeculture-gt/. References in the same
 *          run: the tesseract CLI on pdftoppm's 300 DPI PGMs (2 in parallel, OMP_THREAD_LIMIT=1)
 *          and `ocrmypdf --jobs 2 --sidecar … --output-type none`, 1 warm-up + 3 runs each.
 *          Missing tools are installed from Debian's packages (tesseract-ocr, ocrmypdf, poppler-utils).
 *          A measured run during which other processes used > 0.3 cores (from /proc) is replaced,
 *          up to 3 extra runs per series; every attempt is kept in the JSON.
 *
 * `--wait-load` first waits (up to 5 min) for the 1-minute load average to fall under 0.5 and
 * records whether it did. PAGE_CONCURRENCY, PLAN_CONCURRENCY, TEXT_CHUNK_PAGES and PDF_CACHE_BYTES
 * may be set in the environment for experiments; the report says so. Prints a markdown table and
 * writes bench/results/<timestamp>.json. Everything it started is stopped and removed even on
 * failure; exits non-zero on failure. See docs/BENCHMARKS.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Queue, Worker } from 'bullmq';
import {
  createLogger,
  loadConfig,
  resolveInfrastructure,
  startEmbeddedRedis,
  startEmbeddedS3,
  type EmbeddedRedis,
  type EmbeddedS3,
  type Infrastructure,
} from '@folio/shared';
import { startStack, type Stack } from '@folio/standalone';
import { cer } from '../test/support/cer.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const FREECULTURE = path.resolve(ROOT, '../shared/corpus/born-digital/freeculture.pdf');
const SCANNED = path.resolve(ROOT, '../shared/corpus/scanned/freeculture-p20-29.pdf');
const SCANNED_GT_DIR = path.resolve(ROOT, '../shared/corpus/scanned/freeculture-gt');
const SCANNED_PAGES = 10;
const SCANNED_DPI = 300;
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');

const TEXT_RUNS = 5;
const TEXT_WARMUP = 1;
const PDFTOTEXT_RUNS = 5;
const POLL_MS = 20;
const SMALL_JOBS = 200;
const SMALL_CONCURRENCY = 20;
const SMALL_POLL_CONCURRENCY = 4;
const TEXT_JOB_TIMEOUT_MS = 120_000;
const SMALL_TIMEOUT_MS = 180_000;
const RAW_TIMEOUT_MS = 60_000;
const OCR_RUNS = 3;
const OCR_WARMUP = 1;
const OCR_REF_RUNS = 3;
const OCR_REF_WARMUP = 1;
/**
 * OCR part: a measured run during which other processes used more than this many cores (see
 * foreignCores) is "disturbed" and replaced by another, up to OCR_EXTRA_ATTEMPTS more runs per
 * series; every attempt stays in the JSON.
 */
const DISTURBED_CORES = 0.3;
const OCR_EXTRA_ATTEMPTS = 3;
const OCR_JOB_TIMEOUT_MS = 300_000;
const OCR_REF_TIMEOUT_MS = 300_000;
/** `--wait-load`: wait for the 1-minute load average to fall under this, for at most LOAD_WAIT_MS. */
const LOAD_TARGET = 0.5;
const LOAD_WAIT_MS = 5 * 60_000;
/** The whole bench (after any load wait); past it everything is torn down and the process fails. */
const GLOBAL_TIMEOUT_MS = 25 * 60_000;

const PARTS = ['text', 'small', 'ocr'] as const;
type Part = (typeof PARTS)[number];

// ---------------------------------------------------------------------------------------------
// small helpers

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Nearest-rank percentile. */
function percentile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * s.length));
  return s[rank - 1] as number;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}

function log(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

/**
 * CPU ticks (USER_HZ, 100 a second on Linux) of the whole machine (busy, steal included) and of
 * this process with its reaped children (tesseract, pdftoppm, ocrmypdf and what they wait for).
 * null where /proc is missing.
 */
interface CpuTicks {
  busy: number;
  self: number;
}
const USER_HZ = 100;
function cpuTicks(): CpuTicks | null {
  try {
    const cpu = (fs.readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = cpu;
    const st = fs.readFileSync('/proc/self/stat', 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    // Fields 14–17: utime, stime, cutime, cstime.
    const self = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
    return { busy: user + nice + system + irq + softirq + steal, self };
  } catch {
    return null;
  }
}

/**
 * Mean number of cores used by everything but the bench (other processes, the hypervisor's steal,
 * and the bench's own redis-server) between two snapshots: how much someone else loaded the
 * machine during a measurement. null when unknown.
 */
function foreignCores(a: CpuTicks | null, b: CpuTicks | null, ms: number): number | null {
  if (a === null || b === null || ms <= 0) return null;
  return round(Math.max(0, b.busy - a.busy - (b.self - a.self)) / USER_HZ / (ms / 1000), 2);
}

// ---------------------------------------------------------------------------------------------
// the HTTP API (patterns of test/support/client.ts)

interface JobView {
  job_id: string;
  status: string;
  progress: { pages_total: number | null; pages_done: number; pages_failed: number; percent: number };
  timings: { created_at: string | null; started_at: string | null; finished_at: string | null; duration_ms: number | null };
  error: { code: string; message: string } | null;
}

const FAILED_STATES = new Set(['partial', 'failed', 'cancelled']);

/** `Authorization` of every benchmark request: a client token created at start (see createClientToken). */
let AUTH: Record<string, string> = {};

/** Tokens are required (AUTH_REQUIRED=true); the bench uses a client token, as a real caller would. */
async function createClientToken(base: string, adminToken: string): Promise<void> {
  const res = await fetch(`${base}/api/v1/auth/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'bench', role: 'client', tenant: 'bench' }),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`creating the bench's API token: HTTP ${res.status} ${text.slice(0, 300)}`);
  AUTH = { authorization: `Bearer ${(JSON.parse(text) as { token: string }).token}` };
}

async function postPdf(base: string, body: Blob, filename: string, fields: Record<string, string> = {}): Promise<string> {
  const form = new FormData();
  form.set('file', body, filename);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  const res = await fetch(`${base}/api/v1/pdf/process`, { method: 'POST', body: form, headers: AUTH });
  const text = await res.text();
  if (res.status !== 202) throw new Error(`upload ${filename}: HTTP ${res.status} ${text.slice(0, 300)}`);
  const { job_id } = JSON.parse(text) as { job_id: string };
  return job_id;
}

async function getJob(base: string, id: string): Promise<JobView> {
  const res = await fetch(`${base}/api/v1/pdf/jobs/${id}`, { headers: AUTH });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET job ${id}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return JSON.parse(text) as JobView;
}

function assertNotFailed(job: JobView): void {
  if (FAILED_STATES.has(job.status)) {
    throw new Error(`job ${job.job_id} ended ${job.status}: ${JSON.stringify(job.error)} (progress ${JSON.stringify(job.progress)})`);
  }
}

// ---------------------------------------------------------------------------------------------
// a one-page born-digital PDF, written by hand with a correct xref table

export function onePagePdf(line: string): Uint8Array {
  const esc = line.replace(/[\\()]/g, (c) => `\\${c}`);
  const content = `BT /F1 18 Tf 72 720 Td (${esc}) Tj ET\n`;
  const objects = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>',
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>',
    `<< /Length ${Buffer.byteLength(content, 'latin1')} >>\nstream\n${content}endstream`,
  ];
  let out = '%PDF-1.4\n%\xe2\xe3\xcf\xd3\n';
  const offsets: number[] = [];
  objects.forEach((body, i) => {
    offsets.push(Buffer.byteLength(out, 'latin1'));
    out += `${i + 1} 0 obj\n${body}\nendobj\n`;
  });
  const xref = Buffer.byteLength(out, 'latin1');
  out += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return new Uint8Array(Buffer.from(out, 'latin1'));
}

// ---------------------------------------------------------------------------------------------
// pdftotext

function havePdftotext(): boolean {
  return spawnSync('pdftotext', ['-v'], { stdio: 'ignore' }).error === undefined;
}

function pdftotextVersion(): string {
  const r = spawnSync('pdftotext', ['-v'], { encoding: 'utf8' });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim() ?? 'unknown';
}

/**
 * Installs Debian packages for the tools that are missing (apt-get update only if the first try
 * fails). Returns whether every check passes afterwards; never throws.
 */
function aptInstallFor(checks: Array<{ tool: string; ok: () => boolean; packages: string[] }>): boolean {
  const missing = checks.filter((c) => !c.ok());
  if (missing.length === 0) return true;
  const packages = [...new Set(missing.flatMap((c) => c.packages))];
  log(`${missing.map((c) => c.tool).join(', ')} missing: apt-get install -y ${packages.join(' ')}`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () => spawnSync('apt-get', ['install', '-y', ...packages], { stdio: ['ignore', 'ignore', 'inherit'], env });
  const r = install();
  if (r.error !== undefined || r.status !== 0) {
    log('install failed: apt-get update, then retry');
    spawnSync('apt-get', ['update'], { stdio: ['ignore', 'ignore', 'inherit'], env });
    install();
  }
  return checks.every((c) => c.ok());
}

function ensurePdftotext(): void {
  if (!aptInstallFor([{ tool: 'pdftotext', ok: havePdftotext, packages: ['poppler-utils'] }])) {
    throw new Error('pdftotext is not available and poppler-utils could not be installed');
  }
}

function timeCommand(cmd: string, args: string[], opts: { cwd?: string } = {}): Promise<number> {
  return runCommand(cmd, args, { ...opts, captureStdout: false }).then((r) => r.ms);
}

/** Spawns a command (process start included in the time); rejects on a non-zero exit or a timeout. */
function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; captureStdout?: boolean; timeoutMs?: number } = {},
): Promise<{ ms: number; stdout: string }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', opts.captureStdout ? 'pipe' : 'ignore', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => out.push(d));
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < 8_000) stderr += d.toString();
    });
    const timer = opts.timeoutMs === undefined ? undefined : setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      const ms = performance.now() - t0;
      if (code === 0) resolve({ ms, stdout: Buffer.concat(out).toString('utf8') });
      else reject(new Error(`${cmd} ${args.join(' ')} exited ${code ?? signal}: ${stderr.trim().split('\n').slice(-5).join(' | ')}`));
    });
  });
}

function firstLine(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.error !== undefined) return 'not installed';
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.split('\n')[0]?.trim() ?? 'unknown';
}

// ---------------------------------------------------------------------------------------------
// infrastructure

interface Env {
  dir: string;
  redis: EmbeddedRedis;
  s3: EmbeddedS3;
  infra: Infrastructure;
  stack: Stack;
  prefix: string;
  /** Stops the stack, Redis and s3rver and removes the temp dir (idempotent). */
  stop(): Promise<void>;
}

interface Cleanup {
  name: string;
  fn: () => Promise<void>;
}

const cleanups: Cleanup[] = [];

/** Runs cleanups last-in first-out, each bounded to 20 s; failures are logged, not thrown. */
async function runCleanups(list: Cleanup[]): Promise<void> {
  while (list.length > 0) {
    const c = list.pop() as Cleanup;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), 20_000)));
    try {
      await Promise.race([c.fn(), timeout]);
    } catch (err) {
      log(`cleanup ${c.name} failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      clearTimeout(timer);
    }
  }
}

const cleanupAll = () => runCleanups(cleanups);

/** Tuning variables taken from the environment for experiments (`TEXT_CHUNK_PAGES=16 npm run bench text`). */
const TUNABLE = ['PAGE_CONCURRENCY', 'PLAN_CONCURRENCY', 'TEXT_CHUNK_PAGES', 'PDF_CACHE_BYTES'] as const;

function settingOverrides(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of TUNABLE) {
    const v = process.env[k];
    if (v !== undefined && v !== '') out[k] = v;
  }
  return out;
}

/**
 * A private Redis, s3rver and Folio stack. `settings` are extra Folio settings (the OCR part's
 * OCR_ENGINE, OCR_CONCURRENCY); everything else is at its default.
 */
async function startEnv(settings: Record<string, string> = {}): Promise<Env> {
  // This environment's own cleanups, run by stop() or, on failure, by cleanupAll().
  const own: Cleanup[] = [];
  const entry: Cleanup = { name: 'bench environment', fn: () => runCleanups(own) };
  cleanups.push(entry);
  const stop = async () => {
    const i = cleanups.indexOf(entry);
    if (i >= 0) cleanups.splice(i, 1);
    await runCleanups(own);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-bench-'));
  own.push({ name: 'temp dir', fn: async () => fs.rmSync(dir, { recursive: true, force: true }) });
  // Not persistent (no append-only file), like the test suite's private Redis.
  const redis = await startEmbeddedRedis({ dir: path.join(dir, 'redis'), persistent: false });
  own.push({ name: 'redis-server', fn: () => redis.stop() });
  const s3 = await startEmbeddedS3({ dir: path.join(dir, 's3'), buckets: [] });
  own.push({ name: 's3rver', fn: () => s3.stop() });

  const id = randomUUID().slice(0, 8);
  const prefix = `bench${id}`;
  const adminToken = `bench-admin-${randomUUID()}${randomUUID()}`;
  const config = loadConfig({
    // Not `production`: that mode insists on deployment secrets the bench has no use for. Tokens are
    // required all the same, so requests pay for authentication as in production.
    NODE_ENV: 'development',
    AUTH_REQUIRED: 'true',
    LOG_LEVEL: 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: path.join(dir, 'data'),
    REDIS_URL: redis.url,
    REDIS_PREFIX: prefix,
    S3_ENDPOINT: s3.endpoint,
    S3_BUCKET: `bench-${id}`,
    S3_ACCESS_KEY_ID: s3.accessKeyId,
    S3_SECRET_ACCESS_KEY: s3.secretAccessKey,
    ADMIN_TOKEN: adminToken,
    // Everything else at its default (PAGE_CONCURRENCY = cores, TEXT_CHUNK_PAGES 32, …), unless
    // one of the tuning variables is set in the bench's environment for an experiment.
    ...settingOverrides(),
    ...settings,
  });
  const logger = createLogger({ level: config.logLevel, name: 'bench' });
  const infra = await resolveInfrastructure(config, { embedded: false, logger }); // creates the bucket
  own.push({ name: 'infrastructure', fn: () => infra.stop() });
  const stack = await startStack(infra.config, { logger });
  own.push({ name: 'stack', fn: () => stack.close() });
  await createClientToken(stack.url, adminToken);
  return { dir, redis, s3, infra, stack, prefix, stop };
}

// ---------------------------------------------------------------------------------------------
// text: freeculture.pdf end to end vs pdftotext

interface TextRun {
  warmup: boolean;
  /** Cores used by other processes during the run (see foreignCores). */
  foreign_cpu_cores: number | null;
  total_ms: number;
  upload_202_ms: number;
  /** Breakdown (ms). Server timestamps (created/started/finished) and first sightings of the poller (±20 ms). */
  phases: {
    upload_to_202: number;
    queue_wait: number; // created_at → started_at (plan job picked up)
    planning: number; // started_at → status `processing` first seen
    pages: number; // `processing` seen → all pages done first seen (text layer, and OCR where chosen)
    assemble: number; // all pages done seen → finished_at
    notice: number; // finished_at → `completed` seen by the poller
  };
  pages: number;
  pages_per_s: number;
  engines: Record<string, number>;
  /** Pages not read from the text layer, with their time. */
  non_text_layer_pages: Array<{ page: number; engine: string; ms: number }>;
  chars: number;
  page_ms_sum: number;
  text_layer_ms_sum: number;
  page_ms_max: number;
  polls: number;
}

interface ResultPage {
  page: number;
  engine: string;
  chars: number;
  timing_ms: number;
  error?: unknown;
}

type Phases = TextRun['phases'];

interface DocumentRun<D> {
  id: string;
  total_ms: number;
  upload_202_ms: number;
  phases: Phases;
  polls: number;
  doc: D;
}

/**
 * Uploads a file (with a unique trailing comment unless `sameBytes`), polls every POLL_MS until
 * `completed` (any other terminal status fails), and fetches `document.json` outside the timed
 * window. Phases as described in docs/BENCHMARKS.md.
 */
async function uploadAndWait<D>(
  base: string,
  file: string,
  opts: { index: number; sameBytes: boolean; fields: Record<string, string>; timeoutMs: number },
): Promise<DocumentRun<D>> {
  const blob = await fs.openAsBlob(file, { type: 'application/pdf' });
  const name = path.basename(file);
  // A trailing comment after %%EOF makes every upload a new document (new SHA-256): no worker
  // thread still has it open and no file cache holds it, as for a real new upload.
  const body = opts.sameBytes ? blob : new Blob([blob, `\n%folio-bench ${randomUUID()} run ${opts.index}\n`], { type: 'application/pdf' });

  const t0 = performance.now();
  const id = await postPdf(base, body, name, opts.fields);
  const t202 = performance.now();
  const wall202 = Date.now();
  let processingSeen: number | undefined;
  let pagesDoneSeen: number | undefined;
  let polls = 0;
  let job: JobView;
  for (;;) {
    job = await getJob(base, id);
    polls++;
    const now = Date.now();
    if (processingSeen === undefined && job.status !== 'queued' && job.status !== 'planning') processingSeen = now;
    const total = job.progress.pages_total;
    if (pagesDoneSeen === undefined && total !== null && job.progress.pages_done + job.progress.pages_failed >= total) pagesDoneSeen = now;
    if (job.status === 'completed') break;
    assertNotFailed(job);
    if (performance.now() - t0 > opts.timeoutMs) throw new Error(`${name} job ${id} still ${job.status} after ${opts.timeoutMs} ms: ${JSON.stringify(job.progress)}`);
    await sleep(POLL_MS);
  }
  const t1 = performance.now();
  const wall1 = Date.now();
  const total_ms = t1 - t0;

  const ms = (iso: string | null, fallback: number) => (iso === null ? fallback : Date.parse(iso));
  const created = ms(job.timings.created_at, wall202);
  const started = ms(job.timings.started_at, created);
  const finished = ms(job.timings.finished_at, wall1);
  const processing = processingSeen ?? started;
  const pagesDone = Math.max(processing, pagesDoneSeen ?? finished);

  // Outside the timed window: the result.
  const res = await fetch(`${base}/api/v1/pdf/jobs/${id}/result?format=json`, { headers: AUTH });
  if (res.status !== 200) throw new Error(`result of ${id}: HTTP ${res.status}`);
  const doc = (await res.json()) as D;
  return {
    id,
    total_ms: round(total_ms),
    upload_202_ms: round(t202 - t0),
    phases: {
      upload_to_202: round(t202 - t0),
      queue_wait: Math.max(0, started - created),
      planning: Math.max(0, processing - started),
      pages: Math.max(0, pagesDone - processing),
      assemble: Math.max(0, finished - pagesDone),
      notice: Math.max(0, wall1 - finished),
    },
    polls,
    doc,
  };
}

async function textRun(base: string, opts: { warmup: boolean; index: number; sameBytes: boolean; fields: Record<string, string> }): Promise<TextRun> {
  const c0 = cpuTicks();
  const run = await uploadAndWait<{ page_count: number; pages: ResultPage[] }>(base, FREECULTURE, { ...opts, timeoutMs: TEXT_JOB_TIMEOUT_MS });
  const foreign = foreignCores(c0, cpuTicks(), run.total_ms);
  const { doc, total_ms } = run;
  // Check the result and read the per-page times.
  const failed = doc.pages.filter((p) => p.error !== undefined).length;
  if (doc.page_count !== 352 || failed > 0) throw new Error(`freeculture result: ${doc.page_count} pages, ${failed} failed`);
  const engines: Record<string, number> = {};
  for (const p of doc.pages) engines[p.engine] = (engines[p.engine] ?? 0) + 1;
  const textLayer = doc.pages.filter((p) => p.engine === 'text_layer');

  return {
    warmup: opts.warmup,
    foreign_cpu_cores: foreign,
    total_ms,
    upload_202_ms: run.upload_202_ms,
    phases: run.phases,
    pages: doc.page_count,
    pages_per_s: round(doc.page_count / (total_ms / 1000)),
    engines,
    non_text_layer_pages: doc.pages.filter((p) => p.engine !== 'text_layer').map((p) => ({ page: p.page, engine: p.engine, ms: p.timing_ms })),
    chars: doc.pages.reduce((a, p) => a + p.chars, 0),
    page_ms_sum: doc.pages.reduce((a, p) => a + p.timing_ms, 0),
    text_layer_ms_sum: textLayer.reduce((a, p) => a + p.timing_ms, 0),
    page_ms_max: Math.max(...doc.pages.map((p) => p.timing_ms)),
    polls: run.polls,
  };
}

interface TextSeries {
  label: string;
  fields: Record<string, string>;
  runs: TextRun[];
  median_ms: number;
  min_ms: number;
  pages_per_s_median: number;
  upload_202_median_ms: number;
  phases_median_ms: Record<string, number>;
  page_ms_sum_median: number;
  text_layer_ms_sum_median: number;
  engines: Record<string, number>;
  foreign_cpu_cores_max: number | null;
  ratio_vs_pdftotext: number;
}

interface TextResult {
  file: string;
  pages: number;
  same_bytes: boolean;
  /** `default`: the options a plain upload gets (ocr=auto); `ocr_never`: text layer only. */
  series: { default: TextSeries; ocr_never: TextSeries };
  pdftotext: { version: string; runs_ms: number[]; median_ms: number; min_ms: number; pages_per_s_median: number };
  /** Target: the full pipeline (default options) at ≥ 0.5 × pdftotext's pages/s. */
  ratio_pages_per_s: number;
  target_ratio: number;
  target_met: boolean;
}

async function textSeries(base: string, label: string, fields: Record<string, string>, warmups: number, sameBytes: boolean, pttPps: () => number): Promise<Omit<TextSeries, 'ratio_vs_pdftotext'> & { ratio(): number }> {
  const runs: TextRun[] = [];
  for (let i = 0; i < warmups + TEXT_RUNS; i++) {
    const warmup = i < warmups;
    const r = await textRun(base, { warmup, index: i, sameBytes, fields });
    log(`text [${label}] ${warmup ? 'warm-up' : `run ${i - warmups + 1}/${TEXT_RUNS}`}: ${r.total_ms} ms (202 after ${r.upload_202_ms} ms, foreign CPU ${r.foreign_cpu_cores} cores) ${JSON.stringify(r.phases)} engines ${JSON.stringify(r.engines)}`);
    runs.push(r);
  }
  const measured = runs.filter((r) => !r.warmup);
  const med = median(measured.map((r) => r.total_ms));
  const phaseNames = Object.keys(measured[0]?.phases ?? {}) as Array<keyof TextRun['phases']>;
  const pages = measured[0]?.pages ?? 352;
  return {
    label,
    fields,
    runs,
    median_ms: round(med),
    min_ms: round(Math.min(...measured.map((r) => r.total_ms))),
    pages_per_s_median: round(pages / (med / 1000)),
    upload_202_median_ms: round(median(measured.map((r) => r.upload_202_ms))),
    phases_median_ms: Object.fromEntries(phaseNames.map((k) => [k, round(median(measured.map((r) => r.phases[k])))])),
    page_ms_sum_median: round(median(measured.map((r) => r.page_ms_sum))),
    text_layer_ms_sum_median: round(median(measured.map((r) => r.text_layer_ms_sum))),
    engines: measured[0]?.engines ?? {},
    foreign_cpu_cores_max: maxOrNull(measured.map((r) => r.foreign_cpu_cores)),
    ratio: () => pages / (med / 1000) / pttPps(),
  };
}

async function benchText(env: Env, sameBytes: boolean): Promise<TextResult> {
  ensurePdftotext();
  const base = env.stack.url;
  let pttPps = NaN;
  const def = await textSeries(base, 'default options', {}, TEXT_WARMUP, sameBytes, () => pttPps);
  // Same stack, already warm: no second warm-up.
  const never = await textSeries(base, 'ocr=never', { ocr: 'never' }, 0, sameBytes, () => pttPps);

  const ptt: number[] = [];
  for (let i = 0; i < PDFTOTEXT_RUNS; i++) ptt.push(round(await timeCommand('pdftotext', [FREECULTURE, '/dev/null'])));
  log(`pdftotext: ${ptt.join(', ')} ms`);
  const pages = def.runs[0]?.pages ?? 352;
  const pttMedian = median(ptt);
  pttPps = pages / (pttMedian / 1000);

  const finish = (s: typeof def): TextSeries => {
    const { ratio, ...rest } = s;
    return { ...rest, ratio_vs_pdftotext: round(ratio(), 3) };
  };
  const ratio = def.ratio();
  return {
    file: path.relative(ROOT, FREECULTURE),
    pages,
    same_bytes: sameBytes,
    series: { default: finish(def), ocr_never: finish(never) },
    pdftotext: { version: pdftotextVersion(), runs_ms: ptt, median_ms: round(pttMedian), min_ms: round(Math.min(...ptt)), pages_per_s_median: round(pttPps) },
    ratio_pages_per_s: round(ratio, 3),
    target_ratio: 0.5,
    target_met: ratio >= 0.5,
  };
}

// ---------------------------------------------------------------------------------------------
// ocr: freeculture-p20-29.pdf (10 scanned pages) through Folio, per engine set-up, beside the
// tesseract CLI and OCRmyPDF

interface OcrPage {
  page: number;
  engine: string;
  classification?: string;
  text: string;
  chars: number;
  confidence?: number;
  timing_ms: number;
  render?: { dpi: number; requested_dpi: number; capped: boolean; ms: number };
  ocr_ms?: number;
  error?: unknown;
}

/** Errors summed over all pages, over the summed ground-truth length (test/support/cer.ts per page). */
interface CerFigure {
  errors: number;
  length: number;
  percent: number;
}

function scannedGroundTruth(): string[] {
  return Array.from({ length: SCANNED_PAGES }, (_, i) => fs.readFileSync(path.join(SCANNED_GT_DIR, `page-${String(i + 1).padStart(2, '0')}.txt`), 'utf8'));
}

function cerOfPages(texts: readonly string[], truth: readonly string[]): CerFigure {
  if (texts.length !== truth.length) throw new Error(`CER: ${texts.length} page texts for ${truth.length} ground-truth pages`);
  let errors = 0;
  let length = 0;
  texts.forEach((t, i) => {
    const r = cer(t, truth[i] as string);
    errors += r.errors;
    length += r.length;
  });
  return { errors, length, percent: round((errors / length) * 100, 2) };
}

function maxOrNull(xs: ReadonlyArray<number | null>): number | null {
  const known = xs.filter((x): x is number => x !== null);
  return known.length === 0 ? null : Math.max(...known);
}

interface Attempt {
  warmup: boolean;
  /** Other processes used more than DISTURBED_CORES cores during this measured run. */
  disturbed: boolean;
  /** In the measured set (the medians). */
  used: boolean;
}

/**
 * `warmups` warm-up runs, then measured runs until `runs` undisturbed ones or `extra` attempts
 * more; if still short, the least disturbed of the others complete the set. Returns every attempt.
 */
async function attemptRuns<R extends { foreign_cpu_cores: number | null }>(
  warmups: number,
  runs: number,
  extra: number,
  once: (index: number, warmup: boolean) => Promise<R>,
  report: (r: R, tag: string) => void,
): Promise<Array<R & Attempt>> {
  const all: Array<R & Attempt> = [];
  for (let i = 0; ; i++) {
    const warmup = i < warmups;
    const measuredSoFar = all.filter((a) => !a.warmup);
    const clean = measuredSoFar.filter((a) => !a.disturbed).length;
    if (!warmup && (clean >= runs || measuredSoFar.length >= runs + extra)) break;
    const r = await once(i, warmup);
    const disturbed = !warmup && (r.foreign_cpu_cores ?? 0) > DISTURBED_CORES;
    all.push({ ...r, warmup, disturbed, used: false });
    const n = measuredSoFar.length + 1;
    const moreAttempts = n < runs + extra;
    report(r, warmup ? 'warm-up' : `run ${n}${disturbed ? ` (disturbed: other processes used ${r.foreign_cpu_cores} cores; ${moreAttempts ? 'another run follows' : 'no attempts left'})` : ''}`);
  }
  const measured = all.filter((a) => !a.warmup);
  const chosen = [...measured.filter((a) => !a.disturbed), ...measured.filter((a) => a.disturbed).sort((a, b) => (a.foreign_cpu_cores ?? 0) - (b.foreign_cpu_cores ?? 0))].slice(0, runs);
  for (const a of chosen) a.used = true;
  return all;
}

const pagesPerMin = (pages: number, ms: number) => round(pages / (ms / 60_000), 1);

interface OcrRun extends Attempt {
  /** 1-minute load average just before the run (the bench's own previous run included). */
  load1_before: number;
  /** Cores used by other processes during the run (see foreignCores). */
  foreign_cpu_cores: number | null;
  total_ms: number;
  upload_202_ms: number;
  phases: Phases;
  pages_per_min: number;
  engines: Record<string, number>;
  cer: CerFigure;
  /** Per page, from document.json: render time, engine time, whole page in its thread, DPI used. */
  per_page: Array<{ page: number; render_ms: number; ocr_ms: number; ms: number; dpi: number }>;
  render_ms_sum: number;
  ocr_ms_sum: number;
  page_ms_sum: number;
  polls: number;
}

interface OcrTargets {
  /** OCRmyPDF's median over Folio's: > 1 means Folio is faster. */
  vs_ocrmypdf: { ratio: number; met: boolean } | null;
  /** Folio pages/min over the tesseract CLI's (2 in parallel, rasterising not included): ≥ 0.8. */
  vs_tesseract_pages_per_min: { ratio: number; target: number; met: boolean } | null;
  /** Folio CER minus the tesseract CLI's, in percentage points: ≤ 0.5. */
  cer_minus_tesseract_points: { diff: number; target: number; met: boolean } | null;
}

interface OcrSeries {
  key: string;
  label: string;
  settings: Record<string, string>;
  engine: string;
  ocr_concurrency: number;
  /** The set-up a plain installation gets on this machine (OCR_ENGINE=auto, OCR_CONCURRENCY = cores). */
  default_setup: boolean;
  loadavg_before: number[];
  warmup_ms: number;
  runs: OcrRun[];
  median_ms: number;
  min_ms: number;
  max_ms: number;
  pages_per_min_median: number;
  upload_202_median_ms: number;
  phases_median_ms: Record<string, number>;
  render_ms_sum_median: number;
  ocr_ms_sum_median: number;
  page_ms_sum_median: number;
  cer: CerFigure;
  cer_percent_range: [number, number];
  /** Highest foreign_cpu_cores among the measured runs. */
  foreign_cpu_cores_max: number | null;
  /** Measured runs set aside because other processes loaded the machine, and disturbed runs kept for lack of attempts. */
  disturbed_runs_replaced: number;
  disturbed_runs_used: number;
  targets: OcrTargets;
}

interface OcrReference {
  label: string;
  command: string;
  version: string;
  runs_ms: number[];
  /** 1-minute load average before each measured run. */
  runs_load1_before: number[];
  /** Cores used by other processes during each measured run (see foreignCores). */
  runs_foreign_cpu_cores: Array<number | null>;
  foreign_cpu_cores_max: number | null;
  disturbed_runs_replaced: number;
  disturbed_runs_used: number;
  /** Every attempt's time, other processes' cores, and whether it was used. */
  attempts: Array<{ warmup: boolean; ms: number; foreign_cpu_cores: number | null; disturbed: boolean; used: boolean }>;
  warmup_ms: number;
  median_ms: number;
  min_ms: number;
  max_ms: number;
  pages_per_min_median: number;
  cer: CerFigure;
  /** tesseract CLI only: one pdftoppm process rasterising the 10 pages beforehand (not in runs_ms). */
  rasterise_ms?: number;
  /** tesseract CLI only: each page's tesseract process, median run. */
  page_ms?: number[];
}

interface OcrResult {
  file: string;
  pages: number;
  dpi: number;
  tools: { tesseract: string; ocrmypdf: string; pdftoppm: string; tesseract_js: string; installed_ok: boolean };
  series: OcrSeries[];
  tesseract_cli: OcrReference | null;
  ocrmypdf: OcrReference | null;
  /** The targets, judged on the default set-up. */
  targets: OcrTargets & { judged_on: string | null };
  notes: string[];
}

const haveTesseractEng = () => {
  const r = spawnSync('tesseract', ['--list-langs'], { encoding: 'utf8' });
  return r.error === undefined && r.status === 0 && /^eng$/m.test(`${r.stdout}${r.stderr}`);
};
const haveOcrmypdf = () => {
  const r = spawnSync('ocrmypdf', ['--version'], { stdio: 'ignore' });
  return r.error === undefined && r.status === 0;
};
const havePdftoppm = () => spawnSync('pdftoppm', ['-v'], { stdio: 'ignore' }).error === undefined;

/** Installs what the OCR part needs (before any stack starts: Folio caches whether tesseract exists). */
function ensureOcrTools(): boolean {
  return aptInstallFor([
    { tool: 'tesseract (eng)', ok: haveTesseractEng, packages: ['tesseract-ocr', 'tesseract-ocr-eng'] },
    { tool: 'ocrmypdf', ok: haveOcrmypdf, packages: ['ocrmypdf'] },
    { tool: 'pdftoppm', ok: havePdftoppm, packages: ['poppler-utils'] },
  ]);
}

function tesseractJsVersion(): string {
  try {
    return (JSON.parse(fs.readFileSync(path.join(ROOT, 'node_modules', 'tesseract.js', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

async function ocrRun(base: string, truth: readonly string[], expectedEngine: string, opts: { warmup: boolean; index: number; sameBytes: boolean }): Promise<Omit<OcrRun, keyof Attempt>> {
  const load1 = round(os.loadavg()[0] ?? 0, 2);
  // Default options: ocr=auto, which OCRs every page of an image-only document.
  const c0 = cpuTicks();
  const run = await uploadAndWait<{ page_count: number; pages: OcrPage[] }>(base, SCANNED, { ...opts, fields: {}, timeoutMs: OCR_JOB_TIMEOUT_MS });
  const foreign = foreignCores(c0, cpuTicks(), run.total_ms);
  const { doc } = run;
  const failed = doc.pages.filter((p) => p.error !== undefined);
  if (doc.page_count !== SCANNED_PAGES || failed.length > 0) throw new Error(`${path.basename(SCANNED)} result: ${doc.page_count} pages, ${failed.length} failed ${JSON.stringify(failed[0]?.error ?? null)}`);
  const engines: Record<string, number> = {};
  for (const p of doc.pages) engines[p.engine] = (engines[p.engine] ?? 0) + 1;
  if (engines[expectedEngine] !== SCANNED_PAGES) throw new Error(`${path.basename(SCANNED)}: pages by engine ${JSON.stringify(engines)}, expected all ${expectedEngine}`);
  const pages = [...doc.pages].sort((a, b) => a.page - b.page);
  const per_page = pages.map((p) => ({ page: p.page, render_ms: p.render?.ms ?? 0, ocr_ms: p.ocr_ms ?? 0, ms: p.timing_ms, dpi: p.render?.dpi ?? 0 }));
  return {
    load1_before: load1,
    foreign_cpu_cores: foreign,
    total_ms: run.total_ms,
    upload_202_ms: run.upload_202_ms,
    phases: run.phases,
    pages_per_min: pagesPerMin(SCANNED_PAGES, run.total_ms),
    engines,
    cer: cerOfPages(pages.map((p) => p.text), truth),
    per_page,
    render_ms_sum: round(per_page.reduce((a, p) => a + p.render_ms, 0)),
    ocr_ms_sum: round(per_page.reduce((a, p) => a + p.ocr_ms, 0)),
    page_ms_sum: round(per_page.reduce((a, p) => a + p.ms, 0)),
    polls: run.polls,
  };
}

interface OcrSetup {
  key: string;
  label: string;
  settings: Record<string, string>;
  engine: 'tesseract' | 'tesseract.js';
}

/** One stack for one engine set-up: started, 1 warm-up + OCR_RUNS runs, stopped. */
async function ocrSeries(setup: OcrSetup, truth: readonly string[], sameBytes: boolean, defaultEngine: string): Promise<Omit<OcrSeries, 'targets'>> {
  const loadBefore = os.loadavg().map((x) => round(x, 2));
  const env = await startEnv(setup.settings);
  try {
    const base = env.stack.url;
    const concurrency = env.stack.config.ocr.concurrency;
    log(`ocr [${setup.label}]: stack ${base}, OCR_ENGINE ${env.stack.config.ocr.engine}, OCR_CONCURRENCY ${concurrency}`);
    const runs: OcrRun[] = await attemptRuns(
      OCR_WARMUP,
      OCR_RUNS,
      OCR_EXTRA_ATTEMPTS,
      (index, warmup) => ocrRun(base, truth, setup.engine, { warmup, index, sameBytes }),
      (r, tag) =>
        log(
          `ocr [${setup.label}] ${tag} (load ${r.load1_before}, foreign CPU ${r.foreign_cpu_cores} cores): ${r.total_ms} ms (${r.pages_per_min} pages/min), CER ${r.cer.percent} %, ` +
            `render / OCR / page sums ${r.render_ms_sum} / ${r.ocr_ms_sum} / ${r.page_ms_sum} ms ${JSON.stringify(r.phases)}`,
        ),
    );
    const measured = runs.filter((r) => r.used);
    const med = median(measured.map((r) => r.total_ms));
    const phaseNames = Object.keys(measured[0]?.phases ?? {}) as Array<keyof Phases>;
    const byCer = [...measured].sort((a, b) => a.cer.percent - b.cer.percent);
    return {
      key: setup.key,
      label: setup.label,
      settings: setup.settings,
      engine: setup.engine,
      ocr_concurrency: concurrency,
      default_setup: setup.engine === defaultEngine && setup.settings.OCR_CONCURRENCY === undefined,
      loadavg_before: loadBefore,
      warmup_ms: runs.find((r) => r.warmup)?.total_ms ?? NaN,
      runs,
      median_ms: round(med),
      min_ms: round(Math.min(...measured.map((r) => r.total_ms))),
      max_ms: round(Math.max(...measured.map((r) => r.total_ms))),
      pages_per_min_median: pagesPerMin(SCANNED_PAGES, med),
      upload_202_median_ms: round(median(measured.map((r) => r.upload_202_ms))),
      phases_median_ms: Object.fromEntries(phaseNames.map((k) => [k, round(median(measured.map((r) => r.phases[k])))])),
      render_ms_sum_median: round(median(measured.map((r) => r.render_ms_sum))),
      ocr_ms_sum_median: round(median(measured.map((r) => r.ocr_ms_sum))),
      page_ms_sum_median: round(median(measured.map((r) => r.page_ms_sum))),
      cer: (byCer[Math.floor(byCer.length / 2)] as OcrRun).cer,
      cer_percent_range: [byCer[0]?.cer.percent ?? NaN, byCer[byCer.length - 1]?.cer.percent ?? NaN],
      foreign_cpu_cores_max: maxOrNull(measured.map((r) => r.foreign_cpu_cores)),
      disturbed_runs_replaced: runs.filter((r) => r.disturbed && !r.used).length,
      disturbed_runs_used: measured.filter((r) => r.disturbed).length,
    };
  } finally {
    await env.stop();
  }
}

interface RefRun {
  load1: number;
  foreign_cpu_cores: number | null;
  ms: number;
  texts: string[];
  page_ms?: number[];
}

function summariseReference(label: string, command: string, version: string, runs: Array<RefRun & Attempt>, truth: readonly string[]): OcrReference {
  const measured = runs.filter((r) => r.used);
  const med = median(measured.map((r) => r.ms));
  const byMs = [...measured].sort((a, b) => a.ms - b.ms);
  const mid = byMs[Math.floor(byMs.length / 2)] as (typeof runs)[number];
  return {
    label,
    command,
    version,
    runs_ms: measured.map((r) => round(r.ms)),
    runs_load1_before: measured.map((r) => r.load1),
    runs_foreign_cpu_cores: measured.map((r) => r.foreign_cpu_cores),
    foreign_cpu_cores_max: maxOrNull(measured.map((r) => r.foreign_cpu_cores)),
    disturbed_runs_replaced: runs.filter((r) => r.disturbed && !r.used).length,
    disturbed_runs_used: measured.filter((r) => r.disturbed).length,
    attempts: runs.map((r) => ({ warmup: r.warmup, ms: round(r.ms), foreign_cpu_cores: r.foreign_cpu_cores, disturbed: r.disturbed, used: r.used })),
    warmup_ms: round(runs.find((r) => r.warmup)?.ms ?? NaN),
    median_ms: round(med),
    min_ms: round(byMs[0]?.ms ?? NaN),
    max_ms: round(byMs[byMs.length - 1]?.ms ?? NaN),
    pages_per_min_median: pagesPerMin(SCANNED_PAGES, med),
    cer: cerOfPages(mid.texts, truth),
    ...(mid.page_ms ? { page_ms: mid.page_ms.map((x) => round(x)) } : {}),
  };
}

/** Native tesseract, one process per page, 2 at a time, on pdftoppm's 300 DPI grey PGMs. */
async function benchTesseractCli(truth: readonly string[]): Promise<OcrReference> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-bench-tess-'));
  try {
    const raster = await runCommand('pdftoppm', ['-r', String(SCANNED_DPI), '-gray', SCANNED, path.join(dir, 'p')], { timeoutMs: OCR_REF_TIMEOUT_MS });
    const files = fs.readdirSync(dir).filter((f) => f.endsWith('.pgm')).sort();
    if (files.length !== SCANNED_PAGES) throw new Error(`pdftoppm wrote ${files.length} PGMs, expected ${SCANNED_PAGES}`);
    log(`tesseract CLI: pdftoppm rasterised ${files.length} pages in ${round(raster.ms)} ms (not timed below)`);
    const env = { ...process.env, OMP_THREAD_LIMIT: '1' };
    const runs = await attemptRuns(
      OCR_REF_WARMUP,
      OCR_REF_RUNS,
      OCR_EXTRA_ATTEMPTS,
      async (): Promise<RefRun> => {
        const load1 = round(os.loadavg()[0] ?? 0, 2);
        const c0 = cpuTicks();
        const t0 = performance.now();
        const out = await mapLimit(files, 2, (f) =>
          runCommand('tesseract', [path.join(dir, f), '-', '--dpi', String(SCANNED_DPI), '-l', 'eng'], { env, captureStdout: true, timeoutMs: OCR_REF_TIMEOUT_MS }),
        );
        const ms = performance.now() - t0;
        return { load1, foreign_cpu_cores: foreignCores(c0, cpuTicks(), ms), ms, texts: out.map((o) => o.stdout), page_ms: out.map((o) => o.ms) };
      },
      (r, tag) => log(`tesseract CLI ${tag} (load ${r.load1}, foreign CPU ${r.foreign_cpu_cores} cores): ${round(r.ms)} ms, CER ${cerOfPages(r.texts, truth).percent} %`),
    );
    const ref = summariseReference(
      'tesseract CLI, 2 processes in parallel',
      `pdftoppm -r ${SCANNED_DPI} -gray freeculture-p20-29.pdf p; then per page, 2 at a time: OMP_THREAD_LIMIT=1 tesseract p-NN.pgm - --dpi ${SCANNED_DPI} -l eng`,
      firstLine('tesseract', ['--version']),
      runs,
      truth,
    );
    return { ...ref, rasterise_ms: round(raster.ms) };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `ocrmypdf --jobs 2 --sidecar out.txt --output-type none freeculture-p20-29.pdf -`; pages split on form feeds. */
async function benchOcrmypdf(truth: readonly string[]): Promise<OcrReference> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-bench-ocrmypdf-'));
  try {
    const runs = await attemptRuns(
      OCR_REF_WARMUP,
      OCR_REF_RUNS,
      OCR_EXTRA_ATTEMPTS,
      async (i): Promise<RefRun> => {
        const load1 = round(os.loadavg()[0] ?? 0, 2);
        const c0 = cpuTicks();
        const sidecar = path.join(dir, `out-${i}.txt`);
        // OCRmyPDF sets OMP_THREAD_LIMIT for its tesseract processes itself; the bench's env has none.
        const env = { ...process.env };
        delete env.OMP_THREAD_LIMIT;
        const { ms } = await runCommand('ocrmypdf', ['--jobs', '2', '--sidecar', sidecar, '--output-type', 'none', SCANNED, '-'], { cwd: dir, env, timeoutMs: OCR_REF_TIMEOUT_MS });
        const texts = fs.readFileSync(sidecar, 'utf8').split('\f');
        while (texts.length > SCANNED_PAGES && (texts[texts.length - 1] as string).trim() === '') texts.pop();
        return { load1, foreign_cpu_cores: foreignCores(c0, cpuTicks(), ms), ms, texts };
      },
      (r, tag) => log(`ocrmypdf ${tag} (load ${r.load1}, foreign CPU ${r.foreign_cpu_cores} cores): ${round(r.ms)} ms, CER ${cerOfPages(r.texts, truth).percent} %`),
    );
    return summariseReference(
      'OCRmyPDF, --jobs 2',
      'ocrmypdf --jobs 2 --sidecar out.txt --output-type none freeculture-p20-29.pdf -',
      firstLine('ocrmypdf', ['--version']),
      runs,
      truth,
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

function ocrTargets(s: Omit<OcrSeries, 'targets'>, cli: OcrReference | null, omp: OcrReference | null): OcrTargets {
  const vsOmp = omp === null ? null : round(omp.median_ms / s.median_ms, 3);
  const vsCli = cli === null ? null : round(s.pages_per_min_median / cli.pages_per_min_median, 3);
  const cerDiff = cli === null ? null : round(s.cer.percent - cli.cer.percent, 2);
  return {
    vs_ocrmypdf: vsOmp === null ? null : { ratio: vsOmp, met: vsOmp > 1 },
    vs_tesseract_pages_per_min: vsCli === null ? null : { ratio: vsCli, target: 0.8, met: vsCli >= 0.8 },
    cer_minus_tesseract_points: cerDiff === null ? null : { diff: cerDiff, target: 0.5, met: cerDiff <= 0.5 },
  };
}

async function benchOcr(sameBytes: boolean, toolsOk: boolean): Promise<OcrResult> {
  const truth = scannedGroundTruth();
  const notes: string[] = [];
  const native = haveTesseractEng();
  if (!toolsOk) notes.push('some OCR tools could not be installed: the set-ups and references that need them are left out');
  const setups: OcrSetup[] = [
    ...(native
      ? [
          { key: 'native', label: 'native tesseract', settings: { OCR_ENGINE: 'tesseract' }, engine: 'tesseract' as const },
          { key: 'native_c3', label: 'native tesseract, OCR_CONCURRENCY=3', settings: { OCR_ENGINE: 'tesseract', OCR_CONCURRENCY: '3' }, engine: 'tesseract' as const },
        ]
      : []),
    { key: 'tesseract_js', label: 'tesseract.js', settings: { OCR_ENGINE: 'tesseract.js' }, engine: 'tesseract.js' },
  ];
  // OCR_ENGINE=auto (the default) takes native tesseract when it is installed with the language.
  const defaultEngine = native ? 'tesseract' : 'tesseract.js';
  const series: Array<Omit<OcrSeries, 'targets'>> = [];
  for (const setup of setups) series.push(await ocrSeries(setup, truth, sameBytes, defaultEngine));

  // References with no Folio stack running.
  const cli = native && havePdftoppm() ? await benchTesseractCli(truth) : null;
  const omp = haveOcrmypdf() ? await benchOcrmypdf(truth) : null;
  if (cli === null) notes.push('tesseract CLI reference not measured (tesseract or pdftoppm missing)');
  if (omp === null) notes.push('OCRmyPDF reference not measured (ocrmypdf missing)');

  const full: OcrSeries[] = series.map((s) => ({ ...s, targets: ocrTargets(s, cli, omp) }));
  const def = full.find((s) => s.default_setup) ?? null;
  return {
    file: path.relative(ROOT, SCANNED),
    pages: SCANNED_PAGES,
    dpi: SCANNED_DPI,
    tools: {
      tesseract: firstLine('tesseract', ['--version']),
      ocrmypdf: firstLine('ocrmypdf', ['--version']),
      pdftoppm: firstLine('pdftoppm', ['-v']),
      tesseract_js: tesseractJsVersion(),
      installed_ok: toolsOk,
    },
    series: full,
    tesseract_cli: cli,
    ocrmypdf: omp,
    targets: def === null ? { judged_on: null, vs_ocrmypdf: null, vs_tesseract_pages_per_min: null, cer_minus_tesseract_points: null } : { judged_on: def.key, ...def.targets },
    notes,
  };
}

// ---------------------------------------------------------------------------------------------
// small: 200 one-page uploads at concurrency 20, and plain BullMQ as reference

interface SmallResult {
  jobs: number;
  concurrency: number;
  upload_202_ms: { p50: number; p99: number; max: number };
  uploads_done_ms: number;
  all_completed_ms: number;
  jobs_per_s: number;
  last_finished_server_ms: number;
  jobs_per_s_server: number;
  bullmq: { jobs: number; add_concurrency: number; worker_concurrency: number; adds_done_ms: number; all_completed_ms: number; jobs_per_s: number };
}

async function verifyOnePage(base: string): Promise<void> {
  const line = 'Folio benchmark one-page check';
  const bytes = onePagePdf(line);
  if (havePdftotext()) {
    const p = path.join(os.tmpdir(), `folio-bench-onepage-${process.pid}.pdf`);
    fs.writeFileSync(p, bytes);
    try {
      const r = spawnSync('pdftotext', [p, '-'], { encoding: 'utf8' });
      if (r.status !== 0 || !r.stdout.includes(line) || /error/i.test(r.stderr)) {
        throw new Error(`generated PDF is not clean for pdftotext: status ${r.status}, stderr ${r.stderr.trim()}`);
      }
    } finally {
      fs.rmSync(p, { force: true });
    }
  }
  const id = await postPdf(base, new Blob([bytes], { type: 'application/pdf' }), 'onepage.pdf');
  const deadline = Date.now() + 30_000;
  for (;;) {
    const job = await getJob(base, id);
    if (job.status === 'completed') break;
    assertNotFailed(job);
    if (Date.now() > deadline) throw new Error(`one-page check job ${id} still ${job.status} after 30 s`);
    await sleep(POLL_MS);
  }
  const text = await (await fetch(`${base}/api/v1/pdf/jobs/${id}/result?format=text`, { headers: AUTH })).text();
  if (!text.includes(line)) throw new Error(`one-page check: result text ${JSON.stringify(text.slice(0, 200))} lacks the line`);
  const doc = (await (await fetch(`${base}/api/v1/pdf/jobs/${id}/result?format=json`, { headers: AUTH })).json()) as { pages: ResultPage[] };
  const engine = doc.pages[0]?.engine;
  if (engine !== 'text_layer') throw new Error(`one-page check: page read by ${engine}, expected the text layer (the benchmark must not measure OCR)`);
}

async function benchSmall(env: Env): Promise<SmallResult> {
  const base = env.stack.url;
  await verifyOnePage(base);
  log('one-page PDF verified (pdftotext and Folio read its line)');

  // Distinct documents (the index is in the text), built before the clock starts.
  const docs = Array.from({ length: SMALL_JOBS }, (_, i) => onePagePdf(`Folio benchmark page ${i + 1} of ${SMALL_JOBS}`));
  const ids: string[] = new Array(SMALL_JOBS);
  const latencies: number[] = new Array(SMALL_JOBS);
  const pending: string[] = []; // in upload order
  let uploadsDone = false;
  let completed = 0;
  let lastCompletedAt = 0;
  const finishedAt: number[] = [];

  const wall0 = Date.now();
  const t0 = performance.now();
  const deadline = t0 + SMALL_TIMEOUT_MS;

  const uploading = mapLimit(docs, SMALL_CONCURRENCY, async (bytes, i) => {
    const s = performance.now();
    const id = await postPdf(base, new Blob([bytes], { type: 'application/pdf' }), `one-${i + 1}.pdf`);
    latencies[i] = performance.now() - s;
    ids[i] = id;
    pending.push(id);
  }).then((r) => {
    uploadsDone = true;
    return r;
  });
  let uploadsDoneAt = 0;
  void uploading.then(() => (uploadsDoneAt = performance.now()), () => undefined);

  // Poll the oldest pending jobs (they finish first), a bounded number per round.
  const polling = (async () => {
    while (!uploadsDone || pending.length > 0) {
      if (performance.now() > deadline) {
        throw new Error(`small: ${completed}/${SMALL_JOBS} completed after ${SMALL_TIMEOUT_MS} ms; pending e.g. ${pending.slice(0, 3).join(', ')}`);
      }
      const batch = pending.slice(0, SMALL_CONCURRENCY);
      const views = await mapLimit(batch, SMALL_POLL_CONCURRENCY, (id) => getJob(base, id));
      const now = performance.now();
      for (const v of views) {
        assertNotFailed(v);
        if (v.status === 'completed') {
          pending.splice(pending.indexOf(v.job_id), 1);
          completed++;
          lastCompletedAt = now;
          if (v.timings.finished_at !== null) finishedAt.push(Date.parse(v.timings.finished_at));
        }
      }
      await sleep(POLL_MS);
    }
  })();

  await Promise.all([uploading, polling]);
  if (completed !== SMALL_JOBS) throw new Error(`small: only ${completed} of ${SMALL_JOBS} jobs completed`);
  const allMs = lastCompletedAt - t0;
  const serverMs = Math.max(...finishedAt) - wall0;
  log(`small: ${SMALL_JOBS} jobs completed in ${round(allMs)} ms; 202 p50 ${round(percentile(latencies, 50))} ms, p99 ${round(percentile(latencies, 99))} ms`);

  const bullmq = await rawBullmq(env);
  log(`raw BullMQ: ${bullmq.jobs} jobs in ${bullmq.all_completed_ms} ms (${bullmq.jobs_per_s} jobs/s)`);

  return {
    jobs: SMALL_JOBS,
    concurrency: SMALL_CONCURRENCY,
    upload_202_ms: { p50: round(percentile(latencies, 50)), p99: round(percentile(latencies, 99)), max: round(Math.max(...latencies)) },
    uploads_done_ms: round(uploadsDoneAt - t0),
    all_completed_ms: round(allMs),
    jobs_per_s: round(SMALL_JOBS / (allMs / 1000)),
    last_finished_server_ms: serverMs,
    jobs_per_s_server: round(SMALL_JOBS / (serverMs / 1000)),
    bullmq,
  };
}

/** 200 adds to a plain BullMQ queue (20 in flight) and a no-op worker (concurrency 20) on the same Redis. */
async function rawBullmq(env: Env): Promise<SmallResult['bullmq']> {
  const connection = { host: '127.0.0.1', port: env.redis.port, maxRetriesPerRequest: null };
  const prefix = `${env.prefix}raw`;
  const queue = new Queue('bench-raw', { connection, prefix });
  let done = 0;
  let resolveAll: () => void = () => undefined;
  const all = new Promise<void>((r) => (resolveAll = r));
  const worker = new Worker('bench-raw', async () => undefined, { connection, prefix, concurrency: SMALL_CONCURRENCY, autorun: false });
  worker.on('completed', () => {
    if (++done === SMALL_JOBS) resolveAll();
  });
  worker.on('failed', (_job, err) => log(`raw BullMQ job failed: ${err.message}`));
  try {
    await queue.waitUntilReady();
    void worker.run();
    await worker.waitUntilReady();
    const t0 = performance.now();
    await mapLimit(Array.from({ length: SMALL_JOBS }, (_, i) => i), SMALL_CONCURRENCY, (i) => queue.add('noop', { i }));
    const addsDone = performance.now() - t0;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      all,
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`raw BullMQ: ${done}/${SMALL_JOBS} after ${RAW_TIMEOUT_MS} ms`)), RAW_TIMEOUT_MS))),
    ]).finally(() => clearTimeout(timer));
    const ms = performance.now() - t0;
    return { jobs: SMALL_JOBS, add_concurrency: SMALL_CONCURRENCY, worker_concurrency: SMALL_CONCURRENCY, adds_done_ms: round(addsDone), all_completed_ms: round(ms), jobs_per_s: round(SMALL_JOBS / (ms / 1000)) };
  } finally {
    await worker.close().catch(() => undefined);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close().catch(() => undefined);
  }
}

// ---------------------------------------------------------------------------------------------
// report

function machine() {
  const cpus = os.cpus();
  return {
    node: process.version,
    cpu: cpus[0]?.model ?? 'unknown',
    cores: cpus.length,
    available_parallelism: os.availableParallelism(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    memory_gb: round(os.totalmem() / 2 ** 30, 1),
    loadavg_start: os.loadavg().map((x) => round(x, 2)),
  };
}

const metText = (met: boolean) => (met ? '(met)' : '(not met)');

function ocrTargetCells(t: OcrTargets): string {
  const a = t.vs_ocrmypdf ? `${t.vs_ocrmypdf.ratio}× OCRmyPDF's speed ${metText(t.vs_ocrmypdf.met)}` : 'OCRmyPDF not measured';
  const b = t.vs_tesseract_pages_per_min ? `${t.vs_tesseract_pages_per_min.ratio}× the CLI's pages/min ${metText(t.vs_tesseract_pages_per_min.met)}` : 'CLI not measured';
  const c = t.cer_minus_tesseract_points ? `CER ${t.cer_minus_tesseract_points.diff >= 0 ? '+' : ''}${t.cer_minus_tesseract_points.diff} points vs the CLI ${metText(t.cer_minus_tesseract_points.met)}` : '';
  return [a, b, c].filter((x) => x !== '').join('; ');
}

function disturbance(x: { foreign_cpu_cores_max: number | null; disturbed_runs_replaced: number; disturbed_runs_used: number }): string {
  const parts = [`${x.foreign_cpu_cores_max ?? 'unknown'} cores`];
  if (x.disturbed_runs_replaced > 0) parts.push(`${x.disturbed_runs_replaced} disturbed run(s) (> ${DISTURBED_CORES} cores) replaced`);
  if (x.disturbed_runs_used > 0) parts.push(`**${x.disturbed_runs_used} disturbed run(s) kept for lack of attempts**`);
  return parts.join('; ');
}

function ocrRows(ocr: OcrResult): string[] {
  const rows: string[] = [];
  for (const s of ocr.series) {
    const p = s.phases_median_ms;
    rows.push(
      `| ${path.basename(ocr.file)} (${ocr.pages} scanned p., ${ocr.dpi} DPI), Folio end to end, **${s.label}** (OCR_CONCURRENCY ${s.ocr_concurrency}${s.default_setup ? ', the default set-up here' : ''}), median of ${OCR_RUNS} | ${s.median_ms} ms (${s.min_ms}–${s.max_ms}) = **${s.pages_per_min_median} pages/min**, CER ${s.cer.percent} % |`,
      `| … warm-up run (first job on a new stack) | ${s.warmup_ms} ms |`,
      `| … phases, medians: queue wait / planning / pages / assemble / poll notice | ${p.queue_wait} / ${p.planning} / ${p.pages} / ${p.assemble} / ${p.notice} ms |`,
      `| … the 10 pages' times summed over all threads, median: render / OCR engine / whole page | ${s.render_ms_sum_median} / ${s.ocr_ms_sum_median} / ${s.page_ms_sum_median} ms |`,
      `| … against the targets | ${ocrTargetCells(s.targets)} |`,
      `| … other processes' CPU during a measured run, highest | ${disturbance(s)} |`,
    );
  }
  if (ocr.tesseract_cli) {
    const c = ocr.tesseract_cli;
    rows.push(
      `| tesseract CLI (${c.version}), 10 PGMs, 2 processes in parallel, OMP_THREAD_LIMIT=1, median of ${OCR_REF_RUNS} | ${c.median_ms} ms (${c.min_ms}–${c.max_ms}) = **${c.pages_per_min_median} pages/min**, CER ${c.cer.percent} % |`,
      `| … \`pdftoppm -r ${ocr.dpi} -gray\` beforehand (one process, not in the figure above) | ${c.rasterise_ms} ms |`,
      `| … other processes' CPU during a measured run, highest | ${disturbance(c)} |`,
    );
  }
  if (ocr.ocrmypdf) {
    const o = ocr.ocrmypdf;
    rows.push(
      `| \`ocrmypdf --jobs 2 --sidecar out.txt --output-type none\` (${o.version}), median of ${OCR_REF_RUNS} | ${o.median_ms} ms (${o.min_ms}–${o.max_ms}) = **${o.pages_per_min_median} pages/min**, CER ${o.cer.percent} % |`,
      `| … other processes' CPU during a measured run, highest | ${disturbance(o)} |`,
    );
  }
  const t = ocr.targets;
  const def = ocr.series.find((s) => s.key === t.judged_on);
  if (def) {
    const omp = ocr.ocrmypdf;
    const cli = ocr.tesseract_cli;
    rows.push(
      `| **target: Folio (${def.label}) faster than OCRmyPDF** | ${t.vs_ocrmypdf && omp ? `**${t.vs_ocrmypdf.ratio}×** (${def.median_ms} vs ${omp.median_ms} ms) ${metText(t.vs_ocrmypdf.met)}` : 'not measured'} |`,
      `| **target: Folio pages/min ≥ 0.8 × the tesseract CLI's** | ${t.vs_tesseract_pages_per_min && cli ? `**${t.vs_tesseract_pages_per_min.ratio}** (${def.pages_per_min_median} vs ${cli.pages_per_min_median} pages/min) ${metText(t.vs_tesseract_pages_per_min.met)}` : 'not measured'} |`,
      `| **target: Folio CER ≤ the tesseract CLI's + 0.5 points** | ${t.cer_minus_tesseract_points && cli ? `**${def.cer.percent} % vs ${cli.cer.percent} %** (${t.cer_minus_tesseract_points.diff >= 0 ? '+' : ''}${t.cer_minus_tesseract_points.diff} points) ${metText(t.cer_minus_tesseract_points.met)}` : 'not measured'} |`,
    );
  }
  for (const n of ocr.notes) rows.push(`| note | ${n} |`);
  return rows;
}

function table(text: TextResult | undefined, small: SmallResult | undefined, ocr: OcrResult | undefined): string {
  const rows: string[] = ['| measure | value |', '| --- | --- |'];
  if (text) {
    for (const f of [text.series.default, text.series.ocr_never]) {
      const p = f.phases_median_ms;
      const eng = Object.entries(f.engines).map(([k, v]) => `${k} ${v}`).join(', ');
      rows.push(
        `| freeculture.pdf (${text.pages} p.), Folio end to end, **${f.label}**, median of ${TEXT_RUNS} | ${f.median_ms} ms (min ${f.min_ms} ms) = **${f.pages_per_s_median} pages/s** |`,
        `| … pages by engine | ${eng} |`,
        `| … upload → 202 (median) | ${f.upload_202_median_ms} ms |`,
        `| … phases, medians: queue wait / planning / pages / assemble / poll notice | ${p.queue_wait} / ${p.planning} / ${p.pages} / ${p.assemble} / ${p.notice} ms |`,
        `| … per-page times summed over all threads, median: all pages / text-layer pages | ${f.page_ms_sum_median} / ${f.text_layer_ms_sum_median} ms |`,
        `| … ratio to pdftotext pages/s | ${f.ratio_vs_pdftotext} |`,
        `| … other processes' CPU during a measured run, highest | ${f.foreign_cpu_cores_max ?? 'unknown'} cores |`,
      );
    }
    rows.push(
      `| pdftotext freeculture.pdf /dev/null, median of ${PDFTOTEXT_RUNS} | ${text.pdftotext.median_ms} ms (min ${text.pdftotext.min_ms} ms) = ${text.pdftotext.pages_per_s_median} pages/s |`,
      `| **target: full pipeline (default options) ≥ ${text.target_ratio} × pdftotext pages/s** | **${text.ratio_pages_per_s}** ${text.target_met ? '(met)' : '(not met)'} |`,
    );
  }
  if (small) {
    rows.push(
      `| ${small.jobs} one-page uploads at concurrency ${small.concurrency}: 202 latency p50 / p99 | ${small.upload_202_ms.p50} / ${small.upload_202_ms.p99} ms (max ${small.upload_202_ms.max}) |`,
      `| … all ${small.jobs} \`completed\` (seen by the poller) | ${small.all_completed_ms} ms = **${small.jobs_per_s} jobs/s** |`,
      `| … last finished_at (server clock) | ${small.last_finished_server_ms} ms = ${small.jobs_per_s_server} jobs/s |`,
      `| plain BullMQ, ${small.bullmq.jobs} adds + no-op worker (concurrency ${small.bullmq.worker_concurrency}) | ${small.bullmq.all_completed_ms} ms = **${small.bullmq.jobs_per_s} jobs/s** |`,
    );
  }
  if (ocr) rows.push(...ocrRows(ocr));
  return rows.join('\n');
}

// ---------------------------------------------------------------------------------------------
// main

/** `--wait-load`: polls the 1-minute load average until it is under LOAD_TARGET, for at most LOAD_WAIT_MS. */
async function waitForLoad(): Promise<{ target: number; waited_s: number; reached: boolean; load1: number }> {
  const t0 = Date.now();
  let lastLog = 0;
  for (;;) {
    const load1 = round(os.loadavg()[0] ?? 0, 2);
    const waited = Date.now() - t0;
    if (load1 < LOAD_TARGET || waited >= LOAD_WAIT_MS) {
      const reached = load1 < LOAD_TARGET;
      log(`load average ${load1} after waiting ${round(waited / 1000)} s: ${reached ? 'under' : 'still not under'} ${LOAD_TARGET}`);
      return { target: LOAD_TARGET, waited_s: round(waited / 1000), reached, load1 };
    }
    if (waited - lastLog >= 30_000) {
      log(`waiting for the 1-minute load average (${load1}) to fall under ${LOAD_TARGET} …`);
      lastLog = waited;
    }
    await sleep(5_000);
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const sameBytes = args.includes('--same-bytes');
  const waitLoad = args.includes('--wait-load');
  for (const a of args.filter((x) => x.startsWith('--'))) if (a !== '--same-bytes' && a !== '--wait-load') throw new Error(`unknown option ${a}: use --same-bytes or --wait-load`);
  const named = args.filter((a) => !a.startsWith('--'));
  for (const a of named) if (!(PARTS as readonly string[]).includes(a)) throw new Error(`unknown part ${JSON.stringify(a)}: use ${PARTS.join(', ')} or nothing (all)`);
  const parts: Part[] = named.length === 0 ? [...PARTS] : PARTS.filter((p) => named.includes(p));

  // Tools first: Folio decides once per process whether native tesseract exists.
  const ocrToolsOk = parts.includes('ocr') ? ensureOcrTools() : true;
  const loadWait = waitLoad ? await waitForLoad() : null;

  const m = {
    ...machine(),
    pdftotext: havePdftotext() ? pdftotextVersion() : 'not installed',
    tesseract: firstLine('tesseract', ['--version']),
    ocrmypdf: firstLine('ocrmypdf', ['--version']),
    tesseract_js: tesseractJsVersion(),
  };
  console.log(`node ${m.node} | CPU ${m.cpu} | ${m.cores} cores | load average ${m.loadavg_start.join(' ')} | ${m.platform}`);
  console.log(`${m.pdftotext} | ${m.tesseract} | ocrmypdf ${m.ocrmypdf} | tesseract.js ${m.tesseract_js}`);
  if ((m.loadavg_start[0] ?? 0) >= LOAD_TARGET) console.log(`WARNING: 1-minute load average ${m.loadavg_start[0]} ≥ ${LOAD_TARGET} at start; figures may be pessimistic.`);

  const started = new Date();
  const overrides = settingOverrides();
  if (Object.keys(overrides).length > 0) console.log(`settings from the environment (not defaults): ${JSON.stringify(overrides)}`);

  let text: TextResult | undefined;
  let small: SmallResult | undefined;
  let ocr: OcrResult | undefined;
  let stackSettings: Record<string, unknown> = {};
  if (parts.includes('text') || parts.includes('small')) {
    const env = await startEnv();
    const c = env.stack.config;
    stackSettings = { page_concurrency: c.processing.pageConcurrency, plan_concurrency: c.processing.planConcurrency, text_chunk_pages: c.processing.textChunkPages, ocr_engine: c.ocr.engine, ocr_concurrency: c.ocr.concurrency };
    console.log(`stack ${env.stack.url} | redis ${env.redis.url} | s3 ${env.s3.endpoint} | PAGE_CONCURRENCY ${c.processing.pageConcurrency} | PLAN_CONCURRENCY ${c.processing.planConcurrency} | TEXT_CHUNK_PAGES ${c.processing.textChunkPages} | OCR_ENGINE ${c.ocr.engine} | OCR_CONCURRENCY ${c.ocr.concurrency}`);
    try {
      if (parts.includes('text')) text = await benchText(env, sameBytes);
      if (parts.includes('small')) small = await benchSmall(env);
    } finally {
      await env.stop();
    }
  }
  // One stack per OCR set-up, each stopped before the next starts.
  if (parts.includes('ocr')) ocr = await benchOcr(sameBytes, ocrToolsOk);

  const out = table(text, small, ocr);
  console.log(`\n${out}\n`);
  const loadEnd = os.loadavg().map((x) => round(x, 2));
  console.log(`load average at end: ${loadEnd.join(' ')}`);

  const report = {
    started_at: started.toISOString(),
    finished_at: new Date().toISOString(),
    parts,
    machine: { ...m, load_wait: loadWait, loadavg_end: loadEnd },
    settings: {
      ...stackSettings,
      overridden_from_env: overrides,
      same_bytes: sameBytes,
      node_env: 'development',
      auth_required: true,
      auth: 'client bearer token (resolved in Redis per request)',
      redis_persistent: false,
      poll_ms: POLL_MS,
    },
    ...(text ? { text } : {}),
    ...(small ? { small } : {}),
    ...(ocr ? { ocr } : {}),
    table_markdown: out,
  };
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const file = path.join(RESULTS_DIR, `${started.toISOString().replace(/[:.]/g, '-')}.json`);
  fs.writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`results: ${path.relative(ROOT, file)}`);
}

let exitCode = 0;
const watchdog = setTimeout(() => {
  log(`the bench took longer than ${(GLOBAL_TIMEOUT_MS + LOAD_WAIT_MS) / 1000} s: aborting`);
  void cleanupAll().finally(() => process.exit(1));
}, GLOBAL_TIMEOUT_MS + LOAD_WAIT_MS);
watchdog.unref();
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    log(`${sig}: cleaning up`);
    void cleanupAll().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (err) {
  exitCode = 1;
  console.error(`BENCH FAILED: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
} finally {
  await cleanupAll();
  clearTimeout(watchdog);
}
// Lingering keep-alive sockets or timers must not keep a finished bench alive.
process.exit(exitCode);
