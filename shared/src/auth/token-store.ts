import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

export const ROLES = ['admin', 'client'] as const;
export type Role = (typeof ROLES)[number];
export const TENANT = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** Who is calling: resolved from a bearer token (or the loopback development default). */
export interface Principal {
  tokenId: string;
  name: string;
  role: Role;
  tenant: string;
}

export interface TokenInfo extends Principal {
  createdAt: number;
  createdBy: string;
}

export const newTokenSchema = z
  .object({
    name: z.string().min(1).max(100),
    role: z.enum(ROLES),
    tenant: z.string().regex(TENANT, 'lowercase letters, digits, _ and -; at most 63'),
  })
  .strict();

/** SHA-256 of a token: tokens are 256-bit random, so a fast hash cannot be brute-forced. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(hashToken(a), 'hex');
  const y = Buffer.from(hashToken(b), 'hex');
  return timingSafeEqual(x, y);
}

/**
 * API tokens in Redis, stored by their hash only: the token itself is shown once, at creation.
 * `<prefix>:auth:token:<sha256>` → the token's record; `<prefix>:auth:tokens` → id → hash.
 */
export class TokenStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  private byHash = (h: string) => `${this.prefix}:auth:token:${h}`;
  private index = () => `${this.prefix}:auth:tokens`;

  async create(input: z.infer<typeof newTokenSchema>, createdBy: string): Promise<{ token: string; info: TokenInfo }> {
    const token = `folio_${randomBytes(32).toString('base64url')}`;
    const info: TokenInfo = { tokenId: randomUUID(), name: input.name, role: input.role, tenant: input.tenant, createdAt: Date.now(), createdBy };
    const h = hashToken(token);
    await this.redis
      .multi()
      .hset(this.byHash(h), { id: info.tokenId, name: info.name, role: info.role, tenant: info.tenant, created_at: String(info.createdAt), created_by: createdBy })
      .hset(this.index(), info.tokenId, h)
      .exec();
    return { token, info };
  }

  async resolve(token: string): Promise<Principal | null> {
    const h = await this.redis.hgetall(this.byHash(hashToken(token)));
    if (!h.id || !ROLES.includes(h.role as Role) || !h.tenant) return null;
    return { tokenId: h.id, name: h.name ?? '', role: h.role as Role, tenant: h.tenant };
  }

  async list(): Promise<TokenInfo[]> {
    const index = await this.redis.hgetall(this.index());
    const out: TokenInfo[] = [];
    for (const h of Object.values(index)) {
      const r = await this.redis.hgetall(this.byHash(h));
      if (r.id) out.push({ tokenId: r.id, name: r.name ?? '', role: r.role as Role, tenant: r.tenant ?? '', createdAt: Number(r.created_at), createdBy: r.created_by ?? '' });
    }
    return out.sort((a, b) => a.createdAt - b.createdAt);
  }

  async revoke(tokenId: string): Promise<boolean> {
    const h = await this.redis.hget(this.index(), tokenId);
    if (h === null) return false;
    await this.redis.multi().del(this.byHash(h)).hdel(this.index(), tokenId).exec();
    return true;
  }
}
