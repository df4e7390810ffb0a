import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inject } from 'vitest';
import { createLogger, loadConfig, resolveInfrastructure, type Config } from '@folio/shared';
import { startStack, type Stack } from '@folio/standalone';

export const CORPUS = path.resolve(import.meta.dirname, '../../../shared/corpus');
export const corpusFile = (rel: string) => path.join(CORPUS, rel);

export interface TestStack extends Stack {
  dataDir: string;
}

/**
 * A Folio stack on the run's private Redis and s3rver, namespaced by a unique Redis prefix and
 * bucket so test files never see each other's jobs. `env` overrides any setting.
 */
export function testConfig(env: Record<string, string> = {}): Config {
  const id = randomUUID().slice(0, 8);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'folio-stack-'));
  return loadConfig({
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'silent',
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dataDir,
    REDIS_URL: inject('redisUrl'),
    REDIS_PREFIX: `t${id}`,
    S3_ENDPOINT: inject('s3Endpoint'),
    S3_BUCKET: `t-${id}`,
    S3_ACCESS_KEY_ID: 'S3RVER',
    S3_SECRET_ACCESS_KEY: 'S3RVER',
    PAGE_CONCURRENCY: '2',
    WORKER_LOCK_MS: '5000',
    ...env,
  });
}

export async function startTestStack(env: Record<string, string> = {}, opts: { logLines?: string[] } = {}): Promise<TestStack> {
  const config = testConfig(env);
  const logLines = opts.logLines;
  const logger = createLogger({
    level: logLines ? 'trace' : config.logLevel,
    name: 'test',
    ...(logLines ? { destination: { write: (line: string) => void logLines.push(line) } } : {}),
  });
  const infra = await resolveInfrastructure(config, { embedded: false, logger });
  const stack = await startStack(infra.config, { logger });
  return {
    ...stack,
    dataDir: config.dataDir,
    async close() {
      await stack.close();
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
