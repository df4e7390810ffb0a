/**
 * Errors of the SDK. Every API error answers `{"error": {"code", "message", "details?"}}` with a
 * stable code from the error catalog (docs/ERRORS.md); `FolioError` carries it, and the subclasses
 * let callers catch the common families.
 */
export class FolioError extends Error {
  /** A stable code of the error catalog (`not_found`, `validation_failed`, …), or `network_error` / `bad_response` on the client side. */
  readonly code: string;
  /** The HTTP status (0 when no response arrived). */
  readonly status: number;
  readonly details: unknown;
  /** The response's `X-Request-Id`: the server's log lines for the request carry it. */
  readonly requestId: string | undefined;
  /** `Retry-After` of the response, in milliseconds, when it sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(init: { code: string; status: number; message: string; details?: unknown; requestId?: string | undefined; retryAfterMs?: number | undefined; cause?: unknown }) {
    super(init.message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = 'FolioError';
    this.code = init.code;
    this.status = init.status;
    this.details = init.details;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** 404 `not_found`: no such job (or key, provider, route) for this tenant. */
export class NotFoundError extends FolioError {
  constructor(init: ConstructorParameters<typeof FolioError>[0]) {
    super(init);
    this.name = 'NotFoundError';
  }
}

/** 401 `unauthorized` (no valid token) or 403 `forbidden` (the token's role may not do this). */
export class UnauthorizedError extends FolioError {
  constructor(init: ConstructorParameters<typeof FolioError>[0]) {
    super(init);
    this.name = 'UnauthorizedError';
  }
}

/** 400: `validation_failed` (`details` lists the fields) or `url_not_allowed`. */
export class ValidationError extends FolioError {
  constructor(init: ConstructorParameters<typeof FolioError>[0]) {
    super(init);
    this.name = 'ValidationError';
  }
}

/** 503 `dependency_unavailable` (Redis or S3 did not answer; retry after `retryAfterMs`), or the server could not be reached. */
export class UnavailableError extends FolioError {
  constructor(init: ConstructorParameters<typeof FolioError>[0]) {
    super(init);
    this.name = 'UnavailableError';
  }
}

/** The error for an API error response (its JSON body, status and headers). */
export function errorFromResponse(status: number, body: unknown, headers: Headers): FolioError {
  const err = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | null)?.error;
  const code = typeof err?.code === 'string' ? err.code : `http_${status}`;
  const message = typeof err?.message === 'string' ? err.message : `HTTP ${status}`;
  const init = {
    code,
    status,
    message,
    details: err?.details,
    requestId: headers.get('x-request-id') ?? undefined,
    retryAfterMs: parseRetryAfter(headers.get('retry-after')),
  };
  if (status === 404 || code === 'not_found') return new NotFoundError(init);
  if (status === 401 || status === 403) return new UnauthorizedError(init);
  if (code === 'validation_failed' || code === 'url_not_allowed') return new ValidationError(init);
  if (status === 503 || code === 'dependency_unavailable') return new UnavailableError(init);
  return new FolioError(init);
}

/** `Retry-After` (delta-seconds or an HTTP date) in milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.round(Number(v) * 1000);
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
