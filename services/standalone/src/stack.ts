import type { Registry } from 'prom-client';
import { startApi, type ApiServer } from '@folio/api';
import { createMetricsRegistry, type Config, type Logger } from '@folio/shared';
import { startWorkers, type WorkerSet } from '@folio/worker';

export interface Stack {
  api: ApiServer;
  workers: WorkerSet;
  url: string;
  config: Config;
  close(): Promise<void>;
}

/**
 * The API and the workers of one process on a resolved config (Redis and S3 addresses filled in):
 * what `npm start` runs, and what the integration tests and the benchmark start.
 */
export async function startStack(config: Config, opts: { logger: Logger; registry?: Registry }): Promise<Stack> {
  const registry = opts.registry ?? createMetricsRegistry('standalone');
  const workers = await startWorkers(config, { logger: opts.logger, registry });
  let api: ApiServer;
  try {
    api = await startApi(config, { logger: opts.logger, registry });
  } catch (err) {
    await workers.close(true);
    throw err;
  }
  return {
    api,
    workers,
    url: api.url,
    config,
    async close() {
      // Stop accepting requests first, then let in-flight jobs finish.
      await api.close();
      await workers.close();
    },
  };
}
