/**
 * Folio's error vocabulary: every failure a caller can see carries one of these stable codes.
 * Request errors map to an HTTP status; job and page errors end up in the job record.
 * `docs/ERRORS.md` documents each code, and a test keeps that page and this catalog in step.
 */
export const ERROR_CATALOG = {
  // Request errors (HTTP)
  validation_failed: { status: 400, description: 'A field or parameter of the request is missing or invalid.' },
  url_not_allowed: { status: 400, description: 'The URL given to process-url is not http(s), or resolves to a private, loopback, link-local or metadata address that no allow-list entry admits.' },
  url_fetch_failed: { status: 422, description: 'The URL given to process-url could not be fetched (remote error status, timeout, too many redirects).' },
  unauthorized: { status: 401, description: 'No valid bearer token.' },
  forbidden: { status: 403, description: 'The token is valid but its role may not do this.' },
  not_found: { status: 404, description: 'No such job (or route) for this tenant.' },
  idempotency_conflict: { status: 409, description: 'A request with the same Idempotency-Key is still being processed.' },
  job_not_finished: { status: 409, description: 'The job has no result yet (or ended without one); poll its status.' },
  file_too_large: { status: 413, description: 'The upload or fetched document exceeds the size limit.' },
  unsupported_media_type: { status: 415, description: 'The body is not a PDF (no %PDF- header in the first 1024 bytes) or not multipart/form-data.' },
  too_many_streams: { status: 503, description: 'The API process already serves SSE_MAX_STREAMS event streams; retry later or poll the job.' },
  dependency_unavailable: { status: 503, description: 'Redis or the object store did not answer; nothing was accepted, retry later.' },
  key_decryption_failed: { status: 500, description: 'A stored provider key failed its integrity check (tampered, or its master key version is gone); it was not used.' },
  internal_error: { status: 500, description: 'An unexpected failure; the log has the details under the request or job id.' },
  // Job and page errors (in the job record and result)
  pdf_invalid: { status: 422, description: 'The file is not a readable PDF (corrupt, truncated, or no pages).' },
  pdf_password_required: { status: 422, description: 'The PDF is encrypted with a user password and none was given.' },
  pdf_password_incorrect: { status: 422, description: 'The password given does not open the PDF.' },
  pdf_too_many_pages: { status: 422, description: 'The PDF has more pages than the configured limit.' },
  page_too_large: { status: 422, description: 'A page could not be processed within the memory or size limits.' },
  page_timeout: { status: 422, description: 'A page took longer than the per-page time limit.' },
  page_failed: { status: 422, description: 'A page could not be read; the other pages are still returned.' },
  ocr_failed: { status: 422, description: 'The OCR engine failed on a page (or a requested language is not installed on the worker).' },
  provider_error: { status: 502, description: 'A vision provider failed on a page (server error, malformed answer, refused request); with fallback_strategy=cascade the next engine was tried.' },
  provider_auth_failed: { status: 502, description: 'Every key of the provider was rejected (401/403); the keys are marked invalid.' },
  rate_limited: { status: 429, description: 'A provider or key rate limit was reached; the page waits for exactly the time the limit needs (never a failure on its own).' },
  budget_exceeded: { status: 402, description: "A page would have passed the job's budget_constraint or the tenant's monthly budget; it fell back to a cheaper engine or failed." },
  cancelled: { status: 409, description: 'The job was cancelled by its owner.' },
} as const satisfies Record<string, { status: number; description: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface ErrorBody {
  code: ErrorCode;
  message: string;
  details?: unknown;
}

/** Base of every error that carries a stable code. `name` is an own property so it survives
 * structured cloning across worker threads. */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly details?: unknown;

  constructor(code: ErrorCode, message: string, options?: { details?: unknown; cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.status = ERROR_CATALOG[code].status;
    if (options?.details !== undefined) this.details = options.details;
  }

  toBody(): ErrorBody {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export class ValidationError extends AppError {
  constructor(message: string, details?: unknown) {
    super('validation_failed', message, { details });
    this.name = 'ValidationError';
  }
}

export class NotFoundError extends AppError {
  constructor(message = 'Not found') {
    super('not_found', message);
    this.name = 'NotFoundError';
  }
}

export class DependencyUnavailableError extends AppError {
  constructor(what: 'redis' | 'storage', cause?: unknown) {
    super('dependency_unavailable', `The ${what === 'redis' ? 'queue store (Redis)' : 'object store (S3)'} is unavailable; retry later`, { cause });
    this.name = 'DependencyUnavailableError';
  }
}

export class UrlNotAllowedError extends AppError {
  constructor(message: string) {
    super('url_not_allowed', message);
    this.name = 'UrlNotAllowedError';
  }
}

export class UrlFetchError extends AppError {
  constructor(message: string, details?: unknown) {
    super('url_fetch_failed', message, { details });
    this.name = 'UrlFetchError';
  }
}

/** The document itself is unusable: never worth a retry. */
export class PdfError extends AppError {
  constructor(
    code: 'pdf_invalid' | 'pdf_password_required' | 'pdf_password_incorrect' | 'pdf_too_many_pages',
    message: string,
    cause?: unknown,
  ) {
    super(code, message, { cause });
    this.name = 'PdfError';
  }
}

export function isAppError(err: unknown): err is AppError {
  return err instanceof AppError;
}
