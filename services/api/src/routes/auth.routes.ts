import { Router } from 'express';
import { NotFoundError, ValidationError, newTokenSchema } from '@folio/shared';
import type { ApiDeps } from '../deps.ts';
import { requireRole } from '../middleware/auth.ts';

/** Who am I, and (admins) API tokens: created with their secret shown once, listed without it, revoked. */
export function authRoutes(deps: ApiDeps): Router {
  const router = Router();
  router.get('/whoami', (req, res) => {
    const { name, role, tenant } = req.principal;
    res.json({ name, role, tenant });
  });
  router.post('/tokens', requireRole('admin'), async (req, res) => {
    const parsed = newTokenSchema.safeParse(req.body);
    if (!parsed.success) throw new ValidationError('Invalid token request', parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })));
    const { token, info } = await deps.tokens.create(parsed.data, req.principal.name);
    deps.logger.info({ reqId: req.id, tokenId: info.tokenId, role: info.role, tenant: info.tenant }, 'token created');
    res.status(201).json({ token, id: info.tokenId, name: info.name, role: info.role, tenant: info.tenant, note: 'Store this token now: it is not shown again.' });
  });
  router.get('/tokens', requireRole('admin'), async (_req, res) => {
    const tokens = await deps.tokens.list();
    res.json({ tokens: tokens.map((t) => ({ id: t.tokenId, name: t.name, role: t.role, tenant: t.tenant, created_at: new Date(t.createdAt).toISOString(), created_by: t.createdBy })) });
  });
  router.delete('/tokens/:id', requireRole('admin'), async (req, res) => {
    if (!(await deps.tokens.revoke(String(req.params.id)))) throw new NotFoundError('No such token');
    deps.logger.info({ reqId: req.id, tokenId: req.params.id }, 'token revoked');
    res.json({ id: req.params.id, revoked: true });
  });
  return router;
}
