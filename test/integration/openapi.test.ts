import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import formats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '@folio/api';
import { corpusFile, startTestStack, type TestStack } from '../support/stack.ts';

/**
 * The OpenAPI document against the running service: every real response below is validated
 * against the schema the document gives for its path, method, status and media type; every
 * request body and query parameter sent must be documented (and valid, unless the request is
 * meant to fail validation). The last tests check that the express app serves no route the
 * document misses, and that every documented operation was exercised here.
 */

// Loose views of the served document: only what the test reads.
type Schema = Record<string, unknown>;
interface Media {
  schema: Schema;
}
interface Resp {
  description: string;
  content?: Record<string, Media>;
}
interface Param {
  name: string;
  in: string;
  schema: Schema;
}
interface Op {
  operationId: string;
  parameters?: Array<Param | { $ref: string }>;
  requestBody?: { content: Record<string, Media> };
  responses: Record<string, Resp | { $ref: string }>;
}
interface Doc {
  openapi: string;
  paths: Record<string, Record<string, Op>>;
  components: { schemas: Record<string, Schema>; responses: Record<string, Resp>; parameters: Record<string, Param> };
}
type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

const ADMIN = 'admin-token-for-openapi-tests-0123456789';
const MAX_UPLOAD = 64 * 1024;
const ENCRYPTED = corpusFile('hostile/issue6010_1.pdf');
const SCHEMAS_ID = 'https://folio.invalid/openapi/schemas';

let stack: TestStack;
let doc: Doc;
let ajv: Ajv2020;
let client = '';
let files: http.Server;
let origin = '';
const validators = new Map<string, ValidateFunction>();
/** `get /api/v1/pdf/jobs/{id}` → statuses seen and validated. */
const covered = new Map<string, Set<number>>();

beforeAll(async () => {
  files = http.createServer((req, res) => {
    if (req.url === '/doc.pdf') {
      res.writeHead(200, { 'content-type': 'application/pdf' });
      fs.createReadStream(ENCRYPTED).pipe(res);
    } else if (req.url === '/notes.txt') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('not a pdf');
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => files.listen(0, '127.0.0.1', r));
  origin = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
  stack = await startTestStack({ AUTH_REQUIRED: 'true', ADMIN_TOKEN: ADMIN, MAX_UPLOAD_BYTES: String(MAX_UPLOAD), URL_FETCH_ALLOW_LIST: '127.0.0.0/8' });

  const res = await fetch(`${stack.url}/openapi.json`);
  expect(res.status).toBe(200);
  doc = (await res.json()) as Doc;
  ajv = new Ajv2020({ strict: true, allErrors: true });
  formats.default(ajv);
  // The component schemas become one schema resource; `#/components/schemas/X` points into it.
  ajv.addSchema({ $id: SCHEMAS_ID, $defs: rewriteRefs(doc.components.schemas) });
  // A client token of the default tenant, for the 403s (the auth tests create their own).
  const created = await fetch(`${stack.url}/api/v1/auth/tokens`, {
    method: 'POST',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'openapi client', role: 'client', tenant: 'default' }),
  });
  client = ((await created.json()) as { token: string }).token;
});

afterAll(async () => {
  await stack?.close();
  await new Promise((r) => files?.close(r));
});

function rewriteRefs<T>(node: T): T {
  if (Array.isArray(node)) return node.map(rewriteRefs) as T;
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node).map(([k, v]) => [k, k === '$ref' && typeof v === 'string' ? v.replace('#/components/schemas/', `${SCHEMAS_ID}#/$defs/`) : rewriteRefs(v)]),
  ) as T;
}

function validator(key: string, schema: Schema): ValidateFunction {
  let v = validators.get(key);
  if (v === undefined) {
    v = ajv.compile(rewriteRefs(schema));
    validators.set(key, v);
  }
  return v;
}

