/**
 * Turns pdfjs text items into lines and paragraphs in reading order. pdfjs returns items in
 * content-stream order, which follows columns in well-made PDFs; we keep that order and only decide
 * where spaces, line breaks and paragraph breaks go, from the items' positions.
 */
export interface TextItemLike {
  str: string;
  transform: number[];
  width: number;
  height: number;
  hasEOL: boolean;
}

export interface PageText {
  /** Paragraphs; lines inside a paragraph are joined by '\n'. */
  paragraphs: string[];
  /** Plain text: paragraphs separated by a blank line. */
  text: string;
  /** Non-whitespace characters in the text layer (used to judge whether a page has one). */
  charCount: number;
}

interface Line {
  text: string;
  y: number;
  x: number;
  size: number;
}

export function isTextItem<T>(item: T): item is T & TextItemLike {
  return typeof item === 'object' && item !== null && 'str' in item && 'transform' in item;
}

export function buildPageText(items: readonly TextItemLike[]): PageText {
  const lines: Line[] = [];
  let cur: Line | null = null;
  let lastEnd = 0; // x where the previous item ended
  let breakAfter = false;

  for (const it of items) {
    const x = it.transform[4] ?? 0;
    const y = it.transform[5] ?? 0;
    // Font size from the text matrix (handles scaled fonts where `height` is 0).
    const size = Math.max(Math.abs(it.height), Math.hypot(it.transform[2] ?? 0, it.transform[3] ?? 0), 1);
    if (it.str.length === 0) {
      if (it.hasEOL) breakAfter = true;
      continue;
    }
    const newLine = cur === null || breakAfter || Math.abs(y - cur.y) > size * 0.5 || x < lastEnd - size * 2;
    if (newLine) {
      cur = { text: it.str, y, x, size };
      lines.push(cur);
    } else if (cur !== null) {
      const gap = x - lastEnd;
      const needsSpace = gap > size * 0.15 && !/\s$/.test(cur.text) && !/^\s/.test(it.str);
      cur.text += (needsSpace ? ' ' : '') + it.str;
      cur.size = Math.max(cur.size, size);
    }
    lastEnd = x + it.width;
    breakAfter = it.hasEOL;
  }

  const paragraphs: string[] = [];
  let para: string[] = [];
  let prev: Line | null = null;
  for (const line of lines) {
    const text = line.text.replace(/\s+/g, ' ').trim();
    if (text.length === 0) continue;
    if (prev !== null && para.length > 0) {
      const gap = prev.y - line.y; // PDF y grows upwards
      const lineHeight = Math.max(prev.size, line.size);
      // A gap of clearly more than one line, a jump upwards (new column) or a size change ends a paragraph.
      if (gap > lineHeight * 1.8 || gap < -lineHeight || Math.abs(prev.size - line.size) > lineHeight * 0.3) {
        paragraphs.push(para.join('\n'));
        para = [];
      }
    }
    para.push(text);
    prev = line;
  }
  if (para.length > 0) paragraphs.push(para.join('\n'));

  const text = paragraphs.join('\n\n');
  return { paragraphs, text, charCount: text.replace(/\s/g, '').length };
}
