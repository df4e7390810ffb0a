import type { FileRecord } from './state.ts';

export type DisplayMode = 'tty' | 'plain' | 'json' | 'quiet';

interface Active {
  name: string;
  status: string;
  done: number;
  failed: number;
  total: number | null;
}

/**
 * Progress of an ingest run. `tty`: a live multi-line display (one line per file in flight and an
 * overall line, redrawn at most 10×/s with ANSI codes); `plain`: one line per event; `json`: one
 * JSON object per line; `quiet`: nothing but errors (on stderr).
 */
export class Display {
  readonly mode: DisplayMode;
  readonly #out: NodeJS.WriteStream | { write(s: string): unknown; columns?: number };
  readonly #err: { write(s: string): unknown };
  readonly #active = new Map<string, Active>();
  readonly #startedAt = Date.now();
  #total = 0;
  #finished = 0;
  #failed = 0;
  #pagesDone = 0;
  #pagesOfFinished = 0;
  #finishedWithPages = 0;
  #pending: string[] = [];
  #drawnLines = 0;
  #timer: NodeJS.Timeout | undefined;
  #lastDraw = 0;

  constructor(mode: DisplayMode, out: { write(s: string): unknown; columns?: number } = process.stdout, err: { write(s: string): unknown } = process.stderr) {
    this.mode = mode;
    this.#out = out;
    this.#err = err;
  }

  start(total: number, skipped: number): void {
    this.#total = total;
    if (this.mode === 'json') this.#json({ event: 'start', files: total, skipped });
    else if (this.mode !== 'quiet') this.#line(`${total} file${total === 1 ? '' : 's'}${skipped > 0 ? ` (${skipped} already done: skipped)` : ''}`);
  }

  skipped(rec: FileRecord): void {
    this.#finished++;
    if (rec.status === 'failed') this.#failed++;
    if (this.mode === 'json') this.#json({ event: 'skipped', file: rec.file, job_id: rec.job_id, status: rec.status, pages: rec.pages, error: rec.error });
    else if (this.mode === 'plain') this.#line(`skipped ${rec.file} (${rec.status} before)`);
  }

  started(file: string, name: string): void {
    this.#active.set(file, { name, status: 'uploading', done: 0, failed: 0, total: null });
    if (this.mode === 'json') this.#json({ event: 'upload', file });
    this.#schedule();
  }

  uploaded(file: string, jobId: string, replayed: boolean): void {
    const a = this.#active.get(file);
    if (a) a.status = 'queued';
    if (this.mode === 'json') this.#json({ event: 'queued', file, job_id: jobId, replayed });
    else if (this.mode === 'plain') this.#line(`queued ${file} → job ${jobId}${replayed ? ' (replayed)' : ''}`);
    this.#schedule();
  }

  progress(file: string, p: { status: string; pages_done: number; pages_failed: number; pages_total: number | null }): void {
    const a = this.#active.get(file);
    if (a) {
      this.#pagesDone += Math.max(0, p.pages_done + p.pages_failed - a.done - a.failed);
      a.status = p.status;
      a.done = p.pages_done;
      a.failed = p.pages_failed;
      a.total = p.pages_total;
    }
    if (this.mode === 'json') this.#json({ event: 'progress', file, ...p });
    this.#schedule();
  }

  finished(rec: FileRecord): void {
    const a = this.#active.get(rec.file);
    if (a) this.#pagesDone += Math.max(0, rec.pages - a.done - a.failed);
    this.#active.delete(rec.file);
    this.#finished++;
    if (rec.pages > 0) {
      this.#pagesOfFinished += rec.pages;
      this.#finishedWithPages++;
    }
    if (rec.status === 'failed' || rec.status === 'cancelled') this.#failed++;
    const line = rec.error
      ? `${rec.status} ${rec.file}: ${rec.error.code}: ${rec.error.message}`
      : `${rec.status} ${rec.file}: ${rec.pages} page${rec.pages === 1 ? '' : 's'} (${engineMix(rec.engines)})`;
    if (this.mode === 'json') this.#json({ event: 'done', ...rec });
    else if (this.mode === 'quiet') {
      if (rec.error) this.#err.write(`${line}\n`);
    } else if (this.mode === 'plain') this.#line(line);
    else {
      this.#pending.push(line);
      this.#schedule(true);
    }
  }

