import { describe, it, expect } from 'vitest';
import {
  CatalogError,
  PROVIDER_IDS,
  VISION_TASKS,
  findModel,
  findProvider,
  imageTokens,
  loadBundledCatalog,
  parseCatalog,
  worstCaseCostMicroUsd,
  type Catalog,
  type ImageTokenRule,
  type Model,
} from './index.ts';

const OPENAI_HIGH: ImageTokenRule = {
  type: 'tiles',
  tile_px: 512,
  base_tokens: 85,
  tokens_per_tile: 170,
  max_long_side_px: 2048,
  max_short_side_px: 768,
};
const ANTHROPIC: ImageTokenRule = { type: 'pixels_per_token', pixels_per_token: 750, max_long_side_px: 1568 };
const GEMINI: ImageTokenRule = { type: 'per_tile', tile_px: 768, tokens_per_tile: 258, small_image_px: 384, small_image_tokens: 258 };

function model(catalog: Catalog, providerId: string, modelId: string): Model {
  const m = findModel(catalog, providerId, modelId);
  if (m === undefined) throw new Error(`${providerId}/${modelId} missing from the bundled catalog`);
  return m;
}

describe('bundled catalog', () => {
  const catalog = loadBundledCatalog();

  it('parses, with a version and a price date', () => {
    expect(catalog.version).toBeGreaterThanOrEqual(2);
    expect(catalog.prices_as_of).toBe('2025-06-01');
    expect(catalog.description).toMatch(/check .*price_source/);
  });

  it('has exactly the nine provider ids, each once', () => {
    const ids = catalog.providers.map((p) => p.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual([...PROVIDER_IDS].sort());
    expect(ids).toHaveLength(9);
  });

  it('has unique model ids within each provider', () => {
    for (const p of catalog.providers) {
      const ids = p.models.map((m) => m.id);
      expect(new Set(ids).size, p.id).toBe(ids.length);
    }
  });

  it('gives every remote vision provider a vision model with an image rule', () => {
    const visionProviders = catalog.providers.filter(
      (p) => p.kind === 'remote' && p.tasks.some((t) => (VISION_TASKS as readonly string[]).includes(t)),
    );
    expect(visionProviders.map((p) => p.id).sort()).toEqual(
      ['anthropic', 'azure_openai', 'google_gemini', 'huggingface', 'openai', 'openai_compatible'].sort(),
    );
    for (const p of visionProviders) {
      expect(p.models.some((m) => m.vision && m.image_tokens !== null), p.id).toBe(true);
    }
  });

  it('gives text-only models no image rule and vision models one', () => {
    for (const p of catalog.providers) {
      for (const m of p.models) expect(m.image_tokens === null, `${p.id}/${m.id}`).toBe(!m.vision);
    }
  });

  it('keeps DeepSeek text-only', () => {
    const deepseek = findProvider(catalog, 'deepseek');
    expect(deepseek).toBeDefined();
    for (const t of VISION_TASKS) expect(deepseek?.tasks).not.toContain(t);
    expect(deepseek?.models.every((m) => !m.vision && m.image_tokens === null)).toBe(true);
  });

  it('has local engines that are free, keyless and SDK-less', () => {
    const local = catalog.providers.filter((p) => p.kind === 'local');
    expect(local.map((p) => p.id).sort()).toEqual(['tesseract', 'text_layer']);
    for (const p of local) {
      expect(p.api_key_env).toBeNull();
      expect(p.sdk).toBe('none');
      for (const m of p.models) {
        expect(m.input_per_million_usd + m.output_per_million_usd).toBe(0);
        expect(worstCaseCostMicroUsd(m, 1_000_000, 1_000_000)).toBe(0);
      }
    }
  });

  it('wires SDKs, keys and base URLs as documented', () => {
    const byId = Object.fromEntries(catalog.providers.map((p) => [p.id, p]));
    expect(byId.openai?.sdk).toBe('openai');
    expect(byId.anthropic?.sdk).toBe('anthropic');
    for (const id of ['google_gemini', 'azure_openai', 'deepseek', 'huggingface', 'openai_compatible']) {
      expect(byId[id]?.sdk, id).toBe('openai');
    }
    expect(byId.google_gemini?.base_url).toBe('https://generativelanguage.googleapis.com/v1beta/openai/');
    expect(byId.deepseek?.base_url).toBe('https://api.deepseek.com');
    expect(byId.huggingface?.base_url).toBe('https://router.huggingface.co/v1');
    expect(byId.huggingface?.api_key_env).toBe('HF_TOKEN');
    expect(byId.azure_openai?.base_url).toBeNull();
    expect(byId.azure_openai?.base_url_env).toBe('AZURE_OPENAI_ENDPOINT');
    expect(byId.openai_compatible?.base_url).toBeNull();
    expect(byId.openai_compatible?.base_url_env).toBe('OPENAI_COMPATIBLE_BASE_URL');
    expect(byId.openai_compatible?.description).toContain('http://127.0.0.1:11434/v1');
  });

  it('has the expected list prices', () => {
    expect(model(catalog, 'openai', 'gpt-4o')).toMatchObject({ input_per_million_usd: 2.5, output_per_million_usd: 10 });
    expect(model(catalog, 'openai', 'gpt-4o-mini')).toMatchObject({ input_per_million_usd: 0.15, output_per_million_usd: 0.6 });
    expect(model(catalog, 'azure_openai', 'gpt-4.1')).toMatchObject({ input_per_million_usd: 2, output_per_million_usd: 8 });
    expect(model(catalog, 'anthropic', 'claude-sonnet-4-20250514')).toMatchObject({ input_per_million_usd: 3, output_per_million_usd: 15 });
    expect(model(catalog, 'google_gemini', 'gemini-2.5-flash')).toMatchObject({ input_per_million_usd: 0.3, output_per_million_usd: 2.5 });
    expect(model(catalog, 'deepseek', 'deepseek-chat')).toMatchObject({ input_per_million_usd: 0.27, output_per_million_usd: 1.1 });
    expect(model(catalog, 'huggingface', 'Qwen/Qwen2.5-VL-7B-Instruct')).toMatchObject({ vision: true, input_per_million_usd: 0 });
  });

  it('returns undefined for unknown providers and models', () => {
    expect(findModel(catalog, 'openai', 'no-such-model')).toBeUndefined();
    expect(findModel(catalog, 'nope', 'gpt-4o')).toBeUndefined();
    expect(findProvider(catalog, 'nope')).toBeUndefined();
  });

  it('returns a fresh object on every load', () => {
    const a = loadBundledCatalog();
    a.providers.length = 0;
    expect(loadBundledCatalog().providers).toHaveLength(9);
  });
});

describe('imageTokens', () => {
  it('OpenAI high detail: 1024×1024 → 768×768 → 4 tiles → 765', () => {
    expect(imageTokens(OPENAI_HIGH, 1024, 1024)).toBe(765);
  });

  it('OpenAI high detail: 2048×4096 → 1024×2048 → 768×1536 → 6 tiles → 1105', () => {
    expect(imageTokens(OPENAI_HIGH, 2048, 4096)).toBe(1105);
    expect(imageTokens(OPENAI_HIGH, 4096, 2048)).toBe(1105);
  });

  it('OpenAI high detail never upscales small images', () => {
    expect(imageTokens(OPENAI_HIGH, 512, 512)).toBe(85 + 170);
    expect(imageTokens(OPENAI_HIGH, 100, 40)).toBe(85 + 170);
  });

  it('Anthropic: 1000×1000 → ceil(1e6 / 750) = 1334', () => {
    expect(imageTokens(ANTHROPIC, 1000, 1000)).toBe(1334);
  });

  it('Anthropic: scales the long side to 1568 first', () => {
    // 3136×1568 → 1568×784 → 1_229_312 px / 750 → 1640 (ceil of 1639.08)
    expect(imageTokens(ANTHROPIC, 3136, 1568)).toBe(1640);
  });

  it('Gemini: small images are flat, larger ones are tiled', () => {
    expect(imageTokens(GEMINI, 300, 300)).toBe(258);
    expect(imageTokens(GEMINI, 384, 384)).toBe(258);
    expect(imageTokens(GEMINI, 1000, 1000)).toBe(4 * 258);
    expect(imageTokens(GEMINI, 385, 100)).toBe(258); // one 768-px tile
    expect(imageTokens(GEMINI, 1700, 2200)).toBe(3 * 3 * 258);
  });

  it('fixed', () => {
    expect(imageTokens({ type: 'fixed', tokens: 2489 }, 10_000, 10_000)).toBe(2489);
  });

  it('rejects empty or invalid sizes', () => {
    expect(() => imageTokens(GEMINI, 0, 100)).toThrow(RangeError);
    expect(() => imageTokens(GEMINI, 100, Number.NaN)).toThrow(RangeError);
    expect(() => imageTokens(GEMINI, -1, 100)).toThrow(RangeError);
  });

  it('agrees with the bundled rules', () => {
    const catalog = loadBundledCatalog();
    const gpt4o = model(catalog, 'openai', 'gpt-4o').image_tokens;
    const sonnet = model(catalog, 'anthropic', 'claude-sonnet-4-20250514').image_tokens;
    const flash = model(catalog, 'google_gemini', 'gemini-2.5-flash').image_tokens;
    expect(gpt4o).toEqual(OPENAI_HIGH);
    expect(sonnet).toEqual(ANTHROPIC);
    expect(flash).toEqual(GEMINI);
  });
});

describe('worstCaseCostMicroUsd', () => {
  const catalog = loadBundledCatalog();

  it('gpt-4o: 1000 in + 500 out = $0.0025 + $0.005 = 7500 µ$', () => {
    expect(worstCaseCostMicroUsd(model(catalog, 'openai', 'gpt-4o'), 1000, 500)).toBe(7500);
  });

  it('is exact for decimal prices (no float drift)', () => {
    // 900 × 0.27 = 243 and 50 × 1.1 = 55 exactly; in floats they are 243.00000000000003 and
    // 55.00000000000001, which a naive Math.ceil would turn into 244 and 56.
    expect(worstCaseCostMicroUsd(model(catalog, 'deepseek', 'deepseek-chat'), 900, 0)).toBe(243);
    expect(worstCaseCostMicroUsd(model(catalog, 'deepseek', 'deepseek-chat'), 0, 50)).toBe(55);
    expect(worstCaseCostMicroUsd(model(catalog, 'deepseek', 'deepseek-chat'), 900, 50)).toBe(298);
    expect(worstCaseCostMicroUsd(model(catalog, 'google_gemini', 'gemini-2.5-flash'), 3, 0)).toBe(1); // 0.9 µ$ → 1
  });

  it('rounds a fraction of a micro-dollar up', () => {
    const m = model(catalog, 'openai', 'gpt-4o-mini'); // $0.15 / $0.60 per 1M
    expect(worstCaseCostMicroUsd(m, 1, 0)).toBe(1); // 0.15 µ$
    expect(worstCaseCostMicroUsd(m, 7, 1)).toBe(2); // 1.05 + 0.6 = 1.65 µ$
    expect(worstCaseCostMicroUsd(m, 0, 0)).toBe(0);
  });

  it('switches to long-context prices above the threshold', () => {
    const pro = model(catalog, 'google_gemini', 'gemini-2.5-pro');
    expect(worstCaseCostMicroUsd(pro, 200_000, 1000)).toBe(200_000 * 1.25 + 1000 * 10);
    expect(worstCaseCostMicroUsd(pro, 200_001, 1000)).toBe(Math.ceil(200_001 * 2.5) + 1000 * 15);
  });

  it('handles large counts without losing precision', () => {
    const opus = model(catalog, 'anthropic', 'claude-opus-4-20250514');
    expect(worstCaseCostMicroUsd(opus, 10_000_000, 32_000)).toBe(150_000_000 + 2_400_000);
  });

  it('rejects non-integer or negative counts', () => {
    const m = model(catalog, 'openai', 'gpt-4o');
    expect(() => worstCaseCostMicroUsd(m, -1, 0)).toThrow(RangeError);
    expect(() => worstCaseCostMicroUsd(m, 1.5, 0)).toThrow(RangeError);
    expect(() => worstCaseCostMicroUsd(m, 0, Number.POSITIVE_INFINITY)).toThrow(RangeError);
  });
});

describe('parseCatalog', () => {
  it('lists every issue, each with its path', () => {
    const broken = structuredClone(loadBundledCatalog()) as unknown as {
      version: unknown;
      providers: Array<Record<string, unknown> & { models: Array<Record<string, unknown>> }>;
    };
    broken.version = 0;
    const [openai, anthropic, , , deepseek] = broken.providers;
    if (!openai || !anthropic || !deepseek) throw new Error('fixture');
    openai.id = 'openai_typo';
    anthropic.models[0]!.image_tokens = { type: 'tiles', tile_px: 512 }; // missing fields
    deepseek.tasks = ['chat', 'pdf_ocr']; // no vision model
    broken.providers.push(structuredClone(broken.providers[1]!)); // repeated id

    let error: unknown;
    try {
      parseCatalog(broken, 'test');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(CatalogError);
    const issues = (error as CatalogError).issues;
    const text = issues.join('\n');
    expect(text).toMatch(/^version: /m);
    expect(text).toMatch(/^providers\[0\]\.id: /m);
    expect(text).toMatch(/^providers\[1\]\.models\[0\]\.image_tokens\.base_tokens: /m);
    expect(text).toMatch(/^providers\[1\]\.models\[0\]\.image_tokens\.max_short_side_px: /m);
    expect(text).toMatch(/^providers\[4\]\.tasks\[1\]: task "pdf_ocr" needs at least one vision model/m);
    expect(text).toMatch(/^providers: provider id "anthropic" is repeated/m);
    expect(issues.length).toBeGreaterThanOrEqual(6);
    expect((error as CatalogError).message).toContain('Invalid provider catalog (test)');
    for (const issue of issues) expect((error as CatalogError).message).toContain(issue);
  });

  it('enforces the cross-field rules', () => {
    const c = structuredClone(loadBundledCatalog());
    const tesseract = c.providers.find((p) => p.id === 'tesseract')!;
    tesseract.models[0]!.input_per_million_usd = 1;
    tesseract.api_key_env = 'TESSERACT_KEY';
    const gpt = c.providers.find((p) => p.id === 'openai')!.models[0]!;
    gpt.price_source = null;
    gpt.vision = false;
    const azure = c.providers.find((p) => p.id === 'azure_openai')!;
    azure.base_url_env = null;
    expect(() => parseCatalog(c)).toThrow(CatalogError);
    try {
      parseCatalog(c);
    } catch (err) {
      const text = (err as CatalogError).issues.join('\n');
      expect(text).toContain('a local engine costs nothing');
      expect(text).toContain('a local engine has no key');
      expect(text).toContain('a priced model needs a price_source');
      expect(text).toContain('a model without vision must have image_tokens null');
      expect(text).toContain('exactly one of base_url and base_url_env');
    }
  });

  it('rejects unknown keys and non-https price sources', () => {
    const c = structuredClone(loadBundledCatalog()) as unknown as { providers: Array<{ models: Array<Record<string, unknown>> }> };
    c.providers[0]!.models[0]!.input_price = 1;
    c.providers[0]!.models[1]!.price_source = 'http://example.com/pricing';
    try {
      parseCatalog(c);
      expect.unreachable();
    } catch (err) {
      const text = (err as CatalogError).issues.join('\n');
      expect(text).toMatch(/providers\[0\]\.models\[0\]: .*input_price/);
      expect(text).toMatch(/providers\[0\]\.models\[1\]\.price_source: /);
    }
  });
});
