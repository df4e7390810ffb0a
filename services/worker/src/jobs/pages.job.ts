import {
  AppError,
  isTerminal,
  isTextItem,
  buildPageText,
  classifyPage,
  drawsReadableContent,
  PDF_OPS,
  jobOptionsSchema,
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
  /** Text layers with fewer characters count as `mixed` (see classifyPage). */
  minTextChars: number;
  /** Adds an OCR job for one page under the document's assemble parent (idempotent). */
  addOcrJob(jobId: string, page: number): Promise<unknown>;
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
 * Extracts the text layer of a run of pages and stores it as one chunk file. Under `ocr=auto` a
 * page whose text layer is unusable is handed to an OCR job instead (added under the same assemble
 * parent before this job completes, so the parent waits for it). A page that cannot be read becomes
 * a failed page in the chunk (the rest of the document still completes); only infrastructure errors
 * throw, so BullMQ retries them.
 */
export async function runPages(data: unknown, deps: PagesDeps): Promise<PagesResult | { skipped: string }> {
  const { jobId, firstPage, lastPage } = pagesPayload.parse(data);
  const rec = await deps.jobs.get(jobId);
  if (rec === null || isTerminal(rec.status)) return { skipped: rec === null ? 'job deleted' : `job ${rec.status}` };

  const { ocr } = jobOptionsSchema.parse(rec.options);
  const pdf = await deps.pdfs.get(jobId, rec.sha256, await deps.jobs.getPassword(jobId));
  const pages: PageResult[] = [];
  const toOcr: number[] = [];
  const textless: Array<{ n: number; text: ReturnType<typeof buildPageText>; t0: number }> = [];
  for (let n = firstPage; n <= lastPage; n++) {
    const t0 = performance.now();
    try {
      const page = await withTimeout(pdf.doc.getPage(n), deps.pageTimeoutMs);
      try {
        const content = await withTimeout(page.getTextContent(), deps.pageTimeoutMs);
        const text = buildPageText(content.items.filter(isTextItem));
        const classification = classifyPage(text, deps.minTextChars);
        if (ocr === 'auto' && classification === 'image') {
          textless.push({ n, text, t0 });
        } else if (ocr === 'auto' && classification !== 'text') {
          toOcr.push(n);
        } else {
          pages.push({ page: n, engine: 'text_layer', classification, text: text.text, paragraphs: text.paragraphs, chars: text.charCount, ms: Math.round(performance.now() - t0) });
        }
      } finally {
        page.cleanup();
      }
    } catch (err) {
      const code = err instanceof AppError ? err.code : 'page_failed';
      const message = err instanceof Error ? err.message.slice(0, 300) : 'unreadable page';
      pages.push({ ...failedPage(n, code, message), ms: Math.round(performance.now() - t0) });
    }
  }

  // Pages without any text: in a chunk that has text pages (a book) they may be empty versos —
  // check what they draw and skip OCR for the blank ones. In a chunk of scans, every such page is
  // an image: checking would decode each page's image once more for nothing.
  const bookLike = pages.some((p) => p.classification === 'text');
  for (const { n, text, t0 } of textless) {
    let blank = false;
    if (bookLike) {
      const page = await pdf.doc.getPage(n);
      try {
        blank = !drawsReadableContent((await withTimeout(page.getOperatorList(), deps.pageTimeoutMs)).fnArray, PDF_OPS);
      } catch {
        blank = false;
      } finally {
        page.cleanup();
      }
    }
    if (blank) pages.push({ page: n, engine: 'text_layer', classification: 'blank', text: text.text, paragraphs: text.paragraphs, chars: 0, ms: Math.round(performance.now() - t0) });
    else toOcr.push(n);
  }
  for (const n of toOcr) await deps.addOcrJob(jobId, n);

  const key = objectKeys.pageChunk(jobId, firstPage);
  const chunk: ChunkFile = { jobId, firstPage, lastPage, pages };
  await deps.store.putJson(key, chunk);
  const failed = pages.filter((p) => p.error !== undefined).length;
  await deps.jobs.recordChunk(jobId, firstPage, pages.length - failed, failed);
  return { key, firstPage, lastPage };
}
