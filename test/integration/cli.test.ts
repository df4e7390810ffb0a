import { spawn } from 'node:child_process';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FolioClient, NotFoundError, type DocumentResult } from '@folio/client';
import { CORPUS, corpusFile, startTestStack, type TestStack } from '../support/stack.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const BIN = path.join(ROOT, 'services/client/bin/folio.js');

/** Runs the CLI as a child process from the repository root. */
function folio(args: string[], env: Record<string, string> = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: { ...process.env, FOLIO_URL: '', FOLIO_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** POSTs to the upload route so far, from the Prometheus counter. */
async function processRequests(base: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('folio_http_requests_total{') && l.includes('route="/api/v1/pdf/process"'))
    .reduce((sum, l) => sum + Number(l.trim().split(/\s+/).pop()), 0);
}

let stack: TestStack;
let out: string;
const rel = (p: string) => path.relative(ROOT, p);

beforeAll(async () => {
  stack = await startTestStack();
  out = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-cli-'));
});
afterAll(async () => {
  await stack?.close();
  if (out) fs.rmSync(out, { recursive: true, force: true });
});

describe('folio ingest', () => {
  it('processes directories, writes results and summary.json, exits 1 when some fail, and resumes without uploading', { timeout: 180_000 }, async () => {
    const inputs = [rel(path.join(CORPUS, 'born-digital')), rel(path.join(CORPUS, 'hostile'))];
    const first = await folio(['ingest', ...inputs, '--out', out, '--server', stack.url, '--ocr', 'never', '--concurrency', '3']);
    expect(first.code, first.stderr + first.stdout).toBe(1);
    // Not a TTY: plain lines, ending with the summary.
    expect(first.stdout).toMatch(/^13 files/m);
    expect(first.stdout).toMatch(/completed .*tracemonkey\.pdf: 14 pages \(text_layer 14\)/);
    expect(first.stdout).toMatch(/failed .*invalid\.pdf: pdf_invalid/);

    const summary = JSON.parse(await fsp.readFile(path.join(out, 'summary.json'), 'utf8'));
    expect(summary.files.total).toBe(13);
    expect(summary.files.completed + summary.files.partial + summary.files.failed).toBe(13);
    expect(summary.files.failed).toBeGreaterThanOrEqual(3);
    expect(summary.engines.text_layer).toBeGreaterThanOrEqual(14 + 23 + 352);
    expect(summary.pages.total).toBeGreaterThanOrEqual(14 + 23 + 352);
    const failure = (name: string) => summary.failures.find((f: { file: string }) => f.file.endsWith(`/${name}`));
    expect(failure('invalid.pdf')?.code).toBe('pdf_invalid');
    expect(failure('issue6010_1.pdf')?.code).toBe('pdf_password_required');
    expect(failure('issue3371.pdf')?.code).toBe('pdf_password_required');
    for (const f of summary.failures) expect(f.code).toMatch(/^[a-z_]+$/);

    // Every completed (or partial) file has its three outputs.
    const done = summary.items.filter((i: { status: string }) => i.status === 'completed' || i.status === 'partial');
    expect(done.length).toBeGreaterThanOrEqual(4);
    for (const item of done) {
      const base = path.basename(item.file, '.pdf');
      for (const ext of ['md', 'txt', 'json']) expect(fs.existsSync(path.join(out, `${base}.${ext}`)), `${base}.${ext}`).toBe(true);
    }
    const doc = JSON.parse(await fsp.readFile(path.join(out, 'tracemonkey.json'), 'utf8')) as DocumentResult;
    expect(doc.page_count).toBe(14);
    expect(await fsp.readFile(path.join(out, 'tracemonkey.txt'), 'utf8')).toContain('Trace');
    const state = JSON.parse(await fsp.readFile(path.join(out, '.folio-state.json'), 'utf8'));
    expect(Object.keys(state.files)).toHaveLength(13);

    // Second run, --json: nothing uploaded, same outcome, JSON lines.
    const requests = await processRequests(stack.url);
    const jobCount = async () => ((await (await fetch(`${stack.url}/api/v1/pdf/jobs?limit=200`)).json()) as { count: number }).count;
    const jobsBefore = await jobCount();
    expect(requests).toBe(13);
    const second = await folio(['ingest', ...inputs, '--out', out, '--ocr', 'never', '--concurrency', '3', '--json'], { FOLIO_URL: stack.url });
    expect(second.code).toBe(1);
    expect(await processRequests(stack.url)).toBe(requests);
    expect(await jobCount()).toBe(jobsBefore);
    const lines = second.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({ event: 'start', files: 13, skipped: 13 });
    expect(lines.filter((l) => l.event === 'skipped')).toHaveLength(13);
    const last = lines.at(-1);
    expect(last.event).toBe('summary');
    expect(last.files).toMatchObject({ total: 13, skipped: 13, processed: 0, failed: summary.files.failed });
    expect(last.failures.map((f: { code: string }) => f.code).sort()).toEqual(summary.failures.map((f: { code: string }) => f.code).sort());
  });

  it('answers --help, refuses bad usage with 2, and lists jobs', async () => {
    const help = await folio(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('folio ingest');
    expect((await folio(['ingest', 'x.pdf'])).code).toBe(2);
    const jobs = await folio(['jobs', '--json', '--server', stack.url]);
    expect(jobs.code).toBe(0);
    expect(JSON.parse(jobs.stdout).jobs.length).toBeGreaterThan(0);
    const missing = await folio(['result', '00000000-0000-4000-8000-000000000000', '--server', stack.url]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('not_found');
  });
});

describe('SDK', () => {
  it('process + waitFor + result, from a path and from a stream', async () => {
    const client = new FolioClient({ baseUrl: stack.url });
    const accepted = await client.process(corpusFile('born-digital/tracemonkey.pdf'), { ocr: 'never' });
    expect(accepted.status).toBe('queued');
    const progress: number[] = [];
    const job = await client.waitFor(accepted.job_id, { timeoutMs: 60_000, onProgress: (j) => progress.push(j.progress.pages_done) });
    expect(job.status).toBe('completed');
    expect(job.filename).toBe('tracemonkey.pdf');
    expect(progress.at(-1)).toBe(14);
    const doc = await client.result(job.job_id, 'json');
    expect(doc.page_count).toBe(14);
    expect(doc.engines).toEqual({ text_layer: 14 });
    const md = await client.result(job.job_id, 'markdown');
    expect(typeof md).toBe('string');
    expect(md.length).toBeGreaterThan(1000);

    const stream = Readable.toWeb(fs.createReadStream(corpusFile('hostile/issue6010_1.pdf'))) as ReadableStream<Uint8Array>;
    const s = await client.process(stream, { filename: 'secret.pdf', password: 'abc', ocr: 'never', idempotencyKey: 'sdk-stream-1' });
    const sjob = await client.waitFor(s.job_id);
    expect(sjob.status).toBe('completed');
    expect(sjob.filename).toBe('secret.pdf');
    const again = await client.process(new Uint8Array(fs.readFileSync(corpusFile('hostile/issue6010_1.pdf'))), { password: 'abc', ocr: 'never', idempotencyKey: 'sdk-stream-1' });
    expect(again).toMatchObject({ job_id: s.job_id, replayed: true });

    await expect(client.getJob('00000000-0000-4000-8000-000000000000')).rejects.toBeInstanceOf(NotFoundError);
    await expect(client.listJobs({ limit: 0 })).rejects.toMatchObject({ code: 'validation_failed', status: 400 });
    expect((await client.listJobs({ status: 'completed', limit: 5 })).jobs.every((j) => j.status === 'completed')).toBe(true);
  });

  it('events() follows a job to its terminal status', async (ctx) => {
    const client = new FolioClient({ baseUrl: stack.url });
    const accepted = await client.process(corpusFile('born-digital/tracemonkey.pdf'), { ocr: 'never' });
    const probe = await fetch(`${stack.url}/api/v1/pdf/jobs/${accepted.job_id}/events`, { headers: { accept: 'text/event-stream' } });
    await probe.body?.cancel();
    if (probe.status === 404) {
      ctx.skip('GET /api/v1/pdf/jobs/:id/events answers 404: the SSE endpoint is not on the server yet');
      return;
    }
    const seen: string[] = [];
    let last: unknown;
    for await (const e of client.events(accepted.job_id, { signal: AbortSignal.timeout(60_000) })) {
      seen.push(e.event);
      last = e.json;
    }
    expect(seen).toContain('status');
    expect((last as { status: string }).status).toBe('completed');
  });
});
