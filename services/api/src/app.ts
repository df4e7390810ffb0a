import express, { type Express } from 'express';
import { NotFoundError } from '@folio/shared';
import type { ApiDeps } from './deps.ts';
import { API_PREFIX } from './jobs/job-view.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { requestContext } from './middleware/request-context.ts';
import { healthRoutes } from './routes/health.routes.ts';
import { pdfRoutes } from './routes/pdf.routes.ts';

/** The HTTP API. Express 5 forwards rejected promises of async handlers to the error handler. */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestContext(deps));
  app.use(healthRoutes(deps));
  app.use(API_PREFIX, pdfRoutes(deps));
  app.use((req, _res, next) => next(new NotFoundError(`No route for ${req.method} ${req.path}`)));
  app.use(errorHandler(deps.logger));
  return app;
}
