import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../logging/logger.ts';

/**
 * `worker`: blocking BullMQ connections; commands wait for a reconnect instead of failing
 * (BullMQ requires `maxRetriesPerRequest: null`).
 * `producer`: the API's connections; a command fails after one reconnect attempt while Redis is
 * down, so that a request answers 503 quickly instead of hanging.
 */
export type RedisPreset = 'worker' | 'producer';

export function createRedis(url: string, preset: RedisPreset, logger: Logger, name: string = preset): Redis {
  const options: RedisOptions =
    preset === 'worker'
      ? { maxRetriesPerRequest: null, enableReadyCheck: true }
      : // The offline queue stays on so start-up does not race the first connect; while Redis is
        // down, queued commands fail after one reconnect attempt instead of waiting.
        { maxRetriesPerRequest: 1, enableOfflineQueue: true, connectTimeout: 5_000 };
  const redis = new Redis(url, {
    ...options,
    connectionName: `folio-${name}`,
    // Back off up to 2 s between reconnects; never give up (a restarted Redis comes back).
    retryStrategy: (times) => Math.min(times * 100, 2_000),
  });
  let lastLogged = 0;
  // Without a listener ioredis reports every failed reconnect as an unhandled 'error' event.
  redis.on('error', (err: Error) => {
    const now = Date.now();
    if (now - lastLogged > 10_000) {
      lastLogged = now;
      logger.warn({ err: err.message, connection: name }, 'redis connection error');
    }
  });
  return redis;
}

/** True for the errors ioredis raises when the server is unreachable (as opposed to a command error). */
export function isRedisUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const m = err.message;
  return (
    m.includes("Stream isn't writeable") ||
    m.includes('Connection is closed') ||
    m.includes('ECONNREFUSED') ||
    m.includes('ETIMEDOUT') ||
    m.includes('Reached the max retries per request') ||
    m.includes('connect ECONN') ||
    err.name === 'MaxRetriesPerRequestError'
  );
}
