import { afterEach, describe, expect, it } from 'vitest';
import { startApi, type ApiServer } from '@folio/api';
import { ObjectStore, createLogger, createMetricsRegistry, freePort } from '@folio/shared';
import { startWorkers } from '@folio/worker';
import { corpusFile, startTestStack, testConfig, type TestStack } from '../support/stack.ts';
import { getJob, result, upload, waitForJob } from '../support/client.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!().catch(() => undefined);
});

async function apiWith(env: Record<string, string>): Promise<ApiServer> {
  const config = testConfig(env);
  await ObjectStore.fromConfig(config).ensureBucket().catch(() => undefined);
  const api = await startApi(config, { logger: createLogger({ level: 'silent' }), registry: createMetricsRegistry('api') });
  cleanups.push(() => api.close());
  return api;
}

describe('when a dependency is down', () => {
  it('answers 503 dependency_unavailable when Redis does not answer, and /readyz says so', async () => {
    const api = await apiWith({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` });
    const started = Date.now();
    const res = await upload(api.url, corpusFile('hostile/issue6010_1.pdf'));
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBe('5');
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('dependency_unavailable');
    // Fails fast rather than hanging the client.
    expect(Date.now() - started).toBeLessThan(10_000);
    const job = await fetch(`${api.url}/api/v1/pdf/jobs/6f1c1f8e-0000-4000-8000-000000000000`);
    expect(job.status).toBe(503);
    const ready = await fetch(`${api.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { checks: { redis: string } }).checks.redis).toBe('unavailable');
  });

  it('answers 503 dependency_unavailable when the object store does not answer', async () => {
    const api = await apiWith({ S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    const res = await upload(api.url, corpusFile('hostile/issue6010_1.pdf'));
    expect(res.status).toBe(503);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('dependency_unavailable');
    const ready = await fetch(`${api.url}/readyz`);
    expect(((await ready.json()) as { checks: { storage: string } }).checks.storage).toBe('unavailable');
  });
});

describe('a worker restart', () => {
  it('loses no page and counts none twice when the workers die mid-document', async () => {
    const stack: TestStack = await startTestStack({ TEXT_CHUNK_PAGES: '4', PAGE_CONCURRENCY: '1', WORKER_LOCK_MS: '2000' });
    cleanups.push(() => stack.close());
    const res = await upload(stack.url, corpusFile('born-digital/freeculture.pdf'));
    const { job_id } = (await res.json()) as { job_id: string };

    // Wait until some pages are done but not all, then kill the workers without letting them finish.
    for (;;) {
      const job = await getJob(stack.url, job_id);
      if (job.progress.pages_done > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await stack.workers.close(true);
    const mid = await getJob(stack.url, job_id);
    expect(mid.status).toBe('processing');
    expect(mid.progress.pages_done).toBeLessThan(352);

    // New workers on the same Redis and S3 take over the stalled jobs.
    const replacement = await startWorkers(stack.config, { logger: createLogger({ level: 'silent' }) });
    cleanups.push(() => replacement.close());
    const done = await waitForJob(stack.url, job_id, 120_000);
    expect(done.status).toBe('completed');
    expect(done.progress).toMatchObject({ pages_total: 352, pages_done: 352, pages_failed: 0 });
    const doc = (await (await result(stack.url, job_id)).json()) as { pages: Array<{ page: number }> };
    expect(doc.pages.map((p) => p.page)).toEqual(Array.from({ length: 352 }, (_, i) => i + 1));
  });
});

describe('retention', () => {
  it('deletes the upload, the results and the record once the retention period has passed', async () => {
    // 0.0015 h = 5.4 s (a one-page job finishes well within it); the sweeper runs every second.
    const stack = await startTestStack({ RETENTION_HOURS: '0.0015', RETENTION_SWEEP_SECONDS: '1' });
    cleanups.push(() => stack.close());
    const res = await upload(stack.url, corpusFile('hostile/issue6010_1.pdf'), { password: 'abc' });
    const { job_id } = (await res.json()) as { job_id: string };
    const job = await waitForJob(stack.url, job_id);
    expect(job.status).toBe('completed');
    const deadline = Date.now() + 15_000;
    let status = 200;
    while (Date.now() < deadline && status !== 404) {
      await new Promise((r) => setTimeout(r, 250));
      status = (await fetch(`${stack.url}/api/v1/pdf/jobs/${job_id}`)).status;
    }
    expect(status).toBe(404);
    expect(await stack.api.deps.store.deletePrefix(`jobs/${job_id}/`)).toBe(0);
  });
});
