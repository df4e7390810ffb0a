import {
  AppError,
  buildPageText,
  classifyPage,
  isTerminal,
  isTextItem,
  jobOptionsSchema,
  objectKeys,
  ocrPayload,
  renderPageGrey,
  type JobStore,
  type ObjectStore,
  type OcrEngines,
  type PagesResult,
} from '@folio/shared';
import type { PdfSource } from '../pdf-source.ts';
import { failedPage, type ChunkFile, type PageResult } from '../result/page-result.ts';
import { withTimeout } from './pages.job.ts';

export interface OcrDeps {
  jobs: JobStore;
  store: ObjectStore;
  pdfs: PdfSource;
  engines: OcrEngines;
  pageTimeoutMs: number;
  maxPixels: number;
  minTextChars: number;
}

/**
 * OCRs one page: renders it greyscale at the job's DPI (lower when the pixel cap requires it, which
 * the result records), runs the engine picked for the job's languages, and stores the page with its
 * text, paragraphs, mean confidence and word boxes. A page that fails gets a page-level code; only
 * infrastructure errors throw (and are retried).
 */
export async function runOcr(data: unknown, deps: OcrDeps): Promise<PagesResult | { skipped: string }> {
  const { jobId, page: n } = ocrPayload.parse(data);
  const rec = await deps.jobs.get(jobId);
  if (rec === null || isTerminal(rec.status)) return { skipped: rec === null ? 'job deleted' : `job ${rec.status}` };
  const options = jobOptionsSchema.parse(rec.options);
  const pdf = await deps.pdfs.get(jobId, rec.sha256, await deps.jobs.getPassword(jobId));

  const t0 = performance.now();
  let result: PageResult;
  try {
    const page = await withTimeout(pdf.doc.getPage(n), deps.pageTimeoutMs);
    try {
      const layer = buildPageText((await withTimeout(page.getTextContent(), deps.pageTimeoutMs)).items.filter(isTextItem));
      const rendered = await withTimeout(renderPageGrey(page, pdf.canvasFactory, { dpi: options.dpi, maxPixels: deps.maxPixels }), deps.pageTimeoutMs);
      const engine = deps.engines.pick(options.languages);
      const t1 = performance.now();
      let ocr;
      try {
        ocr = await withTimeout(engine.recognize(rendered.image, { languages: options.languages }), deps.pageTimeoutMs);
      } catch (err) {
        if (err instanceof AppError) throw err;
        throw new AppError('ocr_failed', `OCR failed: ${err instanceof Error ? err.message : String(err)}`.slice(0, 300));
      }
      // Boxes in PDF points from the page's top-left, independent of the DPI used.
      const scale = 72 / rendered.image.dpi;
      const round = (v: number) => Math.round(v * scale * 10) / 10;
      result = {
        page: n,
        engine: engine.name,
        classification: classifyPage(layer, deps.minTextChars),
        text: ocr.text,
        paragraphs: ocr.paragraphs,
        chars: ocr.text.replace(/\s/g, '').length,
        confidence: ocr.confidence,
        words: ocr.words.map((w) => ({ text: w.text, confidence: w.confidence, bbox: [round(w.bbox[0]), round(w.bbox[1]), round(w.bbox[2]), round(w.bbox[3])] })),
        render: { dpi: rendered.image.dpi, requested_dpi: rendered.requestedDpi, capped: rendered.capped, ms: rendered.ms },
        ocr_ms: Math.round(performance.now() - t1),
        ms: Math.round(performance.now() - t0),
      };
    } finally {
      page.cleanup();
    }
  } catch (err) {
    const code = err instanceof AppError ? err.code : 'page_failed';
    const message = err instanceof Error ? err.message.slice(0, 300) : 'unreadable page';
    result = { ...failedPage(n, code, message), ms: Math.round(performance.now() - t0) };
  }

  const key = objectKeys.ocrPage(jobId, n);
  const file: ChunkFile = { jobId, firstPage: n, lastPage: n, pages: [result] };
  await deps.store.putJson(key, file);
  await deps.jobs.recordChunk(jobId, `ocr-${n}`, result.error ? 0 : 1, result.error ? 1 : 0);
  return { key, firstPage: n, lastPage: n };
}
