import type { SandboxedJob } from 'bullmq';
import { OcrEngines } from '@folio/shared';
import { runOcr } from '../jobs/ocr.job.ts';
import { threadContext } from './thread-context.ts';

/** Each OCR thread keeps its own long-lived engine (a tesseract.js worker, or spawns native tesseract). */
let engines: OcrEngines | undefined;

/** Sandboxed entry point of the ocr queue (runs in a worker thread with a heap cap). */
export default async function ocrProcessor(job: SandboxedJob) {
  const ctx = threadContext('ocr');
  engines ??= new OcrEngines({ preference: ctx.config.ocr.engine, timeoutMs: ctx.config.limits.pageTimeoutMs });
  return runOcr(job.data, {
    jobs: ctx.jobs,
    store: ctx.store,
    pdfs: ctx.pdfs,
    engines,
    pageTimeoutMs: ctx.config.limits.pageTimeoutMs,
    maxPixels: ctx.config.ocr.maxPixels,
    minTextChars: ctx.config.ocr.minTextChars,
  });
}
