import type { Redis } from 'ioredis';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../errors/errors.ts';
import { providerSchema, type Catalog, type Provider } from './catalog/index.ts';

/** What an admin may change of a provider through the API. */
export const providerPatchSchema = z
  .object({
    active: z.boolean().optional(),
    base_url: z.url({ protocol: /^https?$/ }).nullable().optional(),
    limits: z.object({ rpm: z.number().int().positive().nullable(), tpm: z.number().int().positive().nullable() }).optional(),
    models: providerSchema.shape.models.optional(),
  })
  .strict();
export type ProviderPatch = z.infer<typeof providerPatchSchema>;

/**
 * The provider catalog in Redis, seeded from the versioned JSON bundled with Folio and editable
 * through the API. A provider an admin edited is kept when a newer bundled version is seeded;
 * the others follow the bundled file.
 *
 * `<p>:byok:catalog` hash: provider id → provider JSON; `<p>:byok:catalog:edited` set;
 * `<p>:byok:catalog:version`.
 */
export class CatalogStore {
  private readonly redis: Redis;
  private readonly prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.redis = redis;
    this.prefix = prefix;
  }

  private key = () => `${this.prefix}:byok:catalog`;
  private editedKey = () => `${this.prefix}:byok:catalog:edited`;
  private versionKey = () => `${this.prefix}:byok:catalog:version`;

  /** Seeds or upgrades the catalog; returns the ids written. Safe to run from every process. */
  async seed(bundled: Catalog): Promise<string[]> {
    const current = Number((await this.redis.get(this.versionKey())) ?? 0);
    const edited = new Set(await this.redis.smembers(this.editedKey()));
    const existing = await this.redis.hkeys(this.key());
    const written: string[] = [];
    const m = this.redis.multi();
    for (const p of bundled.providers) {
      const missing = !existing.includes(p.id);
      if (missing || (bundled.version > current && !edited.has(p.id))) {
        m.hset(this.key(), p.id, JSON.stringify(p));
        written.push(p.id);
      }
    }
    m.set(this.versionKey(), String(Math.max(current, bundled.version)));
    await m.exec();
    return written;
  }

  async list(): Promise<Provider[]> {
    const all = await this.redis.hgetall(this.key());
    return Object.values(all)
      .map((v) => providerSchema.parse(JSON.parse(v)))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  async get(id: string): Promise<Provider> {
    const v = await this.redis.hget(this.key(), id);
    if (v === null) throw new NotFoundError(`No provider ${id}`);
    return providerSchema.parse(JSON.parse(v));
  }

  async update(id: string, patch: ProviderPatch): Promise<Provider> {
    const current = await this.get(id);
    const next = providerSchema.safeParse({ ...current, ...patch });
    if (!next.success) {
      throw new ValidationError('The provider would be invalid', next.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message })));
    }
    await this.redis.multi().hset(this.key(), id, JSON.stringify(next.data)).sadd(this.editedKey(), id).exec();
    return next.data;
  }
}
