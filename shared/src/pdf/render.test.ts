import { describe, expect, it } from 'vitest';
import { fitDpi, toGrey, toPgm } from './render.ts';
import { classifyPage, drawsReadableContent } from './classify.ts';
import { PDF_OPS } from './pdf-document.ts';

describe('fitDpi', () => {
  it('keeps the requested DPI when the page fits under the pixel cap', () => {
    expect(fitDpi(612, 792, 300, 35_000_000)).toBe(300); // Letter at 300 DPI: 8.4 MP
  });
  it('lowers the DPI until the page fits', () => {
    const dpi = fitDpi(2160, 2160, 300, 35_000_000); // a 30-inch square page
    expect(dpi).toBeLessThan(300);
    expect(Math.ceil((2160 * dpi) / 72) ** 2).toBeLessThanOrEqual(35_000_000);
    expect(Math.ceil((2160 * (dpi + 1)) / 72) ** 2).toBeGreaterThan(35_000_000);
  });
  it('never goes below 1 DPI, even for absurd pages', () => {
    expect(fitDpi(14_400 * 100, 14_400 * 100, 300, 1_000_000)).toBe(1);
  });
});

describe('toGrey and toPgm', () => {
  it('converts RGBA to luma and writes a binary PGM header', () => {
    const grey = toGrey(new Uint8Array([255, 255, 255, 255, 0, 0, 0, 255, 255, 0, 0, 255]));
    expect([...grey]).toEqual([255, 0, 76]);
    const pgm = toPgm({ width: 3, height: 1, data: grey, dpi: 300 });
    expect(pgm.subarray(0, 11).toString('ascii')).toBe('P5\n3 1\n255\n');
    expect([...pgm.subarray(11)]).toEqual([255, 0, 76]);
  });
});

describe('classifyPage', () => {
  const page = (text: string) => ({ text, charCount: text.replace(/\s/g, '').length });
  it('trusts a text layer with enough readable characters', () => {
    expect(classifyPage(page('This page has a perfectly good text layer.'), 16)).toBe('text');
  });
  it('sends empty, sparse and unmapped-glyph layers to OCR', () => {
    expect(classifyPage(page(''), 16)).toBe('image');
    expect(classifyPage(page('p. 12'), 16)).toBe('mixed');
    expect(classifyPage(page('\uE001\uE002\uE003\uE004 \uE005\uE006\uE007 abc'), 16)).toBe('garbage');
    expect(classifyPage(page('!#$% &*() ^^^^ @@@@ ~~~~ |||| ;;;; ::::'), 16)).toBe('garbage');
  });
});

describe('drawsReadableContent', () => {
  it('finds images, and many paths (outlined text), but not an empty page', () => {
    expect(drawsReadableContent([], PDF_OPS)).toBe(false);
    expect(drawsReadableContent([PDF_OPS.save, PDF_OPS.constructPath, PDF_OPS.restore], PDF_OPS)).toBe(false);
    expect(drawsReadableContent([PDF_OPS.save, PDF_OPS.paintImageXObject], PDF_OPS)).toBe(true);
    expect(drawsReadableContent(Array(201).fill(PDF_OPS.constructPath), PDF_OPS)).toBe(true);
  });
});
