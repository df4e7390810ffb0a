import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';

/**
 * Expands the CLI's inputs into PDF files: a directory gives every `*.pdf` under it (recursively,
 * any case), a file itself, anything else is a glob (`fs.glob`, Node ≥ 22). Absolute paths,
 * deduplicated, sorted. Inputs that match nothing are returned in `missing`.
 */
export async function expandInputs(inputs: string[], cwd: string = process.cwd()): Promise<{ files: string[]; missing: string[] }> {
  const found = new Set<string>();
  const missing: string[] = [];
  for (const input of inputs) {
    const abs = path.resolve(cwd, input);
    const stat = await fsp.stat(abs).catch(() => null);
    if (stat?.isDirectory()) {
      const before = found.size;
      for (const f of await walkPdfs(abs)) found.add(f);
      if (found.size === before) missing.push(input);
    } else if (stat?.isFile()) {
      found.add(abs);
    } else {
      let n = 0;
      for await (const match of fsp.glob(input, { cwd })) {
        const m = path.resolve(cwd, match);
        if ((await fsp.stat(m).catch(() => null))?.isFile() && /\.pdf$/i.test(m)) {
          found.add(m);
          n++;
        }
      }
      if (n === 0) missing.push(input);
    }
  }
  return { files: [...found].sort(), missing };
}

async function walkPdfs(dir: string): Promise<string[]> {
  const out: string[] = [];
  const entries = await fsp.readdir(dir, { withFileTypes: true, recursive: true });
  for (const e of entries) {
    if (e.isFile() && /\.pdf$/i.test(e.name)) out.push(path.join(e.parentPath, e.name));
  }
  return out;
}

/**
 * Output base names (without extension), one per file: the file's name without `.pdf`; names that
 * several inputs share get the first 8 hex digits of their content hash, so they never overwrite
 * each other and stay the same from run to run.
 */
export function outputNames(files: Array<{ path: string; sha256: string }>): Map<string, string> {
  const base = (p: string) => path.basename(p).replace(/\.pdf$/i, '').replace(/[^\w.\- ]+/g, '_') || 'document';
  const counts = new Map<string, number>();
  for (const f of files) counts.set(base(f.path).toLowerCase(), (counts.get(base(f.path).toLowerCase()) ?? 0) + 1);
  const names = new Map<string, string>();
  for (const f of files) {
    const b = base(f.path);
    names.set(f.path, (counts.get(b.toLowerCase()) ?? 0) > 1 ? `${b}-${f.sha256.slice(0, 8)}` : b);
  }
  return names;
}

/** Writes a file atomically (temporary file, then rename): an interrupted run never leaves half a result. */
export async function writeAtomic(file: string, data: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, data);
  await fsp.rename(tmp, file);
}

export const exists = (p: string) => fs.existsSync(p);
