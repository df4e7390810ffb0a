import express, { Router, type Request } from 'express';
import { z } from 'zod';
import {
  AppError,
  JOB_STATUSES,
  NotFoundError,
  QUEUE_NAMES,
  RESULT_CONTENT_TYPES,
  RESULT_FORMATS,
  ValidationError,
  bullJobIds,
  isTerminal,
  objectKeys,
  type JobRecord,
} from '@folio/shared';
import type { ApiDeps } from '../deps.ts';
import { cleanFilename, parseOptions, submitJob } from '../jobs/job-submission.ts';
import { jobView } from '../jobs/job-view.ts';
import { receiveMultipartPdf } from '../upload/multipart.ts';
import { ingestDocument } from '../upload/ingest.ts';
import { fetchDocument } from '../url-fetch/safe-fetch.ts';
import { SseStreams, streamJobEvents } from './job-events.ts';

const jobIdParam = z.string().uuid();
const listQuery = z.object({
  status: z.enum(JOB_STATUSES).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});
const resultQuery = z.object({ format: z.enum(RESULT_FORMATS).default('json') });
const processUrlBody = z.object({ url: z.string().min(1).max(4096) }).passthrough();

/** Multipart envelope overhead allowed on top of the file size limit before reading a byte. */
const MULTIPART_SLACK = 1024 * 1024;

export function pdfRoutes(deps: ApiDeps): Router {
  const router = Router();
  const { config } = deps;

  router.post('/process', async (req, res) => {
    if (!req.is('multipart/form-data')) {
      throw new AppError('unsupported_media_type', 'Send the PDF as multipart/form-data in a part named `file`');
    }
    const declared = Number(req.get('content-length'));
    if (Number.isFinite(declared) && declared > config.limits.maxUploadBytes + MULTIPART_SLACK) {
      res.setHeader('Connection', 'close');
      throw new AppError('file_too_large', `The upload is larger than the limit of ${config.limits.maxUploadBytes} bytes`);
    }
    await submitJob(deps, req, res, async (jobId) => {
      const uploaded = await receiveMultipartPdf(req, res, { store: deps.store, jobId, maxBytes: config.limits.maxUploadBytes });
      if (uploaded === undefined) throw new ValidationError('The multipart body has no part named `file`');
      try {
        const options = parseOptions(req.body);
        return { doc: { ...uploaded, filename: cleanFilename(uploaded.filename), source: 'upload' }, options };
      } catch (err) {
        await deps.store.deletePrefix(objectKeys.jobPrefix(jobId)).catch(() => undefined);
        throw err;
      }
    });
  });

  router.post('/process-url', express.json({ limit: '64kb' }), async (req, res) => {
    const parsed = processUrlBody.safeParse(req.body);
    if (!parsed.success) throw new ValidationError('Send a JSON body with a `url` field');
    const { url, ...rest } = parsed.data;
    const options = parseOptions(rest);
    await submitJob(deps, req, res, async (jobId) => {
      const fetched = await fetchDocument(url, {
        allowList: config.urlFetch.allowList,
        maxBytes: config.limits.maxUploadBytes,
        timeoutMs: config.urlFetch.timeoutMs,
        maxRedirects: config.urlFetch.maxRedirects,
      });
      const doc = await ingestDocument(deps.store, jobId, fetched.stream, config.limits.maxUploadBytes);
      const u = new URL(fetched.finalUrl);
      return {
        doc: { ...doc, filename: cleanFilename(fetched.filename), source: 'url', sourceUrl: `${u.origin}${u.pathname}` },
        options,
      };
    });
  });

  router.get('/jobs', async (req, res) => {
    const q = listQuery.safeParse(req.query);
    if (!q.success) throw new ValidationError('Invalid query', q.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })));
    const jobs = await deps.jobs.list(req.tenant, { limit: q.data.limit, ...(q.data.status ? { status: q.data.status } : {}) });
    res.json({ jobs: jobs.map(jobView), count: jobs.length });
  });

  router.get('/jobs/:id', async (req, res) => {
    const job = await ownJob(deps, req);
    // Pollers: how long to wait before asking again.
    if (!isTerminal(job.status)) res.setHeader('Retry-After', job.status === 'processing' ? '1' : '2');
    res.json(jobView(job));
  });

  const streams = deps.streams ?? new SseStreams(config.sse.maxStreams);
  router.get('/jobs/:id/events', async (req, res) => {
    const job = await ownJob(deps, req);
    await streamJobEvents(deps, streams, req, res, job);
  });

  router.get('/jobs/:id/result', async (req, res) => {
    const q = resultQuery.safeParse(req.query);
    if (!q.success) throw new ValidationError(`format must be one of ${RESULT_FORMATS.join(', ')}`);
    const job = await ownJob(deps, req);
    if (job.status !== 'completed' && job.status !== 'partial') {
      if (!isTerminal(job.status)) res.setHeader('Retry-After', '2');
      throw new AppError('job_not_finished', `The job is ${job.status}; it has no result${isTerminal(job.status) ? '' : ' yet'}`, {
        details: { status: job.status, error: job.error ?? null },
      });
    }
    const { stream, contentLength } = await deps.store.getStream(objectKeys.result(job.id, q.data.format));
    res.setHeader('Content-Type', RESULT_CONTENT_TYPES[q.data.format]);
    if (contentLength !== undefined) res.setHeader('Content-Length', String(contentLength));
    stream.on('error', () => res.destroy());
    stream.pipe(res);
  });

  router.delete('/jobs/:id', async (req, res) => {
    const job = await ownJob(deps, req);
    const wasActive = !isTerminal(job.status);
    if (wasActive) {
      await deps.jobs.cancel(job.id);
      // A plan step not yet started is dropped; running page jobs see `cancelled` and stop.
      await deps.queues.plan.remove(bullJobIds.plan(job.id)).catch(() => 0);
    }
    await deps.store.deletePrefix(objectKeys.jobPrefix(job.id));
    if (wasActive) {
      res.json({ job_id: job.id, status: 'cancelled', deleted: true });
    } else {
      await deps.jobs.remove(job.id, job.tenant);
      res.json({ job_id: job.id, status: 'deleted', deleted: true });
    }
  });

  router.get('/status', async (_req, res) => {
    const queues = Object.fromEntries(
      await Promise.all(
        Object.entries(deps.queues).map(async ([name, q]) => [
          name,
          await q.getJobCounts('waiting', 'active', 'delayed', 'waiting-children', 'failed', 'completed'),
        ]),
      ),
    );
    const workers = await deps.queues.pages.getWorkersCount().catch(() => null);
    res.json({
      service: 'folio',
      status: 'ok',
      queues,
      workers: { pages: workers },
      limits: {
        max_upload_bytes: config.limits.maxUploadBytes,
        max_pages: config.limits.maxPages,
        page_timeout_ms: config.limits.pageTimeoutMs,
        retention_hours: config.retention.hours,
      },
      queue_names: Object.values(QUEUE_NAMES),
    });
  });

  return router;
}

/** The job, if it exists and belongs to the caller's tenant; otherwise 404 (never 403: ids do not leak). */
async function ownJob(deps: ApiDeps, req: Request): Promise<JobRecord> {
  const id = jobIdParam.safeParse(req.params.id);
  if (!id.success) throw new NotFoundError('No such job');
  const job = await deps.jobs.get(id.data);
  if (job === null || job.tenant !== req.tenant) throw new NotFoundError('No such job');
  return job;
}
