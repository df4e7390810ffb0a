import type { PageText } from './page-text.ts';

/**
 * How a page's text layer looks, which decides whether `ocr=auto` trusts it:
 * - `text`: enough readable characters — use it as is;
 * - `mixed`: a few characters on an otherwise image page (a stamp, a header over a scan) — OCR;
 * - `image`: no text layer at all — OCR;
 * - `garbage`: characters that are mostly unmapped glyphs (fonts without a Unicode map) — OCR;
 * - `blank`: no text layer and nothing drawn that OCR could read (an empty verso) — nothing to do.
 */
export type PageClass = 'text' | 'mixed' | 'image' | 'garbage' | 'blank';

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

/** pdfjs operator ids that paint images (see OPS in pdfjs-dist). */
export interface PaintOps {
  paintImageXObject: number;
  paintInlineImageXObject: number;
  paintImageMaskXObject: number;
  paintImageXObjectRepeat: number;
  paintInlineImageXObjectGroup: number;
  paintImageMaskXObjectGroup: number;
  paintImageMaskXObjectRepeat: number;
  constructPath: number;
}

/** Path drawings beyond this count may be text drawn as outlines: worth an OCR pass. */
const VECTOR_TEXT_PATHS = 200;

/**
 * Whether a page without a usable text layer draws anything OCR could read: an image, or many
 * paths (text converted to outlines). `fnArray` is the page's operator list.
 */
export function drawsReadableContent(fnArray: readonly number[], ops: PaintOps): boolean {
  const images = new Set([ops.paintImageXObject, ops.paintInlineImageXObject, ops.paintImageMaskXObject, ops.paintImageXObjectRepeat, ops.paintInlineImageXObjectGroup, ops.paintImageMaskXObjectGroup, ops.paintImageMaskXObjectRepeat]);
  let paths = 0;
  for (const fn of fnArray) {
    if (images.has(fn)) return true;
    if (fn === ops.constructPath && ++paths > VECTOR_TEXT_PATHS) return true;
  }
  return false;
}
