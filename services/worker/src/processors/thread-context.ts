import { workerData } from 'node:worker_threads';
import type { Config } from '@folio/shared';
import { createWorkerContext, type WorkerContext } from '../context.ts';

/**
 * Sandboxed processors run in worker threads that BullMQ starts and reuses; each thread builds
 * its context once from the config the parent passed as `workerData` (no second parse of the
 * environment, so embedded Redis/S3 addresses resolved at start-up reach the threads too).
 */
let context: WorkerContext | undefined;

export function threadContext(role: string): WorkerContext {
  if (context === undefined) {
    const data = workerData as { config?: Config } | null;
    if (!data?.config) throw new Error('worker thread started without a config in workerData');
    context = createWorkerContext(data.config, `folio-${role}-thread`);
  }
  return context;
}
