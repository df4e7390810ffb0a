import type { Queue } from 'bullmq';
import { Gauge, type Registry } from 'prom-client';
import { SharedRead } from './collect.ts';

/** The states `folio_queue_jobs` reports (`waiting` includes prioritized jobs). */
export const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'waiting-children', 'failed', 'completed'] as const;

interface QueueSnapshot {
  /** Per queue: job counts by state, or undefined when that queue's read failed. */
  counts: Map<string, Record<string, number> | undefined>;
  workers: Map<string, number | undefined>;
}

interface Source {
  read: SharedRead<QueueSnapshot>;
}

const sourcesByRegistry = new WeakMap<Registry, Set<Source>>();

/**
 * `folio_queue_jobs{queue,state}` and `folio_workers{queue}`, read from BullMQ on each scrape
 * (`getJobCounts`, `getWorkersCount`) with a timeout: when Redis does not answer the scrape still
 * answers, with the last values. Safe to call twice on one registry (the standalone process): the
 * gauges are registered once and either set of queues serves the reads. Returns a function that
 * detaches these queues (call it before closing them).
 */
export function registerQueueMetrics(
  registry: Registry,
  queues: Record<string, Queue>,
  opts: {
    timeoutMs?: number;
    /** False while the queues' connection is down: the scrape then answers at once with the last values (no commands pile up). */
    ready?: () => boolean;
  } = {},
): () => void {
  const list = Object.values(queues);
  const source: Source = {
    read: new SharedRead(
      'queue metrics',
      async () => {
        if (opts.ready && !opts.ready()) throw new Error('redis not connected');
        const counts = new Map<string, Record<string, number> | undefined>();
        const workers = new Map<string, number | undefined>();
        await Promise.all(
          list.map(async (q) => {
            const [c, w] = await Promise.allSettled([q.getJobCounts(...QUEUE_JOB_STATES, 'prioritized'), q.getWorkersCount()]);
            counts.set(q.name, c.status === 'fulfilled' ? c.value : undefined);
            workers.set(q.name, w.status === 'fulfilled' ? w.value : undefined);
          }),
        );
        if ([...counts.values(), ...workers.values()].every((v) => v === undefined)) throw new Error('no queue answered');
        return { counts, workers };
      },
      opts,
    ),
  };
  let sources = sourcesByRegistry.get(registry);
  if (sources === undefined) {
    const set = new Set<Source>();
    sources = set;
    sourcesByRegistry.set(registry, set);
    const snapshot = async () => {
      const first = set.values().next().value;
      return first === undefined ? undefined : first.read.get();
    };
    new Gauge({
      name: 'folio_queue_jobs',
      help: 'BullMQ jobs per queue and state (waiting includes prioritized), read from Redis on each scrape; cluster-wide, so every process reports the same value.',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        const s = await snapshot();
        // A queue whose read failed keeps its last values.
        for (const [queue, c] of s?.counts ?? []) {
          if (c === undefined) continue;
          for (const state of QUEUE_JOB_STATES) {
            this.set({ queue, state }, (c[state] ?? 0) + (state === 'waiting' ? (c.prioritized ?? 0) : 0));
          }
        }
      },
    });
    new Gauge({
      name: 'folio_workers',
      help: 'BullMQ workers connected per queue (all processes), read from Redis on each scrape.',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        const s = await snapshot();
        for (const [queue, n] of s?.workers ?? []) if (n !== undefined) this.set({ queue }, n);
      },
    });
  }
  sources.add(source);
  const own = sources;
  return () => {
    own.delete(source);
  };
}
