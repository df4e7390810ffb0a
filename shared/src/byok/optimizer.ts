import { z } from 'zod';
import { imageTokens, type Model, type Provider } from './catalog/index.ts';

/** What a vision page costs us in prompt text besides the image (the instruction), in tokens. */
export const PROMPT_TOKENS = 80;
/** Typical transcription of a dense page (≈ 2,800 characters); the estimate, not the cap. */
export const TYPICAL_OUTPUT_TOKENS = 700;
/** The long side a page is rendered at for vision models (providers scale larger images down). */
export const VISION_LONG_SIDE_PX = 2048;

export const optimizeRequestSchema = z
  .object({
    page_count: z.coerce.number().int().positive().max(100_000),
    /** Pages that need a model (no usable text layer); defaults to all. */
    pages_needing_ocr: z.coerce.number().int().min(0).optional(),
    page_width_pt: z.coerce.number().positive().max(14_400).default(612),
    page_height_pt: z.coerce.number().positive().max(14_400).default(792),
    quality: z.enum(['high', 'balanced', 'low_cost']).default('balanced'),
    use_advanced_comprehension: z.coerce.boolean().default(false),
    budget_usd: z.coerce.number().positive().optional(),
    /** Limit the choice to providers this tenant can use (has a key, or local). Default true. */
    only_usable: z.coerce.boolean().default(true),
  })
  .strict();
export type OptimizeRequest = z.infer<typeof optimizeRequestSchema>;

export interface EngineEstimate {
  provider: string;
  model: string;
  quality: number;
  local: boolean;
  input_tokens_per_page: number;
  output_tokens_per_page: number;
  cost_per_page_usd: number;
  estimated_cost_usd: number;
  /** Worst case: every page hits the output cap. */
  worst_case_cost_usd: number;
  within_budget: boolean;
  usable: boolean;
}

export interface Optimization {
  recommended_provider: EngineEstimate | null;
  alternatives: { high_quality: EngineEstimate | null; cost_effective: EngineEstimate | null };
  /** The cascade order for `fallback_strategy=cascade`, ending with the free local engines. */
  cascade: Array<{ provider: string; model: string }>;
  candidates: EngineEstimate[];
  explanation: string[];
}

/** Pixel size of a page rendered for a vision model. */
export function visionImageSize(widthPt: number, heightPt: number, longSidePx = VISION_LONG_SIDE_PX): { width: number; height: number } {
  const scale = longSidePx / Math.max(widthPt, heightPt);
  return { width: Math.ceil(widthPt * scale), height: Math.ceil(heightPt * scale) };
}

/** Input tokens of one page image plus the instruction, by the model's image rule. */
export function pageInputTokens(model: Model, widthPt: number, heightPt: number): number {
  if (model.image_tokens === null) return 0;
  const { width, height } = visionImageSize(widthPt, heightPt);
  return imageTokens(model.image_tokens, width, height) + PROMPT_TOKENS;
}

/** Output cap per page: the model's own cap, at most `cap`. */
export function pageOutputCap(model: Model, cap: number): number {
  return Math.min(model.max_output_tokens ?? cap, cap);
}

const usd = (microUsd: number) => Math.round(microUsd) / 1e6;
const micro = (tokens: number, perMillionUsd: number) => tokens * perMillionUsd; // tokens × $/1M = µ$

/**
 * Ranks every engine that can read a page image for a document, from the catalog's prices and
 * token rules: the estimate (typical output), the worst case (output cap on every page), whether it
 * fits the budget, and which one the request's quality preference recommends.
 */
