import { FlowProducer, type ConnectionOptions, type SandboxedJob } from 'bullmq';
import { planEngines } from '@folio/shared';
import { runPlan, type PlanOutcome } from '../jobs/plan.job.ts';
import { threadContext } from './thread-context.ts';

let flows: FlowProducer | undefined;

/** Sandboxed entry point of the plan queue (runs in a worker thread with a heap cap). */
export default async function planProcessor(job: SandboxedJob): Promise<PlanOutcome> {
  const ctx = threadContext('plan');
  flows ??= new FlowProducer({ connection: ctx.redis as ConnectionOptions, prefix: ctx.config.redis.prefix });
  return runPlan(job.data, {
    jobs: ctx.jobs,
    logger: ctx.logger,
    pdfs: ctx.pdfs,
    addFlow: (flow) => flows!.add(flow),
    maxPages: ctx.config.limits.maxPages,
    chunkPages: ctx.config.processing.textChunkPages,
    attempts: ctx.config.processing.jobAttempts,
    ...(ctx.byok ? { planEngines: (job) => planEngines({ ...ctx.byok!, config: ctx.config }, job) } : {}),
  });
}
