import express, { Router, type Request } from 'express';
import {
  NotFoundError,
  Secret,
  ValidationError,
  checkKey,
  newKeySchema,
  providerBaseUrl,
  providerPatchSchema,
  type KeyStatus,
  type Provider,
} from '@folio/shared';
import type { ZodError } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { requireRole } from '../middleware/auth.ts';

const issues = (e: ZodError) => e.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));

/**
 * The BYOK surface (the seed's shapes): the provider catalog, a tenant's provider keys (admins
 * only; a key is accepted once and never returned), key checks, the audit log and master-key
 * rewrapping.
 */
export function aiRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.use(express.json({ limit: '32kb' }));
  router.use(async (_req, _res, next) => {
    await deps.catalogReady();
    next();
  });

  const view = async (req: Request, p: Provider, keys: KeyStatus[]) => {
    const own = keys.filter((k) => k.provider === p.id);
    const envKey = deps.config.byok.envKeys[p.id] !== undefined;
    const usable = p.kind === 'local' || own.some((k) => k.status === 'active') || envKey;
    return {
      id: p.id,
      name: p.name,
      description: p.description,
      kind: p.kind,
      status: !p.active ? 'inactive' : usable ? 'ready' : 'needs_key',
      active: p.active,
      capabilities: p.tasks,
      models: p.models.map((m) => ({ id: m.id, vision: m.vision, input_per_million_usd: m.input_per_million_usd, output_per_million_usd: m.output_per_million_usd })),
      limits: p.limits,
      has_keys: own.length > 0,
      key_count: own.length,
      env_key: envKey,
      ...(req.principal.role === 'admin' ? { base_url: providerBaseUrl(p, deps.config) ?? null } : {}),
    };
  };

  router.get('/providers', async (req, res) => {
    const [providers, keys] = await Promise.all([deps.catalog.list(), deps.keys.list(req.tenant)]);
    const views = await Promise.all(providers.map((p) => view(req, p, keys)));
    res.json({
      providers: views,
      totals: {
        providers: views.length,
        active: views.filter((v) => v.active).length,
        ready: views.filter((v) => v.status === 'ready').length,
        with_keys: views.filter((v) => v.has_keys).length,
        keys: keys.length,
      },
    });
  });

  router.get('/providers/:id', async (req, res) => {
    const p = await deps.catalog.get(String(req.params.id));
    res.json(await view(req, p, await deps.keys.list(req.tenant, p.id)));
  });

  router.patch('/providers/:id', requireRole('admin'), async (req, res) => {
    const patch = providerPatchSchema.safeParse(req.body);
    if (!patch.success) throw new ValidationError('Invalid provider change', issues(patch.error));
    const p = await deps.catalog.update(String(req.params.id), patch.data);
    deps.logger.info({ reqId: req.id, provider: p.id, fields: Object.keys(patch.data) }, 'provider updated');
    res.json(await view(req, p, await deps.keys.list(req.tenant, p.id)));
  });

  router.post('/providers/:id/keys', requireRole('admin'), async (req, res) => {
    const p = await deps.catalog.get(String(req.params.id));
    if (p.kind === 'local') throw new ValidationError(`${p.id} is a local engine and takes no key`);
    const body = newKeySchema.safeParse(req.body);
    // Zod's issues name fields and rules, never the value given.
    if (!body.success) throw new ValidationError('Invalid key', issues(body.error));
    const status = await deps.keys.put(req.tenant, p.id, { keyName: body.data.key_name, environment: body.data.environment, apiKey: new Secret(body.data.api_key.trim()) }, req.principal.name);
    deps.logger.info({ reqId: req.id, provider: p.id, keyName: status.key_name, fingerprint: status.fingerprint }, 'provider key stored');
    res.status(201).json(status);
  });

  router.get('/providers/:id/keys', requireRole('admin'), async (req, res) => {
    const p = await deps.catalog.get(String(req.params.id));
    res.json({ provider: p.id, keys: await deps.keys.list(req.tenant, p.id) });
  });

  router.get('/providers/:id/keys/:name', requireRole('admin'), async (req, res) => {
    const p = await deps.catalog.get(String(req.params.id));
    const s = await deps.keys.status(req.tenant, p.id, String(req.params.name));
    if (s === null) throw new NotFoundError(`No key named ${String(req.params.name)} for ${p.id}`);
    res.json(s);
  });

  router.delete('/providers/:id/keys/:name', requireRole('admin'), async (req, res) => {
    const p = await deps.catalog.get(String(req.params.id));
    const name = String(req.params.name);
    const previousOnly = req.query.previous === 'true';
    if (!(await deps.keys.delete(req.tenant, p.id, name, req.principal.name, { previousOnly }))) {
      throw new NotFoundError(`No ${previousOnly ? 'previous ' : ''}key named ${name} for ${p.id}`);
    }
    deps.logger.info({ reqId: req.id, provider: p.id, keyName: name, previousOnly }, 'provider key deleted');
    res.json({ provider: p.id, key_name: name, deleted: previousOnly ? 'previous' : 'key' });
  });

  /** Uses the key once (an authenticated list-models call) and records the outcome on the key. */
  router.post('/providers/:id/keys/:name/verify', requireRole('admin'), async (req, res) => {
    const p = await deps.catalog.get(String(req.params.id));
    const name = String(req.params.name);
    const secret = await deps.keys.reveal(req.tenant, p.id, name, req.principal.name);
    const result = await checkKey(p, secret, providerBaseUrl(p, deps.config));
    if (result.ok) await deps.keys.markActive(req.tenant, p.id, name, req.principal.name);
    else if (result.reason === 'rejected') await deps.keys.markInvalid(req.tenant, p.id, name, req.principal.name, result.message);
    deps.logger.info({ reqId: req.id, provider: p.id, keyName: name, ok: result.ok, ...(result.ok ? {} : { reason: result.reason, status: result.status }) }, 'provider key checked');
    res.json({ provider: p.id, key_name: name, ...result, key: await deps.keys.status(req.tenant, p.id, name) });
  });

  router.get('/pdf/providers', async (req, res) => {
    const [providers, keys] = await Promise.all([deps.catalog.list(), deps.keys.list(req.tenant)]);
    const pdf = providers.filter((p) => p.tasks.includes('pdf_ocr') || p.kind === 'local');
    res.json({ providers: await Promise.all(pdf.map((p) => view(req, p, keys))) });
  });

  router.get('/health', async (req, res) => {
    const [providers, keys] = await Promise.all([deps.catalog.list(), deps.keys.list(req.tenant)]);
    const views = await Promise.all(providers.map((p) => view(req, p, keys)));
    res.json({
      status: 'ok',
      encryption: { algorithm: 'AES-256-GCM (envelope: per-tenant data keys under a master keyring)', master_key_version: deps.keys.masterVersion },
      providers: Object.fromEntries(views.map((v) => [v.id, { status: v.status, active: v.active, has_keys: v.has_keys, env_key: v.env_key }])),
      invalid_keys: keys.filter((k) => k.status === 'invalid').map((k) => ({ provider: k.provider, key_name: k.key_name })),
    });
  });

  router.get('/audit', requireRole('admin'), async (req, res) => {
    const limit = Math.min(1000, Math.max(1, Number(req.query.limit ?? 100) || 100));
    res.json({ entries: await deps.keys.auditLog(req.tenant, limit) });
  });

  /** After a master-key rotation: re-wraps every tenant's data keys under the current version. */
  router.post('/keys/rewrap', requireRole('admin'), async (req, res) => {
    const result = await deps.keys.rewrapAll(req.principal.name);
    deps.logger.info({ reqId: req.id, ...result, master: deps.keys.masterVersion }, 'data keys rewrapped');
    res.json({ ...result, master_key_version: deps.keys.masterVersion, wrapped_under: await deps.keys.wrapVersions() });
  });

  return router;
}
