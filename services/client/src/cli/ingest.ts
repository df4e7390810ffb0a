import fsp from 'node:fs/promises';
import path from 'node:path';
import { FolioClient } from '../sdk/client.ts';
import { FolioError } from '../sdk/errors.ts';
import type { DocumentResult, ProcessOptions, ResultFormat } from '../sdk/types.ts';
import { Display, engineMix, formatDuration } from './display.ts';
import { expandInputs, exists, outputNames, writeAtomic } from './files.ts';
import { StateWriter, loadState, resumeKey, sha256File, type FileRecord } from './state.ts';

/** The output formats: flag value → API format and file extension. */
export const FORMATS = {
  md: { api: 'markdown', ext: 'md' },
  txt: { api: 'text', ext: 'txt' },
  json: { api: 'json', ext: 'json' },
} as const satisfies Record<string, { api: ResultFormat; ext: string }>;
export type FormatFlag = keyof typeof FORMATS;

export interface IngestArgs {
  inputs: string[];
  out: string;
  concurrency: number;
  formats: FormatFlag[];
  options: ProcessOptions;
  retryFailed: boolean;
  server: string;
}

export interface Summary {
  server: string;
  out: string;
  started_at: string;
  finished_at: string;
  duration_ms: number;
  options: Record<string, unknown>;
  files: { total: number; completed: number; partial: number; failed: number; skipped: number; processed: number };
  pages: { total: number; failed: number };
  engines: Record<string, number>;
  cost_usd: number;
  failures: Array<{ file: string; code: string; message: string; job_id: string | null }>;
  missing_inputs: string[];
  items: Array<FileRecord & { skipped: boolean }>;
}

/** Client errors about the document itself: retrying the same file with the same options cannot help. */
const PERMANENT_STATUSES = new Set([400, 413, 415, 422]);

/**
 * `folio ingest`: uploads every PDF of the inputs with bounded concurrency, follows each job,
 * writes its results into `out`, records finished files in `out/.folio-state.json` (a re-run
 * skips them) and writes `out/summary.json`. Returns the exit code: 0 when every file completed
 * (or partially completed), 1 when any failed, 130 when interrupted.
 */
