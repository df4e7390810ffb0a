import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectNativeTesseract } from '@folio/shared';
import { corpusFile, startTestStack, type TestStack } from '../support/stack.ts';
import { result, submitAndWait } from '../support/client.ts';
import { cer } from '../support/cer.ts';

interface DocPage {
  page: number;
  engine: string;
  classification?: string;
  text: string;
  confidence?: number;
  words?: Array<{ text: string; confidence: number; bbox: number[] }>;
  render?: { dpi: number; requested_dpi: number; capped: boolean };
  error?: { code: string };
}
interface Doc {
  status: string;
  page_count: number;
  engines: Record<string, number>;
  pages: DocPage[];
}

let stack: TestStack;
const json = async (id: string) => (await (await result(stack.url, id, 'json')).json()) as Doc;

beforeAll(async () => {
  // tesseract.js, the engine that always works, whether or not the native binary is installed here.
  stack = await startTestStack({ OCR_ENGINE: 'tesseract.js', OCR_CONCURRENCY: '2' });
});
afterAll(async () => stack?.close());

describe('scanned corpus through the HTTP API (tesseract.js)', () => {
  it('freeculture-p20-29.pdf: every page OCR’d, CER ≤ 3.5 % against the ground truth', async () => {
    const job = await submitAndWait(stack.url, corpusFile('scanned/freeculture-p20-29.pdf'));
    expect(job.status).toBe('completed');
    const doc = await json(job.job_id);
    expect(doc.page_count).toBe(10);
    expect(doc.engines).toEqual({ 'tesseract.js': 10 });
    let errors = 0;
    let total = 0;
    for (const p of doc.pages) {
      expect(p.classification).toBe('image');
      expect(p.render).toMatchObject({ dpi: 300, capped: false });
      expect(p.confidence).toBeGreaterThan(70);
      expect(p.words!.length).toBeGreaterThan(100);
      const gt = fs.readFileSync(corpusFile(`scanned/freeculture-gt/page-${String(p.page).padStart(2, '0')}.txt`), 'utf8');
      const r = cer(p.text, gt);
      errors += r.errors;
      total += r.length;
    }
    const rate = errors / total;
    console.log(`freeculture-p20-29 CER (tesseract.js): ${(rate * 100).toFixed(2)} %`);
    expect(rate).toBeLessThanOrEqual(0.035);
  }, 180_000);

  it('linn.pdf: CER against linn.txt', async () => {
    const job = await submitAndWait(stack.url, corpusFile('scanned/linn.pdf'));
    expect(job.status).toBe('completed');
    const text = await (await result(stack.url, job.job_id, 'text')).text();
    const rate = cer(text, fs.readFileSync(corpusFile('scanned/linn.txt'), 'utf8')).rate;
    console.log(`linn CER (tesseract.js): ${(rate * 100).toFixed(2)} %`);
    expect(rate).toBeLessThanOrEqual(0.05);
  }, 120_000);

  it.each(['skew.pdf', 'c02-22.pdf', 'francais.pdf', 'cardinal.pdf', '2400dpi.pdf'])('%s completes with OCR text', async (file) => {
    const job = await submitAndWait(stack.url, corpusFile(`scanned/${file}`));
    expect(job.status).toBe('completed');
    const doc = await json(job.job_id);
    expect(doc.pages.every((p) => p.engine === 'tesseract.js')).toBe(true);
    expect(doc.pages.some((p) => p.text.replace(/\s/g, '').length > 10)).toBe(true);
  }, 120_000);

  it('multipage.pdf: the text layer where a page has one, OCR on the others', async () => {
    const job = await submitAndWait(stack.url, corpusFile('scanned/multipage.pdf'));
    expect(job.status).toBe('completed');
    const doc = await json(job.job_id);
    expect(doc.pages.map((p) => p.engine)).toEqual(['tesseract.js', 'tesseract.js', 'tesseract.js', 'text_layer', 'tesseract.js', 'tesseract.js']);
    expect(doc.pages[3]!.classification).toBe('text');
    // The markdown keeps paragraphs.
    const md = await (await result(stack.url, job.job_id, 'markdown')).text();
    expect(md).toContain('<!-- page 6 -->');
  }, 120_000);

  it('ocr=never takes the text layer only, even where it is empty', async () => {
    const job = await submitAndWait(stack.url, corpusFile('scanned/linn.pdf'), { ocr: 'never' });
    expect(job.status).toBe('completed');
    const doc = await json(job.job_id);
    expect(doc.pages[0]).toMatchObject({ engine: 'text_layer', classification: 'image', text: '' });
  });

  it('ocr=always OCRs pages that have a text layer, and dpi is honoured', async () => {
    const job = await submitAndWait(stack.url, corpusFile('hostile/issue6010_1.pdf'), { password: 'abc', ocr: 'always', dpi: '150' });
    expect(job.status).toBe('completed');
    const doc = await json(job.job_id);
    expect(doc.pages[0]!.engine).toBe('tesseract.js');
    expect(doc.pages[0]!.classification).toBe('text');
    expect(doc.pages[0]!.render).toMatchObject({ dpi: 150, requested_dpi: 150, capped: false });
    expect(doc.pages[0]!.text).toMatch(/Issue\s*6010/);
  }, 120_000);

  it('use_ocr=false (the seed API’s flag) means ocr=never', async () => {
    const job = await submitAndWait(stack.url, corpusFile('scanned/skew.pdf'), { use_ocr: 'false' });
    expect((job.options as { ocr: string }).ocr).toBe('never');
  });

  it('refuses a language that is not installed, and invalid OCR options, with 400', async () => {
    const { upload } = await import('../support/client.ts');
    const res = await upload(stack.url, corpusFile('scanned/skew.pdf'), { languages: 'klingon' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { message: string } }).error.message).toContain('klingon');
    expect((await upload(stack.url, corpusFile('scanned/skew.pdf'), { dpi: '5000' })).status).toBe(400);
    expect((await upload(stack.url, corpusFile('scanned/skew.pdf'), { ocr: 'sometimes' })).status).toBe(400);
  });

  it('reads French with languages=fra', async () => {
    const job = await submitAndWait(stack.url, corpusFile('scanned/francais.pdf'), { languages: 'fra' });
    expect(job.status).toBe('completed');
    const text = await (await result(stack.url, job.job_id, 'text')).text();
    expect(text).toMatch(/[éèàç]/);
  }, 120_000);
});

