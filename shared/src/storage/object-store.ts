import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import {
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Config } from '../config/config.ts';
import { DependencyUnavailableError, NotFoundError } from '../errors/errors.ts';

/** Multipart part size for streamed uploads: memory per upload stays near partSize × queueSize. */
const PART_SIZE = 8 * 1024 * 1024;
const UPLOAD_QUEUE_SIZE = 2;

export function createS3Client(s3: Config['s3']): S3Client {
  return new S3Client({
    region: s3.region,
    ...(s3.endpoint === undefined ? {} : { endpoint: s3.endpoint }),
    forcePathStyle: s3.forcePathStyle,
    ...(s3.accessKeyId !== undefined && s3.secretAccessKey !== undefined
      ? { credentials: { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } }
      : {}),
    // The SDK's default CRC checksums on streamed bodies are stored corrupted by some
    // S3-compatible servers (s3rver) without an error; compute them only where S3 requires them.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 3,
  });
}

/** The few object operations Folio needs, with S3 outages reported as `dependency_unavailable`. */
export class ObjectStore {
  readonly client: S3Client;
  readonly bucket: string;

  constructor(client: S3Client, bucket: string) {
    this.client = client;
    this.bucket = bucket;
  }

  static fromConfig(config: Config): ObjectStore {
    return new ObjectStore(createS3Client(config.s3), config.s3.bucket);
  }

  async ensureBucket(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }));
    } catch (err) {
      if (err instanceof S3ServiceException && err.$metadata.httpStatusCode === 404) {
        await this.guard(() => this.client.send(new CreateBucketCommand({ Bucket: this.bucket })));
        return;
      }
      throw wrapStorageError(err);
    }
  }

  /** Cheap reachability probe for readiness checks. */
  async ping(): Promise<void> {
    await this.guard(() => this.client.send(new HeadBucketCommand({ Bucket: this.bucket })));
  }

  /** Streams `body` to `key` (multipart above one part); `signal` aborts the upload. */
  async putStream(key: string, body: Readable, contentType: string, signal?: AbortSignal): Promise<void> {
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body, ContentType: contentType },
      partSize: PART_SIZE,
      queueSize: UPLOAD_QUEUE_SIZE,
      leavePartsOnError: false,
    });
    const onAbort = () => void upload.abort().catch(() => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      // An error raised by the body stream itself (bad magic, size limit) is the caller's to report.
      const bodyError = (body as Readable & { errored?: Error | null }).errored;
      if (bodyError) throw bodyError;
      throw wrapStorageError(err);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  async put(key: string, body: string | Uint8Array, contentType: string): Promise<void> {
    await this.guard(() =>
      this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: body, ContentType: contentType })),
    );
  }

  async putJson(key: string, value: unknown): Promise<void> {
    await this.put(key, JSON.stringify(value), 'application/json');
  }

  async getBytes(key: string): Promise<Uint8Array> {
    const res = await this.guard(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
    if (!res.Body) throw new NotFoundError(`Object ${key} has no body`);
    return res.Body.transformToByteArray();
  }

  async getText(key: string): Promise<string> {
    return Buffer.from(await this.getBytes(key)).toString('utf8');
  }

  async getJson<T>(key: string): Promise<T> {
    return JSON.parse(await this.getText(key)) as T;
  }

  /** Opens an object as a Node stream (for passing results through to HTTP responses). */
  async getStream(key: string): Promise<{ stream: Readable; contentLength: number | undefined }> {
    const res = await this.guard(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key })));
    if (!res.Body) throw new NotFoundError(`Object ${key} has no body`);
    return { stream: res.Body as Readable, contentLength: res.ContentLength };
  }

  /** Downloads to a file via a temporary name, so a crash never leaves a half-written file behind. */
  async downloadToFile(key: string, filePath: string): Promise<void> {
    const { stream } = await this.getStream(key);
    fs.mkdirSync(path.dirname(filePath), { recursive: true });
    const tmp = `${filePath}.${process.pid}.${Date.now()}.part`;
    try {
      await pipeline(stream, fs.createWriteStream(tmp));
      fs.renameSync(tmp, filePath);
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw wrapStorageError(err);
    }
  }

  /** Deletes every object under `prefix`; returns how many were deleted. */
  async deletePrefix(prefix: string): Promise<number> {
    let deleted = 0;
    let token: string | undefined;
    do {
      const page = await this.guard(() =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })),
      );
      const keys = (page.Contents ?? []).flatMap((o) => (o.Key === undefined ? [] : [{ Key: o.Key }]));
      if (keys.length > 0) {
        await this.guard(() =>
          this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: keys, Quiet: true } })),
        );
        deleted += keys.length;
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token !== undefined);
    return deleted;
  }

  private async guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw wrapStorageError(err);
    }
  }
}

/** A missing object; a missing bucket is a broken deployment, not a missing object. */
function isMissingObject(err: unknown): boolean {
  if (!(err instanceof S3ServiceException) || err.name === 'NoSuchBucket') return false;
  return err.name === 'NoSuchKey' || err.name === 'NotFound' || err.$metadata.httpStatusCode === 404;
}

/** S3 "no such key" becomes not_found; anything unreachable, a missing bucket or 5xx becomes dependency_unavailable. */
export function wrapStorageError(err: unknown): Error {
  if (err instanceof NotFoundError || err instanceof DependencyUnavailableError) return err;
  if (isMissingObject(err)) return new NotFoundError('Object not found');
  if (err instanceof S3ServiceException && err.name === 'NoSuchBucket') return new DependencyUnavailableError('storage', err);
  if (err instanceof S3ServiceException && (err.$metadata.httpStatusCode ?? 500) < 500) return err;
  return new DependencyUnavailableError('storage', err);
}
