import { Queue, type ConnectionOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { QUEUE_NAMES, defaultJobOptions, type QueueName } from './catalog.ts';

export type Queues = Record<keyof typeof QUEUE_NAMES, Queue>;

/** The producer side of every queue, sharing one connection. */
export function createQueues(connection: Redis, prefix: string, attempts: number): Queues {
  const make = (name: QueueName) => {
    const queue = new Queue(name, {
      connection: connection as ConnectionOptions,
      prefix,
      defaultJobOptions: defaultJobOptions(attempts),
      // Fail fast in request paths instead of waiting for a connection that may not come.
      skipWaitingForReady: true,
    });
    // Connection errors are logged by the connection's own listener (createRedis); without a
    // listener here BullMQ would print each one.
    queue.on('error', () => undefined);
    return queue;
  };
  return {
    plan: make(QUEUE_NAMES.plan),
    pages: make(QUEUE_NAMES.pages),
    ocr: make(QUEUE_NAMES.ocr),
    assemble: make(QUEUE_NAMES.assemble),
    maintenance: make(QUEUE_NAMES.maintenance),
    webhooks: make(QUEUE_NAMES.webhooks),
  };
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.allSettled(Object.values(queues).map((q) => q.close()));
}