function expectValid(key: string, schema: Schema, value: unknown): void {
  const v = validator(key, schema);
  const ok = v(value);
  expect(ok, `${key}: ${ajv.errorsText(v.errors, { separator: '\n  ' })}\n${JSON.stringify(value).slice(0, 2000)}`).toBe(true);
}

const deref = <T extends object>(x: T | { $ref: string }, table: Record<string, T>): T | undefined =>
  '$ref' in x && typeof x.$ref === 'string' ? table[x.$ref.split('/').pop() ?? ''] : (x as T);

function operationOf(method: Method, template: string): Op {
  const op = doc.paths[template]?.[method];
  expect(op, `${method.toUpperCase()} ${template} is not in the document`).toBeDefined();
  return op as Op;
}

/** Validates a real response against the document and records the operation as covered. */
async function check(method: Method, template: string, res: Response): Promise<{ status: number; body: unknown; headers: Headers }> {
  const label = `${method.toUpperCase()} ${template} → ${res.status}`;
  const op = operationOf(method, template);
  const raw = op.responses[String(res.status)];
  const documented = raw === undefined ? undefined : deref(raw, doc.components.responses);
  expect(documented, `${label} is not documented`).toBeDefined();
  const text = await res.text();
  const mediaType = (res.headers.get('content-type') ?? '').split(';')[0]!.trim().toLowerCase();
  let body: unknown = text;
  if (documented!.content === undefined) {
    expect(text, `${label} has a body but documents none`).toBe('');
  } else {
    const media = documented!.content[mediaType];
    expect(media, `${label}: ${mediaType} is not a documented media type (${Object.keys(documented!.content).join(', ')})`).toBeDefined();
    if (mediaType === 'application/json') body = JSON.parse(text);
    expectValid(`${label} ${mediaType}`, media!.schema, body);
  }
  const key = `${method} ${template}`;
  if (!covered.has(key)) covered.set(key, new Set());
  covered.get(key)!.add(res.status);
  return { status: res.status, body, headers: res.headers };
}

interface CallOptions {
  params?: Record<string, string>;
  query?: Record<string, string>;
  /** The bearer token; null for none. Default: the bootstrap admin. */
  token?: string | null;
  json?: unknown;
  /** A raw body with its content type (for bodies the API must refuse). */
  raw?: { type: string; body: NonNullable<RequestInit['body']> };
  form?: FormData;
  /** The request is meant to fail validation: its values are not checked against the document. */
  invalid?: boolean;
  base?: string;
}

/** Sends a request for a documented operation; its parameters and body must be documented too. */
async function call(method: Method, template: string, o: CallOptions = {}) {
  const op = operationOf(method, template);
  const params = (op.parameters ?? []).map((p) => deref(p, doc.components.parameters)!);
  for (const [name, value] of Object.entries(o.query ?? {})) {
    const p = params.find((x) => x.in === 'query' && x.name === name);
    expect(p, `${method} ${template}: query parameter ${name} is not documented`).toBeDefined();
    if (!o.invalid) expectValid(`query ${template} ${name}`, p!.schema, /^\d+$/.test(value) && p!.schema.type === 'integer' ? Number(value) : value);
  }
  const path = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    expect(params.some((x) => x.in === 'path' && x.name === name), `${template}: path parameter ${name} is not documented`).toBe(true);
    const value = o.params?.[name];
    expect(value, `${template}: no value for ${name}`).toBeDefined();
    return encodeURIComponent(value!);
  });
  const headers: Record<string, string> = {};
  const token = o.token === undefined ? ADMIN : o.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: RequestInit['body'];
  if (o.json !== undefined) {
    const media = op.requestBody?.content['application/json'];
    expect(media, `${method} ${template} documents no JSON body`).toBeDefined();
    if (!o.invalid) expectValid(`request ${method} ${template}`, media!.schema, o.json);
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.json);
  } else if (o.form !== undefined) {
    const media = op.requestBody?.content['multipart/form-data'];
    expect(media, `${method} ${template} documents no multipart body`).toBeDefined();
    const props = (media!.schema.$ref ? doc.components.schemas[String(media!.schema.$ref).split('/').pop()!] : media!.schema)!.properties as Record<string, unknown>;
    for (const name of o.form.keys()) if (!o.invalid) expect(props, `multipart field ${name}`).toHaveProperty(name);
    body = o.form;
  } else if (o.raw !== undefined) {
    headers['content-type'] = o.raw.type;
    body = o.raw.body;
  }
  const qs = o.query ? `?${new URLSearchParams(o.query)}` : '';
  const res = await fetch(`${o.base ?? stack.url}${path}${qs}`, { method: method.toUpperCase(), headers, ...(body === undefined ? {} : { body }) });
  return check(method, template, res);
}

