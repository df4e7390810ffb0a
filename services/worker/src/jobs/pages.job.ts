import {
  AppError,
  isTerminal,
  isTextItem,
  buildPageText,
  objectKeys,
  pagesPayload,
  type JobStore,
  type ObjectStore,
  type PagesResult,
} from '@folio/shared';
import type { PdfSource } from '../pdf-source.ts';
import { failedPage, type ChunkFile, type PageResult } from '../result/page-result.ts';

export interface PagesDeps {
  jobs: JobStore;
  store: ObjectStore;
  pdfs: PdfSource;
  pageTimeoutMs: number;
}

/** Rejects with `page_timeout` when `p` takes longer than `ms`. */
export async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new AppError('page_timeout', `The page took longer than ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Extracts the text layer of a run of pages and stores it as one chunk file. A page that cannot be
 * read becomes a failed page in the chunk (the rest of the document still completes); only
 * infrastructure errors throw, so BullMQ retries them.
 */
export async function runPages(data: unknown, deps: PagesDeps): Promise<PagesResult | { skipped: string }> {
  const { jobId, firstPage, lastPage } = pagesPayload.parse(data);
  const rec = await deps.jobs.get(jobId);
  if (rec === null || isTerminal(rec.status)) return { skipped: rec === null ? 'job deleted' : `job ${rec.status}` };

  const pdf = await deps.pdfs.get(jobId, rec.sha256, await deps.jobs.getPassword(jobId));
  const pages: PageResult[] = [];
  for (let n = firstPage; n <= lastPage; n++) {
    const t0 = performance.now();
    try {
      const page = await withTimeout(pdf.doc.getPage(n), deps.pageTimeoutMs);
      try {
        const content = await withTimeout(page.getTextContent(), deps.pageTimeoutMs);
        const text = buildPageText(content.items.filter(isTextItem));
        pages.push({ page: n, engine: 'text_layer', text: text.text, paragraphs: text.paragraphs, chars: text.charCount, ms: Math.round(performance.now() - t0) });
      } finally {
        page.cleanup();
      }
    } catch (err) {
      const code = err instanceof AppError ? err.code : 'page_failed';
      const message = err instanceof Error ? err.message.slice(0, 300) : 'unreadable page';
      pages.push({ ...failedPage(n, code, message), ms: Math.round(performance.now() - t0) });
    }
  }

  const key = objectKeys.pageChunk(jobId, firstPage);
  const chunk: ChunkFile = { jobId, firstPage, lastPage, pages };
  await deps.store.putJson(key, chunk);
  const failed = pages.filter((p) => p.error !== undefined).length;
  await deps.jobs.recordChunk(jobId, firstPage, pages.length - failed, failed);
  return { key, firstPage, lastPage };
}
