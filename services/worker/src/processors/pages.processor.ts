import type { SandboxedJob } from 'bullmq';
import { runPages } from '../jobs/pages.job.ts';
import { threadContext } from './thread-context.ts';

/** Sandboxed entry point of the pages queue (runs in a worker thread with a heap cap). */
export default async function pagesProcessor(job: SandboxedJob) {
  const ctx = threadContext('pages');
  return runPages(job.data, {
    jobs: ctx.jobs,
    store: ctx.store,
    pdfs: ctx.pdfs,
    pageTimeoutMs: ctx.config.limits.pageTimeoutMs,
  });
}
