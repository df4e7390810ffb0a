import { randomUUID } from 'node:crypto';
import os from 'node:os';
import type { ChainableCommander, Redis } from 'ioredis';
import { isZeroPriced, utcDay } from './usage-event.ts';
import { usageLedgerKey, parseLedgerEntry } from './usage-ledger.ts';
import { enc, usageTotalsKeys } from './usage-keys.ts';

/**
 * Applies one ledger entry to one totals version AND acknowledges it, atomically.
 *
 * The XACK is the exactly-once guard: it returns 1 only while the entry is still pending in the
 * version's consumer group, and 0 once anyone has acknowledged it. Since the increments run only
 * after a successful XACK inside the same script, "applied" and "acknowledged" are one state
 * change, and an entry can never be applied twice to the same version: not by a consumer that
 * stalled while another claimed its entries, not by a retry after a lost reply, not by two
 * aggregators racing on the same claimed entry. (There is no window between apply and ack for a
 * crash to fall into; the group's pending list is the per-entry "not yet applied" marker.)
 *
 * KEYS[1] ledger, KEYS[2] version meta, KEYS[3] global all-time, KEYS[4] global day,
 * KEYS[5] tenant all-time, KEYS[6] tenant day.
 * ARGV[1] group, ARGV[2] entry id, ARGV[3..7] increments (requests, input_tokens, output_tokens,
 * cost_micro_usd, zero_priced) as decimal strings, ARGV[8..11] rows (total, p|…, pm|…, d|…; the
 * day hashes take the first three), ARGV[12] '1' for a malformed entry (acknowledged, not counted).
 * Returns 1 when applied, 0 when the entry was not pending (already applied, or group gone).
 */
const APPLY_LUA = `
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then return 0 end
if ARGV[12] == '1' then
  redis.call('HINCRBY', KEYS[2], 'malformed', 1)
  return 1
end
local metrics = {'requests', 'input_tokens', 'output_tokens', 'cost_micro_usd', 'zero_priced'}
for m = 1, 5 do
  local n = ARGV[2 + m]
  if n ~= '0' then
    for r = 8, 11 do
      local f = ARGV[r] .. '|' .. metrics[m]
      redis.call('HINCRBY', KEYS[3], f, n)
      redis.call('HINCRBY', KEYS[5], f, n)
      if r < 11 then
        redis.call('HINCRBY', KEYS[4], f, n)
        redis.call('HINCRBY', KEYS[6], f, n)
      end
    end
  end
end
-- High-water mark: the newest ledger id applied to this version (consumers apply out of order,
-- so this is monitoring information, not the guard).
local last = redis.call('HGET', KEYS[2], 'applied_last')
local function parts(id) local ms, seq = string.match(id, '^(%d+)-(%d+)$') return tonumber(ms), tonumber(seq) end
local newer = true
if last then
  local lm, ls = parts(last)
  local em, es = parts(ARGV[2])
  newer = em > lm or (em == lm and es > ls)
end
if newer then redis.call('HSET', KEYS[2], 'applied_last', ARGV[2]) end
redis.call('HINCRBY', KEYS[2], 'entries', 1)
return 1
`;

/**
 * The current totals version; on first use creates version 1 with its consumer group reading the
 * ledger from the start (in the same step, so no entry is ever missed or seen by a second group).
 * A missing group for an existing version is NOT recreated here: starting it again at 0 would
 * count everything twice into the existing totals; `rebuild()` repairs that case.
 * KEYS[1] pointer, KEYS[2] version counter, KEYS[3] ledger. ARGV[1] group name prefix.
 */
const CURRENT_LUA = `
local v = redis.call('GET', KEYS[1])
if v then return v end
v = tostring(redis.call('INCR', KEYS[2]))
redis.call('XGROUP', 'CREATE', KEYS[3], ARGV[1] .. v, '0', 'MKSTREAM')
redis.call('SET', KEYS[1], v)
return v
`;

/** Moves the pointer to ARGV[1] unless it already points at a newer version. KEYS[1] pointer. */
const SWAP_LUA = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if tonumber(ARGV[1]) <= cur then return 0 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

type ApplyArgs = [ledger: string, meta: string, g: string, gDay: string, t: string, tDay: string, ...argv: string[]];
type RedisWithUsage = Redis & {
  folioUsageApply(...args: ApplyArgs): Promise<number>;
  folioUsageCurrent(pointer: string, seq: string, ledger: string, groupPrefix: string): Promise<string>;
  folioUsageSwap(pointer: string, version: string): Promise<number>;
};
type PipelineWithUsage = ChainableCommander & { folioUsageApply(...args: ApplyArgs): PipelineWithUsage };

export interface LedgerEntry {
  /** Stream entry id. */
  id: string;
  /** Flat field/value list as stored by `UsageLedger.append`. */
  fields: string[];
}

/** Entries read for one totals version (they are pending in that version's group). */
export interface UsageBatch {
  version: number;
  entries: LedgerEntry[];
}

