import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';
import {
  CatalogStore,
  JobStore,
  KeyStore,
  ObjectStore,
  TokenStore,
  UsageLedger,
  loadBundledCatalog,
  resolveMasterKey,
  webhookTerminalHook,
  closeQueues,
  createHttpMetrics,
  createQueues,
  createRedis,
  registerClusterMetrics,
  registerQueueMetrics,
  type Config,
  type Logger,
} from '@folio/shared';
import { createApp } from './app.ts';
import { SseStreams } from './routes/job-events.ts';
import { registerUsageMetrics } from './usage-metrics.ts';
import type { ApiDeps } from './deps.ts';

export interface ApiServer {
  server: Server;
  url: string;
  deps: ApiDeps;
  close(): Promise<void>;
}

/** Builds the API's dependencies from a resolved config and listens on its host and port. */
export async function startApi(configIn: Config, opts: { logger: Logger; registry: Registry }): Promise<ApiServer> {
  if (configIn.redis.url === undefined) throw new Error('redis.url must be resolved before the API starts');
  const { config, keyring } = resolveMasterKey(configIn, opts.logger);
  const redis = createRedis(config.redis.url!, 'producer', opts.logger, 'api');
  const store = ObjectStore.fromConfig(config);
  const catalog = new CatalogStore(redis, config.redis.prefix);
  let seeding: Promise<void> | undefined;
  const catalogReady = () =>
    (seeding ??= catalog.seed(loadBundledCatalog()).then(
      () => undefined,
      (err: unknown) => {
        seeding = undefined;
        throw err;
      },
    ));
  void catalogReady().catch(() => undefined);
  const deps: ApiDeps = {
    config,
    logger: opts.logger,
    redis,
    jobs: new JobStore(redis, config.redis.prefix),
    tokens: new TokenStore(redis, config.redis.prefix),
    keys: new KeyStore(redis, config.redis.prefix, keyring),
    catalog,
    usage: new UsageLedger(redis, config.redis.prefix),
    catalogReady,
    store,
    queues: createQueues(redis, config.redis.prefix, config.processing.jobAttempts),
    registry: opts.registry,
    httpMetrics: createHttpMetrics(opts.registry),
    streams: new SseStreams(config.sse.maxStreams),
  };
  // A cancel (DELETE) is a terminal state too: it enqueues the job's webhook.
  deps.jobs.setTerminalHook(
    webhookTerminalHook(deps.jobs, () => deps.queues.webhooks, { maxAttempts: config.webhooks.maxAttempts, backoffMs: config.webhooks.backoffMs, logger: opts.logger }),
  );
  registerUsageMetrics(opts.registry, redis, config.redis.prefix);
  // Read on each scrape (bounded by a timeout): queue depths and workers, and the cluster-wide
  // counters recorded in Redis by the workers' threads (provider calls, rate limits, budgets, keys).
  const detachMetrics = [
    registerQueueMetrics(opts.registry, deps.queues, { ready: () => redis.status === 'ready' }),
    registerClusterMetrics(opts.registry, redis, config.redis.prefix),
  ];
  const app = createApp(deps);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(config.http.port, config.http.host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  // Uploads of large files on slow links: no overall request timeout, but idle sockets are closed.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  server.keepAliveTimeout = 5_000;
  const addr = server.address() as AddressInfo;
  const host = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  const url = `http://${host}:${addr.port}`;
  opts.logger.info({ url, authRequired: config.auth.required }, 'API listening');
  if (!config.auth.required) opts.logger.warn('bearer tokens are not required: loopback development mode, every caller is the default tenant\'s admin');
  else if (config.auth.adminToken === undefined) opts.logger.warn('no ADMIN_TOKEN set: only tokens already stored in Redis can call the API');
  return {
    server,
    url,
    deps,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        // Event streams never end by themselves while a job runs: end them (clients resume with Last-Event-ID).
        deps.streams?.closeAll();
      });
      for (const detach of detachMetrics) detach();
      await closeQueues(deps.queues);
      store.client.destroy();
      redis.disconnect();
    },
  };
}
