import type { Redis } from 'ioredis';
import { z } from 'zod';
import { AppError, NotFoundError } from '../errors/errors.ts';
import { ClusterCounters } from '../metrics/cluster-counters.ts';
import {
  KeyDecryptionError,
  Secret,
  decryptSecret,
  encryptSecret,
  generateDataKey,
  needsRewrap,
  rewrapDataKey,
  secretDekId,
  unwrapDataKey,
  wrapDataKey,
  type Keyring,
} from './crypto/index.ts';

export const ENVIRONMENTS = ['development', 'staging', 'production'] as const;
export type KeyEnvironment = (typeof ENVIRONMENTS)[number];
export const KEY_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

export const newKeySchema = z
  .object({
    api_key: z.string().min(8, 'too short to be an API key').max(8192),
    key_name: z.string().regex(KEY_NAME, 'letters, digits, _ . -; at most 63').default('default'),
    environment: z.enum(ENVIRONMENTS).default('development'),
  })
  .strict();

/** What the API may show of a stored key: never the key, never its ciphertext. */
export interface KeyStatus {
  provider: string;
  key_name: string;
  environment: KeyEnvironment;
  status: 'active' | 'invalid';
  fingerprint: string;
  last4: string;
  created_at: string;
  updated_at: string;
  created_by: string;
  invalid_reason?: string;
  /** A replaced key stays usable until revoked, so in-flight work and rollouts do not break. */
  previous?: { fingerprint: string; last4: string; replaced_at: string };
}

/** A key a provider call may use (see usableKeys); decrypted only at the moment of the call. */
export interface KeyRef {
  source: 'stored' | 'env';
  keyName: string;
  which: 'current' | 'previous';
  fingerprint: string;
}

export interface AuditEntry {
  id: string;
  at: string;
  actor: string;
  action: string;
  provider: string;
  key_name: string;
  environment?: string;
  fingerprint?: string;
  detail?: string;
}

/**
 * Provider keys of each tenant, encrypted at rest (AES-256-GCM under the tenant's data key, which is
 * wrapped by the master keyring; tenant, provider and key name bound as associated data).
 * In clear only: fingerprint, last four characters, names, timestamps. Every operation is audited.
 *
 * Redis: `<p>:byok:dek:<tenant>` (wrapped data keys, `current` → id), `<p>:byok:key:<tenant>:<provider>:<name>`,
 * `<p>:byok:keys:<tenant>` (index), `<p>:byok:tenants`, `<p>:byok:audit:<tenant>` (a stream).
 */
export class KeyStore {
  private readonly redis: Redis;
  private readonly prefix: string;
  private readonly keyring: Keyring;

  constructor(redis: Redis, prefix: string, keyring: Keyring) {
    this.redis = redis;
    this.prefix = prefix;
    this.keyring = keyring;
  }

  private dekKey = (t: string) => `${this.prefix}:byok:dek:${t}`;
  private recordKey = (t: string, p: string, n: string) => `${this.prefix}:byok:key:${t}:${p}:${n}`;
  private indexKey = (t: string) => `${this.prefix}:byok:keys:${t}`;
  private tenantsKey = () => `${this.prefix}:byok:tenants`;
  private auditKey = (t: string) => `${this.prefix}:byok:audit:${t}`;

  get masterVersion(): string {
    return this.keyring.current;
  }

