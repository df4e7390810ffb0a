import { randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';
import {
  AppError,
  DependencyUnavailableError,
  UrlNotAllowedError,
  ValidationError,
  bullJobIds,
  defaultLookup,
  parseAllowList,
  vetUrl,
  isRedisUnavailable,
  objectKeys,
  availableLanguages,
  processOptionsSchema,
  resolveJobOptions,
  type Config,
  type JobOptions,
  type ProcessOptions,
} from '@folio/shared';
import type { ApiDeps } from '../deps.ts';
import type { IngestedDocument } from '../upload/ingest.ts';
import { jobUrls } from './job-view.ts';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

export interface Received extends IngestedDocument {
  filename: string;
  source: 'upload' | 'url';
  sourceUrl?: string;
}

/** Sanitised display name: no paths, no control characters, bounded length. */
export function cleanFilename(name: string | undefined): string {
  const base = (name ?? '').split(/[\\/]/).pop() ?? '';
  // eslint-disable-next-line no-control-regex
  const clean = base.replace(/[\u0000-\u001f\u007f]/g, '').trim().slice(0, 200);
  return clean.length > 0 ? clean : 'document.pdf';
}

export function parseOptions(body: unknown): ProcessOptions {
  const parsed = processOptionsSchema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new ValidationError('Invalid processing options', parsed.error.issues.map((i) => ({ field: i.path.join('.') || (i as { keys?: string[] }).keys?.join(','), message: i.message })));
  }
  return parsed.data;
}

/** Fills in defaults and checks that OCR can read every language asked for. */
export function jobOptionsFor(options: ProcessOptions, config: Config): JobOptions {
  const resolved = resolveJobOptions(options, { languages: config.ocr.defaultLanguages, dpi: config.ocr.defaultDpi });
  if (resolved.ocr !== 'never') {
    const available = availableLanguages(config.ocr.engine, resolved.languages);
    const missing = resolved.languages.filter((l) => !available.has(l));
    if (missing.length > 0) {
      throw new ValidationError(`OCR language not installed: ${missing.join(', ')}`, { installed: [...available].sort() });
    }
  }
  return resolved;
}

/**
 * The shared path of `process` and `process-url`: claim the idempotency key, receive the document
 * (`receive` streams it to storage), then record the job and enqueue its plan step. Whatever fails
 * after the document was stored removes it again, so a refused request leaves nothing behind.
 */
