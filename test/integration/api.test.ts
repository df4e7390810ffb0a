import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { objectKeys } from '@folio/shared';
import { corpusFile, startTestStack, type TestStack } from '../support/stack.ts';
import { getJob, result, submitAndWait, upload, uploadBytes, waitForJob, type JobView } from '../support/client.ts';

let stack: TestStack;
const MAX_UPLOAD = 2 * 1024 * 1024;

beforeAll(async () => {
  stack = await startTestStack({ MAX_UPLOAD_BYTES: String(MAX_UPLOAD), TEXT_CHUNK_PAGES: '4' });
});
afterAll(async () => stack?.close());

async function objectsUnder(prefix: string): Promise<string[]> {
  const { store } = stack.api.deps;
  const res = await store.client.send(new ListObjectsV2Command({ Bucket: store.bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key ?? '');
}

async function errorOf(res: Response): Promise<{ code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string } };
  return body.error;
}

describe('POST /api/v1/pdf/process', () => {
  it('answers 202 with the job id and its URLs, and the job completes', async () => {
    const res = await upload(stack.url, corpusFile('born-digital/tracemonkey.pdf'));
    expect(res.status).toBe(202);
    const body = (await res.json()) as { job_id: string; status: string; urls: { status: string; result: string } };
    expect(body.job_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.status).toBe('queued');
    expect(body.urls.status).toBe(`/api/v1/pdf/jobs/${body.job_id}`);
    expect(res.headers.get('location')).toBe(body.urls.status);
    const job = await waitForJob(stack.url, body.job_id);
    expect(job.status).toBe('completed');
    expect(job.sha256).toBe('3662ff519e485810520552bf301d8c3b2b917fd2f83303f4965d7abed367e113');
    expect(job.size_bytes).toBe(1016315);
  });

  it('refuses a file that is not a PDF with 415 and stores nothing', async () => {
    const before = (await objectsUnder('jobs/')).length;
    const res = await uploadBytes(stack.url, 'hello, this is not a pdf at all', 'notes.pdf');
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe('unsupported_media_type');
    expect((await objectsUnder('jobs/')).length).toBe(before);
  });

  it('refuses an empty file with 415', async () => {
    const res = await uploadBytes(stack.url, '', 'empty.pdf');
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe('unsupported_media_type');
  });

  it('refuses a body that is not multipart with 415', async () => {
    const res = await fetch(`${stack.url}/api/v1/pdf/process`, { method: 'POST', headers: { 'content-type': 'application/pdf' }, body: '%PDF-1.4' });
    expect(res.status).toBe(415);
    expect((await errorOf(res)).code).toBe('unsupported_media_type');
  });

  it('refuses a multipart body without a file part with 400', async () => {
    const form = new FormData();
    form.set('password', 'x');
    const res = await fetch(`${stack.url}/api/v1/pdf/process`, { method: 'POST', body: form });
    expect(res.status).toBe(400);
    expect((await errorOf(res)).code).toBe('validation_failed');
  });

  it('refuses a file over the size limit with 413, streamed or declared, and keeps nothing', async () => {
    const before = (await objectsUnder('jobs/')).length;
    // freeculture.pdf is 2.6 MB: over the 2 MiB limit of this stack.
    const res = await upload(stack.url, corpusFile('born-digital/freeculture.pdf'));
    expect(res.status).toBe(413);
    expect((await errorOf(res)).code).toBe('file_too_large');
    // A PDF header followed by more bytes than the limit, in a chunked body without Content-Length.
    const big = new Uint8Array(MAX_UPLOAD + 10);
    big.set(new TextEncoder().encode('%PDF-1.7\n'));
    const res2 = await uploadBytes(stack.url, big, 'big.pdf');
    expect(res2.status).toBe(413);
    expect((await objectsUnder('jobs/')).length).toBe(before);
  });

  it('refuses unknown option fields with 400 and says which', async () => {
    const res = await upload(stack.url, corpusFile('hostile/issue6010_1.pdf'), { pasword: 'abc' });
    expect(res.status).toBe(400);
    const err = (await res.json()) as { error: { code: string; details: Array<{ field: string }> } };
    expect(err.error.code).toBe('validation_failed');
    expect(JSON.stringify(err.error.details)).toContain('pasword');
  });

  it('returns the same job for the same Idempotency-Key, and a new one for another key', async () => {
    const key = `key-${Date.now()}`;
    const first = await upload(stack.url, corpusFile('born-digital/tracemonkey.pdf'), {}, { 'Idempotency-Key': key });
    expect(first.status).toBe(202);
    const a = (await first.json()) as { job_id: string };
    const second = await upload(stack.url, corpusFile('born-digital/tracemonkey.pdf'), {}, { 'Idempotency-Key': key });
    expect(second.status).toBe(202);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    const b = (await second.json()) as { job_id: string };
    expect(b.job_id).toBe(a.job_id);
    const third = await upload(stack.url, corpusFile('born-digital/tracemonkey.pdf'), {}, { 'Idempotency-Key': `${key}-other` });
    const c = (await third.json()) as { job_id: string };
    expect(c.job_id).not.toBe(a.job_id);
    // Only the two distinct jobs stored an upload.
    expect(await objectsUnder(objectKeys.source(a.job_id))).toHaveLength(1);
    await waitForJob(stack.url, a.job_id);
    await waitForJob(stack.url, c.job_id);
  });

  it('answers 409 to a second request with a key whose first request is still running', async () => {
    const key = `concurrent-${Date.now()}`;
    const [r1, r2] = await Promise.all([
      upload(stack.url, corpusFile('born-digital/TAMReview.pdf'), {}, { 'Idempotency-Key': key }),
      upload(stack.url, corpusFile('born-digital/TAMReview.pdf'), {}, { 'Idempotency-Key': key }),
    ]);
    const statuses = [r1.status, r2.status].sort();
    // Either the second arrived while the first was uploading (409) or after it (replay, 202).
    expect([[202, 409], [202, 202]]).toContainEqual(statuses);
    const ids = new Set<string>();
    for (const r of [r1, r2]) if (r.status === 202) ids.add(((await r.json()) as { job_id: string }).job_id);
    expect(ids.size).toBe(1);
  });
});

