import { readFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The BYOK provider catalog: which AI providers a tenant can bring a key for, their models, list
 * prices, image token rules and default per-key rate limits. Version 1 ships as
 * `providers.json` next to this file (the seed for Redis); every copy, bundled or stored, goes
 * through `parseCatalog`, which checks the shape and the cross-field rules below.
 *
 * Units: prices are USD per 1,000,000 tokens; costs computed here are integer micro-dollars
 * (1 USD = 1_000_000 µ$).
 */

// ---------------------------------------------------------------------------------------------
// Vocabularies

export const PROVIDER_IDS = [
  'openai',
  'anthropic',
  'google_gemini',
  'azure_openai',
  'deepseek',
  'huggingface',
  'openai_compatible',
  'text_layer',
  'tesseract',
] as const;
export type ProviderId = (typeof PROVIDER_IDS)[number];

export const TASKS = [
  'chat',
  'code',
  'analysis',
  'pdf_ocr',
  'image_comprehension',
  'document_processing',
  'multimodal',
] as const;
export type Task = (typeof TASKS)[number];

/** Tasks that need image input: only a provider with at least one vision model may list them. */
export const VISION_TASKS = ['pdf_ocr', 'image_comprehension', 'multimodal'] as const satisfies readonly Task[];

export const PROVIDER_KINDS = ['remote', 'local'] as const;
export const PROVIDER_SDKS = ['openai', 'anthropic', 'none'] as const;

// ---------------------------------------------------------------------------------------------
// Schemas (strict objects: a misspelt key in the JSON is an error, not a silently ignored field)

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
/** USD per 1M tokens, at most 6 decimals (so a price is a whole number of µ$ per 1M tokens). */
const pricePerMillion = z
  .number()
  .nonnegative()
  .max(1_000_000)
  .refine((p) => Math.abs(p * 1e6 - Math.round(p * 1e6)) < 1e-6, 'at most 6 decimals');

/** OpenAI high detail: fit into max_long_side², shrink the short side to max_short_side, count tiles. */
export const tilesRuleSchema = z.strictObject({
  type: z.literal('tiles'),
  tile_px: positiveInt,
  base_tokens: nonNegativeInt,
  tokens_per_tile: nonNegativeInt,
  max_long_side_px: positiveInt,
  max_short_side_px: positiveInt,
});

/** Anthropic: shrink to max_long_side, then one token per `pixels_per_token` pixels. */
export const pixelsPerTokenRuleSchema = z.strictObject({
  type: z.literal('pixels_per_token'),
  pixels_per_token: positiveInt,
  max_long_side_px: positiveInt,
});

/** Gemini: a small image is one flat charge, a larger one is cut into square tiles. */
export const perTileRuleSchema = z.strictObject({
  type: z.literal('per_tile'),
  tile_px: positiveInt,
  tokens_per_tile: nonNegativeInt,
  small_image_px: positiveInt,
  small_image_tokens: nonNegativeInt,
});

/** The same count for every image (an upper bound, or 0 for a local engine). */
export const fixedRuleSchema = z.strictObject({
  type: z.literal('fixed'),
  tokens: nonNegativeInt,
});

export const imageTokenRuleSchema = z.discriminatedUnion('type', [
  tilesRuleSchema,
  pixelsPerTokenRuleSchema,
  perTileRuleSchema,
  fixedRuleSchema,
]);
export type ImageTokenRule = z.infer<typeof imageTokenRuleSchema>;

/** Higher prices for both input and output once the prompt exceeds `above_input_tokens` (Gemini 2.5 Pro). */
export const longContextPricingSchema = z.strictObject({
  above_input_tokens: positiveInt,
  input_per_million_usd: pricePerMillion,
  output_per_million_usd: pricePerMillion,
});
export type LongContextPricing = z.infer<typeof longContextPricingSchema>;

export const modelSchema = z
  .strictObject({
    /** The id sent to the provider's API (Azure: the base model; the deployment name comes with the key). */
    id: z.string().min(1).max(200),
    vision: z.boolean(),
    input_per_million_usd: pricePerMillion,
    output_per_million_usd: pricePerMillion,
    long_context: longContextPricingSchema.optional(),
    /** The model's output cap; null for local engines, which have none. */
    max_output_tokens: positiveInt.nullable(),
    /** Tokens per image; null exactly when the model takes no images. */
    image_tokens: imageTokenRuleSchema.nullable(),
    /** The vendor's pricing page; null only where there is no price (self-hosted, local). */
    price_source: z.url({ protocol: /^https$/ }).nullable(),
    note: z.string().min(1).optional(),
    /** Folio's rough 1–5 ranking for reading document pages (the optimizer's quality axis). */
    quality: z.number().int().min(1).max(5).default(3),
  })
  .superRefine((m, ctx) => {
    if (m.vision && m.image_tokens === null) {
      ctx.addIssue({ code: 'custom', path: ['image_tokens'], message: 'a vision model needs an image token rule' });
    }
    if (!m.vision && m.image_tokens !== null) {
      ctx.addIssue({ code: 'custom', path: ['image_tokens'], message: 'a model without vision must have image_tokens null' });
    }
    const priced =
      m.input_per_million_usd > 0 ||
      m.output_per_million_usd > 0 ||
      (m.long_context !== undefined &&
        (m.long_context.input_per_million_usd > 0 || m.long_context.output_per_million_usd > 0));
    if (priced && m.price_source === null) {
      ctx.addIssue({ code: 'custom', path: ['price_source'], message: 'a priced model needs a price_source' });
    }
  });
export type Model = z.infer<typeof modelSchema>;

const ENV_VAR = /^[A-Z][A-Z0-9_]*$/;

export const providerSchema = z
  .strictObject({
    id: z.enum(PROVIDER_IDS),
    name: z.string().min(1),
    description: z.string().min(1),
    kind: z.enum(PROVIDER_KINDS),
    /** Where the operator's own key lives (env fallback); null for local engines. */
    api_key_env: z.string().regex(ENV_VAR).nullable(),
    sdk: z.enum(PROVIDER_SDKS),
    /** The endpoint handed to the SDK; null when it is per deployment (then base_url_env) or local. */
    base_url: z.url({ protocol: /^https?$/ }).nullable(),
    base_url_env: z.string().regex(ENV_VAR).nullable(),
    tasks: z.array(z.enum(TASKS)).min(1),
    /** Default per-key limits (null: unlimited). Conservative; operators edit them to the key's tier. */
    limits: z.strictObject({ rpm: positiveInt.nullable(), tpm: positiveInt.nullable() }),
    active: z.boolean(),
    models: z.array(modelSchema).min(1),
  })
  .superRefine((p, ctx) => {
    const issue = (path: (string | number)[], message: string) => ctx.addIssue({ code: 'custom', path, message });
    if (p.kind === 'local') {
      if (p.sdk !== 'none') issue(['sdk'], 'a local engine has sdk "none"');
      if (p.api_key_env !== null) issue(['api_key_env'], 'a local engine has no key (api_key_env null)');
      if (p.base_url !== null || p.base_url_env !== null) issue(['base_url'], 'a local engine has no base URL');
      p.models.forEach((m, i) => {
        if (m.input_per_million_usd !== 0 || m.output_per_million_usd !== 0 || m.long_context !== undefined) {
          issue(['models', i], 'a local engine costs nothing (prices 0, no long_context)');
        }
      });
    } else {
      if (p.sdk === 'none') issue(['sdk'], 'a remote provider needs an sdk');
      if (p.api_key_env === null) issue(['api_key_env'], 'a remote provider needs api_key_env');
      if ((p.base_url === null) === (p.base_url_env === null)) {
        issue(['base_url'], 'a remote provider needs exactly one of base_url and base_url_env');
      }
    }
    if (new Set(p.tasks).size !== p.tasks.length) issue(['tasks'], 'tasks are repeated');
    const hasVisionModel = p.models.some((m) => m.vision);
    p.tasks.forEach((t, i) => {
      if (!hasVisionModel && (VISION_TASKS as readonly string[]).includes(t)) {
        issue(['tasks', i], `task "${t}" needs at least one vision model`);
      }
    });
    duplicates(p.models.map((m) => m.id)).forEach((id) => issue(['models'], `model id "${id}" is repeated`));
  });
export type Provider = z.infer<typeof providerSchema>;

export const catalogSchema = z
  .strictObject({
    /** Bumped with every change of the bundled file; a higher version re-seeds unedited providers. */
    version: z.number().int().positive(),
    description: z.string().min(1),
    /** When the prices were read from the price_source pages (YYYY-MM-DD). */
    prices_as_of: z.iso.date(),
    notes: z.string().min(1).optional(),
    providers: z.array(providerSchema).min(1),
  })
  .superRefine(
    (c, ctx) => {
      // Runs even when a provider failed validation (see `when`), so the data may be malformed here.
      const ids = (c.providers as unknown[]).map((p) => (p as { id?: unknown } | null)?.id);
      duplicates(ids.filter((id): id is string => typeof id === 'string')).forEach((id) =>
        ctx.addIssue({ code: 'custom', path: ['providers'], message: `provider id "${id}" is repeated` }),
      );
    },
    { when: (payload) => Array.isArray((payload.value as { providers?: unknown } | null)?.providers) },
  );
export type Catalog = z.infer<typeof catalogSchema>;

function duplicates(ids: readonly string[]): string[] {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const id of ids) (seen.has(id) ? repeated : seen).add(id);
  return [...repeated];
}

