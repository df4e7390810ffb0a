import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import { JOB_STATUSES, isTerminal, type JobError, type JobRecord, type JobStatus, type WebhookAttempt, type WebhookState } from './job-record.ts';

/**
 * Appends a job event to its stream (KEYS[3]) from the job hash (KEYS[1]): status, page counts
 * (running totals kept beside the chunks by RECORD_CHUNK_LUA) and time. The stream is capped
 * (MAXLEN ~ 1000) and expires an hour after the job's retention ends.
 */
const EMIT_LUA = `
local function emit(jobKey, eventsKey, kind, now)
  local h = redis.call('HMGET', jobKey, 'status', 'pages_total', 'ev_done', 'ev_failed', 'expires_at')
  redis.call('XADD', eventsKey, 'MAXLEN', '~', '1000', '*', 'type', kind, 'status', h[1] or '', 'pages_total', h[2] or '',
    'pages_done', h[3] or '0', 'pages_failed', h[4] or '0', 'at', now)
  local exp = tonumber(h[5] or '')
  if exp and exp > 0 then redis.call('PEXPIREAT', eventsKey, exp + 3600000) else redis.call('EXPIRE', eventsKey, 2592000) end
end
`;

/**
 * Compare-and-set of a job's status: moves to ARGV[1] only from one of the statuses listed in
 * ARGV[2] (comma-separated), and sets the field/value pairs that follow in the same step. A worker
 * finishing late can therefore never overwrite `cancelled`, and a terminal state is final.
 * KEYS[1] job hash, KEYS[2] its event stream (a `status` event is appended when it moves).
 * Returns 1 when moved, 0 when not.
 */
const TRANSITION_LUA = `${EMIT_LUA}
local cur = redis.call('HGET', KEYS[1], 'status')
if not cur then return 0 end
if not string.find(',' .. ARGV[2] .. ',', ',' .. cur .. ',', 1, true) then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'updated_at', ARGV[3])
for i = 4, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', KEYS[1], ARGV[i]) else redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
end
emit(KEYS[1], KEYS[2], 'status', ARGV[3])
return 1
`;

/**
 * Records a unit's page counts (KEYS[2] chunks hash, field ARGV[1], value "done,failed" ARGV[2]);
 * idempotent. When the value changes, the running totals in the job hash (KEYS[1]) move by the
 * difference and a `progress` event goes to the stream (KEYS[3]). A job already removed gets
 * neither (no stray hash is recreated).
 */
const RECORD_CHUNK_LUA = `${EMIT_LUA}
local prev = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[2], 2592000)
if prev == ARGV[2] or redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local pd, pf = 0, 0
if prev then
  local a, b = string.match(prev, '^(%d+),(%d+)$')
  pd, pf = tonumber(a or '0'), tonumber(b or '0')
end
local nd, nf = string.match(ARGV[2], '^(%d+),(%d+)$')
redis.call('HINCRBY', KEYS[1], 'ev_done', tonumber(nd) - pd)
redis.call('HINCRBY', KEYS[1], 'ev_failed', tonumber(nf) - pf)
emit(KEYS[1], KEYS[3], 'progress', ARGV[3])
return 1
`;

type RedisWithTransition = Redis & {
  folioTransition(key: string, events: string, to: string, from: string, now: string, ...fields: string[]): Promise<number>;
  folioRecordChunk(key: string, chunks: string, events: string, unit: string, value: string, now: string): Promise<number>;
};

/** Called after a job reached a terminal status (once per job: terminal states are final). */
export type TerminalHook = (jobId: string, status: JobStatus) => Promise<void>;

/** Pending statuses a job may be cancelled from. */
const ACTIVE: readonly JobStatus[] = ['queued', 'planning', 'processing'];

export interface NewJob {
  id: string;
  tenant: string;
  filename: string;
  sizeBytes: number;
  sha256: string;
  source: 'upload' | 'url';
  sourceUrl?: string;
  options: Record<string, unknown>;
  password?: string;
  requestId?: string;
  createdAt: number;
  expiresAt: number;
}

/** Job records, tenant indexes, progress and idempotency keys in Redis. */
export class JobStore {
  private readonly redis: RedisWithTransition;
  private readonly prefix: string;

  private onTerminal: TerminalHook | undefined;

