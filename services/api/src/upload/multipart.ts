import type { Request, Response } from 'express';
import multer, { type StorageEngine } from 'multer';
import type { ObjectStore } from '@folio/shared';
import { ingestDocument, type IngestedDocument } from './ingest.ts';

export interface UploadedPdf extends IngestedDocument {
  filename: string;
}

/** A multer storage engine that streams the `file` part straight into the object store. */
class ObjectStoreEngine implements StorageEngine {
  private readonly store: ObjectStore;
  private readonly jobId: string;
  private readonly maxBytes: number;

  constructor(store: ObjectStore, jobId: string, maxBytes: number) {
    this.store = store;
    this.jobId = jobId;
    this.maxBytes = maxBytes;
  }

  _handleFile(_req: Request, file: Express.Multer.File, cb: (error?: unknown, info?: Partial<Express.Multer.File>) => void): void {
    ingestDocument(this.store, this.jobId, file.stream, this.maxBytes).then(
      (doc) => cb(null, { size: doc.sizeBytes, path: doc.key, destination: doc.sha256 } as Partial<Express.Multer.File>),
      (err: unknown) => cb(err),
    );
  }

  _removeFile(_req: Request, file: Express.Multer.File, cb: (error: Error | null) => void): void {
    this.store.deletePrefix(file.path.replace(/source\.pdf$/, '')).then(() => cb(null), (err: Error) => cb(err));
  }
}

/**
 * Parses a multipart request whose `file` part is the PDF, streaming it to storage (never buffered
 * whole). Other parts are option fields, available in `req.body` afterwards.
 */
export async function receiveMultipartPdf(req: Request, res: Response, opts: { store: ObjectStore; jobId: string; maxBytes: number }): Promise<UploadedPdf | undefined> {
  const upload = multer({
    storage: new ObjectStoreEngine(opts.store, opts.jobId, opts.maxBytes),
    // Our stream enforces the exact byte limit with a clear code; multer's is a backstop.
    limits: { fileSize: opts.maxBytes + 1, files: 1, fields: 50, fieldSize: 64 * 1024, parts: 60 },
  }).single('file');
  await new Promise<void>((resolve, reject) => upload(req, res, (err?: unknown) => (err ? reject(err) : resolve())));
  const f = req.file;
  if (f === undefined) return undefined;
  return { key: f.path, sizeBytes: f.size, sha256: f.destination, filename: f.originalname };
}
