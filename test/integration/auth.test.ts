import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { corpusFile, startTestStack, type TestStack } from '../support/stack.ts';
import fs from 'node:fs';

const ADMIN = 'admin-token-for-tests-0123456789abcdef';
let stack: TestStack;

beforeAll(async () => {
  stack = await startTestStack({ AUTH_REQUIRED: 'true', ADMIN_TOKEN: ADMIN });
});
afterAll(async () => stack?.close());

const call = (path: string, token: string | undefined, init: RequestInit = {}) =>
  fetch(`${stack.url}${path}`, { ...init, headers: { ...(init.headers as Record<string, string>), ...(token ? { authorization: `Bearer ${token}` } : {}) } });

async function createToken(role: 'admin' | 'client', tenant: string): Promise<string> {
  const res = await call('/api/v1/auth/tokens', ADMIN, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: `${role}-${tenant}`, role, tenant }) });
  expect(res.status).toBe(201);
  return ((await res.json()) as { token: string }).token;
}

async function uploadAs(token: string): Promise<string> {
  const form = new FormData();
  form.set('file', await fs.openAsBlob(corpusFile('hostile/issue6010_1.pdf')), 'a.pdf');
  form.set('password', 'abc');
  const res = await call('/api/v1/pdf/process', token, { method: 'POST', body: form });
  expect(res.status).toBe(202);
  return ((await res.json()) as { job_id: string }).job_id;
}

describe('bearer tokens', () => {
  it('answers 401 without a token or with a wrong one, but leaves probes open', async () => {
    const none = await call('/api/v1/pdf/jobs', undefined);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toContain('Bearer');
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('unauthorized');
    expect((await call('/api/v1/pdf/jobs', 'folio_not-a-real-token-at-all')).status).toBe(401);
    expect((await call('/api/v1/pdf/jobs', undefined, { headers: { authorization: 'Basic abc' } })).status).toBe(401);
    expect((await call('/healthz', undefined)).status).toBe(200);
    expect((await call('/metrics', undefined)).status).toBe(200);
  });

  it('accepts the bootstrap admin token and shows tokens only once, stored hashed', async () => {
    const who = await call('/api/v1/auth/whoami', ADMIN);
    expect(await who.json()).toEqual({ name: 'bootstrap admin', role: 'admin', tenant: 'default' });
    const token = await createToken('client', 'acme');
    const list = await (await call('/api/v1/auth/tokens', ADMIN)).text();
    expect(list).toContain('client-acme');
    expect(list).not.toContain(token);
    // Nothing in Redis holds the token itself.
    const { redis } = stack.api.deps;
    const keys = await redis.keys(`${stack.config.redis.prefix}:auth:*`);
    for (const k of keys) {
      const type = await redis.type(k);
      const values = type === 'hash' ? Object.values(await redis.hgetall(k)) : [];
      expect(k.includes(token) || values.some((v) => v.includes(token))).toBe(false);
    }
  });

  it('keeps tenants apart: another tenant’s job is a 404, lists are per tenant', async () => {
    const a = await createToken('client', 'tenant-a');
    const b = await createToken('client', 'tenant-b');
    const jobA = await uploadAs(a);
    expect((await call(`/api/v1/pdf/jobs/${jobA}`, a)).status).toBe(200);
    expect((await call(`/api/v1/pdf/jobs/${jobA}`, b)).status).toBe(404);
    expect((await call(`/api/v1/pdf/jobs/${jobA}/result`, b)).status).toBe(404);
    expect((await call(`/api/v1/pdf/jobs/${jobA}`, b, { method: 'DELETE' })).status).toBe(404);
    const listB = (await (await call('/api/v1/pdf/jobs', b)).json()) as { jobs: Array<{ job_id: string }> };
    expect(listB.jobs.map((j) => j.job_id)).not.toContain(jobA);
    const listA = (await (await call('/api/v1/pdf/jobs', a)).json()) as { jobs: Array<{ job_id: string }> };
    expect(listA.jobs.map((j) => j.job_id)).toContain(jobA);
    const done = await (async () => {
      for (;;) {
        const j = (await (await call(`/api/v1/pdf/jobs/${jobA}`, a)).json()) as { status: string };
        if (['completed', 'failed', 'partial'].includes(j.status)) return j;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    expect(done.status).toBe('completed');
  });

  it('answers 403 when a client calls an admin endpoint', async () => {
    const c = await createToken('client', 'tenant-c');
    const res = await call('/api/v1/auth/tokens', c, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x","role":"admin","tenant":"evil"}' });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe('forbidden');
    expect((await call('/api/v1/auth/tokens', c)).status).toBe(403);
  });

  it('stops accepting a revoked token at once', async () => {
    const res = await call('/api/v1/auth/tokens', ADMIN, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'temp', role: 'client', tenant: 'temp' }) });
    const { token, id } = (await res.json()) as { token: string; id: string };
    expect((await call('/api/v1/pdf/jobs', token)).status).toBe(200);
    expect((await call(`/api/v1/auth/tokens/${id}`, ADMIN, { method: 'DELETE' })).status).toBe(200);
    expect((await call('/api/v1/pdf/jobs', token)).status).toBe(401);
  });

  it('refuses malformed token requests', async () => {
    const res = await call('/api/v1/auth/tokens', ADMIN, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"x","role":"root","tenant":"A B"}' });
    expect(res.status).toBe(400);
  });
});