export async function ingest(args: IngestArgs, client: FolioClient, display: Display, signal?: AbortSignal): Promise<number> {
  const startedAt = Date.now();
  const outDir = path.resolve(args.out);
  const { files, missing } = await expandInputs(args.inputs);
  for (const m of missing) display.error(`no PDF matches ${m}`, { input: m });
  if (files.length === 0) {
    display.error('nothing to ingest');
    return 2;
  }
  await fsp.mkdir(outDir, { recursive: true });
  const publicOptions = { ...args.options, password: args.options.password === undefined ? undefined : 'set' };

  const hashed: Array<{ path: string; sha256: string }> = [];
  for (const f of files) hashed.push({ path: f, sha256: await sha256File(f) });
  const names = outputNames(hashed);
  const writer = new StateWriter(outDir, await loadState(outDir));
  const display_ = (f: string) => path.relative(process.cwd(), f) || f;

  interface Item {
    path: string;
    file: string;
    name: string;
    key: string;
    previous: FileRecord | undefined;
  }
  const items: Item[] = hashed.map((h) => {
    // The password is part of the key (hashed, never stored): another password is another attempt.
    const key = resumeKey(h.sha256, { ...args.options, formats: [...args.formats].sort().join(',') });
    return { path: h.path, file: display_(h.path), name: names.get(h.path) as string, key, previous: writer.state.files[key] };
  });
  const isDone = (it: Item) =>
    it.previous !== undefined &&
    !(args.retryFailed && it.previous.status === 'failed') &&
    it.previous.outputs.every((o) => exists(path.join(outDir, o)));
  const skipped = items.filter(isDone);
  const todo = items.filter((it) => !isDone(it));

  display.start(items.length, skipped.length);
  for (const it of skipped) display.skipped({ ...(it.previous as FileRecord), file: it.file });

  const results = new Map<string, FileRecord>();
  let interrupted = false;

  async function one(it: Item): Promise<void> {
    display.started(it.file, it.name);
    let jobId: string | null = null;
    try {
      const retry = args.retryFailed && it.previous?.status === 'failed';
      const accepted = await client.process(it.path, {
        ...args.options,
        filename: path.basename(it.path),
        // A retry of a failed file must not get the failed job back.
        idempotencyKey: retry ? `${it.key}-r${Date.now()}` : it.key,
        ...(signal ? { signal } : {}),
      });
      jobId = accepted.job_id;
      display.uploaded(it.file, jobId, accepted.replayed);
      const job = await client.waitFor(jobId, {
        ...(signal ? { signal } : {}),
        onProgress: (j) => display.progress(it.file, { status: j.status, ...j.progress }),
      });
      const outputs: string[] = [];
      let doc: DocumentResult | undefined;
      if (job.status === 'completed' || job.status === 'partial') {
        doc = await client.result(jobId, 'json', signal ? { signal } : {});
        for (const f of args.formats) {
          const spec = FORMATS[f];
          const body = spec.api === 'json' ? `${JSON.stringify(doc, null, 2)}\n` : await client.result(jobId, spec.api, signal ? { signal } : {});
          const out = `${it.name}.${spec.ext}`;
          await writeAtomic(path.join(outDir, out), body);
          outputs.push(out);
        }
      }
      const rec: FileRecord = {
        file: it.file,
        key: it.key,
        job_id: jobId,
        status: job.status as FileRecord['status'],
        pages: doc?.page_count ?? job.progress.pages_total ?? 0,
        pages_failed: job.progress.pages_failed,
        engines: doc?.engines ?? {},
        cost_usd: doc?.cost.usd ?? job.cost.usd,
        outputs,
        error: job.error ?? null,
        finished_at: new Date().toISOString(),
      };
      results.set(it.key, rec);
      await writer.record(rec);
      display.finished(rec);
    } catch (err) {
      if (signal?.aborted) {
        interrupted = true;
        return;
      }
      const fe = err instanceof FolioError ? err : undefined;
      const error = { code: fe?.code ?? 'client_error', message: (err as Error).message };
      const rec: FileRecord = {
        file: it.file,
        key: it.key,
        job_id: jobId,
        status: 'failed',
        pages: 0,
        pages_failed: 0,
        engines: {},
        cost_usd: 0,
        outputs: [],
        error,
        finished_at: new Date().toISOString(),
      };
      results.set(it.key, rec);
      // Only a refusal of the document itself is final; anything else is tried again next run.
      if (fe && PERMANENT_STATUSES.has(fe.status) && jobId === null) await writer.record(rec);
      display.finished(rec);
    }
  }

  // Bounded concurrency: `concurrency` workers take the next file until none are left.
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(args.concurrency, todo.length) }, async () => {
      while (next < todo.length && !signal?.aborted) await one(todo[next++] as Item);
    }),
  );
  if (signal?.aborted) interrupted = true;

  // The summary covers every input: this run's and the skipped ones.
  const summary: Summary = {
    server: args.server,
    out: outDir,
    started_at: new Date(startedAt).toISOString(),
    finished_at: new Date().toISOString(),
    duration_ms: Date.now() - startedAt,
    options: Object.fromEntries(Object.entries(publicOptions).filter(([, v]) => v !== undefined)),
    files: { total: items.length, completed: 0, partial: 0, failed: 0, skipped: skipped.length, processed: results.size },
    pages: { total: 0, failed: 0 },
    engines: {},
    cost_usd: 0,
    failures: [],
    missing_inputs: missing,
    items: [],
  };
  for (const it of items) {
    const rec = results.get(it.key) ?? (isDone(it) ? it.previous : undefined);
    if (!rec) continue;
    const r = { ...rec, file: it.file, skipped: !results.has(it.key) };
    summary.items.push(r);
    if (r.status === 'completed') summary.files.completed++;
    else if (r.status === 'partial') summary.files.partial++;
    else summary.files.failed++;
    summary.pages.total += r.pages;
    summary.pages.failed += r.pages_failed;
    for (const [e, n] of Object.entries(r.engines)) summary.engines[e] = (summary.engines[e] ?? 0) + n;
    summary.cost_usd += r.cost_usd;
    if (r.error && (r.status === 'failed' || r.status === 'cancelled')) summary.failures.push({ file: r.file, code: r.error.code, message: r.error.message, job_id: r.job_id });
  }
  summary.cost_usd = Math.round(summary.cost_usd * 1e6) / 1e6;
  await writeAtomic(path.join(outDir, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);

  const f = summary.files;
  const lines = [
    `${f.total} files: ${f.completed} completed, ${f.partial} partial, ${f.failed} failed${f.skipped ? ` (${f.skipped} skipped: done before)` : ''}${interrupted ? ', interrupted' : ''}`,
    `${summary.pages.total} pages (${engineMix(summary.engines)}) · cost $${summary.cost_usd.toFixed(4)} · ${formatDuration(summary.duration_ms / 1000)}`,
    ...summary.failures.map((x) => `  failed ${x.file}: ${x.code}`),
    `results in ${path.relative(process.cwd(), outDir) || '.'}/ (summary.json)`,
  ];
  display.summary(lines.join('\n'), summary);
  if (interrupted) return 130;
  return summary.failures.length > 0 || missing.length > 0 ? 1 : 0;
}