describe('hostile pages rendered for OCR stay within bounds', () => {
  it.each(['hugemono.pdf', 'enormous.pdf', 'bomb_giant.pdf'])('%s reaches a terminal state, rendered under the pixel cap', async (file) => {
    const job = await submitAndWait(stack.url, corpusFile(`hostile/${file}`), { ocr: 'always' });
    expect(['completed', 'partial', 'failed']).toContain(job.status);
    if (job.status !== 'failed') {
      const doc = await json(job.job_id);
      for (const p of doc.pages) {
        if (p.render) expect(p.render.dpi).toBeLessThanOrEqual(300);
      }
      if (file === 'enormous.pdf') expect(doc.pages[0]!.render).toMatchObject({ capped: true });
    }
  }, 120_000);
});

describe.runIf(detectNativeTesseract()?.languages.includes('eng'))('with the native tesseract binary installed (OCR_ENGINE=auto)', () => {
  let native: TestStack;
  beforeAll(async () => {
    native = await startTestStack({ OCR_ENGINE: 'auto' });
  });
  afterAll(async () => native?.close());

  it('picks native tesseract and reads freeculture-p20-29.pdf within the same CER bound', async () => {
    const job = await submitAndWait(native.url, corpusFile('scanned/freeculture-p20-29.pdf'));
    expect(job.status).toBe('completed');
    const doc = (await (await result(native.url, job.job_id, 'json')).json()) as Doc;
    expect(doc.engines).toEqual({ tesseract: 10 });
    let errors = 0;
    let total = 0;
    for (const p of doc.pages) {
      const r = cer(p.text, fs.readFileSync(corpusFile(`scanned/freeculture-gt/page-${String(p.page).padStart(2, '0')}.txt`), 'utf8'));
      errors += r.errors;
      total += r.length;
      expect(p.words!.every((w) => w.bbox[2]! <= 480 && w.bbox[3]! <= 678)).toBe(true);
    }
    console.log(`freeculture-p20-29 CER (native tesseract): ${((errors / total) * 100).toFixed(2)} %`);
    expect(errors / total).toBeLessThanOrEqual(0.035);
  }, 180_000);
});

describe('a page that fails', () => {
  it('gets a page-level code while the rest of the document completes (partial)', async () => {
    // OCR cannot finish in 300 ms; the text-layer page 4 of multipage.pdf can.
    const slow = await startTestStack({ OCR_ENGINE: 'tesseract.js', PAGE_TIMEOUT_MS: '300', JOB_ATTEMPTS: '1' });
    try {
      const job = await submitAndWait(slow.url, corpusFile('scanned/multipage.pdf'));
      expect(job.status).toBe('partial');
      expect(job.progress).toMatchObject({ pages_total: 6, pages_done: 1, pages_failed: 5 });
      expect(job.error?.code).toBe('page_timeout');
      const doc = (await (await result(slow.url, job.job_id, 'json')).json()) as Doc;
      expect(doc.pages[3]).toMatchObject({ engine: 'text_layer' });
      expect(doc.pages.filter((p) => p.error?.code === 'page_timeout')).toHaveLength(5);
      const md = await (await result(slow.url, job.job_id, 'markdown')).text();
      expect(md).toContain('Page 1 could not be read (page_timeout)');
    } finally {
      await slow.close();
    }
  }, 120_000);
});
