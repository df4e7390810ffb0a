import express, { type Express } from 'express';
import { NotFoundError } from '@folio/shared';
import type { ApiDeps } from './deps.ts';
import { API_PREFIX } from './jobs/job-view.ts';
import { errorHandler } from './middleware/error-handler.ts';
import { authenticate, requireRole } from './middleware/auth.ts';
import { requestContext } from './middleware/request-context.ts';
import { openApiRoutes } from './openapi/routes.ts';
import { QUEUE_UI_PATH, queueUi } from './queue-ui/queue-ui.ts';
import { aiRoutes } from './routes/ai.routes.ts';
import { authRoutes } from './routes/auth.routes.ts';
import { healthRoutes } from './routes/health.routes.ts';
import { pdfRoutes } from './routes/pdf.routes.ts';

/** The HTTP API. Express 5 forwards rejected promises of async handlers to the error handler. */
export function createApp(deps: ApiDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.use(requestContext(deps));
  // Liveness, readiness and metrics stay open for probes and scrapers; everything else needs a caller.
  app.use(healthRoutes(deps));
  // The API's description (/openapi.json) and its docs page (/docs) are public too.
  app.use(openApiRoutes());
  // The queue dashboard is for admins only (loopback development's anonymous admin passes).
  app.use(QUEUE_UI_PATH, authenticate(deps), requireRole('admin'), queueUi(deps.queues, QUEUE_UI_PATH));
  app.use('/api', authenticate(deps));
  app.use('/api/v1/auth', express.json({ limit: '16kb' }), authRoutes(deps));
  app.use(API_PREFIX, pdfRoutes(deps));
  app.use('/api/ai', aiRoutes(deps));
  app.use((req, _res, next) => next(new NotFoundError(`No route for ${req.method} ${req.path}`)));
  app.use(errorHandler(deps.logger));
  return app;
}
