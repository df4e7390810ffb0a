/** What every OCR engine returns for one page image. Boxes are in image pixels. */
export interface OcrWord {
  text: string;
  /** 0–100 */
  confidence: number;
  bbox: [x0: number, y0: number, x1: number, y1: number];
}

export interface OcrResult {
  text: string;
  paragraphs: string[];
  /** Mean word confidence, 0–100 (0 when no word was found). */
  confidence: number;
  words: OcrWord[];
}

export type OcrEngineName = 'tesseract' | 'tesseract.js';

export interface OcrEngine {
  readonly name: OcrEngineName;
  recognize(image: import('../pdf/render.ts').GreyImage, opts: { languages: readonly string[]; signal?: AbortSignal }): Promise<OcrResult>;
  close(): Promise<void>;
}

/** Groups words (in reading order, with their block/paragraph/line ids) into paragraphs of lines. */
export function assemble(rows: ReadonlyArray<{ para: string; line: string; word: OcrWord }>): OcrResult {
  const paragraphs: string[] = [];
  const words: OcrWord[] = [];
  let para: string[] = [];
  let line: string[] = [];
  let curPara: string | null = null;
  let curLine: string | null = null;
  const endLine = () => {
    if (line.length > 0) para.push(line.join(' '));
    line = [];
  };
  const endPara = () => {
    endLine();
    if (para.length > 0) paragraphs.push(para.join('\n'));
    para = [];
  };
  for (const r of rows) {
    const text = r.word.text.trim();
    if (text.length === 0) continue;
    if (r.para !== curPara) {
      endPara();
      curPara = r.para;
      curLine = null;
    }
    if (r.line !== curLine) {
      endLine();
      curLine = r.line;
    }
    line.push(text);
    words.push({ ...r.word, text });
  }
  endPara();
  const confidence = words.length === 0 ? 0 : Math.round((words.reduce((s, w) => s + w.confidence, 0) / words.length) * 10) / 10;
  return { text: paragraphs.join('\n\n'), paragraphs, confidence, words };
}