  /** Stores (or replaces) a key. A replaced key is kept as `previous` until revoked. */
  async put(tenant: string, provider: string, input: { keyName: string; environment: KeyEnvironment; apiKey: Secret }, actor: string): Promise<KeyStatus> {
    const { id: dekId, dek } = await this.dataKey(tenant, true);
    const binding = { tenant, provider, keyName: input.keyName };
    const ciphertext = encryptSecret(dek, dekId, binding, input.apiKey);
    dek.fill(0);
    const key = this.recordKey(tenant, provider, input.keyName);
    const now = String(Date.now());
    const old = await this.redis.hgetall(key);
    const fields: Record<string, string> = {
      environment: input.environment,
      ciphertext,
      fingerprint: input.apiKey.fingerprint(),
      last4: input.apiKey.last4(),
      status: 'active',
      created_at: old.created_at ?? now,
      updated_at: now,
      created_by: old.created_by ?? actor,
    };
    const replacing = old.ciphertext !== undefined && old.fingerprint !== fields.fingerprint;
    const m = this.redis.multi();
    if (replacing) {
      Object.assign(fields, { prev_ciphertext: old.ciphertext, prev_fingerprint: old.fingerprint ?? '', prev_last4: old.last4 ?? '', prev_replaced_at: now });
    }
    m.hset(key, fields).hdel(key, 'invalid_reason').sadd(this.indexKey(tenant), `${provider}:${input.keyName}`);
    await m.exec();
    await this.audit(tenant, { actor, action: replacing ? 'key.replaced' : old.ciphertext ? 'key.restored' : 'key.created', provider, key_name: input.keyName, environment: input.environment, fingerprint: fields.fingerprint });
    return (await this.status(tenant, provider, input.keyName)) as KeyStatus;
  }

  async status(tenant: string, provider: string, keyName: string): Promise<KeyStatus | null> {
    const h = await this.redis.hgetall(this.recordKey(tenant, provider, keyName));
    return h.ciphertext ? toStatus(provider, keyName, h) : null;
  }

  async list(tenant: string, provider?: string): Promise<KeyStatus[]> {
    const members = (await this.redis.smembers(this.indexKey(tenant))).sort();
    const out: KeyStatus[] = [];
    for (const m of members) {
      const i = m.indexOf(':');
      const p = m.slice(0, i);
      const n = m.slice(i + 1);
      if (provider !== undefined && p !== provider) continue;
      const s = await this.status(tenant, p, n);
      if (s) out.push(s);
    }
    return out;
  }

  /** Deletes a key, or with `previousOnly` revokes just the replaced one. */
  async delete(tenant: string, provider: string, keyName: string, actor: string, opts: { previousOnly?: boolean } = {}): Promise<boolean> {
    const key = this.recordKey(tenant, provider, keyName);
    const h = await this.redis.hgetall(key);
    if (!h.ciphertext) return false;
    if (opts.previousOnly) {
      if (!h.prev_ciphertext) return false;
      await this.redis.hdel(key, 'prev_ciphertext', 'prev_fingerprint', 'prev_last4', 'prev_replaced_at');
      await this.audit(tenant, { actor, action: 'key.previous_revoked', provider, key_name: keyName, fingerprint: h.prev_fingerprint ?? '' });
      return true;
    }
    await this.redis.multi().del(key).srem(this.indexKey(tenant), `${provider}:${keyName}`).exec();
    await this.audit(tenant, { actor, action: 'key.deleted', provider, key_name: keyName, environment: h.environment ?? '', fingerprint: h.fingerprint ?? '' });
    return true;
  }

  /**
   * Decrypts a key for a provider call. `which: 'previous'` reads the replaced key. A record whose
   * ciphertext fails its integrity check is reported (`key_decryption_failed`) and never used.
   */
  async reveal(tenant: string, provider: string, keyName: string, actor: string, which: 'current' | 'previous' = 'current'): Promise<Secret> {
    const h = await this.redis.hgetall(this.recordKey(tenant, provider, keyName));
    const ciphertext = which === 'current' ? h.ciphertext : h.prev_ciphertext;
    if (!ciphertext) throw new NotFoundError(`No ${which === 'previous' ? 'previous ' : ''}key named ${keyName} for ${provider}`);
    try {
      const { dek } = await this.dataKey(tenant, false, secretDekId(ciphertext));
      try {
        return decryptSecret(dek, { tenant, provider, keyName }, ciphertext);
      } finally {
        dek.fill(0);
      }
    } catch (err) {
      if (err instanceof KeyDecryptionError) {
        // Cluster-wide `folio_key_decryption_failures_total` (this runs in the API and in worker threads).
        void new ClusterCounters(this.redis, this.prefix).keyDecryptionFailure();
        await this.audit(tenant, { actor, action: 'key.decryption_failed', provider, key_name: keyName, fingerprint: (which === 'current' ? h.fingerprint : h.prev_fingerprint) ?? '', detail: `${err.record}/${err.field}` });
        throw new AppError('key_decryption_failed', `The stored key ${keyName} for ${provider} failed its integrity check and was not used`, { cause: err });
      }
      throw err;
    }
  }