describe('jobs and results', () => {
  let job: JobView;
  beforeAll(async () => {
    job = await submitAndWait(stack.url, corpusFile('born-digital/tracemonkey.pdf'));
  });

  it('reports progress in pages and timings', async () => {
    expect(job.progress).toEqual({ pages_total: 14, pages_done: 14, pages_failed: 0, percent: 100 });
    const t = job.timings as { created_at: string; started_at: string; finished_at: string; duration_ms: number };
    expect(Date.parse(t.finished_at)).toBeGreaterThanOrEqual(Date.parse(t.started_at));
    expect(Date.parse(t.started_at)).toBeGreaterThanOrEqual(Date.parse(t.created_at));
    expect(t.duration_ms).toBeGreaterThan(0);
  });

  it('serves the result as json, text and markdown', async () => {
    const json = await result(stack.url, job.job_id, 'json');
    expect(json.headers.get('content-type')).toContain('application/json');
    const doc = (await json.json()) as { pages: Array<{ page: number; engine: string; text: string; timing_ms: number }> };
    expect(doc.pages).toHaveLength(14);
    expect(doc.pages[0]!.text).toContain('Trace-based Just-in-Time');
    expect(doc.pages.every((p) => typeof p.timing_ms === 'number')).toBe(true);

    const text = await result(stack.url, job.job_id, 'text');
    expect(text.headers.get('content-type')).toContain('text/plain');
    expect(await text.text()).toContain('Trace-based Just-in-Time');

    const md = await result(stack.url, job.job_id, 'markdown');
    expect(md.headers.get('content-type')).toContain('text/markdown');
    const mdText = await md.text();
    expect(mdText).toContain('<!-- page 14 -->');
    // Paragraphs are separated by blank lines.
    expect(mdText.split(/\n\n+/).length).toBeGreaterThan(50);
  });

  it('refuses an unknown result format with 400', async () => {
    const res = await fetch(`${stack.url}/api/v1/pdf/jobs/${job.job_id}/result?format=docx`);
    expect(res.status).toBe(400);
  });

  it('answers 404 for unknown or malformed job ids', async () => {
    for (const id of ['6f1c1f8e-0000-4000-8000-000000000000', 'not-a-uuid']) {
      const res = await fetch(`${stack.url}/api/v1/pdf/jobs/${id}`);
      expect(res.status).toBe(404);
      expect((await errorOf(res)).code).toBe('not_found');
      expect((await fetch(`${stack.url}/api/v1/pdf/jobs/${id}/result`)).status).toBe(404);
    }
  });

  it('answers 409 job_not_finished for the result of a failed job, with its error', async () => {
    const failed = await submitAndWait(stack.url, corpusFile('hostile/invalid.pdf'));
    expect(failed.status).toBe('failed');
    const res = await result(stack.url, failed.job_id);
    expect(res.status).toBe(409);
    const err = (await res.json()) as { error: { code: string; details: { error: { code: string } } } };
    expect(err.error.code).toBe('job_not_finished');
    expect(err.error.details.error.code).toBe('pdf_invalid');
  });

  it('lists the caller’s recent jobs, newest first, filtered by status', async () => {
    const all = (await (await fetch(`${stack.url}/api/v1/pdf/jobs?limit=200`)).json()) as { jobs: JobView[] };
    expect(all.jobs.map((j) => j.job_id)).toContain(job.job_id);
    const created = all.jobs.map((j) => Date.parse((j.timings as { created_at: string }).created_at));
    expect(created).toEqual([...created].sort((a, b) => b - a));
    const failed = (await (await fetch(`${stack.url}/api/v1/pdf/jobs?status=failed`)).json()) as { jobs: JobView[] };
    expect(failed.jobs.length).toBeGreaterThan(0);
    expect(failed.jobs.every((j) => j.status === 'failed')).toBe(true);
    expect((await fetch(`${stack.url}/api/v1/pdf/jobs?status=bogus`)).status).toBe(400);
  });

  it('DELETE removes a finished job, its upload and its results', async () => {
    const done = await submitAndWait(stack.url, corpusFile('hostile/issue6010_1.pdf'), { password: 'abc' });
    expect(await objectsUnder(objectKeys.jobPrefix(done.job_id))).not.toHaveLength(0);
    const res = await fetch(`${stack.url}/api/v1/pdf/jobs/${done.job_id}`, { method: 'DELETE' });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('deleted');
    expect(await objectsUnder(objectKeys.jobPrefix(done.job_id))).toHaveLength(0);
    expect((await fetch(`${stack.url}/api/v1/pdf/jobs/${done.job_id}`)).status).toBe(404);
  });

  it('DELETE cancels a pending job: it ends cancelled and its objects are gone', async () => {
    const res = await upload(stack.url, corpusFile('born-digital/TAMReview.pdf'));
    const { job_id } = (await res.json()) as { job_id: string };
    const del = await fetch(`${stack.url}/api/v1/pdf/jobs/${job_id}`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    const body = (await del.json()) as { status: string };
    // The job may have finished before the DELETE arrived; then it is deleted outright.
    if (body.status === 'cancelled') {
      const job = await waitForJob(stack.url, job_id);
      expect(job.status).toBe('cancelled');
      expect(job.error?.code).toBe('cancelled');
      // Let any page job that was already running finish, then nothing of the job is left.
      await new Promise((r) => setTimeout(r, 1500));
      expect(await objectsUnder(objectKeys.jobPrefix(job_id))).toEqual([]);
    } else {
      expect(body.status).toBe('deleted');
    }
  });
});

describe('operations endpoints', () => {
  it('/healthz and /readyz answer 200 when Redis and S3 do', async () => {
    expect((await fetch(`${stack.url}/healthz`)).status).toBe(200);
    const ready = await fetch(`${stack.url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { redis: 'ok', storage: 'ok' } });
  });

  it('/api/v1/pdf/status reports queue counts and limits', async () => {
    const res = await fetch(`${stack.url}/api/v1/pdf/status`);
    const body = (await res.json()) as { queues: Record<string, Record<string, number>>; limits: { max_upload_bytes: number } };
    expect(Object.keys(body.queues).sort()).toEqual(['assemble', 'maintenance', 'ocr', 'pages', 'plan', 'webhooks']);
    expect(body.queues.plan).toHaveProperty('waiting');
    expect(body.limits.max_upload_bytes).toBe(MAX_UPLOAD);
  });

  it('/metrics exposes HTTP and job metrics in Prometheus format', async () => {
    const text = await (await fetch(`${stack.url}/metrics`)).text();
    expect(text).toMatch(/folio_http_requests_total\{[^}]*route="\/api\/v1\/pdf\/process"[^}]*status="202"/);
    expect(text).toMatch(/folio_jobs_finished_total\{[^}]*status="completed"[^}]*\} [1-9]/);
  });

  it('answers unknown routes with a JSON 404', async () => {
    const res = await fetch(`${stack.url}/api/v1/nothing-here`);
    expect(res.status).toBe(404);
    expect((await errorOf(res)).code).toBe('not_found');
  });

  it('keeps the job view free of the password', async () => {
    const res = await upload(stack.url, corpusFile('hostile/issue6010_1.pdf'), { password: 'abc' });
    const { job_id } = (await res.json()) as { job_id: string };
    const view = await getJob(stack.url, job_id);
    expect(JSON.stringify(view)).not.toContain('"abc"');
    await waitForJob(stack.url, job_id);
  });
});
