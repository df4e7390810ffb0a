import { describe, expect, it } from 'vitest';
import { buildPageText, type TextItemLike } from './page-text.ts';

/** A text item at (x, y) in PDF space (y grows upwards) with font size `size`. */
function item(str: string, x: number, y: number, opts: { size?: number; width?: number; eol?: boolean } = {}): TextItemLike {
  const size = opts.size ?? 10;
  return { str, transform: [size, 0, 0, size, x, y], width: opts.width ?? str.length * size * 0.5, height: size, hasEOL: opts.eol ?? false };
}

describe('buildPageText', () => {
  it('joins items on one baseline with a space where there is a gap, none where they touch', () => {
    const t = buildPageText([item('Hello', 0, 700, { width: 25 }), item('world', 30, 700, { width: 25 }), item('!', 55, 700, { width: 3 })]);
    expect(t.text).toBe('Hello world!');
    expect(t.charCount).toBe(11);
  });

  it('starts a new line when the baseline moves down by about a line', () => {
    const t = buildPageText([item('first line', 0, 700), item('second line', 0, 688)]);
    expect(t.paragraphs).toEqual(['first line\nsecond line']);
  });

  it('starts a new paragraph after a gap of clearly more than one line', () => {
    const t = buildPageText([item('para one', 0, 700), item('still one', 0, 688), item('para two', 0, 650)]);
    expect(t.paragraphs).toEqual(['para one\nstill one', 'para two']);
    expect(t.text).toBe('para one\nstill one\n\npara two');
  });

  it('honours hasEOL from pdfjs', () => {
    const t = buildPageText([item('a', 0, 700, { eol: true }), item('b', 100, 700)]);
    expect(t.text).toBe('a\nb');
  });

  it('separates a heading in a larger font from the body', () => {
    const t = buildPageText([item('Title', 0, 720, { size: 24 }), item('body text', 0, 700)]);
    expect(t.paragraphs).toEqual(['Title', 'body text']);
  });

  it('keeps content-stream order across columns (a jump back up starts a paragraph)', () => {
    const t = buildPageText([item('left top', 0, 700), item('left next', 0, 688), item('right top', 300, 700)]);
    expect(t.paragraphs).toEqual(['left top\nleft next', 'right top']);
  });

  it('counts no characters for a page without text', () => {
    expect(buildPageText([])).toEqual({ paragraphs: [], text: '', charCount: 0 });
    expect(buildPageText([item('   ', 0, 700)]).charCount).toBe(0);
  });
});
