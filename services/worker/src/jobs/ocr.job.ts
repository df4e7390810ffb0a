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
  type JobOptions,
  type JobStore,
  type ObjectStore,
  type OcrEngines,
  type PageClass,
  type PagesResult,
  type PageText,
} from '@folio/shared';
import type { PDFPageProxy } from 'pdfjs-dist/types/src/display/api.js';
import type { PdfSource } from '../pdf-source.ts';
import { failedPage, type ChunkFile, type EngineAttempt, type PageResult } from '../result/page-result.ts';
import { withTimeout } from './pages.job.ts';
import { RateLimitWait, readWithVision, type VisionDeps, type VisionOutcome } from './vision-step.ts';

export interface OcrDeps {
  jobs: JobStore;
  store: ObjectStore;
  pdfs: PdfSource;
  engines: OcrEngines;
  pageTimeoutMs: number;
  maxPixels: number;
  minTextChars: number;
  /** Vision providers (BYOK); absent where no keyring is configured. */
  vision?: VisionDeps;
  /** The tenant's monthly budget in USD (undefined: none). */
  tenantMonthlyBudgetUsd?(tenant: string): Promise<number | undefined>;
  /** Which start of this BullMQ job this is (part of every provider call's lease and usage id). */
  attempt: number;
  /** Puts the job back for exactly `ms` (a rate-limit wait) without holding a worker slot; never returns. */
  delay(ms: number): Promise<never>;
}

/** One step of a page's engine cascade. */
export interface EngineStep {
  provider: string;
  model?: string;
}

/** The engines a page tries, in order: the job's choice, then (cascade) local OCR and the text layer. */
export function engineCascade(options: JobOptions, planned: EngineStep[] | undefined): EngineStep[] {
  const head: EngineStep[] =
    options.engine === 'tesseract'
      ? [{ provider: 'tesseract' }]
      : planned && planned.length > 0
        ? planned
        : [{ provider: options.engine, ...(options.model ? { model: options.model } : {}) }, { provider: 'tesseract' }];
  if (options.fallback === 'none') return head.slice(0, 1);
  const out = [...head];
  if (!out.some((s) => s.provider === 'tesseract')) out.push({ provider: 'tesseract' });
  if (!out.some((s) => s.provider === 'text_layer')) out.push({ provider: 'text_layer' });
  return out;
}

/**
 * Reads one page that needs more than its text layer. Engines are tried in the job's cascade order:
 * a vision provider through the tenant's key (admitted, settled and recorded exactly once), local
 * OCR (rendered greyscale under the pixel cap), or the text layer. A page that fails on every engine
 * gets the last page-level code; only infrastructure errors throw (and are retried).
 */
