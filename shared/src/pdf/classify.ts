import type { PageText } from './page-text.ts';

/**
 * How a page's text layer looks, which decides whether `ocr=auto` trusts it:
 * - `text`: enough readable characters — use it as is;
 * - `mixed`: a few characters on an otherwise image page (a stamp, a header over a scan) — OCR;
 * - `image`: no text layer at all — OCR;
 * - `garbage`: characters that are mostly unmapped glyphs (fonts without a Unicode map) — OCR.
 */
export type PageClass = 'text' | 'mixed' | 'image' | 'garbage';

/** Private-use, replacement and control characters: what unmapped glyphs turn into. */
// eslint-disable-next-line no-control-regex
const JUNK = /[\uE000-\uF8FF\uFFFD\u0000-\u0008\u000E-\u001F]/gu;

export function classifyPage(text: Pick<PageText, 'text' | 'charCount'>, minChars: number): PageClass {
  if (text.charCount === 0) return 'image';
  const junk = text.text.match(JUNK)?.length ?? 0;
  if (junk / text.charCount > 0.25) return 'garbage';
  // Few letters among many symbols is what a text layer of mis-mapped glyphs looks like too.
  const letters = text.text.match(/\p{L}/gu)?.length ?? 0;
  if (text.charCount >= 20 && letters / text.charCount < 0.3) return 'garbage';
  return text.charCount < minChars ? 'mixed' : 'text';
}
