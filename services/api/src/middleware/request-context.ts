import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import type { ApiDeps } from '../deps.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      id: string;
      /** The tenant whose jobs this request may see (set by `authenticate`). */
      tenant: string;
    }
  }
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Request id (echoed as `X-Request-Id`), tenant, one log line and the HTTP metrics per request. */
export function requestContext(deps: Pick<ApiDeps, 'logger' | 'httpMetrics'>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const incoming = req.get('x-request-id');
    req.id = incoming !== undefined && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', req.id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      // Route patterns, not raw paths, keep the label set bounded.
      const route = req.route?.path ? `${req.baseUrl}${String(req.route.path)}` : res.statusCode === 404 ? 'unmatched' : req.baseUrl || 'other';
      deps.httpMetrics.requests.inc({ method: req.method, route, status: String(res.statusCode) });
      deps.httpMetrics.duration.observe({ method: req.method, route }, seconds);
      deps.logger.info(
        { reqId: req.id, method: req.method, route, status: res.statusCode, ms: Math.round(seconds * 1000) },
        'request',
      );
    });
    next();
  };
}
