import fs from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';

/**
 * Admission control for BYOK provider calls: ONE atomic Redis step per call checks and takes the
 * provider key's rate allowances (requests, input tokens, output tokens per window; sliding log
 * on Redis TIME) and reserves the call's worst-case cost against every budget scope, creating a
 * lease that is later settled with the actual cost. See README.md in this folder for the design.
 *
 * Fail closed: every method rejects with AdmissionUnavailableError when Redis does not answer
 * (down, or no reply within `commandTimeoutMs`, also on connections that would otherwise wait
 * forever). A caller that gets no admission makes no paid call.
 */

export interface RateLimits {
  /** Requests per window; 0 = unlimited. */
  rpm: number;
  /** Input tokens per window; 0 = unlimited. */
  itpm: number;
  /** Output tokens per window; 0 = unlimited. */
  otpm: number;
  /** Input + output tokens per window (providers with one combined TPM, e.g. the catalog's `tpm`); 0 or absent = unlimited. */
  tpm?: number;
}

export interface BudgetScope {
  /** e.g. `job:<jobId>`, `tenant:<tenant>`; the Redis key is derived from it. */
  scope: string;
  /** Integer µ$; -1 = no limit (the spend is still recorded). */
  limitMicroUsd: number;
  /** 'month': the scope key gets the UTC calendar month of Redis TIME appended (`tenant:acme:2026-11`). */
  period?: 'month';
  /** Expire the scope's keys this long after the last admission (e.g. a job's scope); absent = keep. */
  retainMs?: number;
}

export interface AdmitRequest {
  /** Caller-chosen, unique per attempt, e.g. `jobId:page:engine:attempt`. Re-admitting it is idempotent. */
  leaseId: string;
  /** The provider key's fingerprint or name: rate limits are per key. */
  keyId: string;
  limits: RateLimits;
  tokens: { input: number; maxOutput: number };
  /** Worst-case cost of the call, integer µ$ (catalog's worstCaseCostMicroUsd). */
  costMicroUsd: number;
  budgets: readonly BudgetScope[];
  /** After this long without a settle the lease's budget reservations are reclaimed. */
  leaseTtlMs: number;
}

export type LeaseState = 'reserved' | 'expired' | 'settled';
export type SettleOutcome = 'actual' | 'worst_case' | 'refund';

export interface Lease {
  id: string;
  keyId: string;
  /** 'expired': TTL passed without a settle; its reservations are (or will be, on next touch) reclaimed. */
  state: LeaseState;
  costMicroUsd: number;
  inputTokens: number;
  outputTokens: number;
  /** Redis server time (ms since epoch, µs precision). */
  createdAtMs: number;
  expiresAtMs: number;
  /** Budget scopes reserved against, with the resolved key (period included). */
  scopes: Array<{ scopeKey: string; reservedMicroUsd: number }>;
  settlement?: { outcome: SettleOutcome; costMicroUsd: number; inputTokens: number; outputTokens: number; settledAtMs: number };
}

export type AdmitResult =
  /** `reused`: the lease id was admitted before; nothing was taken now. Make the call only if `lease.state` is 'reserved'. */
  | { admitted: true; lease: Lease; reused: boolean }
  | { admitted: false; reason: 'rpm' | 'itpm' | 'otpm' | 'tpm'; retryAfterMs: number }
  /** The request alone exceeds a token limit: waiting never helps (use another key or smaller input). */
  | { admitted: false; reason: 'too_large'; limit: 'itpm' | 'otpm' | 'tpm' }
  | { admitted: false; reason: 'budget_exceeded'; scope: string; scopeKey: string; remainingMicroUsd: number };

export type SettleResult = { status: 'settled' | 'already_settled'; lease: Lease } | { status: 'unknown' };

export interface ScopeSpend {
  scopeKey: string;
  spentMicroUsd: number;
  /** Held by live leases (expired ones are reclaimed before answering). */
  reservedMicroUsd: number;
  /** The limit of the latest admission on this scope; -1 = none or never seen. */
  limitMicroUsd: number;
}

export interface AdmissionOptions {
  /** Rate-limit window; providers count per minute. Tests and the bench shorten it. */
  windowMs?: number;
  /** How long a lease record outlives its TTL, so a late settle still finds it (and re-admits stay idempotent). */
  leaseRetentionMs?: number;
  /** No answer from Redis within this → AdmissionUnavailableError (fail closed). */
  commandTimeoutMs?: number;
}

