import { createHash } from 'node:crypto';
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { writeAtomic } from './files.ts';

export const STATE_FILE = '.folio-state.json';

/** What a finished file left: enough to skip it next time and still report it in the summary. */
export interface FileRecord {
  file: string;
  key: string;
  job_id: string | null;
  status: 'completed' | 'partial' | 'failed' | 'cancelled';
  pages: number;
  pages_failed: number;
  engines: Record<string, number>;
  cost_usd: number;
  outputs: string[];
  error: { code: string; message: string } | null;
  finished_at: string;
}

export interface IngestState {
  version: 1;
  files: Record<string, FileRecord>;
}

/** sha256 of a file's content, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/**
 * The resume key of a file: its content hash and the processing options (sorted, so flag order
 * does not matter). Sent as the `Idempotency-Key` header and used as the state's key.
 */
export function resumeKey(sha256: string, options: Record<string, unknown>): string {
  const canonical = JSON.stringify(Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined).sort(([a], [b]) => a.localeCompare(b))));
  const optHash = createHash('sha256').update(canonical).digest('hex').slice(0, 16);
  return `folio-${sha256}-${optHash}`;
}

export async function loadState(outDir: string): Promise<IngestState> {
  const raw = await fsp.readFile(path.join(outDir, STATE_FILE), 'utf8').catch(() => null);
  if (raw === null) return { version: 1, files: {} };
  try {
    const parsed = JSON.parse(raw) as IngestState;
    if (parsed.version === 1 && typeof parsed.files === 'object' && parsed.files !== null) return parsed;
  } catch {
    // A damaged state file: start over (the Idempotency-Key still avoids duplicate jobs).
  }
  return { version: 1, files: {} };
}

/** Saves the state; calls are serialised so concurrent finishes never interleave writes. */
export class StateWriter {
  #chain: Promise<void> = Promise.resolve();
  readonly outDir: string;
  readonly state: IngestState;
  constructor(outDir: string, state: IngestState) {
    this.outDir = outDir;
    this.state = state;
  }
  record(rec: FileRecord): Promise<void> {
    this.state.files[rec.key] = rec;
    const json = `${JSON.stringify(this.state, null, 2)}\n`;
    this.#chain = this.#chain.then(() => writeAtomic(path.join(this.outDir, STATE_FILE), json));
    return this.#chain;
  }
}
