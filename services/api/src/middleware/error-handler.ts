import type { NextFunction, Request, Response } from 'express';
import multer from 'multer';
import { AppError, DependencyUnavailableError, isAppError, isRedisUnavailable, type Logger } from '@folio/shared';

/** Turns any error into `{error: {code, message, details?}}` with the status of its stable code. */
export function toAppError(err: unknown): AppError {
  if (isAppError(err)) return err;
  if (err instanceof multer.MulterError) {
    if (err.code === 'LIMIT_FILE_SIZE') return new AppError('file_too_large', 'The upload is larger than the size limit');
    return new AppError('validation_failed', `Invalid multipart body: ${err.message}${err.field ? ` (${err.field})` : ''}`);
  }
  if (isRedisUnavailable(err)) return new DependencyUnavailableError('redis', err);
  const e = err as { type?: string; status?: number; message?: string };
  // body-parser errors (malformed JSON, body too large)
  if (e?.type === 'entity.parse.failed') return new AppError('validation_failed', 'The request body is not valid JSON');
  if (e?.type === 'entity.too.large') return new AppError('file_too_large', 'The request body is too large');
  if (e?.type === 'request.aborted') return new AppError('validation_failed', 'The client aborted the request');
  return new AppError('internal_error', 'Internal error', { cause: err });
}

export function errorHandler(logger: Logger) {
  return (err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const appErr = toAppError(err);
    if (appErr.status >= 500) {
      const cause = appErr.cause instanceof Error ? appErr.cause : err;
      logger.error({ reqId: req.id, code: appErr.code, err: cause instanceof Error ? { message: cause.message, stack: cause.stack } : String(cause) }, 'request failed');
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (appErr.code === 'dependency_unavailable') res.setHeader('Retry-After', '5');
    res.status(appErr.status).json({ error: appErr.toBody() });
  };
}
