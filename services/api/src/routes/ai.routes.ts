import { randomUUID } from 'node:crypto';
import express, { Router, type Request } from 'express';
import {
  Admission,
  BudgetStore,
  NotFoundError,
  Secret,
  ValidationError,
  checkKey,
  newKeySchema,
  providerBaseUrl,
  readStats,
  optimize,
  optimizeRequestSchema,
  providerPatchSchema,
  usableProviders,
  worstCaseCostMicroUsd,
  type KeyStatus,
  type Provider,
} from '@folio/shared';
import { z, type ZodError } from 'zod';
import type { ApiDeps } from '../deps.ts';
import { requireRole } from '../middleware/auth.ts';

const optimizeCostSchema = z
  .object({
    task: z.enum(['chat', 'code', 'analysis', 'pdf_ocr', 'image_comprehension', 'document_processing', 'multimodal']).default('chat'),
    input_tokens: z.coerce.number().int().min(0).max(10_000_000),
    output_tokens: z.coerce.number().int().min(0).max(1_000_000),
    quality: z.enum(['high', 'balanced', 'low_cost']).default('balanced'),
    only_usable: z.coerce.boolean().default(false),
  })
  .strict();

const budgetSchema = z.object({ monthly_usd: z.number().positive().max(10_000_000).nullable() }).strict();
const usageQuery = z.object({ from: z.string().optional(), to: z.string().optional(), all: z.enum(['true', 'false']).optional() }).strict();
const trackSchema = z
  .object({
    id: z.string().min(1).max(200).optional(),
    provider: z.string().min(1).max(40),
    model: z.string().min(1).max(200),
    input_tokens: z.number().int().min(0),
    output_tokens: z.number().int().min(0),
    cost_usd: z.number().min(0).optional(),
    outcome: z.enum(['ok', 'error', 'unknown']).default('ok'),
    at: z.union([z.number().int().positive(), z.string().datetime({ offset: true })]).optional(),
  })
  .strict();

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

  const budgets = new BudgetStore(deps.redis, deps.config.redis.prefix);
  const admission = new Admission(deps.redis, deps.config.redis.prefix);
  const budgetView = async (tenant: string) => {
    const limit = await budgets.monthlyUsd(tenant, deps.config.vision.tenantMonthlyBudgetUsd);
    const spend = await admission.spend(`tenant:${tenant}`, 'month');
    return {
      tenant,
      monthly_usd: limit ?? null,
      month: spend.scopeKey.split(':').at(-1),
      spent_usd: spend.spentMicroUsd / 1e6,
      reserved_usd: spend.reservedMicroUsd / 1e6,
      remaining_usd: limit === undefined ? null : Math.max(0, limit - (spend.spentMicroUsd + spend.reservedMicroUsd) / 1e6),
    };
  };

  const view = async (req: Request, p: Provider, keys: KeyStatus[], usage?: Awaited<ReturnType<typeof readStats>>) => {
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
      ...(usage ? { usage: usage.by_provider[p.id] ?? null } : {}),
      ...(req.principal.role === 'admin' ? { base_url: providerBaseUrl(p, deps.config) ?? null } : {}),
    };
  };

  router.get('/providers', async (req, res) => {
    const [providers, keys, usage] = await Promise.all([deps.catalog.list(), deps.keys.list(req.tenant), readStats(deps.redis, deps.config.redis.prefix, { tenant: req.tenant })]);
    const views = await Promise.all(providers.map((p) => view(req, p, keys, usage)));
    res.json({
      providers: views,
      totals: {
        providers: views.length,
        active: views.filter((v) => v.active).length,
        ready: views.filter((v) => v.status === 'ready').length,
        with_keys: views.filter((v) => v.has_keys).length,
        keys: keys.length,
        usage: usage.totals,
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

  /** Which engine should read a document's pages, and at what cost (estimates from the catalog). */
  router.post('/pdf/optimize', async (req, res) => {
    const body = optimizeRequestSchema.safeParse(req.body);
    if (!body.success) throw new ValidationError('Invalid optimize request', issues(body.error));
    const { providers, usable } = await usableProviders(deps, req.tenant);
    res.json(optimize(providers, body.data, { usable: (p) => usable.has(p.id), outputCap: deps.config.vision.maxOutputTokens }));
  });

  /** Cost of a generic call (tokens in and out) on every active model: cheapest and best, explained. */
  router.post('/optimize-cost', async (req, res) => {
    const body = optimizeCostSchema.safeParse(req.body);
    if (!body.success) throw new ValidationError('Invalid optimize-cost request', issues(body.error));
    const { task, input_tokens, output_tokens, quality } = body.data;
    const { providers, usable } = await usableProviders(deps, req.tenant);
    const rows = providers
      .filter((p) => p.active && p.kind === 'remote' && p.tasks.includes(task))
      .flatMap((p) =>
        p.models.map((m) => {
          const micro = worstCaseCostMicroUsd(m, input_tokens, output_tokens);
          return { provider: p.id, model: m.id, quality: m.quality, estimated_cost_usd: micro / 1e6, usable: usable.has(p.id) };
        }),
      )
      .filter((r) => !body.data.only_usable || r.usable);
    const byCost = [...rows].sort((a, b) => a.estimated_cost_usd - b.estimated_cost_usd || b.quality - a.quality);
    const byQuality = [...rows].sort((a, b) => b.quality - a.quality || a.estimated_cost_usd - b.estimated_cost_usd);
    const balanced = [...rows].filter((r) => r.quality >= 3).sort((a, b) => b.quality / (b.estimated_cost_usd + 1e-9) - a.quality / (a.estimated_cost_usd + 1e-9))[0] ?? null;
    const recommended = quality === 'high' ? byQuality[0] : quality === 'low_cost' ? byCost[0] : balanced ?? byQuality[0];
    res.json({
      recommended_provider: recommended ?? null,
      alternatives: { high_quality: byQuality[0] ?? null, cost_effective: byCost[0] ?? null },
      candidates: byCost,
      explanation: [
        `${input_tokens} input and ${output_tokens} output tokens for task ${task}, priced per million tokens from the catalog (prices dated in the catalog file).`,
        body.data.only_usable ? 'Only providers this tenant has a usable key for.' : 'All active providers, with or without a key.',
        recommended ? `Recommended for quality=${quality}: ${recommended.provider}/${recommended.model} at $${recommended.estimated_cost_usd}.` : 'No provider fits.',
      ],
    });
  });

  /** The tenant's monthly budget for provider calls, and what this month has spent and holds. */
  router.get('/budget', async (req, res) => {
    res.json(await budgetView(req.tenant));
  });

  router.put('/budget', requireRole('admin'), async (req, res) => {
    const body = budgetSchema.safeParse(req.body);
    if (!body.success) throw new ValidationError('Send {"monthly_usd": number | null}', issues(body.error));
    await budgets.setMonthlyUsd(req.tenant, body.data.monthly_usd);
    deps.logger.info({ reqId: req.id, tenant: req.tenant, monthlyUsd: body.data.monthly_usd }, 'tenant budget set');
    res.json(await budgetView(req.tenant));
  });

  /** Usage of the caller's tenant (or, for admins with all=true, everyone's), from the ledger's totals. */
  router.get('/usage/stats', async (req, res) => {
    const q = usageQuery.safeParse(req.query);
    if (!q.success) throw new ValidationError('Invalid usage query', issues(q.error));
    const all = q.data.all === 'true' && req.principal.role === 'admin';
    res.json({ tenant: all ? null : req.tenant, ...(await readStats(deps.redis, deps.config.redis.prefix, { ...(all ? {} : { tenant: req.tenant }), ...(q.data.from ? { from: q.data.from } : {}), ...(q.data.to ? { to: q.data.to } : {}) })) });
  });

  /** Usage from outside Folio (the seed's path): appended to the same ledger, once per id. */
  router.post('/usage/track', async (req, res) => {
    const body = trackSchema.safeParse(req.body);
    if (!body.success) throw new ValidationError('Invalid usage event', issues(body.error));
    const b = body.data;
    const p = await deps.catalog.get(b.provider);
    const model = p.models.find((m) => m.id === b.model);
    const cost = b.cost_usd !== undefined ? Math.round(b.cost_usd * 1e6) : model ? Math.ceil(b.input_tokens * model.input_per_million_usd + b.output_tokens * model.output_per_million_usd) : 0;
    const id = b.id ?? `ext:${req.tenant}:${randomUUID()}`;
    const r = await deps.usage.append({ id, tenant: req.tenant, provider: p.id, model: b.model, inputTokens: b.input_tokens, outputTokens: b.output_tokens, costMicroUsd: cost, outcome: b.outcome, at: b.at ?? Date.now(), source: 'external' });
    res.status(r.appended ? 201 : 200).json({ id, appended: r.appended, cost_micro_usd: cost });
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
