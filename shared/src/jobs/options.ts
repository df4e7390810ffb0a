import { z } from 'zod';

const LANGUAGE = /^[a-z_]{3,16}$/;

/**
 * Processing options a caller may send with a document (multipart fields or JSON body). Values
 * arrive as strings from multipart forms. Unknown fields are refused so that a typo does not
 * silently fall back to a default.
 */
export const processOptionsSchema = z
  .object({
    /** Opens a PDF encrypted with a user password. Kept out of logs and results; erased from Redis when the job ends. */
    password: z.string().min(1).max(1024).optional(),
    /** `auto`: text layer where usable, OCR elsewhere; `always`: OCR every page; `never`: text layer only. */
    ocr: z.enum(['auto', 'always', 'never']).optional(),
    /** The seed API's flag: `true` is `ocr=auto`, `false` is `ocr=never`. */
    use_ocr: z.union([z.boolean(), z.enum(['true', 'false'])]).optional(),
    /** Tesseract language codes, `+` or `,` separated (`eng`, `eng+fra`). */
    languages: z
      .string()
      .max(100)
      .transform((s) => s.split(/[+,\s]+/).filter((x) => x.length > 0))
      .refine((l) => l.length > 0 && l.length <= 5 && l.every((x) => LANGUAGE.test(x)), 'one to five language codes such as eng or eng+fra')
      .optional(),
    /** Rendering resolution for OCR. */
    dpi: z.coerce.number().int().min(72).max(600).optional(),
    /**
     * Who reads pages that need OCR: `tesseract` (local, free; the default), `auto` (the optimizer
     * picks a vision model the tenant has a key for), or a provider id (`openai`, `anthropic`, …).
     */
    ai_provider: z.string().regex(/^[a-z_]{2,40}$/).optional(),
    /** A model of that provider (default: the optimizer's pick). */
    model: z.string().min(1).max(200).optional(),
    /** The optimizer's preference when ai_provider=auto. */
    quality: z.enum(['high', 'balanced', 'low_cost']).optional(),
    /** `cascade`: on failure, timeout, refusal or budget, try the next engine, down to tesseract and the text layer; `none`: fail the page. */
    fallback_strategy: z.enum(['cascade', 'none']).optional(),
    /** Hard cap on what this job may spend on provider calls, in USD. */
    budget_constraint: z.coerce.number().positive().max(100_000).optional(),
    /** Also describe figures and diagrams (vision models only). */
    use_advanced_comprehension: z.union([z.boolean(), z.enum(['true', 'false'])]).optional(),
    /** Webhook: POSTed a signed event when the job ends. http(s) only; private addresses only when WEBHOOK_ALLOW_LIST admits them. */
    callback_url: z
      .string()
      .max(2048)
      .refine((u) => URL.canParse(u) && /^https?:$/.test(new URL(u).protocol), 'an absolute http or https URL')
      .optional(),
  })
  .strict();
export type ProcessOptions = z.infer<typeof processOptionsSchema>;

/** The options a job runs with, every default filled in (stored with the job record). */
export interface JobOptions {
  ocr: 'auto' | 'always' | 'never';
  languages: string[];
  dpi: number;
  engine: string;
  model?: string;
  quality: 'high' | 'balanced' | 'low_cost';
  fallback: 'cascade' | 'none';
  budgetUsd?: number;
  advanced: boolean;
  /** Where the job's terminal event is delivered (see docs/CLIENTS.md). */
  callbackUrl?: string;
}

export function resolveJobOptions(o: ProcessOptions, defaults: { languages: readonly string[]; dpi: number }): JobOptions {
  const useOcr = o.use_ocr === undefined ? undefined : o.use_ocr === true || o.use_ocr === 'true';
  return {
    ocr: o.ocr ?? (useOcr === false ? 'never' : 'auto'),
    languages: o.languages ?? [...defaults.languages],
    dpi: o.dpi ?? defaults.dpi,
    engine: o.ai_provider ?? 'tesseract',
    ...(o.model === undefined ? {} : { model: o.model }),
    quality: o.quality ?? 'balanced',
    fallback: o.fallback_strategy ?? 'cascade',
    ...(o.budget_constraint === undefined ? {} : { budgetUsd: o.budget_constraint }),
    advanced: o.use_advanced_comprehension === true || o.use_advanced_comprehension === 'true',
    ...(o.callback_url === undefined ? {} : { callbackUrl: o.callback_url }),
  };
}

export const jobOptionsSchema = z.object({
  ocr: z.enum(['auto', 'always', 'never']).default('auto'),
  languages: z.array(z.string().regex(LANGUAGE)).min(1).default(['eng']),
  dpi: z.number().int().min(72).max(600).default(300),
  engine: z.string().default('tesseract'),
  model: z.string().optional(),
  quality: z.enum(['high', 'balanced', 'low_cost']).default('balanced'),
  fallback: z.enum(['cascade', 'none']).default('cascade'),
  budgetUsd: z.number().positive().optional(),
  advanced: z.boolean().default(false),
  /** Shown as origin + path only (a query string may carry a token). */
  callbackUrl: z.string().optional(),
});
