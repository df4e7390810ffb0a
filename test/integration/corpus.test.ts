import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusFile, CORPUS, startTestStack, type TestStack } from '../support/stack.ts';
import { result, submitAndWait } from '../support/client.ts';

interface ManifestEntry {
  pages?: number;
  expect: string;
  engine?: string;
  password?: string;
  error?: string;
}
const manifest = JSON.parse(fs.readFileSync(`${CORPUS}/manifest.json`, 'utf8')) as Record<string, ManifestEntry>;

/** Text each born-digital file must yield (checked in the text result). */
const MUST_CONTAIN: Record<string, string[]> = {
  'born-digital/tracemonkey.pdf': ['Trace-based Just-in-Time Type Specialization for Dynamic', 'Mozilla Corporation'],
  'born-digital/TAMReview.pdf': ['Overview of the Technology Acceptance Model', 'Mohammad Chuttur'],
  // Opened with its password (issue3371.pdf has no text layer: its pages are images).
  'hostile/issue6010_1.pdf': ['Issue 6010'],
  'born-digital/freeculture.pdf': ['FREE CULTURE', 'Lessig'],
};

/** Pages of born-digital files that need OCR: freeculture's cover is an image; TAMReview's body text (pages 2–22) is unmapped glyphs. */
const OCR_PAGES: Record<string, number[]> = {
  'born-digital/freeculture.pdf': [1],
  'born-digital/TAMReview.pdf': Array.from({ length: 21 }, (_, i) => i + 2),
};

const TERMINAL = ['completed', 'partial', 'failed'];
let stack: TestStack;

beforeAll(async () => {
  // A heap cap low enough that a hostile file cannot take the machine, high enough for real books.
  stack = await startTestStack({ WORKER_MEMORY_LIMIT_MB: '768' });
});
afterAll(async () => stack?.close());

describe('born-digital corpus through the HTTP API', () => {
  const files = Object.keys(manifest).filter((f) => f.startsWith('born-digital/'));
  it.each(files)('%s completes with the manifest page count, from its text layer wherever it is usable', async (rel) => {
    const entry = manifest[rel]!;
    const job = await submitAndWait(stack.url, corpusFile(rel));
    expect(job.status).toBe('completed');
    expect(job.progress.pages_total).toBe(entry.pages);
    expect(job.progress.pages_done).toBe(entry.pages);

    const doc = (await (await result(stack.url, job.job_id, 'json')).json()) as { page_count: number; pages: Array<{ page: number; engine: string; classification: string; text: string }> };
    expect(doc.page_count).toBe(entry.pages);
    expect(doc.pages.map((p) => p.page)).toEqual(Array.from({ length: entry.pages! }, (_, i) => i + 1));
    // ocr=auto: the text layer wherever it is usable; OCR only for pages without one (a cover
    // image) or with glyphs that map to no characters (most of TAMReview.pdf: fonts without a
    // Unicode map, whose text layer is control characters).
    const misrouted = doc.pages.filter((p) => (p.classification === 'text' || p.classification === 'blank') !== (p.engine === 'text_layer'));
    expect(misrouted.map((p) => [p.page, p.engine, p.classification])).toEqual([]);
    const ocrPages = doc.pages.filter((p) => p.engine !== 'text_layer').map((p) => p.page);
    expect(ocrPages).toEqual(OCR_PAGES[rel] ?? []);

    const text = await (await result(stack.url, job.job_id, 'text')).text();
    for (const phrase of MUST_CONTAIN[rel] ?? []) expect(text).toContain(phrase);
    // Pages are separated by form feeds, like pdftotext.
    expect(text.split('\f')).toHaveLength(entry.pages!);
  }, 240_000); // TAMReview.pdf OCRs 21 pages: with tesseract.js on a loaded 2-core machine this takes minutes
});

describe('hostile corpus through the HTTP API', () => {
  const files = Object.keys(manifest).filter((f) => f.startsWith('hostile/'));

  it.each(files)('%s ends in the terminal state the manifest gives', async (rel) => {
    const entry = manifest[rel]!;
    const job = await submitAndWait(stack.url, corpusFile(rel));
    expect(TERMINAL).toContain(job.status);
    if (entry.password !== undefined) {
      expect(job.status).toBe('failed');
      expect(job.error?.code).toBe('pdf_password_required');
    } else if (entry.expect === 'failed') {
      expect(job.status).toBe('failed');
      expect(job.error?.code).toBe('pdf_invalid');
    } else if (entry.expect.startsWith('completed')) {
      expect(job.status).toBe('completed');
    }
    if (job.status === 'failed') expect(job.error?.code).toMatch(/^(pdf_|page_)/);
  });

  const protectedFiles = files.filter((f) => manifest[f]!.password !== undefined);
  it.each(protectedFiles)('%s completes when its password is given, and says when it is wrong', async (rel) => {
    const ok = await submitAndWait(stack.url, corpusFile(rel), { password: manifest[rel]!.password! });
    expect(ok.status).toBe('completed');
    expect(ok.progress.pages_total).toBeGreaterThan(0);
    const text = await (await result(stack.url, ok.job_id, 'text')).text();
    for (const phrase of MUST_CONTAIN[rel] ?? []) expect(text).toContain(phrase);

    const wrong = await submitAndWait(stack.url, corpusFile(rel), { password: 'not-the-password' });
    expect(wrong.status).toBe('failed');
    expect(wrong.error?.code).toBe('pdf_password_incorrect');
    // The password never shows in the job view.
    expect(JSON.stringify(ok)).not.toContain(manifest[rel]!.password!);
  });
});