  /**
   * The keys a provider call may use, in order: the tenant's active stored keys for this
   * deployment's environment (each current key, then the replaced ones still kept), then the
   * operator's environment variable as the fallback. Keys marked invalid are skipped.
   */
  async usableKeys(tenant: string, provider: string, environment: KeyEnvironment, envKey: string | undefined): Promise<KeyRef[]> {
    const stored = (await this.list(tenant, provider)).filter((k) => k.environment === environment && k.status === 'active');
    const refs: KeyRef[] = [
      ...stored.map((k): KeyRef => ({ source: 'stored', keyName: k.key_name, which: 'current', fingerprint: k.fingerprint })),
      ...stored.filter((k) => k.previous).map((k): KeyRef => ({ source: 'stored', keyName: k.key_name, which: 'previous', fingerprint: k.previous!.fingerprint })),
    ];
    if (envKey !== undefined && envKey.length > 0) refs.push({ source: 'env', keyName: 'env', which: 'current', fingerprint: new Secret(envKey).fingerprint() });
    return refs;
  }

  /** The provider refused the key (401/403): it is kept but marked invalid, and skipped. */
  async markInvalid(tenant: string, provider: string, keyName: string, actor: string, reason: string): Promise<void> {
    const key = this.recordKey(tenant, provider, keyName);
    const fp = await this.redis.hget(key, 'fingerprint');
    if (fp === null) return;
    await this.redis.hset(key, { status: 'invalid', invalid_reason: reason.slice(0, 200), updated_at: String(Date.now()) });
    await this.audit(tenant, { actor, action: 'key.marked_invalid', provider, key_name: keyName, fingerprint: fp, detail: reason.slice(0, 200) });
  }

  async markActive(tenant: string, provider: string, keyName: string, actor: string): Promise<void> {
    const key = this.recordKey(tenant, provider, keyName);
    const fp = await this.redis.hget(key, 'fingerprint');
    if (fp === null) return;
    await this.redis.hset(key, { status: 'active', updated_at: String(Date.now()) });
    await this.redis.hdel(key, 'invalid_reason');
    await this.audit(tenant, { actor, action: 'key.verified', provider, key_name: keyName, fingerprint: fp });
  }

  /**
   * Master-key rotation: re-wraps every tenant's data keys under the keyring's current version.
   * The stored secrets are untouched (they are encrypted under the data keys), so this is a few
   * small writes per tenant and needs no downtime; idempotent, so it can be re-run after a crash.
   */
  async rewrapAll(actor: string): Promise<{ tenants: number; rewrapped: number }> {
    const tenants = await this.redis.smembers(this.tenantsKey());
    let rewrapped = 0;
    for (const tenant of tenants) {
      const h = await this.redis.hgetall(this.dekKey(tenant));
      for (const [id, wrapped] of Object.entries(h)) {
        if (id === 'current' || !needsRewrap(this.keyring, wrapped)) continue;
        const next = rewrapDataKey(this.keyring, tenant, wrapped);
        // Compare-and-set: a concurrent rewrap by another instance leaves one consistent value.
        const done = await this.redis.eval(
          "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) return 1 end return 0",
          1,
          this.dekKey(tenant),
          id,
          wrapped,
          next,
        );
        if (done === 1) rewrapped++;
      }
      await this.audit(tenant, { actor, action: 'master_key.rewrapped', provider: '-', key_name: '-', detail: `master ${this.keyring.current}` });
    }
    return { tenants: tenants.length, rewrapped };
  }

