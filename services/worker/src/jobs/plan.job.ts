import type { FlowJob } from 'bullmq';
import {
  PdfError,
  QUEUE_NAMES,
  bullJobIds,
  isTerminal,
  jobOptionsSchema,
  planPayload,
  type JobStore,
  type JobOptions,
  type Logger,
  type OcrPayload,
  type PagesPayload,
} from '@folio/shared';
import type { PdfSource } from '../pdf-source.ts';

export interface PlanDeps {
  jobs: JobStore;
  /** Logs a document refused for good, with the id of the request that created the job. */
  logger?: Pick<Logger, 'info'>;
  pdfs: PdfSource;
  /** Chooses the engines for pages that need a model (only called when the job asks for one). */
  planEngines?(job: { tenant: string; options: JobOptions; pages: number; widthPt: number; heightPt: number }): Promise<unknown>;
  addFlow(flow: FlowJob): Promise<unknown>;
  maxPages: number;
  chunkPages: number;
  attempts: number;
}

export type PlanOutcome =
  | { status: 'skipped'; reason: string }
  | { status: 'failed'; code: string }
  | { status: 'planned'; pages: number; chunks: number };

/** Splits 1..pages into runs of at most `size` pages. */
export function chunkPages(pages: number, size: number): Array<{ firstPage: number; lastPage: number }> {
  const out: Array<{ firstPage: number; lastPage: number }> = [];
  for (let first = 1; first <= pages; first += size) out.push({ firstPage: first, lastPage: Math.min(pages, first + size - 1) });
  return out;
}

/**
 * Opens the document, checks it can be processed, and fans its pages out as a BullMQ flow under an
 * assemble parent. Safe to run twice: the flow's job ids derive from the job id, so a retry after a
 * crash adds nothing new. A document that cannot be processed fails the job here, without retries.
 */
export async function runPlan(data: unknown, deps: PlanDeps): Promise<PlanOutcome> {
  const { jobId } = planPayload.parse(data);
  const rec = await deps.jobs.get(jobId);
  if (rec === null) return { status: 'skipped', reason: 'job deleted' };
  if (isTerminal(rec.status)) return { status: 'skipped', reason: `job already ${rec.status}` };
  if (rec.status === 'queued' || rec.status === 'planning') await deps.jobs.markPlanning(jobId);

  let pages: number;
  let size = { widthPt: 612, heightPt: 792 };
  try {
    const pdf = await deps.pdfs.get(jobId, rec.sha256, await deps.jobs.getPassword(jobId));
    pages = pdf.numPages;
    if (pages >= 1) {
      const vp = (await pdf.doc.getPage(1)).getViewport({ scale: 1 });
      size = { widthPt: vp.width, heightPt: vp.height };
    }
    if (pages < 1) throw new PdfError('pdf_invalid', 'The PDF has no pages');
    if (pages > deps.maxPages) {
      throw new PdfError('pdf_too_many_pages', `The PDF has ${pages} pages; the limit is ${deps.maxPages}`);
    }
  } catch (err) {
    if (err instanceof PdfError) {
      await deps.jobs.fail(jobId, { code: err.code, message: err.message });
      deps.logger?.info({ jobId, reqId: rec.requestId, code: err.code }, 'job failed: the document cannot be processed');
      return { status: 'failed', code: err.code };
    }
    throw err; // transient (storage, Redis): retried with backoff
  }

  // Mark first: a tiny document's assemble step may finish before `add` returns, and it only
  // completes jobs that are `processing`.
  if (!(await deps.jobs.markProcessing(jobId, pages))) {
    return { status: 'skipped', reason: 'job left planning (cancelled)' };
  }
  const childOpts = {
    attempts: deps.attempts,
    backoff: { type: 'exponential', delay: 1_000 },
    // A child that fails for good must not block the document: assemble reports its pages as failed.
    ignoreDependencyOnFailure: true,
  };
  // ocr=always: one OCR job per page (OCR is slow; one page per job spreads it over every core).
  // Otherwise text-layer chunks; under ocr=auto a chunk hands the pages it cannot use to OCR jobs.
  const options = jobOptionsSchema.parse(rec.options);
  const { ocr } = options;
  if (options.engine !== 'tesseract' && ocr !== 'never' && deps.planEngines) {
    await deps.jobs.setOptimization(jobId, await deps.planEngines({ tenant: rec.tenant, options, pages, ...size }));
  }
  const children: FlowJob[] =
    ocr === 'always'
      ? Array.from({ length: pages }, (_, i) => ({
          name: 'ocr',
          queueName: QUEUE_NAMES.ocr,
          data: { jobId, page: i + 1 } satisfies OcrPayload,
          opts: { ...childOpts, jobId: bullJobIds.ocr(jobId, i + 1) },
        }))
      : chunkPages(pages, deps.chunkPages).map((c) => ({
          name: 'pages',
          queueName: QUEUE_NAMES.pages,
          data: { jobId, firstPage: c.firstPage, lastPage: c.lastPage } satisfies PagesPayload,
          opts: { ...childOpts, jobId: bullJobIds.pages(jobId, c.firstPage) },
        }));
  await deps.addFlow({
    name: 'assemble',
    queueName: QUEUE_NAMES.assemble,
    data: { jobId },
    opts: { jobId: bullJobIds.assemble(jobId), attempts: deps.attempts, backoff: { type: 'exponential', delay: 1_000 } },
    children,
  });
  return { status: 'planned', pages, chunks: children.length };
}
