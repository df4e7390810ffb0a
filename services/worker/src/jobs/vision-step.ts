import {
  PROMPT_TOKENS,
  Secret,
  VISION_LONG_SIDE_PX,
  VisionCallError,
  callVision,
  imageTokens,
  pageOutputCap,
  providerBaseUrl,
  renderPageJpeg,
  worstCaseCostMicroUsd,
  type CatalogStore,
  type Config,
  type JpegRender,
  type Admission,
  type KeyRef,
  type KeyStore,
  type ProviderMetrics,
  type ProviderRequestOutcome,
  type UsageLedger,
} from '@folio/shared';
import type { PDFPageProxy } from 'pdfjs-dist/types/src/display/api.js';

/** The admission step of a paid call: shared/src/byok/admission (one Lua script on Redis time). */
export type PaidCallGate = Pick<Admission, 'admit' | 'settle' | 'refund' | 'settleWorstCase'>;

/** The usage ledger (a Redis stream with exactly-once appends by event id). */
export type UsageSink = Pick<UsageLedger, 'append'>;

export interface VisionDeps {
  config: Config;
  catalog: CatalogStore;
  keys: KeyStore;
  gate: PaidCallGate;
  usage: UsageSink;
  /** Output-token cap of every call (with the input estimate, the call's known worst case). */
  maxOutputTokens: number;
  timeoutMs: number;
  /**
   * Cluster-wide provider metrics (Redis counters: this runs in OCR worker threads, whose own
   * prom-client registry no /metrics would ever serve). Recording is never awaited.
   */
  metrics?: ProviderMetrics;
}

export interface VisionPage {
  text: string;
  model: string;
  tokens: { input: number; output: number };
  costMicroUsd: number;
  render: JpegRender;
  callMs: number;
}

export type VisionOutcome =
  | { ok: true; page: VisionPage }
  | { ok: false; skip: true; reason: string }
  | { ok: false; skip: false; code: 'budget_exceeded' | 'provider_error' | 'provider_auth_failed' | 'page_timeout'; reason: string };

export class RateLimitWait extends Error {
  readonly waitMs: number;
  constructor(waitMs: number) {
    super(`rate limited: wait ${waitMs} ms`);
    this.name = 'RateLimitWait';
    this.waitMs = waitMs;
  }
}

const micro = (tokens: number, perMillionUsd: number) => tokens * perMillionUsd;

/**
 * One vision engine for one page: for each usable key of the provider, one admission step (rate
 * limits and worst-case budget reservation, all or nothing), the call, then settle and an
 * exactly-once usage event keyed by job, page, engine and attempt. Waiting for a rate limit throws
 * `RateLimitWait` (the job is delayed for exactly that long and holds no worker slot).
 */