// ---------------------------------------------------------------------------------------------
// Loading

/** The catalog failed to load or validate. `issues` holds every problem, one line each. */
export class CatalogError extends Error {
  readonly code = 'catalog_invalid' as const;
  readonly issues: readonly string[];

  constructor(source: string, issues: readonly string[]) {
    super(`Invalid provider catalog (${source}):\n  - ${issues.join('\n  - ')}`);
    this.name = 'CatalogError';
    this.issues = Object.freeze([...issues]);
  }
}

/** `providers[3].models[0].image_tokens` */
function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) out += typeof key === 'number' ? `[${key}]` : `${out === '' ? '' : '.'}${String(key)}`;
  return out === '' ? '(root)' : out;
}

/**
 * Validates an already-parsed catalog (the bundled file, or a copy read back from Redis).
 * Throws `CatalogError` listing every issue, each prefixed with its path.
 */
export function parseCatalog(data: unknown, source = 'catalog'): Catalog {
  const parsed = catalogSchema.safeParse(data);
  if (!parsed.success) {
    throw new CatalogError(
      source,
      parsed.error.issues.map((i) => `${formatPath(i.path)}: ${i.message}`),
    );
  }
  return parsed.data;
}

export const BUNDLED_CATALOG_URL = new URL('./providers.json', import.meta.url);

