import path from 'node:path';
import type { Redis } from 'ioredis';
import { Queue, type ConnectionOptions } from 'bullmq';
import {
  QUEUE_NAMES,
  webhookTerminalHook,
  CatalogStore,
  JobStore,
  KeyStore,
  ObjectStore,
  parseKeyring,
  createLogger,
  createRedis,
  type Config,
  type Logger,
} from '@folio/shared';
import { PdfSource } from './pdf-source.ts';

/** What the job handlers need; built once per process or worker thread and passed in. */
export interface WorkerContext {
  config: Config;
  logger: Logger;
  redis: Redis;
  jobs: JobStore;
  store: ObjectStore;
  pdfs: PdfSource;
  /** The provider catalog and the tenants' keys; absent when no master key is configured. */
  byok: { catalog: CatalogStore; keys: KeyStore } | undefined;
  close(): Promise<void>;
}

export function createWorkerContext(config: Config, name: string): WorkerContext {
  if (config.redis.url === undefined) throw new Error('redis.url must be resolved before workers start');
  const logger = createLogger({ level: config.logLevel, name });
  const redis = createRedis(config.redis.url, 'worker', logger, name);
  const store = ObjectStore.fromConfig(config);
  const pdfs = new PdfSource({
    store,
    cacheDir: path.join(config.dataDir, 'cache', 'pdf'),
    cacheBytes: config.processing.pdfCacheBytes,
    maxImagePixels: config.ocr.maxImagePixels,
  });
  // Terminal states reached here (plan failures, assemble) enqueue the job's webhook, if it has one.
  let webhooks: Queue | undefined;
  const webhookQueue = () =>
    (webhooks ??= new Queue(QUEUE_NAMES.webhooks, { connection: redis as ConnectionOptions, prefix: config.redis.prefix, skipWaitingForReady: true }).on('error', () => undefined));
  const jobs = new JobStore(redis, config.redis.prefix);
  jobs.setTerminalHook(webhookTerminalHook(jobs, webhookQueue, { maxAttempts: config.webhooks.maxAttempts, backoffMs: config.webhooks.backoffMs, logger }));
  return {
    config,
    logger,
    redis,
    jobs,
    store,
    pdfs,
    byok:
      config.byok.encryptionKey === undefined
        ? undefined
        : { catalog: new CatalogStore(redis, config.redis.prefix), keys: new KeyStore(redis, config.redis.prefix, parseKeyring(config.byok.encryptionKey)) },
    async close() {
      await webhooks?.close().catch(() => undefined);
      await pdfs.closeAll();
      store.client.destroy();
      redis.disconnect();
    },
  };
}
