import { fileURLToPath } from 'node:url';
import { Worker, type ConnectionOptions, type Job, type WorkerOptions } from 'bullmq';
import {
  QUEUE_NAMES,
  createJobMetrics,
  createRedis,
  registerClusterMetrics,
  registerQueueMetrics,
  createQueues,
  closeQueues,
  resolveMasterKey,
  resolveWebhookSecret,
  deliverWebhook,
  fullJitterBackoff,
  webhookPayload,
  WEBHOOK_BACKOFF_TYPE,
  UsageAggregator,
  type Config,
  type Logger,
  type Queues,
} from '@folio/shared';
import type { Registry } from 'prom-client';
import { createWorkerContext } from './context.ts';
import { runAssemble } from './jobs/assemble.job.ts';
import { runRetentionSweep } from './jobs/retention.job.ts';

export interface WorkerSet {
  workers: Worker[];
  /** Stops taking work, lets running jobs finish (or abandons them with `force`), then disconnects. */
  close(force?: boolean): Promise<void>;
}

const processorFile = (name: string) => fileURLToPath(new URL(`./processors/${name}.processor.ts`, import.meta.url));

/**
 * Starts every queue's worker in this process. PDF parsing (plan, pages) runs in sandboxed worker
 * threads, one per unit of concurrency: it uses every core, and a document that exhausts a thread's
 * heap cap kills that thread only. Assembling and housekeeping are light and stay in the main thread.
 */
