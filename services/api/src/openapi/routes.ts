import { Router } from 'express';
import { DOCS_CSP, renderDocsPage } from './docs-page.ts';
import { openApiDocument } from './openapi.ts';

/**
 * `GET /openapi.json` and `GET /docs`, public like the probes: the description of an API is no
 * secret, and a client needs it before it has a token. Both are built once, at start-up.
 */
export function openApiRoutes(): Router {
  const doc = openApiDocument();
  const json = JSON.stringify(doc);
  const html = renderDocsPage(doc);
  const router = Router();
  router.get('/openapi.json', (_req, res) => {
    res.type('application/json').send(json);
  });
  router.get('/docs', (_req, res) => {
    res.setHeader('Content-Security-Policy', DOCS_CSP);
    res.type('text/html').send(html);
  });
  return router;
}
