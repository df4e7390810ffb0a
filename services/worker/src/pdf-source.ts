import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { objectKeys, openPdf, type ObjectStore, type OpenPdf } from '@folio/shared';

/**
 * Where page workers get a job's PDF: an open document kept in memory for the next chunk of the
 * same file, else a local file cache by content hash, else S3. Bytes from S3 are checked against
 * the SHA-256 recorded at upload, so a corrupted copy is never parsed.
 *
 * One instance per worker thread; a thread processes one job at a time, so closing an evicted
 * document never pulls it from under another job.
 */
export class PdfSource {
  private readonly store: ObjectStore;
  private readonly cacheDir: string;
  private readonly cacheBytes: number;
  private readonly open = new Map<string, OpenPdf>();
  private readonly maxOpen: number;
  private readonly maxImagePixels: number | undefined;

  constructor(deps: { store: ObjectStore; cacheDir: string; cacheBytes: number; maxOpen?: number; maxImagePixels?: number }) {
    this.maxImagePixels = deps.maxImagePixels;
    this.store = deps.store;
    this.cacheDir = deps.cacheDir;
    this.cacheBytes = deps.cacheBytes;
    this.maxOpen = deps.maxOpen ?? 2;
  }

  async get(jobId: string, sha256: string, password: string | undefined): Promise<OpenPdf> {
    // The password is part of the identity: the same bytes opened without it must fail again.
    const id = `${sha256}:${password === undefined ? '' : createHash('sha256').update(password).digest('hex')}`;
    const hit = this.open.get(id);
    if (hit) {
      this.open.delete(id);
      this.open.set(id, hit); // most recently used last
      return hit;
    }
    const bytes = await this.bytes(jobId, sha256);
    const pdf = await openPdf(bytes, password, this.maxImagePixels === undefined ? {} : { maxImagePixels: this.maxImagePixels });
    this.open.set(id, pdf);
    while (this.open.size > this.maxOpen) {
      const [oldId, old] = this.open.entries().next().value as [string, OpenPdf];
      this.open.delete(oldId);
      await old.close().catch(() => undefined);
    }
    return pdf;
  }

  async closeAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    await Promise.allSettled(all.map((p) => p.close()));
  }

  private async bytes(jobId: string, sha256: string): Promise<Uint8Array> {
    const file = path.join(this.cacheDir, `${sha256}.pdf`);
    if (this.cacheBytes > 0) {
      try {
        const data = new Uint8Array(await fs.promises.readFile(file));
        const now = new Date();
        await fs.promises.utimes(file, now, now).catch(() => undefined);
        return data;
      } catch {
        // not cached yet
      }
    }
    const data = await this.store.getBytes(objectKeys.source(jobId));
    const actual = createHash('sha256').update(data).digest('hex');
    if (actual !== sha256) {
      // Transient by assumption (a partial read): thrown, so the job is retried.
      throw new Error(`Stored PDF of job ${jobId} does not match its SHA-256 (${actual.slice(0, 12)}… ≠ ${sha256.slice(0, 12)}…)`);
    }
    if (this.cacheBytes > 0 && data.byteLength <= this.cacheBytes) {
      await this.cache(file, data).catch(() => undefined);
    }
    return data;
  }

  /** Writes via a temporary name, then trims the cache to its byte budget, oldest first. */
  private async cache(file: string, data: Uint8Array): Promise<void> {
    await fs.promises.mkdir(this.cacheDir, { recursive: true });
    const tmp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.part`;
    await fs.promises.writeFile(tmp, data);
    await fs.promises.rename(tmp, file);
    const entries = await Promise.all(
      (await fs.promises.readdir(this.cacheDir))
        .filter((n) => n.endsWith('.pdf'))
        .map(async (n) => {
          const p = path.join(this.cacheDir, n);
          const st = await fs.promises.stat(p).catch(() => null);
          return st ? { p, size: st.size, mtime: st.mtimeMs } : null;
        }),
    );
    const files = entries.filter((e) => e !== null).sort((a, b) => a.mtime - b.mtime);
    let total = files.reduce((s, f) => s + f.size, 0);
    for (const f of files) {
      if (total <= this.cacheBytes) break;
      if (f.p === file) continue;
      await fs.promises.rm(f.p, { force: true });
      total -= f.size;
    }
  }
}
