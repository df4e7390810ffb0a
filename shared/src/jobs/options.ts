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
  })
  .strict();
export type ProcessOptions = z.infer<typeof processOptionsSchema>;

/** The options a job runs with, every default filled in (stored with the job record). */
export interface JobOptions {
  ocr: 'auto' | 'always' | 'never';
  languages: string[];
  dpi: number;
}

export function resolveJobOptions(o: ProcessOptions, defaults: { languages: readonly string[]; dpi: number }): JobOptions {
  const useOcr = o.use_ocr === undefined ? undefined : o.use_ocr === true || o.use_ocr === 'true';
  return {
    ocr: o.ocr ?? (useOcr === false ? 'never' : 'auto'),
    languages: o.languages ?? [...defaults.languages],
    dpi: o.dpi ?? defaults.dpi,
  };
}

export const jobOptionsSchema = z.object({
  ocr: z.enum(['auto', 'always', 'never']).default('auto'),
  languages: z.array(z.string().regex(LANGUAGE)).min(1).default(['eng']),
  dpi: z.number().int().min(72).max(600).default(300),
});
