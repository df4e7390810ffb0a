import type { PageClass } from '@folio/shared';

/** `text_layer`, a local OCR engine, a provider id (`openai`, `anthropic`, …), or `none` (failed). */
export type PageEngine = string;

/** One engine tried for a page, and how it ended (the cascade's trace). */
export interface EngineAttempt {
  engine: string;
  model?: string;
  outcome: 'ok' | 'skipped' | 'failed';
  reason?: string;
}

/** One page of a document's result, as chunk files and `document.json` hold it. */
export interface PageResult {
  page: number;
  engine: PageEngine;
  text: string;
  paragraphs: string[];
  chars: number;
  ms: number;
  /** How the page's text layer looked (see classifyPage). */
  classification?: PageClass;
  /** OCR only: mean word confidence 0–100, words with boxes in PDF points from the top-left. */
  confidence?: number;
  words?: Array<{ text: string; confidence: number; bbox: [number, number, number, number] }>;
  /** OCR only: the resolution rendered at, and whether the pixel cap lowered it. */
  render?: { dpi: number; requested_dpi: number; capped: boolean; ms: number };
  ocr_ms?: number;
  /** Provider calls: the model, tokens and actual cost of the page. */
  model?: string;
  tokens?: { input: number; output: number };
  cost_micro_usd?: number;
  /** Engines tried in order, when more than one was (fallback). */
  attempts?: EngineAttempt[];
  error?: { code: string; message: string };
}

export interface ChunkFile {
  jobId: string;
  firstPage: number;
  lastPage: number;
  pages: PageResult[];
}

export function failedPage(page: number, code: string, message: string): PageResult {
  return { page, engine: 'none', text: '', paragraphs: [], chars: 0, ms: 0, error: { code, message } };
}
