import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusFile, startTestStack, type TestStack } from '../support/stack.ts';
import { waitForJob } from '../support/client.ts';

const logs: string[] = [];
let stack: TestStack;
beforeAll(async () => {
  stack = await startTestStack({}, { logLines: logs });
});
afterAll(async () => stack?.close());

describe('logs', () => {
  it('are JSON lines that carry the request id into the job they create, and never the password', async () => {
    const form = new FormData();
    form.set('file', await fs.openAsBlob(corpusFile('born-digital/tracemonkey.pdf')), 'a.pdf');
    // An unencrypted PDF ignores the password; it must still never reach a log line.
    form.set('password', 'abc-secret-password');
    const res = await fetch(`${stack.url}/api/v1/pdf/process`, { method: 'POST', body: form, headers: { 'x-request-id': 'req-trace-4242' } });
    expect(res.headers.get('x-request-id')).toBe('req-trace-4242');
    const { job_id } = (await res.json()) as { job_id: string };
    expect((await waitForJob(stack.url, job_id)).status).toBe('completed');
    // The assemble step logs the end of the job with the request's id.
    const deadline = Date.now() + 5_000;
    let finished: Record<string, unknown> | undefined;
    while (!finished && Date.now() < deadline) {
      finished = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'job finished' && l.jobId === job_id);
      if (!finished) await new Promise((r) => setTimeout(r, 50));
    }
    expect(finished).toMatchObject({ reqId: 'req-trace-4242', status: 'completed' });
    const accepted = logs.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.msg === 'job accepted' && l.jobId === job_id);
    expect(accepted).toMatchObject({ reqId: 'req-trace-4242' });
    expect(logs.some((l) => l.includes('abc-secret-password'))).toBe(false);
  });
});
