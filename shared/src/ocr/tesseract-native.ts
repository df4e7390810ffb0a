import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { toPgm, type GreyImage } from '../pdf/render.ts';
import type { OcrEngine, OcrResult } from './ocr-result.ts';
import { parseTesseractTsv } from './tesseract-tsv.ts';

export interface NativeTesseractInfo {
  version: string;
  languages: string[];
}

/** Whether the `tesseract` binary runs here, and which languages it has. Cached per process. */
let detected: NativeTesseractInfo | null | undefined;
export function detectNativeTesseract(bin = 'tesseract'): NativeTesseractInfo | null {
  if (detected !== undefined) return detected;
  try {
    const v = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 });
    const l = spawnSync(bin, ['--list-langs'], { encoding: 'utf8', timeout: 10_000 });
    if (v.status !== 0 || l.status !== 0) return (detected = null);
    const languages = `${l.stdout}`.split('\n').slice(1).map((s) => s.trim()).filter((s) => s.length > 0 && s !== 'osd');
    detected = { version: (v.stdout || v.stderr).split('\n')[0]?.trim() ?? 'tesseract', languages };
  } catch {
    detected = null;
  }
  return detected;
}

/**
 * The native `tesseract` binary, one process per page: the image goes in as a PGM file in the
 * temp directory (no encoding cost; Leptonica reads a file about 0.1 s a page faster than stdin),
 * and words with boxes come back as TSV. `OMP_THREAD_LIMIT=1` because its OpenMP
 * threads fight each other (and our other pages) for the cores and make it several times slower;
 * parallelism comes from running several pages at once.
 */
export class NativeTesseract implements OcrEngine {
  readonly name = 'tesseract' as const;
  private readonly bin: string;
  private readonly timeoutMs: number;

  constructor(opts: { bin?: string; timeoutMs: number }) {
    this.bin = opts.bin ?? 'tesseract';
    this.timeoutMs = opts.timeoutMs;
  }

  async recognize(image: GreyImage, opts: { languages: readonly string[]; signal?: AbortSignal }): Promise<OcrResult> {
    const dir = await fs.promises.mkdtemp(path.join(os.tmpdir(), 'folio-ocr-'));
    const file = path.join(dir, 'page.pgm');
    try {
      await fs.promises.writeFile(file, toPgm(image));
      return await this.run(file, image.dpi, opts);
    } finally {
      await fs.promises.rm(dir, { recursive: true, force: true });
    }
  }

  private run(file: string, dpi: number, opts: { languages: readonly string[]; signal?: AbortSignal }): Promise<OcrResult> {
    const image = { dpi };
    const args = [file, 'stdout', '-l', opts.languages.join('+'), '--dpi', String(Math.max(70, image.dpi)), '--psm', '3', 'tsv'];
    return new Promise((resolve, reject) => {
      const child = spawn(this.bin, args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OMP_THREAD_LIMIT: '1' },
      });
      const out: Buffer[] = [];
      let err = '';
      const timer = setTimeout(() => child.kill('SIGKILL'), this.timeoutMs);
      const onAbort = () => child.kill('SIGKILL');
      opts.signal?.addEventListener('abort', onAbort, { once: true });
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => {
        if (err.length < 4_000) err += d.toString();
      });
      child.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        opts.signal?.removeEventListener('abort', onAbort);
        if (code === 0) resolve(parseTesseractTsv(Buffer.concat(out).toString('utf8')));
        else reject(new Error(signal ? `tesseract killed (${signal})` : `tesseract exited with ${code}: ${err.trim().split('\n').slice(-2).join(' ')}`));
      });
      // EPIPE when tesseract exits early is reported through 'close'.
    });
  }

  async close(): Promise<void> {}
}
