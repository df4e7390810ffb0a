import { DelayedError, type SandboxedJob } from 'bullmq';
import { Admission, BudgetStore, ClusterCounters, OcrEngines, UsageLedger } from '@folio/shared';
import { runOcr } from '../jobs/ocr.job.ts';
import type { VisionDeps } from '../jobs/vision-step.ts';
import { threadContext } from './thread-context.ts';

/** Each OCR thread keeps its own long-lived engine (a tesseract.js worker, or spawns native tesseract). */
let engines: OcrEngines | undefined;
let vision: VisionDeps | undefined;
let budgets: BudgetStore | undefined;

/** Sandboxed entry point of the ocr queue (runs in a worker thread with a heap cap). */
export default async function ocrProcessor(job: SandboxedJob, token?: string) {
  const ctx = threadContext('ocr');
  const { config } = ctx;
  engines ??= new OcrEngines({ preference: config.ocr.engine, timeoutMs: config.limits.pageTimeoutMs });
  if (vision === undefined && ctx.byok !== undefined) {
    vision = {
      config,
      catalog: ctx.byok.catalog,
      keys: ctx.byok.keys,
      gate: new Admission(ctx.redis, config.redis.prefix),
      usage: new UsageLedger(ctx.redis, config.redis.prefix),
      maxOutputTokens: config.vision.maxOutputTokens,
      timeoutMs: config.vision.timeoutMs,
      // Provider metrics from this thread go to Redis: every process's /metrics exposes them.
      metrics: new ClusterCounters(ctx.redis, config.redis.prefix, {
        onError: (err) => ctx.logger.debug({ err: err instanceof Error ? err.message : String(err) }, 'could not record provider metrics'),
      }),
    };
  }
  return runOcr(job.data, {
    jobs: ctx.jobs,
    store: ctx.store,
    pdfs: ctx.pdfs,
    engines,
    pageTimeoutMs: config.limits.pageTimeoutMs,
    maxPixels: config.ocr.maxPixels,
    minTextChars: config.ocr.minTextChars,
    ...(vision ? { vision } : {}),
    tenantMonthlyBudgetUsd: (tenant) => (budgets ??= new BudgetStore(ctx.redis, config.redis.prefix)).monthlyUsd(tenant, config.vision.tenantMonthlyBudgetUsd),
    attempt: job.attemptsStarted ?? job.attemptsMade,
    // A rate-limit wait: back to the delayed set for exactly that long, holding no worker slot.
    delay: async (ms) => {
      await job.moveToDelayed(Date.now() + Math.max(1, Math.ceil(ms)), token);
      throw new DelayedError();
    },
  });
}
