import { z } from 'zod';

/**
 * Processing options a caller may send with a document (multipart fields or JSON body).
 * Unknown fields are refused so that a typo does not silently fall back to a default.
 */
export const processOptionsSchema = z
  .object({
    /** Opens a PDF encrypted with a user password. Kept out of logs and results; erased from Redis when the job ends. */
    password: z.string().min(1).max(1024).optional(),
  })
  .strict();
export type ProcessOptions = z.infer<typeof processOptionsSchema>;