const pdfForm = async (fields: Record<string, string> = {}, file = ENCRYPTED) => {
  const form = new FormData();
  form.set('file', await fs.openAsBlob(file, { type: 'application/pdf' }), 'doc.pdf');
  for (const [k, v] of Object.entries(fields)) form.set(k, v);
  return form;
};

async function waitForJob(id: string, token = ADMIN): Promise<{ status: string; error: { code: string } | null }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const { body } = await call('get', '/api/v1/pdf/jobs/{id}', { params: { id }, token });
    const job = body as { status: string; error: { code: string } | null };
    if (['completed', 'partial', 'failed', 'cancelled'].includes(job.status)) return job;
    if (Date.now() > deadline) throw new Error(`job ${id} still ${job.status}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const codeOf = (body: unknown) => (body as { error: { code: string } }).error.code;

describe('the document', () => {
  it('is OpenAPI 3.1 whose error codes are the catalog\'s', async () => {
    const { ERROR_CATALOG } = await import('@folio/shared');
    expect(doc.openapi).toBe('3.1.0');
    const codes = ((doc.components.schemas.Error!.properties as Schema).error as { properties: { code: { enum: string[] } } }).properties.code.enum;
    expect(codes).toEqual(Object.keys(ERROR_CATALOG));
    // Every schema compiles (strict mode: no unknown keywords or formats).
    for (const name of Object.keys(doc.components.schemas)) validator(`schema ${name}`, { $ref: `#/components/schemas/${name}` });
  });
});

