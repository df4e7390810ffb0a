import { detectNativeTesseract, NativeTesseract } from './tesseract-native.ts';
import { wasmLanguageDir, WasmTesseract } from './tesseract-wasm.ts';
import type { OcrEngine, OcrEngineName } from './ocr-result.ts';

export type OcrEnginePreference = 'auto' | OcrEngineName;

/** Languages OCR can read here: tesseract.js data packages installed, plus native tesseract's. */
export function availableLanguages(preference: OcrEnginePreference, candidates: readonly string[] = []): Set<string> {
  const out = new Set<string>();
  if (preference !== 'tesseract') for (const l of candidates) if (wasmLanguageDir(l) !== null) out.add(l);
  if (preference !== 'tesseract.js') for (const l of detectNativeTesseract()?.languages ?? []) out.add(l);
  return out;
}

/**
 * The engines of one worker thread. `auto` takes the native binary when it is installed and has
 * every language asked for (several times faster), else tesseract.js, which always works.
 */
export class OcrEngines {
  private readonly preference: OcrEnginePreference;
  private readonly timeoutMs: number;
  private native: NativeTesseract | undefined;
  private wasm: WasmTesseract | undefined;

  constructor(opts: { preference: OcrEnginePreference; timeoutMs: number }) {
    this.preference = opts.preference;
    this.timeoutMs = opts.timeoutMs;
  }

  pick(languages: readonly string[]): OcrEngine {
    const native = detectNativeTesseract();
    const nativeFits = native !== null && languages.every((l) => native.languages.includes(l));
    if (this.preference === 'tesseract' || (this.preference === 'auto' && nativeFits)) {
      if (native === null) throw new Error('OCR_ENGINE=tesseract but the tesseract binary is not installed');
      return (this.native ??= new NativeTesseract({ timeoutMs: this.timeoutMs }));
    }
    return (this.wasm ??= new WasmTesseract());
  }

  async close(): Promise<void> {
    await Promise.allSettled([this.native?.close(), this.wasm?.close()]);
  }
}
