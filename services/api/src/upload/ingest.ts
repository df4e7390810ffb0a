import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { objectKeys, type ObjectStore } from '@folio/shared';
import { PdfIngestStream } from './pdf-ingest-stream.ts';

export interface IngestedDocument {
  key: string;
  sizeBytes: number;
  sha256: string;
}

/**
 * Streams a document into the object store under the job's source key, checking and hashing it on
 * the way. On any failure the partial object is removed and the first error is thrown.
 */
export async function ingestDocument(store: ObjectStore, jobId: string, body: Readable, maxBytes: number): Promise<IngestedDocument> {
  const key = objectKeys.source(jobId);
  const inspector = new PdfIngestStream(maxBytes);
  const piping = pipeline(body, inspector);
  try {
    await Promise.all([store.putStream(key, inspector, 'application/pdf'), piping]);
  } catch (err) {
    inspector.destroy();
    body.destroy();
    await piping.catch(() => undefined);
    await store.deletePrefix(objectKeys.jobPrefix(jobId)).catch(() => undefined);
    throw inspector.errored ?? err;
  }
  return { key, sizeBytes: inspector.bytes, sha256: inspector.sha256 };
}