describe('public endpoints', () => {
  it('probes, metrics, the document and the docs page answer without a token', async () => {
    expect((await call('get', '/healthz', { token: null })).status).toBe(200);
    expect((await call('get', '/readyz', { token: null })).status).toBe(200);
    expect(String((await call('get', '/metrics', { token: null })).body)).toContain('# HELP');
    expect((await call('get', '/openapi.json', { token: null })).status).toBe(200);
    const docs = await call('get', '/docs', { token: null });
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-security-policy')).toContain("default-src 'none'");
  });

  it('serves a docs page that works offline and lists every operation', async () => {
    const html = String((await call('get', '/docs', { token: null })).body);
    // Nothing loaded from elsewhere: no script at all, no remote stylesheet, image or font.
    expect(html).not.toMatch(/<script/i);
    expect(html).not.toMatch(/<(link|img|iframe|source)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    expect(html).not.toMatch(/@import|url\(\s*["']?(https?:)?\/\//i);
    for (const item of Object.values(doc.paths)) for (const op of Object.values(item)) expect(html).toContain(`id="op-${op.operationId}"`);
  });
});

describe('documents', () => {
  let done = '';

  it('uploads with every option field, polls, and returns the result in each format', async () => {
    const form = await pdfForm({
      password: 'abc',
      ocr: 'auto',
      use_ocr: 'true',
      languages: 'eng',
      dpi: '150',
      ai_provider: 'tesseract',
      quality: 'balanced',
      fallback_strategy: 'cascade',
      budget_constraint: '1',
      use_advanced_comprehension: 'false',
    });
    const accepted = await call('post', '/api/v1/pdf/process', { form });
    expect(accepted.status).toBe(202);
    done = (accepted.body as { job_id: string }).job_id;
    expect((await waitForJob(done)).status).toBe('completed');
    for (const format of ['json', 'text', 'markdown']) {
      expect((await call('get', '/api/v1/pdf/jobs/{id}/result', { params: { id: done }, query: { format } })).status).toBe(200);
    }
    expect((await call('get', '/api/v1/pdf/jobs/{id}/result', { params: { id: done } })).status).toBe(200);
    expect((await call('get', '/api/v1/pdf/jobs/{id}/result', { params: { id: done }, query: { format: 'pdf' }, invalid: true })).status).toBe(400);
  });

  it('notices drift: a job view with a field more or less does not validate', async () => {
    const { body } = await call('get', '/api/v1/pdf/jobs/{id}', { params: { id: done } });
    const schema = { $ref: '#/components/schemas/JobView' };
    const v = validator('drift JobView', schema);
    expect(v(body)).toBe(true);
    expect(v({ ...(body as object), surprise: 1 })).toBe(false);
    const { progress: _gone, ...missing } = body as Record<string, unknown>;
    expect(v(missing)).toBe(false);
    expect(v({ ...(body as object), status: 'paused' })).toBe(false);
  });

  it('streams a finished job\'s events, resumes after an id, and refuses a bad one', async () => {
    const all = await call('get', '/api/v1/pdf/jobs/{id}/events', { params: { id: done } });
    expect(all.status).toBe(200);
    const ids = [...String(all.body).matchAll(/^id: (\S+)$/gm)].map((m) => m[1]!);
    expect(String(all.body)).toMatch(/event: status\ndata: \{"type":"status","status":"completed"/);
    expect(ids.length).toBeGreaterThan(1);
    const resumed = await call('get', '/api/v1/pdf/jobs/{id}/events', { params: { id: done }, query: { last_event_id: ids[0]! } });
    expect([...String(resumed.body).matchAll(/^id: (\S+)$/gm)].map((m) => m[1])).toEqual(ids.slice(1));
    expect((await call('get', '/api/v1/pdf/jobs/{id}/events', { params: { id: done }, query: { last_event_id: 'x' }, invalid: true })).status).toBe(400);
    expect((await call('get', '/api/v1/pdf/jobs/{id}/events', { params: { id: '00000000-0000-4000-8000-000000000000' } })).status).toBe(404);
  });

  it('answers 409 for the result of a failed job, and deletes it', async () => {
    const accepted = await call('post', '/api/v1/pdf/process', { form: await pdfForm() });
    const id = (accepted.body as { job_id: string }).job_id;
    const job = await waitForJob(id);
    expect(job.status).toBe('failed');
    expect(job.error?.code).toBe('pdf_password_required');
    const res = await call('get', '/api/v1/pdf/jobs/{id}/result', { params: { id } });
    expect(res.status).toBe(409);
    expect(codeOf(res.body)).toBe('job_not_finished');
    expect((await call('delete', '/api/v1/pdf/jobs/{id}', { params: { id } })).body).toMatchObject({ status: 'deleted' });
    expect((await call('delete', '/api/v1/pdf/jobs/{id}', { params: { id } })).status).toBe(404);
    expect((await call('get', '/api/v1/pdf/jobs/{id}', { params: { id } })).status).toBe(404);
    expect((await call('get', '/api/v1/pdf/jobs/{id}/result', { params: { id } })).status).toBe(404);
  });

  it('lists jobs by status and refuses an invalid limit', async () => {
    const list = await call('get', '/api/v1/pdf/jobs', { query: { status: 'completed', limit: '5' } });
    expect((list.body as { jobs: Array<{ job_id: string }> }).jobs.map((j) => j.job_id)).toContain(done);
    expect((await call('get', '/api/v1/pdf/jobs')).status).toBe(200);
    expect((await call('get', '/api/v1/pdf/jobs', { query: { limit: '0' }, invalid: true })).status).toBe(400);
  });

  it('refuses bad uploads: 400 unknown field, 413 too large, 415 not multipart or not a PDF', async () => {
    const typo = await call('post', '/api/v1/pdf/process', { form: await pdfForm({ pasword: 'abc' }), invalid: true });
    expect(codeOf(typo.body)).toBe('validation_failed');
    const big = new Uint8Array(MAX_UPLOAD * 3);
    big.set(new TextEncoder().encode('%PDF-1.7\n'));
    const bigForm = new FormData();
    bigForm.set('file', new Blob([big], { type: 'application/pdf' }), 'big.pdf');
    expect(codeOf((await call('post', '/api/v1/pdf/process', { form: bigForm })).body)).toBe('file_too_large');
    expect(codeOf((await call('post', '/api/v1/pdf/process', { raw: { type: 'application/pdf', body: '%PDF-1.4' } })).body)).toBe('unsupported_media_type');
    const notPdf = new FormData();
    notPdf.set('file', new Blob(['hello, not a pdf']), 'notes.pdf');
    expect(codeOf((await call('post', '/api/v1/pdf/process', { form: notPdf })).body)).toBe('unsupported_media_type');
  });

  it('processes a URL, and refuses private, missing and non-PDF ones', async () => {
    const ok = await call('post', '/api/v1/pdf/process-url', { json: { url: `${origin}/doc.pdf`, password: 'abc', ocr: 'never' } });
    expect(ok.status).toBe(202);
    expect((await waitForJob((ok.body as { job_id: string }).job_id)).status).toBe('completed');
    expect(codeOf((await call('post', '/api/v1/pdf/process-url', { json: { url: 'http://10.0.0.1/x.pdf' } })).body)).toBe('url_not_allowed');
    expect(codeOf((await call('post', '/api/v1/pdf/process-url', { json: { url: `${origin}/missing.pdf` } })).body)).toBe('url_fetch_failed');
    expect(codeOf((await call('post', '/api/v1/pdf/process-url', { json: { url: `${origin}/notes.txt` } })).body)).toBe('unsupported_media_type');
    expect(codeOf((await call('post', '/api/v1/pdf/process-url', { json: { uri: 'x' }, invalid: true })).body)).toBe('validation_failed');
  });

  it('answers 404 for unknown jobs and shows the service status', async () => {
    expect((await call('get', '/api/v1/pdf/jobs/{id}', { params: { id: '00000000-0000-4000-8000-000000000000' } })).status).toBe(404);
    expect((await call('get', '/api/v1/pdf/jobs/{id}', { params: { id: 'not-a-uuid' }, invalid: true })).status).toBe(404);
    expect((await call('get', '/api/v1/pdf/status')).status).toBe(200);
    // A route that does not exist answers the same error shape.
    const res = await fetch(`${stack.url}/api/v1/nope`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(res.status).toBe(404);
    expectValid('unmatched route', { $ref: '#/components/schemas/Error' }, await res.json());
  });
});

describe('auth', () => {
  it('answers 401 without a token or with a wrong one', async () => {
    expect((await call('get', '/api/v1/pdf/jobs', { token: null })).status).toBe(401);
    expect((await call('get', '/api/v1/auth/whoami', { token: 'folio_not-a-real-token-at-all' })).status).toBe(401);
    expect((await call('get', '/api/v1/auth/whoami')).body).toEqual({ name: 'bootstrap admin', role: 'admin', tenant: 'default' });
  });

  it('creates, lists and revokes tokens; a client may not', async () => {
    const created = await call('post', '/api/v1/auth/tokens', { json: { name: 'another client', role: 'client', tenant: 'acme' } });
    expect(created.status).toBe(201);
    const acme = (created.body as { token: string }).token;
    expect((await call('get', '/api/v1/auth/whoami', { token: acme })).body).toEqual({ name: 'another client', role: 'client', tenant: 'acme' });
    expect((await call('post', '/api/v1/auth/tokens', { json: { name: 'x', role: 'admin', tenant: 'default' }, token: client })).status).toBe(403);
    expect((await call('post', '/api/v1/auth/tokens', { json: { name: '', role: 'boss', tenant: 'Nope!' }, invalid: true })).status).toBe(400);
    expect((await call('get', '/api/v1/auth/tokens')).status).toBe(200);
    expect((await call('get', '/api/v1/auth/tokens', { token: client })).status).toBe(403);
    const spare = await call('post', '/api/v1/auth/tokens', { json: { name: 'spare', role: 'client', tenant: 'other' } });
    const id = (spare.body as { id: string }).id;
    expect((await call('delete', '/api/v1/auth/tokens/{id}', { params: { id } })).status).toBe(200);
    expect((await call('delete', '/api/v1/auth/tokens/{id}', { params: { id } })).status).toBe(404);
  });
});

describe('providers and keys', () => {
  const openai = { id: 'openai' };
  const key = { id: 'openai', name: 'default' };

  it('lists and shows providers, and edits one (admins only)', async () => {
    const admin = await call('get', '/api/ai/providers');
    expect((admin.body as { providers: Array<{ base_url?: unknown }> }).providers[0]).toHaveProperty('base_url');
    const asClient = await call('get', '/api/ai/providers', { token: client });
    expect((asClient.body as { providers: Array<{ base_url?: unknown }> }).providers[0]).not.toHaveProperty('base_url');
    expect((await call('get', '/api/ai/providers/{id}', { params: openai })).status).toBe(200);
    expect((await call('get', '/api/ai/providers/{id}', { params: { id: 'nope' } })).status).toBe(404);
    expect((await call('patch', '/api/ai/providers/{id}', { params: openai, json: { limits: { rpm: 500, tpm: 200_000 } } })).body).toMatchObject({ limits: { rpm: 500 } });
    expect((await call('patch', '/api/ai/providers/{id}', { params: openai, json: { bogus: true }, invalid: true })).status).toBe(400);
    expect((await call('patch', '/api/ai/providers/{id}', { params: openai, json: { active: true }, token: client })).status).toBe(403);
    expect((await call('patch', '/api/ai/providers/{id}', { params: { id: 'nope' }, json: { active: true } })).status).toBe(404);
    expect((await call('get', '/api/ai/pdf/providers')).status).toBe(200);
  });

  it('stores, replaces, shows and deletes a key without ever calling the provider', async () => {
    expect((await call('post', '/api/ai/providers/{id}/keys', { params: openai, json: { api_key: 'sk-test-openapi-0001', key_name: 'default', environment: 'development' } })).status).toBe(201);
    const replaced = await call('post', '/api/ai/providers/{id}/keys', { params: openai, json: { api_key: 'sk-test-openapi-0002' } });
    expect(replaced.body).toHaveProperty('previous');
    expect((await call('post', '/api/ai/providers/{id}/keys', { params: openai, json: { api_key: 'short' }, invalid: true })).status).toBe(400);
    expect((await call('post', '/api/ai/providers/{id}/keys', { params: { id: 'tesseract' }, json: { api_key: 'sk-test-openapi-0003' } })).status).toBe(400);
    expect((await call('post', '/api/ai/providers/{id}/keys', { params: openai, json: { api_key: 'sk-test-openapi-0004' }, token: client })).status).toBe(403);
    expect((await call('post', '/api/ai/providers/{id}/keys', { params: { id: 'nope' }, json: { api_key: 'sk-test-openapi-0005' } })).status).toBe(404);
    expect((await call('get', '/api/ai/providers/{id}/keys', { params: openai })).body).toMatchObject({ provider: 'openai' });
    expect((await call('get', '/api/ai/providers/{id}/keys/{name}', { params: key })).body).toMatchObject({ key_name: 'default', last4: '0002' });
    expect((await call('get', '/api/ai/providers/{id}/keys/{name}', { params: { id: 'openai', name: 'nope' } })).status).toBe(404);
    // verify would call the provider: only its refusals are exercised.
    expect((await call('post', '/api/ai/providers/{id}/keys/{name}/verify', { params: { id: 'openai', name: 'nope' } })).status).toBe(404);
    expect((await call('post', '/api/ai/providers/{id}/keys/{name}/verify', { params: key, token: client })).status).toBe(403);
    expect((await call('get', '/api/ai/health')).status).toBe(200);
    expect((await call('delete', '/api/ai/providers/{id}/keys/{name}', { params: key, query: { previous: 'true' } })).body).toMatchObject({ deleted: 'previous' });
    expect((await call('delete', '/api/ai/providers/{id}/keys/{name}', { params: key })).body).toMatchObject({ deleted: 'key' });
    expect((await call('delete', '/api/ai/providers/{id}/keys/{name}', { params: key })).status).toBe(404);
  });

  it('shows the audit log and rewraps data keys (admins only)', async () => {
    const audit = await call('get', '/api/ai/audit', { query: { limit: '10' } });
    expect((audit.body as { entries: unknown[] }).entries.length).toBeGreaterThan(0);
    expect((await call('get', '/api/ai/audit', { token: client })).status).toBe(403);
    expect((await call('post', '/api/ai/keys/rewrap')).status).toBe(200);
    expect((await call('post', '/api/ai/keys/rewrap', { token: client })).status).toBe(403);
  });
});

describe('optimizer and usage', () => {
  it('plans engines for a document and prices a call', async () => {
    expect((await call('post', '/api/ai/pdf/optimize', { json: { page_count: 10, quality: 'high', budget_usd: 1, only_usable: false } })).status).toBe(200);
    expect((await call('post', '/api/ai/pdf/optimize', { json: {}, invalid: true })).status).toBe(400);
    const priced = await call('post', '/api/ai/optimize-cost', { json: { input_tokens: 1000, output_tokens: 500, task: 'chat' } });
    expect((priced.body as { candidates: unknown[] }).candidates.length).toBeGreaterThan(0);
    expect((await call('post', '/api/ai/optimize-cost', { json: { input_tokens: -1, output_tokens: 1 }, invalid: true })).status).toBe(400);
    expect((await call('post', '/api/ai/optimize-cost', { raw: { type: 'application/json', body: '{' } })).status).toBe(400);
  });

  it('tracks usage once per id and reports it', async () => {
    const event = { id: 'openapi-test-1', provider: 'openai', model: 'gpt-4o-mini', input_tokens: 1200, output_tokens: 300 };
    expect((await call('post', '/api/ai/usage/track', { json: event })).status).toBe(201);
    expect((await call('post', '/api/ai/usage/track', { json: event })).status).toBe(200);
    expect((await call('post', '/api/ai/usage/track', { json: { ...event, id: 'openapi-test-2', provider: 'nope' } })).status).toBe(404);
    expect((await call('post', '/api/ai/usage/track', { json: {}, invalid: true })).status).toBe(400);
    const tooBig = { ...event, id: 'x'.repeat(40_000) };
    expect((await call('post', '/api/ai/usage/track', { json: tooBig, invalid: true })).status).toBe(413);
    expect((await call('get', '/api/ai/usage/stats')).status).toBe(200);
    expect((await call('get', '/api/ai/usage/stats', { query: { all: 'true', from: '2020-01-01', to: '2099-12-31' } })).body).toMatchObject({ tenant: null });
    expect((await call('get', '/api/ai/usage/stats', { query: { from: '2026-13-45' }, invalid: true })).status).toBe(400);
  });
});

describe('budget', () => {
  it('shows the tenant\'s monthly budget; admins set it', async () => {
    expect((await call('get', '/api/ai/budget', { token: client })).status).toBe(200);
    expect((await call('put', '/api/ai/budget', { json: { monthly_usd: 25 } })).body).toMatchObject({ monthly_usd: 25 });
    expect((await call('put', '/api/ai/budget', { json: { monthly_usd: null } })).body).toMatchObject({ monthly_usd: null, remaining_usd: null });
    expect((await call('put', '/api/ai/budget', { json: { monthly_usd: -1 }, invalid: true })).status).toBe(400);
    expect((await call('put', '/api/ai/budget', { json: { monthly_usd: 5 }, token: client })).status).toBe(403);
  });
});

describe('queue dashboard', () => {
  it('is for admins: 401 without a token, 403 for a client, the page for an admin', async () => {
    expect((await call('get', '/admin/queues', { token: null })).status).toBe(401);
    expect((await call('get', '/admin/queues', { token: client })).status).toBe(403);
    const page = await call('get', '/admin/queues');
    expect(page.status).toBe(200);
    // Its template's Google Fonts link is removed: the page loads nothing from elsewhere.
    expect(String(page.body)).not.toMatch(/<(link|script)\b[^>]*\b(src|href)\s*=\s*["']?(https?:)?\/\//i);
    // Its assets resolve under the mount point (the page's <base href>).
    const html = String(page.body);
    expect(html).toContain('<base href="/admin/queues/"');
    const script = /<script[^>]*\bsrc="(static\/js\/[^"]+)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const asset = await fetch(`${stack.url}/admin/queues/${script}`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(asset.status).toBe(200);
    expect(asset.headers.get('content-type')).toContain('javascript');
    const api = await fetch(`${stack.url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${ADMIN}` } });
    expect(api.status).toBe(200);
    const names = ((await api.json()) as { queues: Array<{ name: string }> }).queues.map((q) => q.name).sort();
    expect(names).toEqual(['assemble', 'maintenance', 'ocr', 'pages', 'plan', 'webhooks']);
    expect((await fetch(`${stack.url}/admin/queues/api/queues`, { headers: { authorization: `Bearer ${client}` } })).status).toBe(403);
  });

  it('lets the anonymous admin of loopback development in', async () => {
    const { deps } = stack.api;
    const app = createApp({ ...deps, config: { ...deps.config, auth: { ...deps.config.auth, required: false } } });
    const server = await new Promise<http.Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    try {
      const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      expect((await call('get', '/admin/queues', { token: null, base })).status).toBe(200);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});

describe('no drift', () => {
  interface Layer {
    rawPath?: unknown;
    name: string;
    route?: { path: unknown; methods: Record<string, boolean> };
    handle: { stack?: Layer[] };
  }

  /** Every route of the app (method and OpenAPI-style path); mounted sub-apps as `use`. */
  function routesOf(stack: Layer[], prefix = ''): Array<{ method: string; path: string }> {
    const out: Array<{ method: string; path: string }> = [];
    for (const layer of stack) {
      const at = layer.rawPath === undefined || layer.rawPath === '/' ? prefix : `${prefix}${String(layer.rawPath)}`;
      if (layer.route) {
        expect(typeof layer.route.path, 'route paths are plain strings').toBe('string');
        const path = `${prefix}${String(layer.route.path)}`.replace(/:(\w+)/g, '{$1}');
        for (const [method, on] of Object.entries(layer.route.methods)) if (on) out.push({ method, path });
      } else if (layer.handle.stack) {
        expect(typeof (layer.rawPath ?? '/'), 'mount paths are plain strings').toBe('string');
        out.push(...routesOf(layer.handle.stack, at));
      } else if (layer.name === 'mounted_app') {
        out.push({ method: 'use', path: at });
      }
    }
    return out;
  }

  it('documents every route the express app serves', () => {
    const app = createApp(stack.api.deps) as unknown as { router: { stack: Layer[] } };
    const routes = routesOf(app.router.stack);
    expect(routes.length).toBeGreaterThan(30);
    const missing = routes.filter(({ method, path }) => (method === 'use' ? doc.paths[path]?.get === undefined : doc.paths[path]?.[method] === undefined));
    expect(missing, 'routes the document does not describe').toEqual([]);
  });

  it('validated a real response of every documented operation', () => {
    const untested: string[] = [];
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of Object.keys(item)) if (!covered.has(`${method} ${path}`)) untested.push(`${method.toUpperCase()} ${path}`);
    }
    expect(untested, 'documented operations this test never called').toEqual([]);
  });
});