export function optimize(
  providers: readonly Provider[],
  req: OptimizeRequest,
  opts: { usable: (p: Provider) => boolean; outputCap: number },
): Optimization {
  const pages = req.pages_needing_ocr ?? req.page_count;
  const task = req.use_advanced_comprehension ? 'image_comprehension' : 'pdf_ocr';
  const candidates: EngineEstimate[] = [];
  for (const p of providers) {
    if (!p.active) continue;
    const local = p.kind === 'local';
    if (!local && !p.tasks.includes(task)) continue;
    for (const m of p.models) {
      if (!m.vision) continue;
      const inTok = local ? 0 : pageInputTokens(m, req.page_width_pt, req.page_height_pt);
      const outTok = local ? 0 : Math.min(TYPICAL_OUTPUT_TOKENS, pageOutputCap(m, opts.outputCap));
      const perPage = micro(inTok, m.input_per_million_usd) + micro(outTok, m.output_per_million_usd);
      const worstPerPage = micro(inTok, m.input_per_million_usd) + micro(local ? 0 : pageOutputCap(m, opts.outputCap), m.output_per_million_usd);
      const worst = usd(Math.ceil(worstPerPage * pages));
      candidates.push({
        provider: p.id,
        model: m.id,
        quality: m.quality,
        local,
        input_tokens_per_page: inTok,
        output_tokens_per_page: outTok,
        cost_per_page_usd: usd(Math.ceil(perPage)),
        estimated_cost_usd: usd(Math.ceil(perPage * pages)),
        worst_case_cost_usd: worst,
        within_budget: req.budget_usd === undefined || worst <= req.budget_usd,
        usable: local || opts.usable(p),
      });
    }
  }
  const pool = candidates.filter((c) => (!req.only_usable || c.usable) && c.within_budget);
  const byQuality = [...pool].sort((a, b) => b.quality - a.quality || a.estimated_cost_usd - b.estimated_cost_usd);
  const byCost = [...pool].sort((a, b) => a.estimated_cost_usd - b.estimated_cost_usd || b.quality - a.quality);
  const remote = (xs: EngineEstimate[]) => xs.filter((c) => !c.local);
  const high_quality = remote(byQuality)[0] ?? byQuality[0] ?? null;
  const cost_effective = remote(byCost)[0] ?? byCost[0] ?? null;
  // Balanced: the best quality per dollar among remote engines of at least quality 3.
  const balanced = [...remote(pool)].filter((c) => c.quality >= 3).sort((a, b) => b.quality / (b.cost_per_page_usd + 1e-6) - a.quality / (a.cost_per_page_usd + 1e-6))[0] ?? null;
  const recommended = req.quality === 'high' ? high_quality : req.quality === 'low_cost' ? cost_effective : (balanced ?? high_quality);

  const order = [recommended, ...remote(byQuality)].filter((c): c is EngineEstimate => c !== null);
  const seen = new Set<string>();
  const cascade = [...order, ...pool.filter((c) => c.local).sort((a, b) => b.quality - a.quality)]
    .filter((c) => {
      const k = `${c.provider}/${c.model}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    })
    .map((c) => ({ provider: c.provider, model: c.model }));
  if (!seen.has('text_layer/pdfjs')) cascade.push({ provider: 'text_layer', model: 'pdfjs' });

  const explanation = [
    `${pages} page(s) need a model (task ${task}); each page image is ${visionImageSize(req.page_width_pt, req.page_height_pt).width}×${visionImageSize(req.page_width_pt, req.page_height_pt).height} px, priced by each model's image token rule, plus ${PROMPT_TOKENS} prompt tokens.`,
    `Output is estimated at ${TYPICAL_OUTPUT_TOKENS} tokens per page; the worst case assumes every page hits the output cap (${opts.outputCap} tokens or the model's own cap).`,
    req.budget_usd === undefined ? 'No budget given.' : `Budget $${req.budget_usd}: engines whose worst case exceeds it are left out.`,
    req.only_usable ? 'Only providers with a usable key (or local engines) are considered.' : 'All active providers are considered, with or without a key.',
    recommended ? `Recommended for quality=${req.quality}: ${recommended.provider}/${recommended.model} at about $${recommended.estimated_cost_usd} ($${recommended.cost_per_page_usd} per page).` : 'No engine fits.',
  ];
  return { recommended_provider: recommended, alternatives: { high_quality, cost_effective }, cascade, candidates, explanation };
}
