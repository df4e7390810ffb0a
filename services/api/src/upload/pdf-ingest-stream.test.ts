import { createHash } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { AppError } from '@folio/shared';
import { PdfIngestStream } from './pdf-ingest-stream.ts';

async function run(chunks: Buffer[], maxBytes = 1_000_000): Promise<{ out: Buffer; stream: PdfIngestStream }> {
  const stream = new PdfIngestStream(maxBytes);
  const parts: Buffer[] = [];
  await pipeline(Readable.from(chunks), stream, new Writable({ write(c: Buffer, _e, cb) { parts.push(c); cb(); } }));
  return { out: Buffer.concat(parts), stream };
}

describe('PdfIngestStream', () => {
  it('passes a PDF through unchanged, with its size and SHA-256', async () => {
    const body = Buffer.from('%PDF-1.7\n' + 'x'.repeat(5000));
    const { out, stream } = await run([body.subarray(0, 3), body.subarray(3, 700), body.subarray(700)]);
    expect(out.equals(body)).toBe(true);
    expect(stream.bytes).toBe(body.length);
    expect(stream.sha256).toBe(createHash('sha256').update(body).digest('hex'));
  });

  it('accepts junk before the header within the first KiB', async () => {
    const body = Buffer.concat([Buffer.alloc(500, 0x20), Buffer.from('%PDF-1.4 rest')]);
    const { out } = await run([body]);
    expect(out.equals(body)).toBe(true);
  });

  it('refuses a file without the header in its first KiB, forwarding nothing', async () => {
    const stream = new PdfIngestStream(1_000_000);
    const forwarded: Buffer[] = [];
    const p = pipeline(Readable.from([Buffer.alloc(2000, 0x41)]), stream, new Writable({ write(c: Buffer, _e, cb) { forwarded.push(c); cb(); } }));
    await expect(p).rejects.toMatchObject({ code: 'unsupported_media_type' });
    expect(forwarded).toHaveLength(0);
  });

  it('refuses an empty file and a short non-PDF', async () => {
    await expect(run([])).rejects.toMatchObject({ code: 'unsupported_media_type', message: 'The file is empty' });
    await expect(run([Buffer.from('hello')])).rejects.toBeInstanceOf(AppError);
  });

  it('stops with file_too_large as soon as the limit is passed', async () => {
    const chunk = Buffer.concat([Buffer.from('%PDF-1.7\n'), Buffer.alloc(991)]);
    await expect(run([chunk, chunk], 1500)).rejects.toMatchObject({ code: 'file_too_large' });
    await expect(run([chunk], 1000)).resolves.toBeDefined();
  });
});
