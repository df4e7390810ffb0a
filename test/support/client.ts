import fs from 'node:fs';
import path from 'node:path';

export interface JobView {
  job_id: string;
  status: string;
  progress: { pages_total: number | null; pages_done: number; pages_failed: number; percent: number };
  error: { code: string; message: string } | null;
  [k: string]: unknown;
}

/** Uploads a file from disk as multipart `file` (streamed from disk by fetch). */
export async function upload(base: string, file: string, fields: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.set('file', await fs.openAsBlob(file, { type: 'application/pdf' }), path.basename(file));
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return fetch(`${base}/api/v1/pdf/process`, { method: 'POST', body: form, headers });
}

export async function uploadBytes(base: string, bytes: Uint8Array | string, filename = 'doc.pdf', fields: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.set('file', new Blob([typeof bytes === 'string' ? bytes : new Uint8Array(bytes)], { type: 'application/pdf' }), filename);
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return fetch(`${base}/api/v1/pdf/process`, { method: 'POST', body: form });
}

export async function getJob(base: string, id: string): Promise<JobView> {
  const res = await fetch(`${base}/api/v1/pdf/jobs/${id}`);
  if (res.status !== 200) throw new Error(`GET job ${id}: ${res.status} ${await res.text()}`);
  return (await res.json()) as JobView;
}

const TERMINAL = new Set(['completed', 'partial', 'failed', 'cancelled']);

/** Polls until the job is terminal (or `timeoutMs` passes, which throws). */
export async function waitForJob(base: string, id: string, timeoutMs = 60_000): Promise<JobView> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const job = await getJob(base, id);
    if (TERMINAL.has(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function submitAndWait(base: string, file: string, fields: Record<string, string> = {}, timeoutMs = 240_000): Promise<JobView> {
  const res = await upload(base, file, fields);
  if (res.status !== 202) throw new Error(`upload ${file}: ${res.status} ${await res.text()}`);
  const { job_id } = (await res.json()) as { job_id: string };
  return waitForJob(base, job_id, timeoutMs);
}

export async function result(base: string, id: string, format: 'json' | 'text' | 'markdown' = 'json'): Promise<Response> {
  return fetch(`${base}/api/v1/pdf/jobs/${id}/result?format=${format}`);
}
