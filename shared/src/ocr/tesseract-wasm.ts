import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createWorker, OEM, PSM, type Worker } from 'tesseract.js';
import { toPgm, type GreyImage } from '../pdf/render.ts';
import { assemble, type OcrEngine, type OcrResult, type OcrWord } from './ocr-result.ts';

const require = createRequire(import.meta.url);

/**
 * Directory of the LSTM ("best_int") traineddata that the npm package `@tesseract.js-data/<lang>`
 * installs, or null when that language is not installed. Language data comes from the npm
 * registry at install time, never from a CDN at run time.
 */
export function wasmLanguageDir(lang: string): string | null {
  if (!/^[a-z_]{3,16}$/.test(lang)) return null;
  try {
    const dir = path.join(path.dirname(require.resolve(`@tesseract.js-data/${lang}/package.json`)), '4.0.0_best_int');
    return fs.existsSync(path.join(dir, `${lang}.traineddata.gz`)) ? dir : null;
  } catch {
    return null;
  }
}

/**
 * tesseract.js reads every language from one directory, but each language is its own npm package:
 * gather links to the requested ones in a private directory.
 */
function languageDir(languages: readonly string[]): string {
  const dir = path.join(os.tmpdir(), `folio-tessdata-${process.pid}`);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const code of languages) {
    const src = wasmLanguageDir(code);
    if (src === null) throw new Error(`OCR language '${code}' is not installed (npm install @tesseract.js-data/${code})`);
    const link = path.join(dir, `${code}.traineddata.gz`);
    if (!fs.existsSync(link)) {
      try {
        fs.symlinkSync(path.join(src, `${code}.traineddata.gz`), link);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }
  return dir;
}

/**
 * tesseract.js (Tesseract compiled to WebAssembly): slower than the native binary but needs
 * nothing outside npm. One long-lived worker per instance, created on first use and reused across
 * pages and jobs; a change of languages reinitialises it.
 */
export class WasmTesseract implements OcrEngine {
  readonly name = 'tesseract.js' as const;
  private worker: Promise<Worker> | undefined;
  private langs = '';
  private readonly startTimeoutMs: number;
  private failure: unknown;

  constructor(opts: { startTimeoutMs?: number } = {}) {
    this.startTimeoutMs = opts.startTimeoutMs ?? 60_000;
  }

  async recognize(image: GreyImage, opts: { languages: readonly string[] }): Promise<OcrResult> {
    const worker = await this.ready(opts.languages);
    // PSM 3 (automatic layout, as the native CLI does): tesseract.js's default treats the page as
    // one block and interleaves columns. Tesseract refuses DPIs under 70.
    await worker.setParameters({ tessedit_pageseg_mode: PSM.AUTO, user_defined_dpi: String(Math.max(70, image.dpi)) });
    const { data } = await worker.recognize(toPgm(image), {}, { text: true, blocks: true });
    const rows: Array<{ para: string; line: string; word: OcrWord }> = [];
    (data.blocks ?? []).forEach((b, bi) =>
      b.paragraphs.forEach((p, pi) =>
        p.lines.forEach((l, li) =>
          l.words.forEach((w) =>
            rows.push({
              para: `${bi}.${pi}`,
              line: `${bi}.${pi}.${li}`,
              word: { text: w.text, confidence: Math.max(0, w.confidence), bbox: [w.bbox.x0, w.bbox.y0, w.bbox.x1, w.bbox.y1] },
            }),
          ),
        ),
      ),
    );
    return assemble(rows);
  }

  private async ready(languages: readonly string[]): Promise<Worker> {
    const key = languages.join('+');
    if (this.worker !== undefined && this.langs === key) return this.worker;
    const langPath = languageDir(languages);
    if (this.worker !== undefined) {
      const w = await this.worker;
      await w.reinitialize(key, OEM.LSTM_ONLY, { langPath } as never);
      this.langs = key;
      return w;
    }
    this.langs = key;
    this.worker = this.start(key, langPath);
    try {
      return await this.worker;
    } catch (err) {
      this.worker = undefined;
      throw err;
    }
  }

  private async start(langs: string, langPath: string): Promise<Worker> {
    let timer: NodeJS.Timeout | undefined;
    const starting = createWorker(langs, OEM.LSTM_ONLY, {
      langPath,
      // Read from the installed packages every time; nothing is cached to (or read from) the cwd.
      cacheMethod: 'none',
      gzip: true,
      // Without a handler a worker-side error is thrown in this thread and kills it.
      errorHandler: (err: unknown) => {
        this.failure = err;
      },
    });
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`tesseract.js did not start within ${this.startTimeoutMs} ms`)), this.startTimeoutMs);
    });
    try {
      return await Promise.race([starting, timeout]);
    } catch (err) {
      void starting.then((w) => w.terminate()).catch(() => undefined);
      throw this.failure ?? err;
    } finally {
      clearTimeout(timer);
    }
  }

  async close(): Promise<void> {
    const w = this.worker;
    this.worker = undefined;
    if (w) await (await w.catch(() => null))?.terminate().catch(() => undefined);
  }
}
