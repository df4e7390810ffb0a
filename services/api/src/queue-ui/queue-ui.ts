import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Express } from 'express';
import type { Queues } from '@folio/shared';

/** Where the dashboard lives (app.ts mounts it there behind the admin check). */
export const QUEUE_UI_PATH = '/admin/queues';

type RenderCallback = (err: Error | null, html?: string) => void;
type ViewEngine = (path: string, options: object, callback: RenderCallback) => void;

/**
 * Bull Board over Folio's BullMQ queues (plan, pages, ocr, assemble, maintenance), as an express
 * sub-app. The caller mounts it behind `authenticate` + `requireRole('admin')`: Bull Board has no
 * access control of its own.
 *
 * Read-only: a BullMQ job is only a work item of a Folio job, whose state lives in its own Redis
 * record. Retrying, removing or emptying from the dashboard would change the work behind the
 * record's back (a page retried after its document was assembled, a plan step removed from a job
 * that then stays `queued`); cancelling and deleting go through `DELETE /api/v1/pdf/jobs/{id}`.
 */
export function queueUi(queues: Queues, basePath: string = QUEUE_UI_PATH): Express {
  const adapter = new ExpressAdapter();
  adapter.setBasePath(basePath);
  createBullBoard({
    queues: Object.values(queues).map((q) => new BullMQAdapter(q, { readOnlyMode: true })),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'Folio queues' } },
  });
  const app = adapter.getRouter() as Express;
  app.disable('x-powered-by');
  withoutRemoteFonts(app);
  return app;
}

/** The page template links Google Fonts: a self-hosted admin page should not call out (the UI falls back to system fonts). */
const REMOTE_STYLESHEET = /<link\b[^>]*\bhref="https?:\/\/[^"]*"[^>]*>\s*/gi;

function withoutRemoteFonts(app: Express): void {
  const engines = (app as unknown as { engines: Record<string, ViewEngine | undefined> }).engines;
  const render = engines['.ejs'];
  if (render === undefined) throw new Error('Bull Board registered no ejs view engine; its template can no longer be cleaned');
  app.engine('ejs', (path, options, callback) =>
    render(path, options, (err, html) => (err ? callback(err) : callback(null, html?.replace(REMOTE_STYLESHEET, '')))),
  );
}
