import { Queue, type ConnectionOptions, type SandboxedJob } from 'bullmq';
import { QUEUE_NAMES, bullJobIds, defaultJobOptions } from '@folio/shared';
import { runPages } from '../jobs/pages.job.ts';
import { threadContext } from './thread-context.ts';

let ocrQueue: Queue | undefined;

/** Sandboxed entry point of the pages queue (runs in a worker thread with a heap cap). */
export default async function pagesProcessor(job: SandboxedJob) {
  const ctx = threadContext('pages');
  const prefix = ctx.config.redis.prefix;
  ocrQueue ??= new Queue(QUEUE_NAMES.ocr, {
    connection: ctx.redis as ConnectionOptions,
    prefix,
    defaultJobOptions: defaultJobOptions(ctx.config.processing.jobAttempts),
  });
  return runPages(job.data, {
    jobs: ctx.jobs,
    store: ctx.store,
    pdfs: ctx.pdfs,
    pageTimeoutMs: ctx.config.limits.pageTimeoutMs,
    minTextChars: ctx.config.ocr.minTextChars,
    addOcrJob: (jobId, page) =>
      ocrQueue!.add(
        'ocr',
        { jobId, page },
        {
          jobId: bullJobIds.ocr(jobId, page),
          // Joins the document's flow: the assemble parent now also waits for this page.
          parent: { id: bullJobIds.assemble(jobId), queue: `${prefix}:${QUEUE_NAMES.assemble}` },
          ignoreDependencyOnFailure: true,
        },
      ),
  });
}