export async function readWithVision(
  deps: VisionDeps,
  ctx: { tenant: string; jobId: string; pageNumber: number; attempt: number; page: PDFPageProxy; canvasFactory: unknown; advanced: boolean; budgetUsd: number | undefined; tenantMonthlyBudgetUsd: number | undefined },
  step: { provider: string; model?: string },
  rendered: { jpeg?: JpegRender },
): Promise<VisionOutcome> {
  const provider = await deps.catalog.get(step.provider).catch(() => null);
  if (provider === null || !provider.active) return { ok: false, skip: true, reason: 'provider unknown or inactive' };
  const model = provider.models.find((m) => (step.model ? m.id === step.model : m.vision)) ?? null;
  if (model === null || !model.vision || model.image_tokens === null) return { ok: false, skip: true, reason: 'no vision model' };
  const envKey = deps.config.byok.envKeys[provider.id];
  const keys: KeyRef[] = await deps.keys.usableKeys(ctx.tenant, provider.id, deps.config.byok.environment, envKey);
  if (keys.length === 0) return { ok: false, skip: true, reason: 'no usable key' };

  rendered.jpeg ??= await renderPageJpeg(ctx.page, ctx.canvasFactory, { longSidePx: VISION_LONG_SIDE_PX });
  const jpeg = rendered.jpeg;
  const inputTokens = imageTokens(model.image_tokens, jpeg.width, jpeg.height) + PROMPT_TOKENS;
  const cap = pageOutputCap(model, deps.maxOutputTokens);
  const worst = worstCaseCostMicroUsd(model, inputTokens, cap);
  const engine = `${provider.id}/${model.id}`;

  let rejected = 0;
  // Pages start at different keys, so several keys of a provider share the load.
  const start = ctx.pageNumber % keys.length;
  const ordered = [...keys.slice(start), ...keys.slice(0, start)];
  let waitMs: number | undefined;
  for (const [i, key] of ordered.entries()) {
    const leaseId = `${ctx.jobId}:${ctx.pageNumber}:${engine}:${ctx.attempt}${i > 0 ? `.${i}` : ''}`;
    const admitted = await deps.gate.admit({
      leaseId,
      keyId: `${provider.id}:${key.fingerprint}`,
      // The catalog's per-key limits; its `tpm` counts input and output together.
      limits: { rpm: provider.limits.rpm ?? 0, itpm: 0, otpm: 0, tpm: provider.limits.tpm ?? 0 },
      tokens: { input: inputTokens, maxOutput: cap },
      costMicroUsd: worst,
      budgets: [
        { scope: `job:${ctx.jobId}`, limitMicroUsd: ctx.budgetUsd === undefined ? -1 : Math.floor(ctx.budgetUsd * 1e6) },
        { scope: `tenant:${ctx.tenant}`, limitMicroUsd: ctx.tenantMonthlyBudgetUsd === undefined ? -1 : Math.floor(ctx.tenantMonthlyBudgetUsd * 1e6), period: 'month' },
      ],
      leaseTtlMs: deps.timeoutMs * 2 + 30_000,
    });
    if (!admitted.admitted) {
      if (admitted.reason === 'budget_exceeded') {
        void deps.metrics?.budgetRejection(admitted.scope.split(':')[0] ?? '');
        return { ok: false, skip: false, code: 'budget_exceeded', reason: `the ${admitted.scope.split(':')[0]} budget has ${(admitted.remainingMicroUsd / 1e6).toFixed(6)} USD left; this page may cost up to ${(worst / 1e6).toFixed(6)} USD` };
      }
      if (admitted.reason === 'too_large') return { ok: false, skip: true, reason: `the page alone exceeds the key's ${admitted.limit} limit` };
      // This key is at its limit: try the next one; wait only when every key is.
      waitMs = Math.min(waitMs ?? Infinity, admitted.retryAfterMs);
      continue;
    }
    // Admitted before (a re-run after a crash): that call's outcome is unknown, its lease
    // settles or expires on its own; this attempt needs a lease of its own.
    if (admitted.reused && admitted.lease.state !== 'reserved') return { ok: false, skip: true, reason: 'lease already used' };
    const secret = key.source === 'env' ? new Secret(envKey ?? '') : await deps.keys.reveal(ctx.tenant, provider.id, key.keyName, 'worker', key.which);
    const event = { id: leaseId, tenant: ctx.tenant, provider: provider.id, model: model.id, jobId: ctx.jobId, page: ctx.pageNumber, source: 'provider_call' as const };
    const t0 = performance.now();
    // Once per call made: its outcome, latency, and the tokens and cost charged (as in the ledger).
    let recorded = false;
    const record = (outcome: ProviderRequestOutcome, charged: { inputTokens?: number; outputTokens?: number; costMicroUsd?: number } = {}) => {
      if (recorded) return;
      recorded = true;
      void deps.metrics?.providerCall({ provider: provider.id, model: model.id, outcome, latencySeconds: (performance.now() - t0) / 1000, ...charged });
    };
    try {
      const r = await callVision({ provider, model, apiKey: secret, baseURL: providerBaseUrl(provider, deps.config), jpeg: jpeg.jpeg, task: ctx.advanced ? 'image_comprehension' : 'pdf_ocr', maxOutputTokens: cap, timeoutMs: deps.timeoutMs });
      const cost = Math.ceil(micro(r.inputTokens, model.input_per_million_usd) + micro(r.outputTokens, model.output_per_million_usd));
      record('ok', { inputTokens: r.inputTokens, outputTokens: r.outputTokens, costMicroUsd: cost });
      await deps.gate.settle(leaseId, { costMicroUsd: cost, inputTokens: r.inputTokens, outputTokens: r.outputTokens });
      await deps.usage.append({ ...event, inputTokens: r.inputTokens, outputTokens: r.outputTokens, costMicroUsd: cost, outcome: 'ok', at: Date.now() });
      return { ok: true, page: { text: r.text, model: model.id, tokens: { input: r.inputTokens, output: r.outputTokens }, costMicroUsd: cost, render: jpeg, callMs: Math.round(performance.now() - t0) } };
    } catch (err) {
      if (!(err instanceof VisionCallError)) {
        record('error');
        await deps.gate.refund(leaseId);
        throw err;
      }
      const f = err.failure;
      record(f.kind === 'timeout' ? 'timeout' : f.kind === 'rate_limited' ? 'rate_limited' : f.kind === 'key_rejected' ? 'rejected' : 'error', f.kind === 'timeout' ? { inputTokens, outputTokens: cap, costMicroUsd: worst } : {});
      if (f.kind === 'timeout') {
        // The provider may have done (and billed) the work: count the worst case.
        await deps.gate.settleWorstCase(leaseId);
        await deps.usage.append({ ...event, inputTokens: inputTokens, outputTokens: cap, costMicroUsd: worst, outcome: 'unknown', at: Date.now() });
        return { ok: false, skip: false, code: 'page_timeout', reason: `${engine} did not answer within ${deps.timeoutMs} ms` };
      }
      await deps.gate.refund(leaseId);
      await deps.usage.append({ ...event, inputTokens: 0, outputTokens: 0, costMicroUsd: 0, outcome: 'error', at: Date.now() });
      if (f.kind === 'rate_limited') {
        // The provider's own 429 and retry-after: another key may still have room.
        waitMs = Math.min(waitMs ?? Infinity, f.retryAfterMs);
        continue;
      }
      if (f.kind === 'key_rejected') {
        rejected++;
        if (key.source === 'stored') await deps.keys.markInvalid(ctx.tenant, provider.id, key.keyName, 'worker', `rejected by the provider (HTTP ${f.status})`);
        continue;
      }
      return { ok: false, skip: false, code: 'provider_error', reason: `${engine}: ${err.message}` };
    }
  }
  if (waitMs !== undefined) {
    void deps.metrics?.rateLimitWait(provider.id);
    throw new RateLimitWait(waitMs);
  }
  return { ok: false, skip: false, code: 'provider_auth_failed', reason: `${engine}: the provider rejected ${rejected} key(s)` };
}
