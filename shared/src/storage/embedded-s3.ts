import fs from 'node:fs';
import { createRequire } from 'node:module';
import type { Server } from 'node:http';

export interface EmbeddedS3 {
  readonly endpoint: string;
  /** s3rver accepts exactly this key pair. */
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  stop(): Promise<void>;
}

interface S3rverInstance {
  run(): Promise<{ port: number }>;
  httpServer?: Server;
  close(): Promise<void>;
}
type S3rverCtor = new (options: Record<string, unknown>) => S3rverInstance;

/**
 * Serves the S3 API from a directory with s3rver: the embedded default when no S3_ENDPOINT is
 * configured, and the object store of the integration tests. Loopback only.
 */
export async function startEmbeddedS3(options: { dir: string; port?: number; buckets: string[] }): Promise<EmbeddedS3> {
  fs.mkdirSync(options.dir, { recursive: true });
  // s3rver is CommonJS without types; load it lazily so production images without it still start.
  const S3rver = createRequire(import.meta.url)('s3rver') as S3rverCtor;
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: options.dir,
    silent: true,
    configureBuckets: options.buckets.map((name) => ({ name })),
    vhostBuckets: false,
  });
  const { port } = await server.run();
  return {
    endpoint: `http://127.0.0.1:${port}`,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    async stop() {
      // Keep-alive sockets from SDK clients would otherwise hold close() open.
      server.httpServer?.closeAllConnections();
      await server.close();
    },
  };
}
