import { assemble, type OcrResult } from './ocr-result.ts';

/**
 * Parses `tesseract … tsv` output: one row per layout element; level 5 rows are words with their
 * box and confidence, keyed by page/block/paragraph/line numbers.
 */
export function parseTesseractTsv(tsv: string): OcrResult {
  const rows: Array<{ para: string; line: string; word: { text: string; confidence: number; bbox: [number, number, number, number] } }> = [];
  for (const raw of tsv.split('\n')) {
    const cols = raw.split('\t');
    if (cols.length < 12 || cols[0] !== '5') continue;
    const [, page, block, par, line, , left, top, width, height, conf] = cols;
    const text = cols.slice(11).join('\t');
    const l = Number(left);
    const t = Number(top);
    rows.push({
      para: `${page}.${block}.${par}`,
      line: `${page}.${block}.${par}.${line}`,
      word: { text, confidence: Math.max(0, Number(conf)), bbox: [l, t, l + Number(width), t + Number(height)] },
    });
  }
  return assemble(rows);
}