  constructor(redis: Redis, prefix: string, opts: { onTerminal?: TerminalHook } = {}) {
    if (!('folioRecordChunk' in redis)) {
      redis.defineCommand('folioTransition', { numberOfKeys: 2, lua: TRANSITION_LUA });
      redis.defineCommand('folioRecordChunk', { numberOfKeys: 3, lua: RECORD_CHUNK_LUA });
    }
    this.redis = redis as RedisWithTransition;
    this.prefix = prefix;
    this.onTerminal = opts.onTerminal;
  }

  /** Sets what runs after a job reaches a terminal status (webhook enqueueing). */
  setTerminalHook(hook: TerminalHook | undefined): void {
    this.onTerminal = hook;
  }

  /** The job's event stream (status and progress events; see docs/CLIENTS.md). */
  eventsKey = (id: string) => `${this.prefix}:job:${id}:events`;

  private jobKey = (id: string) => `${this.prefix}:job:${id}`;
  private chunksKey = (id: string) => `${this.prefix}:job:${id}:chunks`;
  private costsKey = (id: string) => `${this.prefix}:job:${id}:costs`;
  private tenantKey = (tenant: string) => `${this.prefix}:tenant:${tenant}:jobs`;
  private expiryKey = () => `${this.prefix}:jobs:expiry`;
  private idemKey = (tenant: string, key: string) =>
    `${this.prefix}:idem:${tenant}:${createHash('sha256').update(key).digest('hex')}`;

  async create(job: NewJob): Promise<void> {
    const fields: Record<string, string> = {
      id: job.id,
      tenant: job.tenant,
      status: 'queued',
      filename: job.filename,
      size_bytes: String(job.sizeBytes),
      sha256: job.sha256,
      source: job.source,
      options: JSON.stringify(job.options),
      created_at: String(job.createdAt),
      updated_at: String(job.createdAt),
      expires_at: String(job.expiresAt),
    };
    if (job.sourceUrl !== undefined) fields.source_url = job.sourceUrl;
    if (job.password !== undefined) fields.password = job.password;
    if (job.requestId !== undefined) fields.request_id = job.requestId;
    await this.redis
      .multi()
      .hset(this.jobKey(job.id), fields)
      .zadd(this.tenantKey(job.tenant), job.createdAt, job.id)
      .zadd(this.expiryKey(), job.expiresAt, job.id)
      .exec()
      .then(throwOnMultiError);
  }

  async get(id: string): Promise<JobRecord | null> {
    const [[, h], [, chunks], [, costs]] = (await this.redis
      .multi()
      .hgetall(this.jobKey(id))
      .hvals(this.chunksKey(id))
      .hvals(this.costsKey(id))
      .exec()
      .then(throwOnMultiError)) as [[null, Record<string, string>], [null, string[]], [null, string[]]];
    if (!h.id) return null;
    const rec = parseRecord(h, chunks);
    const cost = costs.reduce((s, c) => s + Number(c), 0);
    if (cost > 0) rec.costMicroUsd = cost;
    return rec;
  }

  /** Stores the engine plan (the optimizer's choice and cascade) the pages of a job follow. */
  async setOptimization(id: string, optimization: unknown): Promise<void> {
    await this.redis.hset(this.jobKey(id), 'optimization', JSON.stringify(optimization));
  }

  /** Records what a page's provider calls actually cost (integer micro-dollars); idempotent per page. */
  async recordPageCost(id: string, page: number, microUsd: number): Promise<void> {
    if (microUsd <= 0) return;
    await this.redis.multi().hset(this.costsKey(id), String(page), String(Math.ceil(microUsd))).expire(this.costsKey(id), 30 * 24 * 3600).exec().then(throwOnMultiError);
  }

  /** The password to open the job's PDF, if one was given (never part of a JobRecord). */
  async getPassword(id: string): Promise<string | undefined> {
    return (await this.redis.hget(this.jobKey(id), 'password')) ?? undefined;
  }

  async getStatus(id: string): Promise<JobStatus | null> {
    const s = await this.redis.hget(this.jobKey(id), 'status');
    return s === null ? null : (s as JobStatus);
  }