  /** Prints the final summary (and the last overall line). */
  summary(text: string, json: unknown): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.mode === 'tty') this.#draw(false);
    if (this.mode === 'json') this.#json({ event: 'summary', ...(json as object) });
    else if (this.mode !== 'quiet') this.#line(text);
  }

  /** An error outside any file (bad input, server unreachable). */
  error(message: string, extra: Record<string, unknown> = {}): void {
    if (this.mode === 'json') this.#json({ event: 'error', message, ...extra });
    else this.#err.write(`folio: ${message}\n`);
  }

  /** The overall line: files, pages, pages/s, ETA. */
  overall(): string {
    const secs = (Date.now() - this.#startedAt) / 1000;
    const rate = secs > 0 ? this.#pagesDone / secs : 0;
    let remaining = 0;
    for (const a of this.#active.values()) if (a.total !== null) remaining += Math.max(0, a.total - a.done - a.failed);
    const unstarted = this.#total - this.#finished - [...this.#active.values()].filter((a) => a.total !== null).length;
    const avg = this.#finishedWithPages > 0 ? this.#pagesOfFinished / this.#finishedWithPages : 0;
    remaining += Math.max(0, unstarted) * avg;
    const eta = rate > 0 && remaining > 0 ? `ETA ${formatDuration(remaining / rate)}` : 'ETA –';
    return `files ${this.#finished}/${this.#total}${this.#failed ? ` (${this.#failed} failed)` : ''} · pages ${this.#pagesDone} · ${rate.toFixed(1)} pages/s · ${eta}`;
  }

  #schedule(soon = false): void {
    if (this.mode !== 'tty' || this.#timer) return;
    const wait = Math.max(0, 100 - (Date.now() - this.#lastDraw));
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#draw(true);
    }, soon ? Math.min(wait, 100) : wait);
    this.#timer.unref();
  }

  #draw(live: boolean): void {
    this.#lastDraw = Date.now();
    const width = Math.max(40, (this.#out as { columns?: number }).columns ?? 100);
    let s = '';
    if (this.#drawnLines > 0) s += `\x1b[${this.#drawnLines}F\x1b[J`; // up to the first live line, clear below
    for (const line of this.#pending) s += `${line}\n`;
    this.#pending = [];
    const lines: string[] = [];
    if (live) {
      for (const a of this.#active.values()) {
        const pages = a.total === null ? `${a.status}` : `${bar(a.done + a.failed, a.total)} ${a.done + a.failed}/${a.total} pages${a.failed ? ` (${a.failed} failed)` : ''}`;
        lines.push(`  ${a.name}  ${pages}`);
      }
    }
    lines.push(this.overall());
    for (const l of lines) s += `${l.length > width - 1 ? `${l.slice(0, width - 2)}…` : l}\n`;
    this.#drawnLines = live ? lines.length : 0;
    this.#out.write(s);
  }

  #line(s: string): void {
    this.#out.write(`${s}\n`);
  }

  #json(o: Record<string, unknown>): void {
    this.#out.write(`${JSON.stringify(o)}\n`);
  }
}

export function engineMix(engines: Record<string, number>): string {
  const parts = Object.entries(engines).sort(([, a], [, b]) => b - a).map(([e, n]) => `${e} ${n}`);
  return parts.length > 0 ? parts.join(', ') : 'no pages';
}

function bar(done: number, total: number, width = 20): string {
  const filled = total > 0 ? Math.round((done / total) * width) : 0;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}]`;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  if (m < 60) return `${m}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}
