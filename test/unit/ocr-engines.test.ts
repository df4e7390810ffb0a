import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectNativeTesseract, parseTesseractTsv, OcrEngines, wasmLanguageDir } from '@folio/shared';
import { cer } from '../support/cer.ts';
import { corpusFile } from '../support/stack.ts';

const fixture = path.resolve(import.meta.dirname, '../fixtures/ocr-one-page.ts');
const linnTruth = () => fs.readFileSync(corpusFile('scanned/linn.txt'), 'utf8');

/** Runs the fixture in a new network namespace: no interface but a loopback that is down. */
function ocrOffline(engine: 'tesseract' | 'tesseract.js') {
  const r = spawnSync('unshare', ['--net', process.execPath, fixture, corpusFile('scanned/linn.pdf'), engine], {
    encoding: 'utf8',
    timeout: 120_000,
    cwd: path.resolve(import.meta.dirname, '../..'),
  });
  return r;
}
const canUnshare = spawnSync('unshare', ['--net', 'true']).status === 0;

describe('OCR with no network at all', () => {
  // Network namespaces need root or user namespaces; CI and the dev machines have them.
  it.runIf(canUnshare)('tesseract.js loads its engine and language data from disk, never from a CDN', () => {
    const r = ocrOffline('tesseract.js');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { engine: string; text: string; confidence: number };
    expect(out.engine).toBe('tesseract.js');
    expect(cer(out.text, linnTruth()).rate).toBeLessThan(0.05);
  }, 120_000);

  it.runIf(canUnshare && detectNativeTesseract() !== null)('native tesseract runs offline too, with a comparable CER', () => {
    const r = ocrOffline('tesseract');
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout) as { engine: string; text: string };
    expect(out.engine).toBe('tesseract');
    expect(cer(out.text, linnTruth()).rate).toBeLessThan(0.05);
  }, 120_000);
});

describe('engine choice', () => {
  it('auto picks native tesseract only when it is installed with every language asked for', () => {
    const native = detectNativeTesseract();
    const auto = new OcrEngines({ preference: 'auto', timeoutMs: 1000 });
    expect(auto.pick(['eng']).name).toBe(native?.languages.includes('eng') ? 'tesseract' : 'tesseract.js');
    expect(auto.pick(['zzz_not_a_language']).name).toBe('tesseract.js');
    expect(new OcrEngines({ preference: 'tesseract.js', timeoutMs: 1000 }).pick(['eng']).name).toBe('tesseract.js');
  });

  it('finds language data installed from the npm registry', () => {
    expect(wasmLanguageDir('eng')).toMatch(/@tesseract\.js-data\/eng\/4\.0\.0_best_int$/);
    expect(wasmLanguageDir('fra')).not.toBeNull();
    expect(wasmLanguageDir('xyz')).toBeNull();
    expect(wasmLanguageDir('../etc')).toBeNull();
  });
});

describe('parseTesseractTsv', () => {
  it('groups words into lines and paragraphs, with boxes and the mean confidence', () => {
    const tsv = [
      'level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext',
      '1\t1\t0\t0\t0\t0\t0\t0\t100\t100\t-1\t',
      '5\t1\t1\t1\t1\t1\t10\t10\t20\t8\t90\tHello',
      '5\t1\t1\t1\t1\t2\t35\t10\t20\t8\t80\tworld',
      '5\t1\t1\t1\t2\t1\t10\t20\t20\t8\t70\tagain',
      '5\t1\t1\t2\t1\t1\t10\t40\t20\t8\t60\tNext',
      '5\t1\t2\t1\t1\t1\t10\t60\t20\t8\t-1\t ',
    ].join('\n');
    const r = parseTesseractTsv(tsv);
    expect(r.paragraphs).toEqual(['Hello world\nagain', 'Next']);
    expect(r.text).toBe('Hello world\nagain\n\nNext');
    expect(r.words).toHaveLength(4);
    expect(r.words[1]).toEqual({ text: 'world', confidence: 80, bbox: [35, 10, 55, 18] });
    expect(r.confidence).toBe(75);
  });
});