  /**
   * Moves the job to `to` if its status is one of `from`; returns whether it moved.
   * `fields` with an empty-string value are deleted.
   */
  async transition(id: string, to: JobStatus, from: readonly JobStatus[], fields: Record<string, string> = {}): Promise<boolean> {
    const now = Date.now();
    const pairs = Object.entries({ ...fields, ...terminalFields(to, now) }).flat();
    const moved = (await this.redis.folioTransition(this.jobKey(id), this.eventsKey(id), to, from.join(','), String(now), ...pairs)) === 1;
    if (moved && isTerminal(to) && this.onTerminal !== undefined) {
      // The transition stands whatever the hook does; the hook reports its own failures.
      await this.onTerminal(id, to).catch(() => undefined);
    }
    return moved;
  }

  markPlanning(id: string): Promise<boolean> {
    return this.transition(id, 'planning', ['queued', 'planning'], { started_at: String(Date.now()) });
  }

  markProcessing(id: string, pagesTotal: number): Promise<boolean> {
    return this.transition(id, 'processing', ['planning', 'processing'], { pages_total: String(pagesTotal) });
  }

  fail(id: string, error: JobError): Promise<boolean> {
    return this.transition(id, 'failed', ACTIVE, { error: JSON.stringify(error) });
  }

  finish(id: string, status: 'completed' | 'partial' | 'failed', error?: JobError): Promise<boolean> {
    return this.transition(id, status, ['processing'], error === undefined ? {} : { error: JSON.stringify(error) });
  }

  cancel(id: string): Promise<boolean> {
    return this.transition(id, 'cancelled', ACTIVE, {
      error: JSON.stringify({ code: 'cancelled', message: 'Cancelled by the caller' }),
    });
  }

  /**
   * Records the pages a unit of work finished (`unit`: a text chunk's first page, or `ocr-<page>`);
   * idempotent, so a retried unit never counts twice.
   */
  async recordChunk(id: string, unit: number | string, done: number, failed: number): Promise<void> {
    await this.redis.folioRecordChunk(this.jobKey(id), this.chunksKey(id), this.eventsKey(id), String(unit), `${done},${failed}`, String(Date.now()));
  }

  /** Starts the webhook record of a job (state pending, no attempts yet); false when one exists or the job is gone. */
  async initWebhook(id: string, state: WebhookState): Promise<boolean> {
    if ((await this.redis.exists(this.jobKey(id))) === 0) return false;
    return (await this.redis.hsetnx(this.jobKey(id), 'webhook', JSON.stringify(state))) === 1;
  }

  async getWebhook(id: string): Promise<WebhookState | undefined> {
    const v = await this.redis.hget(this.jobKey(id), 'webhook');
    return v === null ? undefined : (JSON.parse(v) as WebhookState);
  }

  /**
   * Appends a delivery attempt (the last 50 are kept) and sets the state. Only the one delivery
   * job of a job writes here, one attempt at a time, so read-modify-write is safe.
   */
  async recordWebhookAttempt(id: string, attempt: WebhookAttempt, state: WebhookState['state'], deliveredAt?: number): Promise<void> {
    const cur = await this.getWebhook(id);
    if (cur === undefined || (await this.redis.exists(this.jobKey(id))) === 0) return;
    const next: WebhookState = { ...cur, state, attempts: [...cur.attempts, attempt].slice(-50), ...(deliveredAt === undefined ? {} : { deliveredAt }) };
    await this.redis.hset(this.jobKey(id), 'webhook', JSON.stringify(next));
  }

  /** Most recent first; `status` filters. Scans at most `scanLimit` recent jobs of the tenant. */
  async list(tenant: string, opts: { status?: JobStatus; limit: number; scanLimit?: number }): Promise<JobRecord[]> {
    const ids = await this.redis.zrevrange(this.tenantKey(tenant), 0, (opts.scanLimit ?? 1_000) - 1);
    const out: JobRecord[] = [];
    for (let i = 0; i < ids.length && out.length < opts.limit; i += 100) {
      const batch = ids.slice(i, i + 100);
      const m = this.redis.multi();
      for (const jid of batch) m.hgetall(this.jobKey(jid)).hvals(this.chunksKey(jid));
      const res = await m.exec().then(throwOnMultiError);
      for (let j = 0; j < batch.length; j++) {
        const h = res[2 * j]?.[1] as Record<string, string>;
        const chunks = res[2 * j + 1]?.[1] as string[];
        if (!h?.id) continue;
        const rec = parseRecord(h, chunks);
        if (opts.status === undefined || rec.status === opts.status) out.push(rec);
        if (out.length >= opts.limit) break;
      }
    }
    return out;
  }