/** Reads and validates `providers.json` next to this file. A fresh object on every call. */
export function loadBundledCatalog(): Catalog {
  const source = 'providers.json';
  let data: unknown;
  try {
    data = JSON.parse(readFileSync(BUNDLED_CATALOG_URL, 'utf8'));
  } catch (err) {
    throw new CatalogError(source, [`cannot read or parse: ${(err as Error).message}`]);
  }
  return parseCatalog(data, source);
}

// ---------------------------------------------------------------------------------------------
// Helpers (pure)

export function findProvider(catalog: Catalog, providerId: string): Provider | undefined {
  return catalog.providers.find((p) => p.id === providerId);
}

/** The model `modelId` of provider `providerId`, or undefined if either is not in the catalog. */
export function findModel(catalog: Catalog, providerId: string, modelId: string): Model | undefined {
  return findProvider(catalog, providerId)?.models.find((m) => m.id === modelId);
}

/** Downscale (never upscale) so that the longer side is at most `maxLong`; whole pixels. */
function fitLongSide(w: number, h: number, maxLong: number): [number, number] {
  const long = Math.max(w, h);
  if (long <= maxLong) return [w, h];
  return [Math.max(1, Math.round((w * maxLong) / long)), Math.max(1, Math.round((h * maxLong) / long))];
}

/** Downscale (never upscale) so that the shorter side is at most `maxShort`; whole pixels. */
function fitShortSide(w: number, h: number, maxShort: number): [number, number] {
  const short = Math.min(w, h);
  if (short <= maxShort) return [w, h];
  return [Math.max(1, Math.round((w * maxShort) / short)), Math.max(1, Math.round((h * maxShort) / short))];
}