/** Redis did not answer (or answered with an error): no admission, so no paid call. */
export class AdmissionUnavailableError extends Error {
  constructor(cause: unknown) {
    super(`admission unavailable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'AdmissionUnavailableError';
  }
}

// ---------------------------------------------------------------------------------------------
// Scripts: `<name>-<numberOfKeys>.lua` with a header listing KEYS/ARGV (BullMQ's convention);
// `--- @include "<file>"` lines are replaced by that file (shared helpers).

const DIR = import.meta.dirname;

function loadScript(file: string): { numberOfKeys: number; lua: string } {
  const m = /-(\d+)\.lua$/.exec(file);
  if (m?.[1] === undefined) throw new Error(`script ${file} is not named <name>-<numberOfKeys>.lua`);
  const lua = fs
    .readFileSync(path.join(DIR, file), 'utf8')
    .replace(/^--- @include "([\w/.-]+)"$/gm, (_line, inc: string) => fs.readFileSync(path.join(DIR, `${inc}.lua`), 'utf8'));
  return { numberOfKeys: Number(m[1]), lua };
}

const SCRIPTS = {
  folioAdmit: loadScript('admit-3.lua'),
  folioSettle: loadScript('settle-1.lua'),
  folioSpend: loadScript('spend-0.lua'),
} as const;

type Reply = unknown;
type RedisWithAdmission = Redis & {
  folioAdmit(leaseKey: string, logKey: string, wKey: string, ...argv: string[]): Promise<Reply>;
  folioSettle(leaseKey: string, ...argv: string[]): Promise<Reply>;
  folioSpend(...argv: string[]): Promise<Reply>;
};

const DEFAULTS = { windowMs: 60_000, leaseRetentionMs: 24 * 3600_000, commandTimeoutMs: 5_000 };

export class Admission {
  private readonly redis: RedisWithAdmission;
  private readonly prefix: string;
  private readonly opts: Required<AdmissionOptions>;

  constructor(redis: Redis, prefix: string, options: AdmissionOptions = {}) {
    for (const [name, def] of Object.entries(SCRIPTS)) {
      if (!(name in redis)) redis.defineCommand(name, def);
    }
    this.redis = redis as RedisWithAdmission;
    this.prefix = `${prefix}:adm`;
    this.opts = { ...DEFAULTS, ...options };
    positiveInt('windowMs', this.opts.windowMs);
    nonNegativeInt('leaseRetentionMs', this.opts.leaseRetentionMs);
    positiveInt('commandTimeoutMs', this.opts.commandTimeoutMs);
  }

  /** Checks and takes every allowance and reservation, or nothing. Throws RangeError on malformed input. */
  async admit(req: AdmitRequest): Promise<AdmitResult> {
    validate(req);
    const { rpm, itpm, otpm, tpm = 0 } = req.limits;
    const argv = [
      this.prefix, req.leaseId, req.keyId, String(this.opts.windowMs),
      String(rpm), String(itpm), String(otpm), String(tpm),
      String(req.tokens.input), String(req.tokens.maxOutput), String(req.costMicroUsd),
      String(req.leaseTtlMs), String(this.opts.leaseRetentionMs),
    ];
    for (const b of req.budgets) argv.push(b.scope, String(b.limitMicroUsd), b.period ?? '', String(b.retainMs ?? 0));
    const k = `${this.prefix}:key:${req.keyId}`;
    const reply = asArray(await this.call(() => this.redis.folioAdmit(`${this.prefix}:lease:${req.leaseId}`, `${k}:log`, `${k}:w`, ...argv)));
    if (reply[0] === 1) {
      return { admitted: true, reused: reply[1] === 'existing', lease: parseLease(asArray(reply[3]), Number(reply[2])) };
    }
    const reason = String(reply[1]);
    switch (reason) {
      case 'rpm':
      case 'itpm':
      case 'otpm':
      case 'tpm':
        return { admitted: false, reason, retryAfterMs: Number(reply[2]) };
      case 'too_large':
        return { admitted: false, reason, limit: String(reply[2]) as 'itpm' | 'otpm' | 'tpm' };
      case 'budget_exceeded':
        return { admitted: false, reason, scope: String(reply[2]), scopeKey: String(reply[3]), remainingMicroUsd: Number(reply[4]) };
      default:
        throw new AdmissionUnavailableError(new Error(`unexpected admit reply ${JSON.stringify(reply)}`));
    }
  }

  /** Records the call's actual cost and tokens; idempotent (a settled lease is final). */
  settle(leaseId: string, actual: { costMicroUsd: number; inputTokens: number; outputTokens: number }): Promise<SettleResult> {
    nonNegativeInt('costMicroUsd', actual.costMicroUsd);
    nonNegativeInt('inputTokens', actual.inputTokens);
    nonNegativeInt('outputTokens', actual.outputTokens);
    return this.settleAs(leaseId, 'actual', [actual.costMicroUsd, actual.inputTokens, actual.outputTokens]);
  }

  /** The call never reached the provider: cost 0, tokens and the request slot given back. */
  refund(leaseId: string): Promise<SettleResult> {
    return this.settleAs(leaseId, 'refund', [0, 0, 0]);
  }

  /** Outcome unknown (e.g. our timeout): charge the worst case that was reserved. */
  settleWorstCase(leaseId: string): Promise<SettleResult> {
    return this.settleAs(leaseId, 'worst_case', [0, 0, 0]);
  }

  /** A scope's spend and live reservations (the current month's key for period 'month'). */
  async spend(scope: string, period?: 'month'): Promise<ScopeSpend> {
    nonEmpty('scope', scope);
    const r = asArray(await this.call(() => this.redis.folioSpend(this.prefix, scope, period ?? '')));
    return { scopeKey: String(r[0]), spentMicroUsd: Number(r[1]), reservedMicroUsd: Number(r[2]), limitMicroUsd: Number(r[3]) };
  }

  private async settleAs(leaseId: string, mode: SettleOutcome, values: number[]): Promise<SettleResult> {
    nonEmpty('leaseId', leaseId);
    const reply = asArray(
      await this.call(() => this.redis.folioSettle(`${this.prefix}:lease:${leaseId}`, this.prefix, mode, ...values.map(String))),
    );
    if (reply[0] === 'unknown') return { status: 'unknown' };
    return { status: reply[0] === 'already_settled' ? 'already_settled' : 'settled', lease: parseLease(asArray(reply[2]), Number(reply[1])) };
  }

  /**
   * Any failure → AdmissionUnavailableError. The timeout also covers connections configured to
   * wait for a reconnect forever (maxRetriesPerRequest: null). If the script still runs after
   * the timeout, its lease is reclaimed at TTL and a retry with the same lease id gets it back.
   */
  private async call(fn: () => Promise<Reply>): Promise<Reply> {
    let timer: NodeJS.Timeout | undefined;
    const pending = fn();
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer from Redis within ${this.opts.commandTimeoutMs} ms`)), this.opts.commandTimeoutMs);
    });
    try {
      return await Promise.race([pending, timeout]);
    } catch (err) {
      pending.catch(() => {}); // a late rejection after the timeout is not unhandled
      throw new AdmissionUnavailableError(err);
    } finally {
      clearTimeout(timer);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Replies and validation

function asArray(v: unknown): unknown[] {
  if (!Array.isArray(v)) throw new AdmissionUnavailableError(new Error(`unexpected reply ${JSON.stringify(v)}`));
  return v;
}

function parseLease(flat: unknown[], nowMs: number): Lease {
  const h = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) h.set(String(flat[i]), String(flat[i + 1]));
  const n = (f: string) => Number(h.get(f) ?? 0);
  const scopes: Lease['scopes'] = [];
  for (const [f, v] of h) if (f.startsWith('s:')) scopes.push({ scopeKey: f.slice(2), reservedMicroUsd: Number(v) });
  const expiresAtMs = n('expires');
  const settled = h.get('state') === 'settled';
  const lease: Lease = {
    id: h.get('id') ?? '',
    keyId: h.get('key') ?? '',
    state: settled ? 'settled' : nowMs >= expiresAtMs ? 'expired' : 'reserved',
    costMicroUsd: n('cost'),
    inputTokens: n('in'),
    outputTokens: n('out'),
    createdAtMs: n('created'),
    expiresAtMs,
    scopes,
  };
  if (settled) {
    lease.settlement = {
      outcome: (h.get('outcome') ?? 'actual') as SettleOutcome,
      costMicroUsd: n('actual_cost'),
      inputTokens: n('actual_in'),
      outputTokens: n('actual_out'),
      settledAtMs: n('settled'),
    };
  }
  return lease;
}

function nonNegativeInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`${name} must be a non-negative integer, got ${v}`);
}
function positiveInt(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v <= 0) throw new RangeError(`${name} must be a positive integer, got ${v}`);
}
function nonEmpty(name: string, v: string): void {
  if (typeof v !== 'string' || v.length === 0) throw new RangeError(`${name} must be a non-empty string`);
}

function validate(req: AdmitRequest): void {
  nonEmpty('leaseId', req.leaseId);
  nonEmpty('keyId', req.keyId);
  nonNegativeInt('limits.rpm', req.limits.rpm);
  nonNegativeInt('limits.itpm', req.limits.itpm);
  nonNegativeInt('limits.otpm', req.limits.otpm);
  nonNegativeInt('limits.tpm', req.limits.tpm ?? 0);
  nonNegativeInt('tokens.input', req.tokens.input);
  nonNegativeInt('tokens.maxOutput', req.tokens.maxOutput);
  nonNegativeInt('costMicroUsd', req.costMicroUsd);
  positiveInt('leaseTtlMs', req.leaseTtlMs);
  const seen = new Set<string>();
  for (const b of req.budgets) {
    nonEmpty('budgets[].scope', b.scope);
    if (!Number.isSafeInteger(b.limitMicroUsd) || b.limitMicroUsd < -1) {
      throw new RangeError(`budget ${b.scope}: limitMicroUsd must be an integer >= -1, got ${b.limitMicroUsd}`);
    }
    if (b.period !== undefined && b.period !== 'month') throw new RangeError(`budget ${b.scope}: unknown period ${String(b.period)}`);
    if (b.retainMs !== undefined) positiveInt(`budget ${b.scope}: retainMs`, b.retainMs);
    const id = `${b.scope}\u0000${b.period ?? ''}`;
    if (seen.has(id)) throw new RangeError(`budget scope ${b.scope} given twice`);
    seen.add(id);
  }
}
