import { createHash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from '@folio/shared';

/** How far into the file the `%PDF-` header may start (readers accept leading junk up to 1 KiB). */
const MAGIC_WINDOW = 1024;
const MAGIC = Buffer.from('%PDF-');

/**
 * Passes a document through on its way to storage while hashing it (SHA-256), counting its bytes,
 * enforcing the size limit and checking the `%PDF-` header. Nothing is forwarded until the header is
 * found, so a non-PDF never reaches the object store; memory stays at one chunk plus 1 KiB.
 */
export class PdfIngestStream extends Transform {
  readonly maxBytes: number;
  private readonly hash = createHash('sha256');
  private head: Buffer | null = Buffer.alloc(0);
  bytes = 0;

  constructor(maxBytes: number) {
    super();
    this.maxBytes = maxBytes;
  }

  get sha256(): string {
    return this.hash.copy().digest('hex');
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.maxBytes) {
      cb(new AppError('file_too_large', `The document is larger than the limit of ${this.maxBytes} bytes`));
      return;
    }
    this.hash.update(chunk);
    if (this.head === null) {
      cb(null, chunk);
      return;
    }
    this.head = Buffer.concat([this.head, chunk]);
    if (this.head.indexOf(MAGIC) !== -1) {
      const all = this.head;
      this.head = null;
      cb(null, all);
    } else if (this.head.length >= MAGIC_WINDOW + MAGIC.length) {
      cb(notPdf());
    } else {
      cb();
    }
  }

  override _flush(cb: TransformCallback): void {
    if (this.head !== null) {
      cb(this.bytes === 0 ? new AppError('unsupported_media_type', 'The file is empty') : notPdf());
      return;
    }
    cb();
  }
}

function notPdf(): AppError {
  return new AppError('unsupported_media_type', 'The file is not a PDF (no %PDF- header in its first 1024 bytes)');
}