/**
 * Input tokens one image of `widthPx` × `heightPx` costs under `rule`. Sizes are scaled the way the
 * providers resize (down only, rounded to whole pixels):
 *
 * - `tiles` (OpenAI high detail): scale to fit a max_long_side² square; then, if the short side is
 *   over max_short_side, scale it down to max_short_side; then
 *   tokens = base_tokens + tokens_per_tile × ceil(w / tile_px) × ceil(h / tile_px).
 *   1024×1024 → 768×768 → 2×2 tiles → 85 + 4×170 = 765.
 * - `pixels_per_token` (Anthropic): scale to fit max_long_side; tokens = ceil(w × h / pixels_per_token).
 *   1000×1000 → ceil(1e6 / 750) = 1334.
 * - `per_tile` (Gemini): if both sides ≤ small_image_px → small_image_tokens; else
 *   tokens = ceil(w / tile_px) × ceil(h / tile_px) × tokens_per_tile. 1000×1000 → 2×2×258 = 1032.
 * - `fixed`: tokens, whatever the size.
 *
 * Throws RangeError unless both sizes are positive finite numbers.
 */
export function imageTokens(rule: ImageTokenRule, widthPx: number, heightPx: number): number {
  if (!(Number.isFinite(widthPx) && widthPx > 0 && Number.isFinite(heightPx) && heightPx > 0)) {
    throw new RangeError(`image size must be positive, got ${widthPx}x${heightPx}`);
  }
  switch (rule.type) {
    case 'tiles': {
      let [w, h] = fitLongSide(widthPx, heightPx, rule.max_long_side_px);
      [w, h] = fitShortSide(w, h, rule.max_short_side_px);
      const tiles = Math.ceil(w / rule.tile_px) * Math.ceil(h / rule.tile_px);
      return rule.base_tokens + rule.tokens_per_tile * tiles;
    }
    case 'pixels_per_token': {
      const [w, h] = fitLongSide(widthPx, heightPx, rule.max_long_side_px);
      return Math.ceil((w * h) / rule.pixels_per_token);
    }
    case 'per_tile': {
      if (widthPx <= rule.small_image_px && heightPx <= rule.small_image_px) return rule.small_image_tokens;
      return Math.ceil(widthPx / rule.tile_px) * Math.ceil(heightPx / rule.tile_px) * rule.tokens_per_tile;
    }
    case 'fixed':
      return rule.tokens;
  }
}

/** A price in USD per 1M tokens as an exact integer of 1e-6 µ$ per token (schema: ≤ 6 decimals). */
function picoUsdPerToken(pricePerMillionUsd: number): bigint {
  return BigInt(Math.round(pricePerMillionUsd * 1e6));
}

/**
 * The most a request can cost, in integer micro-dollars, rounded up: every input token at the input
 * price plus `maxOutputTokens` at the output price (reasoning tokens included). Since prices are
 * per 1M tokens, µ$ = tokens × price_per_million_usd exactly; the sum is done in integers and
 * rounded up once. When the model has `long_context` pricing and `inputTokens` exceeds its
 * threshold, both prices switch to the long-context ones. `maxOutputTokens` is not clamped to the
 * model's max_output_tokens. Example: gpt-4o, 1000 in + 500 out = $0.0025 + $0.005 = 7500 µ$.
 *
 * Throws RangeError unless both counts are non-negative safe integers.
 */
export function worstCaseCostMicroUsd(model: Model, inputTokens: number, maxOutputTokens: number): number {
  for (const [name, n] of [['inputTokens', inputTokens], ['maxOutputTokens', maxOutputTokens]] as const) {
    if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`${name} must be a non-negative integer, got ${n}`);
  }
  const long = model.long_context !== undefined && inputTokens > model.long_context.above_input_tokens;
  const prices = long && model.long_context !== undefined ? model.long_context : model;
  const pico =
    BigInt(inputTokens) * picoUsdPerToken(prices.input_per_million_usd) +
    BigInt(maxOutputTokens) * picoUsdPerToken(prices.output_per_million_usd);
  const micro = (pico + 999_999n) / 1_000_000n; // ceil for non-negative values
  return Number(micro);
}
