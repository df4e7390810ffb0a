import type { NextFunction, Request, Response } from 'express';
import { AppError, tokensEqual, type Principal, type Role } from '@folio/shared';
import type { ApiDeps } from '../deps.ts';

declare global {
  // eslint-disable-next-line @typescript-eslint/no-namespace
  namespace Express {
    interface Request {
      principal: Principal;
    }
  }
}

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{16,512})$/;

/**
 * Resolves the caller from `Authorization: Bearer <token>`: the bootstrap admin token from the
 * environment, or a token stored (hashed) in Redis. Without a header the request is refused,
 * unless tokens are not required (loopback development only), where it acts as the default
 * tenant's admin. A token that is presented is always checked, even then.
 */
export function authenticate(deps: Pick<ApiDeps, 'config' | 'tokens'>) {
  const { auth } = deps.config;
  return async (req: Request, res: Response, next: NextFunction) => {
    const header = req.get('authorization');
    if (header === undefined) {
      if (auth.required) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="folio"');
        throw new AppError('unauthorized', 'Send a bearer token: Authorization: Bearer <token>');
      }
      req.principal = { tokenId: 'anonymous', name: 'loopback development', role: 'admin', tenant: auth.defaultTenant };
    } else {
      const token = BEARER.exec(header)?.[1];
      let principal: Principal | null = null;
      if (token !== undefined) {
        principal =
          auth.adminToken !== undefined && tokensEqual(token, auth.adminToken)
            ? { tokenId: 'bootstrap', name: 'bootstrap admin', role: 'admin', tenant: auth.defaultTenant }
            : await deps.tokens.resolve(token);
      }
      if (principal === null) {
        res.setHeader('WWW-Authenticate', 'Bearer realm="folio", error="invalid_token"');
        throw new AppError('unauthorized', 'The bearer token is not valid');
      }
      req.principal = principal;
    }
    req.tenant = req.principal.tenant;
    next();
  };
}

export function requireRole(role: Role) {
  return (req: Request, _res: Response, next: NextFunction) => {
    if (req.principal.role !== role && req.principal.role !== 'admin') {
      throw new AppError('forbidden', `This needs the ${role} role`);
    }
    next();
  };
}
