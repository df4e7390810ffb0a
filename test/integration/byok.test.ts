import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateMasterKey } from '@folio/shared';
import { startTestStack, type TestStack } from '../support/stack.ts';
import { startFakeProvider, type FakeProvider } from '../support/fake-providers.ts';

const ADMIN = 'admin-token-for-byok-tests-0123456789';
const V1 = `v1:${generateMasterKey()}`;
const V2 = `v2:${generateMasterKey()}`;
// Looks like a real key, long and distinctive, so any leak of it (or most of it) is findable.
const KEY = 'sk-proj-FOLIOTESTkey7Qm2xV9pL4nR8sW1yB6cD3fG5hJ0kZ';
const KEY2 = 'sk-proj-FOLIOSECONDkey2Wq8eR4tY6uI1oP3aS5dF7gH9jKL';

let accepted: string[] = [];
let fake: FakeProvider;

const env = (keyring: string, prefix: string) => ({ AUTH_REQUIRED: 'true', ADMIN_TOKEN: ADMIN, BYOK_ENCRYPTION_KEY: keyring, REDIS_PREFIX: prefix, S3_BUCKET: `b-${prefix}` });

function client(stack: TestStack, responses: string[]) {
  return async (method: string, path: string, body?: unknown, token = ADMIN) => {
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    responses.push(`${res.status} ${[...res.headers].map(([k, v]) => `${k}:${v}`).join(' ')} ${text}`);
    return { status: res.status, body: text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };
}

beforeAll(async () => {
  fake = await startFakeProvider(() => accepted);
});
afterAll(async () => fake?.close());

describe('the BYOK key store', () => {
  const prefix = `byok${Date.now() % 100000}`;
  const logs: string[] = [];
  const responses: string[] = [];
  let stack: TestStack;

  afterAll(async () => stack?.close());

  it('runs a full key lifecycle — store, use, replace, rotate the master key, fail with the provider, delete — and the key appears in no log line, response, audit entry or Redis value', async () => {
    stack = await startTestStack(env(V1, prefix), { logLines: logs });
    const api = client(stack, responses);
    accepted = [KEY];
    expect((await api('PATCH', '/api/ai/providers/openai', { base_url: `${fake.url}/v1` })).status).toBe(200);

    // Store: 201 with fingerprint and last 4 only.
    const stored = await api('POST', '/api/ai/providers/openai/keys', { api_key: KEY, key_name: 'main', environment: 'production' });
    expect(stored.status).toBe(201);
    expect(stored.body).toMatchObject({ provider: 'openai', key_name: 'main', environment: 'production', status: 'active', last4: KEY.slice(-4) });
    expect(stored.body.fingerprint).toMatch(/^sha256:[0-9a-f]{16}$/);

    // Use: the key goes to the provider in the Authorization header, never in a URL.
    const used = await api('POST', '/api/ai/providers/openai/keys/main/verify');
    expect(used.body).toMatchObject({ ok: true, models: 1 });
    expect(fake.requests.at(-1)).toMatchObject({ path: '/v1/models', authorization: `Bearer ${KEY}` });
    expect(fake.requests.every((r) => !r.path.includes(KEY))).toBe(true);

    // Replace: the old key stays usable (as `previous`) until revoked.
    const replaced = await api('POST', '/api/ai/providers/openai/keys', { api_key: KEY2, key_name: 'main', environment: 'production' });
    expect(replaced.body).toMatchObject({ last4: KEY2.slice(-4), previous: { last4: KEY.slice(-4) } });

    // Rotate the master key: a new API process with `v2,v1` reads everything, then re-wraps.
    await stack.close();
    stack = await startTestStack(env(`${V2},${V1}`, prefix), { logLines: logs });
    const api2 = client(stack, responses);
    accepted = [KEY2];
    expect((await api2('POST', '/api/ai/providers/openai/keys/main/verify')).body).toMatchObject({ ok: true });
    const rewrap = await api2('POST', '/api/ai/keys/rewrap');
    expect(rewrap.body).toMatchObject({ master_key_version: 'v2', wrapped_under: { v2: 1 } });
    expect(rewrap.body.rewrapped).toBe(1);
    // …after which v1 can be dropped.
    await stack.close();
    stack = await startTestStack(env(V2, prefix), { logLines: logs });
    const api3 = client(stack, responses);

    // Fail with the provider: the provider rejects the key and echoes it; Folio marks it invalid
    // and repeats none of the provider's text.
    accepted = [];
    const failed = await api3('POST', '/api/ai/providers/openai/keys/main/verify');
    expect(failed.body).toMatchObject({ ok: false, reason: 'rejected', status: 401, key: { status: 'invalid' } });
    const health = await api3('GET', '/api/ai/health');
    expect(health.body.invalid_keys).toEqual([{ provider: 'openai', key_name: 'main' }]);

    // Revoke the previous key, then delete.
    expect((await api3('DELETE', '/api/ai/providers/openai/keys/main?previous=true')).status).toBe(200);
    expect((await api3('DELETE', '/api/ai/providers/openai/keys/main')).status).toBe(200);
    expect((await api3('GET', '/api/ai/providers/openai/keys/main')).status).toBe(404);

    // Every key operation was audited: who, what, which key by name and fingerprint.
    const audit = (await api3('GET', '/api/ai/audit')).body.entries as Array<{ action: string; actor: string; key_name: string; fingerprint?: string }>;
    expect(audit.map((e) => e.action).reverse()).toEqual([
      'key.created',
      'key.verified',
      'key.replaced',
      'key.verified',
      'master_key.rewrapped',
      'key.marked_invalid',
      'key.previous_revoked',
      'key.deleted',
    ]);
    expect(audit.every((e) => e.actor === 'bootstrap admin')).toBe(true);
    expect(audit.find((e) => e.action === 'key.created')?.fingerprint).toBe(stored.body.fingerprint);

    // Now look for the keys everywhere.
    const redis = stack.api.deps.redis;
    const dump: string[] = [];
    for (const k of await redis.keys(`${prefix}:*`)) {
      const t = await redis.type(k);
      if (t === 'hash') dump.push(k, ...Object.values(await redis.hgetall(k)));
      else if (t === 'string') dump.push(k, (await redis.get(k)) ?? '');
      else if (t === 'stream') dump.push(k, JSON.stringify(await redis.xrange(k, '-', '+')));
      else if (t === 'set') dump.push(k, ...(await redis.smembers(k)));
    }
    expect(logs.length).toBeGreaterThan(10);
    expect(responses.length).toBeGreaterThan(10);
    for (const secret of [KEY, KEY2]) {
      // The whole key, and the key without its last four characters (which are shown on purpose).
      for (const needle of [secret, secret.slice(0, -4), secret.slice(8, -4)]) {
        for (const [where, haystack] of [['logs', logs], ['responses', responses], ['redis', dump]] as const) {
          const hit = haystack.find((line) => line.includes(needle));
          expect(hit, `${where} contains the key`).toBeUndefined();
        }
      }
    }
  }, 120_000);
});

describe('stored ciphertexts', () => {
  let stack: TestStack;
  const prefix = `byokt${Date.now() % 100000}`;
  beforeAll(async () => {
    stack = await startTestStack(env(V1, prefix));
  });
  afterAll(async () => stack?.close());
  const api = (m: string, p: string, b?: unknown) => client(stack, [])(m, p, b);

  it('refuses a ciphertext copied to another record, and a tampered one, without using it', async () => {
    accepted = [KEY, KEY2];
    await api('PATCH', '/api/ai/providers/openai', { base_url: `${fake.url}/v1` });
    await api('POST', '/api/ai/providers/openai/keys', { api_key: KEY, key_name: 'a' });
    await api('POST', '/api/ai/providers/openai/keys', { api_key: KEY2, key_name: 'b' });
    const redis = stack.api.deps.redis;
    const recA = `${prefix}:byok:key:default:openai:a`;
    const recB = `${prefix}:byok:key:default:openai:b`;
    const before = fake.requests.length;

    // Copy a's ciphertext into b: bound to (tenant, provider, key name), it does not decrypt as b.
    await redis.hset(recB, 'ciphertext', (await redis.hget(recA, 'ciphertext'))!);
    const copied = await api('POST', '/api/ai/providers/openai/keys/b/verify');
    expect(copied.status).toBe(500);
    expect((copied.body.error as { code: string }).code).toBe('key_decryption_failed');

    // Flip one character of a's ciphertext: detected, never decrypted to garbage.
    const ct = (await redis.hget(recA, 'ciphertext'))!;
    const last = ct.at(-2) === 'A' ? 'B' : 'A';
    await redis.hset(recA, 'ciphertext', `${ct.slice(0, -2)}${last}${ct.at(-1)}`);
    const tampered = await api('POST', '/api/ai/providers/openai/keys/a/verify');
    expect((tampered.body.error as { code: string }).code).toBe('key_decryption_failed');

    // Neither reached the provider, and both failures are in the audit log.
    expect(fake.requests.length).toBe(before);
    const audit = (await api('GET', '/api/ai/audit')).body.entries as Array<{ action: string; key_name: string }>;
    expect(audit.filter((e) => e.action === 'key.decryption_failed').map((e) => e.key_name).sort()).toEqual(['a', 'b']);
  });

  it('stores nothing of the key in clear but its fingerprint and last four characters', async () => {
    await api('POST', '/api/ai/providers/anthropic/keys', { api_key: KEY, key_name: 'c', environment: 'staging' });
    const rec = await stack.api.deps.redis.hgetall(`${prefix}:byok:key:default:anthropic:c`);
    expect(rec.ciphertext).toMatch(/^sk1\.d1\./);
    expect(Object.values(rec).some((v) => v.includes(KEY.slice(0, -4)))).toBe(false);
    expect(rec.last4).toBe(KEY.slice(-4));
  });

  it('uses the Anthropic SDK for anthropic keys, the key in a header', async () => {
    await api('PATCH', '/api/ai/providers/anthropic', { base_url: fake.url });
    const r = await api('POST', '/api/ai/providers/anthropic/keys/c/verify');
    expect(r.body).toMatchObject({ ok: true });
    const seen = fake.requests.at(-1)!;
    expect(seen.userAgent).toMatch(/^Anthropic\/JS/);
    expect(seen.path).toMatch(/^\/v1\/models/);
    expect(seen.path).not.toContain(KEY);
    expect([seen.apiKeyHeader, seen.authorization]).toContainEqual(expect.stringContaining(KEY));
  });

  it('keeps tenants’ keys apart and keeps clients off key endpoints', async () => {
    const mk = await api('POST', '/api/v1/auth/tokens', { name: 'other', role: 'admin', tenant: 'other' });
    const otherAdmin = mk.body.token as string;
    const mkc = await api('POST', '/api/v1/auth/tokens', { name: 'c', role: 'client', tenant: 'default' });
    const clientToken = mkc.body.token as string;
    const asOther = client(stack, []);
    const list = await asOther('GET', '/api/ai/providers/openai/keys', undefined, otherAdmin);
    expect(list.body.keys).toEqual([]);
    expect((await asOther('GET', '/api/ai/providers/openai/keys/a', undefined, otherAdmin)).status).toBe(404);
    expect((await asOther('GET', '/api/ai/providers/openai/keys', undefined, clientToken)).status).toBe(403);
    expect((await asOther('POST', '/api/ai/providers/openai/keys', { api_key: KEY }, clientToken)).status).toBe(403);
    expect((await asOther('GET', '/api/ai/providers', undefined, clientToken)).status).toBe(200);
    expect((await client(stack, [])('GET', '/api/ai/providers', undefined, 'folio_wrong_token_value_123')).status).toBe(401);
  });

  it('lists the catalog with status, capabilities and key presence, and the PDF-capable providers', async () => {
    const all = await api('GET', '/api/ai/providers');
    const providers = all.body.providers as Array<{ id: string; status: string; capabilities: string[]; has_keys: boolean }>;
    expect(providers.map((p) => p.id).sort()).toEqual(['anthropic', 'azure_openai', 'deepseek', 'google_gemini', 'huggingface', 'openai', 'openai_compatible', 'tesseract', 'text_layer']);
    expect(providers.find((p) => p.id === 'openai')).toMatchObject({ has_keys: true });
    expect(providers.find((p) => p.id === 'deepseek')).toMatchObject({ status: 'needs_key', has_keys: false });
    expect(providers.find((p) => p.id === 'tesseract')).toMatchObject({ status: 'ready' });
    expect(all.body.totals).toMatchObject({ providers: 9 });
    const pdf = (await api('GET', '/api/ai/pdf/providers')).body.providers as Array<{ id: string }>;
    expect(pdf.map((p) => p.id)).not.toContain('deepseek');
    expect(pdf.map((p) => p.id)).toContain('tesseract');
    expect((await api('GET', '/api/ai/providers/nope')).status).toBe(404);
    expect((await api('POST', '/api/ai/providers/tesseract/keys', { api_key: 'whatever-key' })).status).toBe(400);
    expect((await api('POST', '/api/ai/providers/openai/keys', { api_key: 'x' })).status).toBe(400);
  });
});

describe('keys from the environment', () => {
  it('are the fallback after stored keys, and `npm run keys:import-env` moves them into the store', async () => {
    const prefix = `byoke${Date.now() % 100000}`;
    const stack = await startTestStack(env(V1, prefix));
    try {
      const { keys } = stack.api.deps;
      expect(await keys.usableKeys('default', 'openai', 'development', KEY)).toEqual([{ source: 'env', keyName: 'env', which: 'current', fingerprint: expect.stringMatching(/^sha256:/) }]);

      const { spawnSync } = await import('node:child_process');
      const path = await import('node:path');
      const root = path.resolve(import.meta.dirname, '../..');
      const r = spawnSync(process.execPath, ['services/api/src/cli/import-env-keys.ts'], {
        cwd: root,
        encoding: 'utf8',
        timeout: 60_000,
        env: { PATH: process.env.PATH ?? '', REDIS_URL: stack.config.redis.url!, REDIS_PREFIX: prefix, S3_ENDPOINT: stack.config.s3.endpoint!, S3_BUCKET: stack.config.s3.bucket, S3_ACCESS_KEY_ID: 'S3RVER', S3_SECRET_ACCESS_KEY: 'S3RVER', BYOK_ENCRYPTION_KEY: V1, OPENAI_API_KEY: KEY, ANTHROPIC_API_KEY: KEY2, DATA_DIR: stack.dataDir },
      });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain('openai: stored as default/env-import (development)');
      expect(r.stdout + r.stderr).not.toContain(KEY.slice(0, -4));

      const refs = await keys.usableKeys('default', 'openai', 'development', KEY);
      expect(refs.map((k) => k.source)).toEqual(['stored', 'env']);
      expect((await keys.reveal('default', 'anthropic', 'env-import', 'test')).reveal()).toBe(KEY2);
      // Keys of another environment are not used by this deployment.
      expect(await keys.usableKeys('default', 'openai', 'production', undefined)).toEqual([]);
    } finally {
      await stack.close();
    }
  });
});
