import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedRedis, startEmbeddedS3, type EmbeddedRedis, type EmbeddedS3 } from '@folio/shared';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
    s3Endpoint: string;
  }
}

let redis: EmbeddedRedis | undefined;
let s3: EmbeddedS3 | undefined;
let dir: string | undefined;

/**
 * Starts a private `redis-server` on a free port (never the machine's shared one) and an s3rver
 * in this process, unless REDIS_URL / S3_ENDPOINT point the tests at existing servers.
 */
export async function setup(project: TestProject): Promise<void> {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-test-'));
  const redisUrl = process.env.TEST_REDIS_URL ?? (redis = await startEmbeddedRedis({ dir: path.join(dir, 'redis'), persistent: false })).url;
  const s3Endpoint = process.env.TEST_S3_ENDPOINT ?? (s3 = await startEmbeddedS3({ dir: path.join(dir, 's3'), buckets: [] })).endpoint;
  // A run stopped by a signal skips teardown: stop the private redis-server anyway.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void redis?.stop().finally(() => process.exit(130));
    });
  }
  project.provide('redisUrl', redisUrl);
  project.provide('s3Endpoint', s3Endpoint);
}

export async function teardown(): Promise<void> {
  await s3?.stop();
  await redis?.stop();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
}
