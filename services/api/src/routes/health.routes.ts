import { Router } from 'express';
import type { ApiDeps } from '../deps.ts';

/** Liveness, readiness (Redis and S3 answer) and Prometheus metrics. */
export function healthRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const timeout = <T>(p: Promise<T>) =>
      Promise.race([p, new Promise<never>((_, rej) => setTimeout(() => rej(new Error('timeout')), 2_000).unref())]);
    const [redis, storage] = await Promise.allSettled([timeout(deps.redis.ping()), timeout(deps.store.ping())]);
    const checks = { redis: redis.status === 'fulfilled' ? 'ok' : 'unavailable', storage: storage.status === 'fulfilled' ? 'ok' : 'unavailable' };
    const ready = checks.redis === 'ok' && checks.storage === 'ok';
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
  });
  router.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', deps.registry.contentType);
    res.send(await deps.registry.metrics());
  });
  return router;
}