  /** Master-key versions the tenants' data keys are wrapped under (to know when an old one can go). */
  async wrapVersions(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const tenant of await this.redis.smembers(this.tenantsKey())) {
      for (const [id, wrapped] of Object.entries(await this.redis.hgetall(this.dekKey(tenant)))) {
        if (id === 'current') continue;
        const v = wrapped.split('.')[1] ?? '?';
        out[v] = (out[v] ?? 0) + 1;
      }
    }
    return out;
  }

  async auditLog(tenant: string, limit = 100): Promise<AuditEntry[]> {
    const rows = await this.redis.xrevrange(this.auditKey(tenant), '+', '-', 'COUNT', limit);
    return rows.map(([id, flat]) => {
      const f: Record<string, string> = {};
      for (let i = 0; i + 1 < flat.length; i += 2) f[flat[i] as string] = flat[i + 1] as string;
      return { id, at: new Date(Number(id.split('-')[0])).toISOString(), actor: f.actor ?? '', action: f.action ?? '', provider: f.provider ?? '', key_name: f.key_name ?? '', ...(f.environment ? { environment: f.environment } : {}), ...(f.fingerprint ? { fingerprint: f.fingerprint } : {}), ...(f.detail ? { detail: f.detail } : {}) };
    });
  }

  private async audit(tenant: string, e: Omit<AuditEntry, 'id' | 'at'>): Promise<void> {
    const flat = Object.entries(e).filter(([, v]) => v !== undefined && v !== '').flat() as string[];
    await this.redis.xadd(this.auditKey(tenant), 'MAXLEN', '~', '100000', '*', ...flat);
  }

  /** The tenant's data key (created on first use when `create`). */
  private async dataKey(tenant: string, create: boolean, id?: string): Promise<{ id: string; dek: Buffer }> {
    const key = this.dekKey(tenant);
    let h = await this.redis.hgetall(key);
    if (!h.current) {
      if (!create) throw new KeyDecryptionError('data_key', 'key');
      const dek = generateDataKey();
      const wrapped = wrapDataKey(this.keyring, tenant, dek);
      dek.fill(0);
      // Two first writers race: HSETNX keeps one data key.
      await this.redis.multi().hsetnx(key, 'd1', wrapped).hsetnx(key, 'current', 'd1').sadd(this.tenantsKey(), tenant).exec();
      h = await this.redis.hgetall(key);
    }
    const use = id ?? (h.current as string);
    const wrapped = h[use];
    if (wrapped === undefined) throw new KeyDecryptionError('data_key', 'dek_id');
    return { id: use, dek: unwrapDataKey(this.keyring, tenant, wrapped) };
  }
}

function toStatus(provider: string, keyName: string, h: Record<string, string>): KeyStatus {
  const iso = (v: string | undefined) => new Date(Number(v ?? 0)).toISOString();
  return {
    provider,
    key_name: keyName,
    environment: (h.environment ?? 'development') as KeyEnvironment,
    status: h.status === 'invalid' ? 'invalid' : 'active',
    fingerprint: h.fingerprint ?? '',
    last4: h.last4 ?? '',
    created_at: iso(h.created_at),
    updated_at: iso(h.updated_at),
    created_by: h.created_by ?? '',
    ...(h.invalid_reason ? { invalid_reason: h.invalid_reason } : {}),
    ...(h.prev_ciphertext ? { previous: { fingerprint: h.prev_fingerprint ?? '', last4: h.prev_last4 ?? '', replaced_at: iso(h.prev_replaced_at) } } : {}),
  };
}
