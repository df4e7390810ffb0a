import { createRequire } from 'node:module';
import path from 'node:path';
// The default build of pdfjs-dist crashes on Node 24 (`toHex`); the legacy build does not.
import * as pdfjs from 'pdfjs-dist/legacy/build/pdf.mjs';
import type { PDFDocumentLoadingTask, PDFDocumentProxy } from 'pdfjs-dist/types/src/display/api.js';
import { PdfError } from '../errors/errors.ts';

/** pdfjs's operator ids (for reading operator lists, e.g. drawsReadableContent). */
export const PDF_OPS = pdfjs.OPS;

const PDFJS_DIR = path.dirname(createRequire(import.meta.url).resolve('pdfjs-dist/package.json'));

/** An open PDF and the task that owns its resources (pdfjs 6 frees them through the task). */
export interface OpenPdf {
  readonly doc: PDFDocumentProxy;
  readonly numPages: number;
  /** pdfjs's canvas factory (@napi-rs/canvas in Node), for rendering pages. */
  readonly canvasFactory: unknown;
  close(): Promise<void>;
}

/**
 * Opens a PDF from bytes. Local files only: CMaps, standard fonts and wasm decoders come from the
 * installed pdfjs-dist package, never from a CDN. Errors become `PdfError` with a stable code.
 */
export async function openPdf(data: Uint8Array, password?: string, opts: { maxImagePixels?: number } = {}): Promise<OpenPdf> {
  const task: PDFDocumentLoadingTask = pdfjs.getDocument({
    data,
    // Images above this many pixels are skipped when rendering: a 100000×100000 JBIG2 "bomb" would
    // otherwise be decoded in full.
    maxImageSize: opts.maxImagePixels ?? 200_000_000,
    ...(password === undefined ? {} : { password }),
    verbosity: 0,
    disableFontFace: true,
    useSystemFonts: false,
    cMapUrl: `${PDFJS_DIR}/cmaps/`,
    cMapPacked: true,
    standardFontDataUrl: `${PDFJS_DIR}/standard_fonts/`,
    wasmUrl: `${PDFJS_DIR}/wasm/`,
    iccUrl: `${PDFJS_DIR}/iccs/`,
  });
  let doc: PDFDocumentProxy;
  try {
    doc = await task.promise;
  } catch (err) {
    await task.destroy().catch(() => undefined);
    throw toPdfError(err, password !== undefined);
  }
  return {
    doc,
    numPages: doc.numPages,
    canvasFactory: (doc as unknown as { canvasFactory: unknown }).canvasFactory,
    close: () => task.destroy(),
  };
}

/** Maps pdfjs's exceptions to Folio's codes; anything unexpected counts as an unreadable PDF. */
export function toPdfError(err: unknown, passwordGiven: boolean): PdfError {
  const e = err as { name?: string; code?: number; message?: string };
  if (e?.name === 'PasswordException') {
    // PasswordResponses: 1 = NEED_PASSWORD, 2 = INCORRECT_PASSWORD
    return e.code === 2 || passwordGiven
      ? new PdfError('pdf_password_incorrect', 'The password given does not open this PDF')
      : new PdfError('pdf_password_required', 'This PDF is encrypted: send its password in the `password` field');
  }
  const detail = typeof e?.message === 'string' ? e.message.slice(0, 200) : 'unknown error';
  return new PdfError('pdf_invalid', `The file is not a readable PDF (${detail})`, err);
}
