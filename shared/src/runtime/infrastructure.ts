import path from 'node:path';
import { resolveMasterKey } from '../byok/master-key.ts';
import { withOverrides, type Config } from '../config/config.ts';
import type { Logger } from '../logging/logger.ts';
import { hasRedisServerBinary, isPortOpen, startEmbeddedRedis } from '../redis/embedded-redis.ts';
import { startEmbeddedS3 } from '../storage/embedded-s3.ts';
import { ObjectStore } from '../storage/object-store.ts';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export class InfrastructureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InfrastructureError';
  }
}

export interface Infrastructure {
  config: Config;
  stop(): Promise<void>;
}

/**
 * Fills in Redis and S3 where the configuration leaves them out.
 * Redis: `REDIS_URL`, else the local default port, else (with `embedded`) a private
 * `redis-server` with its append-only file under DATA_DIR. S3: `S3_ENDPOINT`, else (with
 * `embedded`) an s3rver serving DATA_DIR/s3. Without `embedded` a missing piece is an error
 * that says what to configure or install. The BYOK master key likewise (see resolveMasterKey).
 */
export async function resolveInfrastructure(config: Config, opts: { embedded: boolean; logger: Logger }): Promise<Infrastructure> {
  const stops: Array<() => Promise<void>> = [];
  let redisUrl = config.redis.url;
  if (redisUrl === undefined) {
    if (await isPortOpen('127.0.0.1', 6379)) {
      redisUrl = DEFAULT_REDIS_URL;
      opts.logger.info({ redis: redisUrl }, 'using the Redis server on the default port');
    } else if (opts.embedded && hasRedisServerBinary()) {
      const redis = await startEmbeddedRedis({ dir: path.join(config.dataDir, 'redis'), persistent: true });
      stops.push(() => redis.stop());
      redisUrl = redis.url;
      opts.logger.info({ redis: redisUrl, dir: path.join(config.dataDir, 'redis') }, 'started a private redis-server (append-only file on)');
    } else {
      throw new InfrastructureError(
        'No Redis: set REDIS_URL, start a Redis server on 127.0.0.1:6379, or install redis-server ' +
          '(Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis) so Folio can start its own.',
      );
    }
  }

  let s3 = config.s3;
  if (s3.endpoint === undefined) {
    if (!opts.embedded) {
      throw new InfrastructureError('No object store: set S3_ENDPOINT (and S3_ACCESS_KEY_ID / S3_SECRET_ACCESS_KEY), or run `npm start` for the embedded one.');
    }
    const dir = path.join(config.dataDir, 's3');
    const embedded = await startEmbeddedS3({ dir, buckets: [config.s3.bucket] });
    stops.push(() => embedded.stop());
    s3 = { ...s3, endpoint: embedded.endpoint, accessKeyId: embedded.accessKeyId, secretAccessKey: embedded.secretAccessKey, forcePathStyle: true };
    opts.logger.info({ s3: embedded.endpoint, dir }, 'serving S3 from the embedded s3rver');
  }

  const { config: resolved } = resolveMasterKey(withOverrides(config, { redis: { url: redisUrl }, s3 }), opts.logger);
  if (resolved.s3.createBucket) {
    const store = ObjectStore.fromConfig(resolved);
    try {
      await store.ensureBucket();
    } finally {
      store.client.destroy();
    }
  }
  return {
    config: resolved,
    async stop() {
      for (const stop of stops.reverse()) await stop().catch(() => undefined);
    },
  };
}