  /** Removes the record and its indexes (the objects in S3 are the caller's to delete first). */
  async remove(id: string, tenant: string): Promise<void> {
    await this.redis
      .multi()
      .del(this.jobKey(id), this.chunksKey(id), this.costsKey(id), this.eventsKey(id))
      .zrem(this.tenantKey(tenant), id)
      .zrem(this.expiryKey(), id)
      .exec()
      .then(throwOnMultiError);
  }

  /** Job ids whose retention ended before `now`. */
  dueForExpiry(now: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.expiryKey(), 0, now, 'LIMIT', 0, limit);
  }

  async forgetExpiry(id: string): Promise<void> {
    await this.redis.zrem(this.expiryKey(), id);
  }

  /**
   * Claims an idempotency key for a new job. Returns `{ claimed: true }` for the first caller, or
   * the job id (or `pending`) that already holds the key.
   */
  async claimIdempotencyKey(tenant: string, key: string, jobId: string, ttlSeconds: number): Promise<{ claimed: true } | { claimed: false; jobId: string | null }> {
    const k = this.idemKey(tenant, key);
    const ok = await this.redis.set(k, `pending:${jobId}`, 'EX', ttlSeconds, 'NX');
    if (ok === 'OK') return { claimed: true };
    const v = await this.redis.get(k);
    if (v === null) return this.claimIdempotencyKey(tenant, key, jobId, ttlSeconds);
    return { claimed: false, jobId: v.startsWith('pending:') ? null : v };
  }

  async confirmIdempotencyKey(tenant: string, key: string, jobId: string, ttlSeconds: number): Promise<void> {
    await this.redis.set(this.idemKey(tenant, key), jobId, 'EX', ttlSeconds);
  }

  async releaseIdempotencyKey(tenant: string, key: string): Promise<void> {
    await this.redis.del(this.idemKey(tenant, key));
  }
}

function terminalFields(to: JobStatus, now: number): Record<string, string> {
  // A finished job no longer needs its password: erase it from Redis.
  return to === 'completed' || to === 'partial' || to === 'failed' || to === 'cancelled'
    ? { finished_at: String(now), password: '' }
    : {};
}

function parseRecord(h: Record<string, string>, chunks: string[]): JobRecord {
  let done = 0;
  let failed = 0;
  for (const c of chunks) {
    const [d, f] = c.split(',');
    done += Number(d);
    failed += Number(f);
  }
  const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));
  const status = JOB_STATUSES.includes(h.status as JobStatus) ? (h.status as JobStatus) : 'failed';
  const rec: JobRecord = {
    id: h.id ?? '',
    tenant: h.tenant ?? '',
    status,
    filename: h.filename ?? '',
    sizeBytes: Number(h.size_bytes ?? 0),
    sha256: h.sha256 ?? '',
    source: h.source === 'url' ? 'url' : 'upload',
    options: h.options ? (JSON.parse(h.options) as Record<string, unknown>) : {},
    pagesDone: done,
    pagesFailed: failed,
    createdAt: Number(h.created_at ?? 0),
    expiresAt: Number(h.expires_at ?? 0),
  };
  const pagesTotal = num(h.pages_total);
  if (pagesTotal !== undefined) rec.pagesTotal = pagesTotal;
  const startedAt = num(h.started_at);
  if (startedAt !== undefined) rec.startedAt = startedAt;
  const finishedAt = num(h.finished_at);
  if (finishedAt !== undefined) rec.finishedAt = finishedAt;
  if (h.source_url) rec.sourceUrl = h.source_url;
  if (h.request_id) rec.requestId = h.request_id;
  if (h.error) rec.error = JSON.parse(h.error) as JobError;
  if (h.optimization) rec.optimization = JSON.parse(h.optimization) as unknown;
  if (h.webhook) rec.webhook = JSON.parse(h.webhook) as WebhookState;
  return rec;
}

function throwOnMultiError(res: [Error | null, unknown][] | null): [Error | null, unknown][] {
  if (res === null) throw new Error('Redis transaction aborted');
  for (const [err] of res) if (err) throw err;
  return res;
}
