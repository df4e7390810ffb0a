import {
  assemblePayload,
  objectKeys,
  pageEngineLabel,
  pagesResult,
  parseChildKey,
  RESULT_CONTENT_TYPES,
  type JobMetrics,
  type JobStore,
  type Logger,
  type ObjectStore,
  type PagesResult,
} from '@folio/shared';
import { failedPage, type ChunkFile, type PageResult } from '../result/page-result.ts';
import { renderJson, renderMarkdown, renderText } from '../result/render.ts';

export interface AssembleDeps {
  jobs: JobStore;
  store: ObjectStore;
  metrics?: JobMetrics;
  /** Logs the job's end with the id of the request that created it. */
  logger?: Pick<Logger, 'info'>;
  /** The finished children of this flow (BullMQ's getChildrenValues / getIgnoredChildrenFailures). */
  children(): Promise<{ values: Record<string, unknown>; failures: Record<string, string> }>;
}

export type AssembleOutcome = { status: 'skipped'; reason: string } | { status: 'completed' | 'partial' | 'failed'; pages: number; failed: number };

/** Error code for a chunk that failed for good, from the reason BullMQ recorded. */
export function chunkFailureCode(reason: string): string {
  // A sandboxed thread that ran out of heap (or crashed) exits; the page was too much to process.
  if (/ERR_WORKER_OUT_OF_MEMORY|Unexpected exit code|heap out of memory/i.test(reason)) return 'page_too_large';
  if (/page_timeout|took longer/i.test(reason)) return 'page_timeout';
  return 'page_failed';
}

/**
 * Merges the page chunks into `document.json`, `.txt` and `.md` and sets the final status:
 * `completed` when every page was read, `partial` when some failed, `failed` when none was read.
 */
export async function runAssemble(data: unknown, deps: AssembleDeps): Promise<AssembleOutcome> {
  const { jobId } = assemblePayload.parse(data);
  const rec = await deps.jobs.get(jobId);
  if (rec === null) return { status: 'skipped', reason: 'job deleted' };
  if (rec.status === 'cancelled') {
    // Chunks written while the cancel raced with the workers.
    await deps.store.deletePrefix(objectKeys.jobPrefix(jobId));
    return { status: 'skipped', reason: 'job cancelled' };
  }
  if (rec.status !== 'processing' || rec.pagesTotal === undefined) return { status: 'skipped', reason: `job ${rec.status}` };
  const total = rec.pagesTotal;

  const { values, failures } = await deps.children();
  const chunks: PagesResult[] = [];
  for (const v of Object.values(values)) {
    const parsed = pagesResult.safeParse(v);
    if (parsed.success) chunks.push(parsed.data);
  }
  const byPage = new Map<number, PageResult>();
  const files = await mapLimit(chunks, 8, (c) => deps.store.getJson<ChunkFile>(c.key));
  for (const f of files) for (const p of f.pages) byPage.set(p.page, p);

  // Children that failed for good: BullMQ keeps their reason under the child's key, which names
  // the kind and first page. An OCR job is one page; a text chunk runs to the next chunk's start.
  const failed = Object.entries(failures).flatMap(([key, reason]) => {
    const parsed = parseChildKey(key);
    return parsed ? [{ ...parsed, reason }] : [];
  });
  const textChunkStarts = chunks.filter((c) => !c.key.includes('/pages/ocr-')).map((c) => c.firstPage);
  const failedChunkStarts = failed.filter((f) => f.kind === 'pages').map((f) => f.firstPage);
  const chunkStarts = [...new Set([...textChunkStarts, ...failedChunkStarts])].sort((a, b) => a - b);
  for (const f of failed) {
    const next = chunkStarts.find((s) => s > f.firstPage);
    const last = f.kind === 'ocr' ? f.firstPage : Math.min(total, next === undefined ? total : next - 1);
    let count = 0;
    for (let n = f.firstPage; n <= last; n++) {
      // A failed chunk's pages that went on to OCR have their own result.
      if (f.kind === 'pages' && byPage.has(n)) continue;
      byPage.set(n, failedPage(n, chunkFailureCode(f.reason), f.reason.slice(0, 300)));
      count++;
    }
    // Counted in the progress too (idempotent per unit).
    await deps.jobs.recordChunk(jobId, f.kind === 'ocr' ? `ocr-${f.firstPage}` : f.firstPage, 0, count);
  }
  const pages: PageResult[] = [];
  for (let n = 1; n <= total; n++) pages.push(byPage.get(n) ?? failedPage(n, 'page_failed', 'The page was not processed'));

  const failedCount = pages.filter((p) => p.error !== undefined).length;
  const status = failedCount === 0 ? 'completed' : failedCount === total ? 'failed' : 'partial';
  await Promise.all([
    deps.store.put(objectKeys.result(jobId, 'json'), JSON.stringify(renderJson(rec, pages, status)), RESULT_CONTENT_TYPES.json),
    deps.store.put(objectKeys.result(jobId, 'text'), renderText(pages), RESULT_CONTENT_TYPES.text),
    deps.store.put(objectKeys.result(jobId, 'markdown'), renderMarkdown(pages), RESULT_CONTENT_TYPES.markdown),
  ]);
  const firstError = pages.find((p) => p.error)?.error;
  const moved = await deps.jobs.finish(
    jobId,
    status,
    status === 'completed' || firstError === undefined
      ? undefined
      : { code: firstError.code, message: `${failedCount} of ${total} pages failed; first: page ${pages.find((p) => p.error)?.page}: ${firstError.message}` },
  );
  if (moved && deps.metrics) {
    deps.metrics.jobsFinished.inc({ status });
    deps.metrics.jobDuration.observe({ status }, (Date.now() - rec.createdAt) / 1000);
    for (const p of pages) {
      const engine = pageEngineLabel(p.engine);
      deps.metrics.pagesProcessed.inc({ engine, outcome: p.error ? 'failed' : 'ok' });
      // A page that never ran (its chunk failed for good before reaching it) has no duration.
      if (!(p.error && p.ms === 0)) deps.metrics.pageDuration.observe({ engine }, Math.max(0, p.ms) / 1000);
    }
  }
  if (moved) deps.logger?.info({ jobId, reqId: rec.requestId, status, pages: total, failed: failedCount }, 'job finished');
  return { status, pages: total, failed: failedCount };
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const run = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, run));
  return out;
}
