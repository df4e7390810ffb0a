import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { SseStreams } from './routes/job-events.ts';
import type { CatalogStore, Config, HttpMetrics, JobStore, KeyStore, Logger, ObjectStore, Queues, TokenStore, UsageLedger } from '@folio/shared';

/** Everything the HTTP layer talks to, built once at start-up and passed in. */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  redis: Redis;
  jobs: JobStore;
  tokens: TokenStore;
  keys: KeyStore;
  catalog: CatalogStore;
  usage: UsageLedger;
  /** Resolves once the provider catalog is seeded in Redis (retried on the next call after a failure). */
  catalogReady(): Promise<void>;
  store: ObjectStore;
  queues: Queues;
  registry: Registry;
  httpMetrics: HttpMetrics;
  /** Open SSE streams of this process (cap, shutdown); one per process. */
  streams?: SseStreams;
}