export async function submitJob(
  deps: ApiDeps,
  req: Request,
  res: Response,
  receive: (jobId: string) => Promise<{ doc: Received; options: ProcessOptions }>,
): Promise<void> {
  const jobId = randomUUID();
  const tenant = req.tenant;
  const idemKey = req.get('idempotency-key');
  const idemTtl = Math.ceil(deps.config.retention.hours * 3600);
  if (idemKey !== undefined) {
    if (!IDEMPOTENCY_KEY.test(idemKey)) throw new ValidationError('Idempotency-Key must be 1–255 printable ASCII characters');
    const claim = await guardRedis(() => deps.jobs.claimIdempotencyKey(tenant, idemKey, jobId, 15 * 60));
    if (!claim.claimed) {
      if (claim.jobId === null) throw new AppError('idempotency_conflict', 'A request with this Idempotency-Key is still in progress');
      const existing = await guardRedis(() => deps.jobs.get(claim.jobId as string));
      if (existing !== null && existing.tenant === tenant) {
        // Read and discard the body: answering mid-upload would break the client's connection.
        await drain(req);
        res.setHeader('Idempotent-Replayed', 'true');
        res.status(202).json({ job_id: existing.id, status: existing.status, urls: jobUrls(existing.id) });
        return;
      }
      // The earlier job is gone (deleted or expired): the key is free again.
      await guardRedis(() => deps.jobs.releaseIdempotencyKey(tenant, idemKey));
      const again = await guardRedis(() => deps.jobs.claimIdempotencyKey(tenant, idemKey, jobId, 15 * 60));
      if (!again.claimed) throw new AppError('idempotency_conflict', 'A request with this Idempotency-Key is still in progress');
    }
  }

  let stored = false;
  try {
    const { doc, options } = await receive(jobId);
    stored = true;
    const now = Date.now();
    const { password, ...rest } = options;
    const publicOptions = jobOptionsFor(rest, deps.config);
    await checkEngine(deps, publicOptions);
    if (publicOptions.callbackUrl !== undefined) await checkCallbackUrl(publicOptions.callbackUrl, deps.config);
    await guardRedis(() =>
      deps.jobs.create({
        id: jobId,
        tenant,
        filename: doc.filename,
        sizeBytes: doc.sizeBytes,
        sha256: doc.sha256,
        source: doc.source,
        ...(doc.sourceUrl === undefined ? {} : { sourceUrl: doc.sourceUrl }),
        options: { ...publicOptions },
        ...(password === undefined ? {} : { password }),
        requestId: req.id,
        createdAt: now,
        expiresAt: now + deps.config.retention.hours * 3_600_000,
      }),
    );
    try {
      await guardRedis(() => deps.queues.plan.add('plan', { jobId }, { jobId: bullJobIds.plan(jobId) }));
    } catch (err) {
      await deps.jobs.remove(jobId, tenant).catch(() => undefined);
      throw err;
    }
    if (idemKey !== undefined) await deps.jobs.confirmIdempotencyKey(tenant, idemKey, jobId, idemTtl).catch(() => undefined);
    deps.logger.info({ reqId: req.id, jobId, bytes: doc.sizeBytes, source: doc.source }, 'job accepted');
    res.setHeader('Location', jobUrls(jobId).status);
    res.status(202).json({ job_id: jobId, status: 'queued', urls: jobUrls(jobId) });
  } catch (err) {
    if (stored) await deps.store.deletePrefix(objectKeys.jobPrefix(jobId)).catch(() => undefined);
    if (idemKey !== undefined) await deps.jobs.releaseIdempotencyKey(tenant, idemKey).catch(() => undefined);
    throw err;
  }
}

function drain(req: Request): Promise<void> {
  return new Promise((resolve) => {
    if (req.readableEnded) return resolve();
    req.on('end', resolve).on('error', () => resolve()).on('close', () => resolve());
    req.resume();
  });
}

/** A named provider must exist, be active and read pages; a named model must be one of its vision models. */
async function checkEngine(deps: ApiDeps, o: JobOptions): Promise<void> {
  if (o.engine === 'tesseract' || o.engine === 'auto') {
    if (o.model !== undefined) throw new ValidationError('`model` needs a named `ai_provider`');
    return;
  }
  await deps.catalogReady();
  const p = await deps.catalog.get(o.engine).catch(() => null);
  if (p === null || !p.active || !p.tasks.includes('pdf_ocr')) {
    throw new ValidationError(`ai_provider ${o.engine} is not an active provider that reads PDF pages (see GET /api/ai/pdf/providers)`);
  }
  if (o.model !== undefined && !p.models.some((m) => m.id === o.model && m.vision)) {
    throw new ValidationError(`model ${o.model} is not a vision model of ${o.engine}`);
  }
}

/**
 * A callback_url must pass the same SSRF vetting as process-url (http(s), no credentials, no
 * private/loopback/link-local/metadata address unless WEBHOOK_ALLOW_LIST admits it). Delivery
 * vets it again, since DNS may answer differently by then.
 */
async function checkCallbackUrl(url: string, config: Config): Promise<void> {
  try {
    await vetUrl(new URL(url), parseAllowList(config.webhooks.allowList), defaultLookup, AbortSignal.timeout(5_000));
  } catch (err) {
    if (err instanceof AppError && err.code === 'url_not_allowed') throw new UrlNotAllowedError(`callback_url: ${err.message}`);
    throw new ValidationError(`callback_url: ${err instanceof Error ? err.message : 'cannot be used'}`);
  }
}

async function guardRedis<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw isRedisUnavailable(err) ? new DependencyUnavailableError('redis', err) : err;
  }
}