export interface UsageAggregatorOptions {
  /** Unique per process; defaults to host:pid:random. */
  consumer?: string;
  /** Entries another consumer read this long ago without applying are taken over (XAUTOCLAIM). */
  claimIdleMs?: number;
  /** Called with errors of the background loop (it keeps running). */
  onError?: (err: unknown) => void;
}

/**
 * Folds the usage ledger into integer totals (requests, tokens, µ$, zero-priced events) per
 * provider, provider+model, tenant, tenant+provider(+model), UTC day and overall, each entry
 * exactly once, with any number of aggregator processes running at once.
 */
export class UsageAggregator {
  private readonly redis: RedisWithUsage;
  private readonly keys: ReturnType<typeof usageTotalsKeys>;
  private readonly ledger: string;
  private readonly consumer: string;
  private readonly claimIdleMs: number;
  private readonly onError: (err: unknown) => void;
  /** XAUTOCLAIM cursor, valid for the group of `cursorVersion` only. */
  private claimCursor = '0-0';
  private cursorVersion = 0;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = true;

  constructor(redis: Redis, prefix: string, opts: UsageAggregatorOptions = {}) {
    if (!('folioUsageApply' in redis)) {
      redis.defineCommand('folioUsageApply', { numberOfKeys: 6, lua: APPLY_LUA });
      redis.defineCommand('folioUsageCurrent', { numberOfKeys: 3, lua: CURRENT_LUA });
      redis.defineCommand('folioUsageSwap', { numberOfKeys: 1, lua: SWAP_LUA });
    }
    this.redis = redis as RedisWithUsage;
    this.keys = usageTotalsKeys(prefix);
    this.ledger = usageLedgerKey(prefix);
    this.consumer = opts.consumer ?? `${os.hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.claimIdleMs = opts.claimIdleMs ?? 60_000;
    this.onError = opts.onError ?? (() => {});
  }

  /** The totals version readers and this aggregator use now (created on first use). */
  async currentVersion(): Promise<number> {
    return Number(await this.redis.folioUsageCurrent(this.keys.current, this.keys.seq, this.ledger, this.keys.groupPrefix));
  }

  /** Applies what is pending: entries stalled at a dead consumer first, then new ones. Returns how many were applied. */
  async runOnce(batch = 500): Promise<number> {
    return this.apply(await this.read(batch));
  }

  /**
   * Reads up to `batch` entries for this consumer: entries idle for `claimIdleMs` at another
   * consumer (one that died between reading and applying), then new ones. They stay pending
   * until `apply`; a crash in between only delays them until someone claims them.
   */
  async read(batch = 500): Promise<UsageBatch> {
    for (let attempt = 0; ; attempt++) {
      const version = await this.currentVersion();
      const group = this.keys.group(version);
      if (version !== this.cursorVersion) [this.claimCursor, this.cursorVersion] = ['0-0', version];
      try {
        const claimed = (await this.redis.xautoclaim(this.ledger, group, this.consumer, this.claimIdleMs, this.claimCursor, 'COUNT', batch)) as [
          string,
          ([string, string[]] | null)[],
        ];
        // Keep the cursor so a long pending list is walked across calls instead of rescanned.
        this.claimCursor = claimed[0];
        const entries = toEntries(claimed[1]);
        if (entries.length < batch) entries.push(...(await this.readNew(group, batch - entries.length)));
        return { version, entries };
      } catch (err) {
        // The group of the version we just looked up is gone: a rebuild swapped versions in
        // between (look again), or somebody destroyed it (only a rebuild can repair that).
        if (!isNoGroup(err)) throw err;
        this.claimCursor = '0-0';
        if (attempt >= 1) throw new Error(`Usage totals group ${group} is missing; run UsageAggregator.rebuild()`, { cause: err });
      }
    }
  }

  /**
   * Applies and acknowledges each entry of `batch` atomically (see APPLY_LUA); entries no longer
   * pending (applied by someone else meanwhile, or from a version a rebuild replaced) are skipped.
   * Returns how many were applied.
   */
  async apply(batch: UsageBatch): Promise<number> {
    if (batch.entries.length === 0) return 0;
    const p = this.redis.pipeline() as PipelineWithUsage;
    for (const entry of batch.entries) p.folioUsageApply(...this.applyArgs(batch.version, entry));
    const res = await p.exec();
    if (res === null) throw new Error('Redis pipeline aborted');
    let applied = 0;
    for (const [err, n] of res) {
      if (err) throw err;
      applied += Number(n);
    }
    return applied;
  }

  /** Runs `runOnce` every `intervalMs` (at once again while a full batch came back). */
  start(intervalMs: number, batch = 500): void {
    if (!this.stopped) return;
    this.stopped = false;
    const tick = async () => {
      let n = 0;
      try {
        n = await this.runOnce(batch);
      } catch (err) {
        this.onError(err);
      }
      if (this.stopped) return;
      this.timer = setTimeout(() => (this.running = tick()), n >= batch ? 0 : intervalMs);
      this.timer.unref();
    };
    this.running = tick();
  }

  /** Stops the loop and waits for a run in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  /**
   * Recomputes all totals from the whole ledger into a new version and switches readers and
   * aggregators to it. The new version has its own consumer group starting at the first ledger
   * entry, so it receives every entry (including ones appended while the rebuild runs) exactly
   * once through the same apply script; the rebuild drains it up to the ledger's end as seen at
   * the start, swaps the pointer, and whatever arrived later is applied by the next `runOnce`.
   * Superseded versions (and their groups) are deleted afterwards. Safe to run while aggregators
   * run; two rebuilds at once are safe too (the newer version wins, the other is discarded).
   */
  async rebuild(batch = 500): Promise<{ version: number; entries: number; swapped: boolean }> {
    await this.currentVersion();
    const version = await this.redis.incr(this.keys.seq);
    const group = this.keys.group(version);
    const [last] = (await this.redis.xrevrange(this.ledger, '+', '-', 'COUNT', 1)) as [string, string[]][];
    const until = last?.[0] ?? '0-0';
    await this.redis.xgroup('CREATE', this.ledger, group, '0', 'MKSTREAM');
    const consumer = `${this.consumer}:rebuild`;
    let entries = 0;
    let swapped = false;
    try {
      for (;;) {
        const got = await this.readNew(group, batch, consumer);
        entries += await this.apply({ version, entries: got });
        const lastId = got.at(-1)?.id;
        if (lastId === undefined || compareStreamIds(lastId, until) >= 0) break;
      }
      swapped = (await this.redis.folioUsageSwap(this.keys.current, String(version))) === 1;
    } catch (err) {
      // Our group was destroyed by a newer rebuild that finished first: ours is obsolete.
      if (!isNoGroup(err)) throw err;
    }
    // After a swap: drop older versions. Otherwise: drop ours (a newer one is current).
    await this.dropVersions(swapped ? (v) => v < version : (v) => v === version);
    return { version, entries, swapped };
  }

  private async readNew(group: string, count: number, consumer = this.consumer): Promise<LedgerEntry[]> {
    const res = (await this.redis.xreadgroup('GROUP', group, consumer, 'COUNT', count, 'STREAMS', this.ledger, '>')) as
      | [string, ([string, string[]] | null)[]][]
      | null;
    return toEntries(res?.[0]?.[1] ?? []);
  }

  private applyArgs(version: number, entry: LedgerEntry): ApplyArgs {
    const k = this.keys;
    const e = parseLedgerEntry(entry.fields);
    const g = k.scope(version);
    if (e === null) {
      // Never written by UsageLedger.append: acknowledge it so it does not block, count it in meta.
      return [this.ledger, k.meta(version), g, g, g, g, k.group(version), entry.id, '0', '0', '0', '0', '0', '', '', '', '', '1'];
    }
    const day = utcDay(e.at);
    const t = k.scope(version, e.tenant);
    const p = enc(e.provider);
    return [
      this.ledger, k.meta(version), g, k.day(g, day), t, k.day(t, day),
      k.group(version), entry.id,
      '1', String(e.inputTokens), String(e.outputTokens), String(e.costMicroUsd), isZeroPriced(e) ? '1' : '0',
      'total', `p|${p}`, `pm|${p}|${enc(e.model)}`, `d|${day}`,
      '0',
    ];
  }

  /** Destroys the groups and deletes the keys of the versions `drop` selects (never the current one). */
  private async dropVersions(drop: (v: number) => boolean): Promise<void> {
    const current = await this.currentVersion();
    const doomed = (v: string | undefined) => v !== undefined && Number(v) !== current && drop(Number(v));
    // Groups first: once a version's group is gone its apply scripts are no-ops, so nobody
    // recreates the keys deleted next.
    const groups = (await this.redis.xinfo('GROUPS', this.ledger)) as unknown[][];
    for (const info of groups) {
      const name = String(info[info.indexOf('name') + 1]);
      if (doomed(this.keys.groupVersion(name))) await this.redis.xgroup('DESTROY', this.ledger, name);
    }
    const stream = this.redis.scanStream({ match: this.keys.versionPattern, count: 1000 });
    for await (const batch of stream as AsyncIterable<string[]>) {
      const keys = batch.filter((key) => doomed(this.keys.keyVersion(key)));
      if (keys.length > 0) await this.redis.unlink(...keys);
    }
  }
}

function toEntries(raw: ([string, string[] | null] | null)[]): LedgerEntry[] {
  const out: LedgerEntry[] = [];
  // Entries deleted from the stream come back as null (or with null fields): nothing to count.
  for (const e of raw) if (e && e[1]) out.push({ id: e[0], fields: e[1] });
  return out;
}

/** Orders stream ids (`<ms>-<seq>`) numerically. */
export function compareStreamIds(a: string, b: string): number {
  const [am = 0n, as = 0n] = a.split('-').map(BigInt);
  const [bm = 0n, bs = 0n] = b.split('-').map(BigInt);
  return am !== bm ? (am < bm ? -1 : 1) : as === bs ? 0 : as < bs ? -1 : 1;
}

function isNoGroup(err: unknown): boolean {
  return err instanceof Error && err.message.includes('NOGROUP');
}
