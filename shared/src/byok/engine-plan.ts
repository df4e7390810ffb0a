import type { Config } from '../config/config.ts';
import type { JobOptions } from '../jobs/options.ts';
import type { Provider } from './catalog/index.ts';
import type { CatalogStore } from './catalog-store.ts';
import type { KeyStore } from './key-store.ts';
import { optimize, type EngineEstimate } from './optimizer.ts';

/** The engine plan of a job's pages that need a model: stored with the job, shown as `byok_optimization`. */
export interface EnginePlan {
  strategy: 'auto' | 'provider';
  quality: JobOptions['quality'];
  fallback_strategy: JobOptions['fallback'];
  recommended_provider: EngineEstimate | null;
  alternatives: { high_quality: EngineEstimate | null; cost_effective: EngineEstimate | null };
  cascade: Array<{ provider: string; model?: string }>;
  estimated_cost_usd: number | null;
  explanation: string[];
}

/** Which providers the tenant can call now: an active stored key for this environment, or an env key. */
export async function usableProviders(deps: { catalog: CatalogStore; keys: KeyStore; config: Config }, tenant: string): Promise<{ providers: Provider[]; usable: Set<string> }> {
  const providers = await deps.catalog.list();
  const usable = new Set<string>();
  for (const p of providers) {
    if (p.kind === 'local') continue;
    const refs = await deps.keys.usableKeys(tenant, p.id, deps.config.byok.environment, deps.config.byok.envKeys[p.id]);
    if (refs.length > 0) usable.add(p.id);
  }
  return { providers, usable };
}

/**
 * Plans the engines for a job: with `ai_provider=auto` the optimizer's recommendation for the
 * requested quality, then the other usable vision models by quality, then the local engines; with
 * a named provider that provider (its given or best model) first. `fallback_strategy=none` keeps
 * only the first.
 */
export async function planEngines(
  deps: { catalog: CatalogStore; keys: KeyStore; config: Config },
  job: { tenant: string; options: JobOptions; pages: number; widthPt: number; heightPt: number },
): Promise<EnginePlan> {
  const { providers, usable } = await usableProviders(deps, job.tenant);
  const o = job.options;
  const opt = optimize(
    providers,
    { page_count: job.pages, page_width_pt: job.widthPt, page_height_pt: job.heightPt, quality: o.quality, use_advanced_comprehension: o.advanced, ...(o.budgetUsd === undefined ? {} : { budget_usd: o.budgetUsd }), only_usable: true },
    { usable: (p) => usable.has(p.id), outputCap: deps.config.vision.maxOutputTokens },
  );
  if (o.engine === 'auto') {
    const cascade = o.fallback === 'none' ? opt.cascade.slice(0, 1) : opt.cascade;
    return {
      strategy: 'auto',
      quality: o.quality,
      fallback_strategy: o.fallback,
      recommended_provider: opt.recommended_provider,
      alternatives: opt.alternatives,
      cascade: cascade.map((c) => (c.provider === 'tesseract' || c.provider === 'text_layer' ? { provider: c.provider } : c)),
      estimated_cost_usd: opt.recommended_provider?.estimated_cost_usd ?? null,
      explanation: opt.explanation,
    };
  }
  const mine = opt.candidates.filter((c) => c.provider === o.engine && (o.model === undefined || c.model === o.model)).sort((a, b) => b.quality - a.quality)[0] ?? null;
  const first = { provider: o.engine, ...(o.model ? { model: o.model } : mine ? { model: mine.model } : {}) };
  return {
    strategy: 'provider',
    quality: o.quality,
    fallback_strategy: o.fallback,
    recommended_provider: mine,
    alternatives: opt.alternatives,
    cascade: o.fallback === 'none' ? [first] : [first, { provider: 'tesseract' }, { provider: 'text_layer' }],
    estimated_cost_usd: mine?.estimated_cost_usd ?? null,
    explanation: [
      `Requested provider ${o.engine}${first.model ? ` (model ${first.model})` : ''}${usable.has(o.engine) ? '' : ': no usable key for this tenant, so its pages fall back'}.`,
      ...opt.explanation.slice(0, 2),
    ],
  };
}