export async function runOcr(data: unknown, deps: OcrDeps): Promise<PagesResult | { skipped: string }> {
  const { jobId, page: n } = ocrPayload.parse(data);
  const rec = await deps.jobs.get(jobId);
  if (rec === null || isTerminal(rec.status)) return { skipped: rec === null ? 'job deleted' : `job ${rec.status}` };
  const options = jobOptionsSchema.parse(rec.options);
  const key = objectKeys.ocrPage(jobId, n);

  // A run that got as far as the result (then died before completing) is not paid for twice.
  const done = await deps.store.getJson<ChunkFile>(key).catch(() => null);
  if (done?.pages[0] !== undefined) return finish(deps, jobId, n, key, done.pages[0], false);

  const pdf = await deps.pdfs.get(jobId, rec.sha256, await deps.jobs.getPassword(jobId));
  const planned = (rec.optimization as { cascade?: EngineStep[] } | undefined)?.cascade;
  const cascade = engineCascade(options, planned);
  const t0 = performance.now();
  const attempts: EngineAttempt[] = [];
  let result: PageResult | undefined;
  let lastError: { code: string; message: string } = { code: 'page_failed', message: 'no engine could read the page' };
  let page: PDFPageProxy | undefined;
  try {
    page = await withTimeout(pdf.doc.getPage(n), deps.pageTimeoutMs);
    const layer = buildPageText((await withTimeout(page.getTextContent(), deps.pageTimeoutMs)).items.filter(isTextItem));
    const classification = classifyPage(layer, deps.minTextChars);
    const rendered: Parameters<typeof readWithVision>[3] = {};
    for (const step of cascade) {
      if (step.provider === 'text_layer') {
        // After a failed engine, an empty text layer is no answer: the page fails with that error.
        if (layer.charCount === 0 && attempts.some((a) => a.outcome === 'failed')) {
          attempts.push({ engine: 'text_layer', outcome: 'skipped', reason: 'the page has no text layer' });
          continue;
        }
        attempts.push({ engine: 'text_layer', outcome: 'ok' });
        result = fromLayer(n, layer, classification);
        break;
      }
      if (step.provider === 'tesseract') {
        try {
          result = await readWithLocalOcr(deps, page, pdf.canvasFactory, options, n, classification);
          attempts.push({ engine: result.engine, outcome: 'ok' });
          break;
        } catch (err) {
          lastError = toPageError(err);
          attempts.push({ engine: 'tesseract', outcome: 'failed', reason: lastError.message });
          continue;
        }
      }
      if (deps.vision === undefined) {
        attempts.push({ engine: step.provider, outcome: 'skipped', reason: 'no key store configured' });
        continue;
      }
      let outcome: VisionOutcome;
      try {
        outcome = await readWithVision(
          deps.vision,
          { tenant: rec.tenant, jobId, pageNumber: n, attempt: deps.attempt, page, canvasFactory: pdf.canvasFactory, advanced: options.advanced, budgetUsd: options.budgetUsd, tenantMonthlyBudgetUsd: await deps.tenantMonthlyBudgetUsd?.(rec.tenant) },
          step,
          rendered,
        );
      } catch (err) {
        if (err instanceof RateLimitWait) return await deps.delay(err.waitMs);
        // Redis, S3 or the key store failing: no paid call without them; the job is retried.
        throw new Transient(err);
      }
      if (outcome.ok) {
        const v = outcome.page;
        attempts.push({ engine: step.provider, model: v.model, outcome: 'ok' });
        const paragraphs = v.text.split(/\n{2,}/).map((p) => p.trim()).filter((p) => p.length > 0);
        result = {
          page: n,
          engine: step.provider,
          model: v.model,
          classification,
          text: v.text.trim(),
          paragraphs,
          chars: v.text.replace(/\s/g, '').length,
          tokens: v.tokens,
          cost_micro_usd: v.costMicroUsd,
          render: { dpi: Math.round((72 * v.render.width) / page.getViewport({ scale: 1 }).width), requested_dpi: options.dpi, capped: false, ms: v.render.ms },
          ocr_ms: v.callMs,
          ms: 0,
        };
        break;
      }
      attempts.push({ engine: step.provider, ...(step.model ? { model: step.model } : {}), outcome: outcome.skip ? 'skipped' : 'failed', reason: outcome.reason });
      if (!outcome.skip) lastError = { code: outcome.code, message: outcome.reason };
    }
  } catch (err) {
    if (isControlFlow(err)) throw err;
    if (err instanceof Transient) throw err.cause;
    lastError = toPageError(err);
  } finally {
    page?.cleanup();
  }
  const final: PageResult = result ?? { ...failedPage(n, lastError.code, lastError.message) };
  final.ms = Math.round(performance.now() - t0);
  if (attempts.length > 1 || final.error) final.attempts = attempts;
  return finish(deps, jobId, n, key, final, true);
}

async function finish(deps: OcrDeps, jobId: string, n: number, key: string, result: PageResult, write: boolean): Promise<PagesResult> {
  if (write) {
    const file: ChunkFile = { jobId, firstPage: n, lastPage: n, pages: [result] };
    await deps.store.putJson(key, file);
  }
  // Both idempotent: a re-run after a crash counts the page and its cost once.
  await deps.jobs.recordChunk(jobId, `ocr-${n}`, result.error ? 0 : 1, result.error ? 1 : 0);
  await deps.jobs.recordPageCost(jobId, n, result.cost_micro_usd ?? 0);
  return { key, firstPage: n, lastPage: n };
}

function fromLayer(n: number, layer: PageText, classification: PageClass): PageResult {
  return { page: n, engine: 'text_layer', classification, text: layer.text, paragraphs: layer.paragraphs, chars: layer.charCount, ms: 0 };
}

/** Local OCR: renders greyscale at the job's DPI (lower under the pixel cap) and runs the engine. */
async function readWithLocalOcr(deps: OcrDeps, page: PDFPageProxy, canvasFactory: unknown, options: JobOptions, n: number, classification: PageClass): Promise<PageResult> {
  const rendered = await withTimeout(renderPageGrey(page, canvasFactory, { dpi: options.dpi, maxPixels: deps.maxPixels }), deps.pageTimeoutMs);
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
  return {
    page: n,
    engine: engine.name,
    classification,
    text: ocr.text,
    paragraphs: ocr.paragraphs,
    chars: ocr.text.replace(/\s/g, '').length,
    confidence: ocr.confidence,
    words: ocr.words.map((w) => ({ text: w.text, confidence: w.confidence, bbox: [round(w.bbox[0]), round(w.bbox[1]), round(w.bbox[2]), round(w.bbox[3])] })),
    render: { dpi: rendered.image.dpi, requested_dpi: rendered.requestedDpi, capped: rendered.capped, ms: rendered.ms },
    ocr_ms: Math.round(performance.now() - t1),
    ms: 0,
  };
}

function toPageError(err: unknown): { code: string; message: string } {
  return { code: err instanceof AppError ? err.code : 'page_failed', message: err instanceof Error ? err.message.slice(0, 300) : 'unreadable page' };
}

class Transient extends Error {
  constructor(cause: unknown) {
    super('transient', { cause });
  }
}

/** BullMQ's DelayedError must reach the worker untouched. */
function isControlFlow(err: unknown): boolean {
  return (err as { name?: string } | null)?.name === 'DelayedError';
}