export async function startWorkers(configIn: Config, deps: { logger: Logger; registry?: Registry }): Promise<WorkerSet> {
  if (configIn.redis.url === undefined) throw new Error('redis.url must be resolved before workers start');
  const { logger } = deps;
  // Threads get the master keyring through the config they are started with.
  const config = resolveWebhookSecret(resolveMasterKey(configIn, logger).config, logger);
  const ctx = createWorkerContext(config, 'folio-worker');
  const connection = createRedis(configIn.redis.url, 'worker', logger, 'worker-bullmq') as unknown as ConnectionOptions;
  const queues: Queues = createQueues(ctx.redis, config.redis.prefix, config.processing.jobAttempts);
  const metrics = deps.registry ? createJobMetrics(deps.registry) : undefined;
  // Read on each scrape: queue depths and workers (BullMQ), and the cluster-wide counters that the
  // sandboxed threads record in Redis (provider calls, rate-limit waits, budget rejections, keys).
  const detachMetrics = deps.registry
    ? [
        registerQueueMetrics(deps.registry, queues, { ready: () => ctx.redis.status === 'ready' }),
        registerClusterMetrics(deps.registry, ctx.redis, config.redis.prefix),
      ]
    : [];

  const base: Omit<WorkerOptions, 'concurrency'> = {
    connection,
    prefix: config.redis.prefix,
    lockDuration: config.processing.lockMs,
    stalledInterval: Math.max(1_000, Math.floor(config.processing.lockMs / 2)),
    maxStalledCount: 2,
  };
  const sandbox: Partial<WorkerOptions> = {
    useWorkerThreads: true,
    workerThreadsOptions: {
      workerData: { config },
      resourceLimits: { maxOldGenerationSizeMb: config.limits.workerMemoryLimitMb },
    },
  };

  const plan = new Worker(QUEUE_NAMES.plan, processorFile('plan'), { ...base, ...sandbox, concurrency: config.processing.planConcurrency });
  const pages = new Worker(QUEUE_NAMES.pages, processorFile('pages'), { ...base, ...sandbox, concurrency: config.processing.pageConcurrency });
  const ocr = new Worker(QUEUE_NAMES.ocr, processorFile('ocr'), { ...base, ...sandbox, concurrency: config.ocr.concurrency });
  const assemble = new Worker(
    QUEUE_NAMES.assemble,
    async (job: Job) =>
      runAssemble(job.data, {
        jobs: ctx.jobs,
        store: ctx.store,
        ...(metrics ? { metrics } : {}),
        logger,
        children: async () => ({ values: await job.getChildrenValues(), failures: await job.getIgnoredChildrenFailures() }),
      }),
    { ...base, concurrency: 4 },
  );
  const maintenance = new Worker(
    QUEUE_NAMES.maintenance,
    async () => runRetentionSweep({ jobs: ctx.jobs, store: ctx.store, logger }),
    { ...base, concurrency: 1 },
  );
  // Webhook deliveries: light HTTP calls in the main thread, retried with full-jitter backoff.
  const webhooks = new Worker(
    QUEUE_NAMES.webhooks,
    async (job: Job) =>
      deliverWebhook(ctx.jobs, webhookPayload.parse(job.data).jobId, {
        secret: config.webhooks.signingSecret!,
        allowList: config.webhooks.allowList,
        timeoutMs: config.webhooks.timeoutMs,
        lastAttempt: job.attemptsMade + 1 >= (job.opts.attempts ?? 1),
        logger,
      }),
    {
      ...base,
      concurrency: 8,
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string) =>
          type === WEBHOOK_BACKOFF_TYPE ? fullJitterBackoff(attemptsMade, config.webhooks.backoffMs) : 0,
      },
    },
  );
  await queues.maintenance.upsertJobScheduler(
    'retention-sweep',
    { every: config.retention.sweepSeconds * 1_000 },
    { name: 'retention-sweep', data: {}, opts: { removeOnComplete: true, removeOnFail: 100 } },
  );

  // Applies the usage ledger to the totals, exactly once, from every worker process.
  const aggregator = new UsageAggregator(ctx.redis, config.redis.prefix, {
    consumer: `worker-${process.pid}-${Math.random().toString(36).slice(2, 8)}`,
    onError: (err) => logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'usage aggregation failed; retrying'),
  });
  aggregator.start(1_000);

  const isFinal = (job: Job) => job.attemptsMade >= (job.opts.attempts ?? 1);
  const folioId = (job: Job) => (job.data as { jobId?: string }).jobId;

  // When retries are used up, the job record must still reach a terminal state.
  plan.on('failed', (job, err) => {
    const id = job && folioId(job);
    if (!job || !id || !isFinal(job)) return;
    const oom = /exit code|OUT_OF_MEMORY/i.test(err.message);
    logger.error({ jobId: id, err: err.message }, 'plan failed for good');
    void ctx.jobs.get(id).then((r) => r && logger.error({ jobId: id, reqId: r.requestId }, 'job failed: planning failed after retries')).catch(() => undefined);
    void ctx.jobs
      .fail(id, oom
        ? { code: 'pdf_invalid', message: `Parsing the PDF exceeded the worker's limits (${config.limits.workerMemoryLimitMb} MB heap)` }
        : { code: 'internal_error', message: 'Planning failed after retries; see the worker log' })
      .catch((e: unknown) => logger.error({ jobId: id, err: String(e) }, 'could not record plan failure'));
  });
  assemble.on('failed', (job, err) => {
    const id = job && folioId(job);
    if (!job || !id || !isFinal(job)) return;
    logger.error({ jobId: id, err: err.message }, 'assemble failed for good');
    void ctx.jobs
      .finish(id, 'failed', { code: 'internal_error', message: 'Assembling the result failed after retries; see the worker log' })
      .catch((e: unknown) => logger.error({ jobId: id, err: String(e) }, 'could not record assemble failure'));
  });
  for (const w of [pages, ocr]) {
    w.on('failed', (job, err) => {
      if (job && isFinal(job)) logger.warn({ jobId: folioId(job), bullJobId: job.id, err: err.message }, 'page work failed for good');
    });
  }
  const workers = [plan, pages, ocr, assemble, maintenance, webhooks];
  for (const w of workers) w.on('error', (err) => logger.error({ queue: w.name, err: err.message }, 'worker error'));

  logger.info(
    { plan: config.processing.planConcurrency, pages: config.processing.pageConcurrency, ocr: config.ocr.concurrency, prefix: config.redis.prefix },
    'workers started',
  );
  return {
    workers,
    async close(force = false) {
      for (const detach of detachMetrics) detach();
      await Promise.allSettled(workers.map((w) => w.close(force)));
      await aggregator.stop();
      await closeQueues(queues);
      (connection as unknown as { disconnect(): void }).disconnect();
      await ctx.close();
    },
  };
}
