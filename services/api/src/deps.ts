import type { Redis } from 'ioredis';
import type { Registry } from 'prom-client';
import type { Config, HttpMetrics, JobStore, Logger, ObjectStore, Queues, TokenStore } from '@folio/shared';

/** Everything the HTTP layer talks to, built once at start-up and passed in. */
export interface ApiDeps {
  config: Config;
  logger: Logger;
  redis: Redis;
  jobs: JobStore;
  tokens: TokenStore;
  store: ObjectStore;
  queues: Queues;
  registry: Registry;
  httpMetrics: HttpMetrics;
}
