import type { PDFPageProxy } from 'pdfjs-dist/types/src/display/api.js';

/** An 8-bit greyscale raster: one byte per pixel, rows top to bottom. */
export interface GreyImage {
  width: number;
  height: number;
  data: Uint8Array;
  /** The resolution actually used (lower than requested when the pixel cap applied). */
  dpi: number;
}

export interface RenderResult {
  image: GreyImage;
  requestedDpi: number;
  /** True when the page was rendered below the requested DPI to stay under `maxPixels`. */
  capped: boolean;
  ms: number;
}

/** The DPI at which a page of `widthPt` × `heightPt` points fits in `maxPixels`, at most `dpi`. */
export function fitDpi(widthPt: number, heightPt: number, dpi: number, maxPixels: number): number {
  const px = (d: number) => Math.ceil((widthPt * d) / 72) * Math.ceil((heightPt * d) / 72);
  if (px(dpi) <= maxPixels) return dpi;
  let fit = Math.floor(72 * Math.sqrt(maxPixels / (widthPt * heightPt)));
  while (fit > 1 && px(fit) > maxPixels) fit--;
  return Math.max(1, fit);
}

interface CanvasLike {
  width: number;
  height: number;
}
interface Context2DLike {
  getImageData(x: number, y: number, w: number, h: number): { data: Uint8ClampedArray };
  fillStyle: string;
  fillRect(x: number, y: number, w: number, h: number): void;
}
interface CanvasFactoryLike {
  create(w: number, h: number): { canvas: CanvasLike; context: Context2DLike };
  destroy(entry: { canvas: CanvasLike; context: Context2DLike }): void;
}

/**
 * Renders a page with pdfjs-dist onto an @napi-rs/canvas surface (pdfjs's Node canvas factory) and
 * converts it to greyscale. Canvas memory is native, outside the V8 heap cap of the worker thread,
 * so the pixel cap is what bounds it: `maxPixels` × 4 bytes at most.
 */
export async function renderPageGrey(page: PDFPageProxy, canvasFactory: unknown, opts: { dpi: number; maxPixels: number }): Promise<RenderResult> {
  const t0 = performance.now();
  const base = page.getViewport({ scale: 1 });
  const dpi = fitDpi(base.width, base.height, opts.dpi, opts.maxPixels);
  const viewport = page.getViewport({ scale: dpi / 72 });
  const factory = canvasFactory as CanvasFactoryLike;
  const entry = factory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
  try {
    const { canvas, context } = entry;
    // Transparent regions must read as paper, not black.
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    await page.render({ canvasContext: context as never, canvas: canvas as never, viewport, background: '#ffffff' }).promise;
    const rgba = context.getImageData(0, 0, canvas.width, canvas.height).data;
    return {
      image: { width: canvas.width, height: canvas.height, data: toGrey(rgba), dpi },
      requestedDpi: opts.dpi,
      capped: dpi < opts.dpi,
      ms: Math.round(performance.now() - t0),
    };
  } finally {
    factory.destroy(entry);
  }
}

/** RGBA → 8-bit luma (ITU-R BT.601 weights in fixed point). */
export function toGrey(rgba: Uint8ClampedArray | Uint8Array): Uint8Array {
  const n = rgba.length >>> 2;
  const out = new Uint8Array(n);
  for (let i = 0, j = 0; i < n; i++, j += 4) {
    out[i] = (rgba[j]! * 77 + rgba[j + 1]! * 150 + rgba[j + 2]! * 29) >> 8;
  }
  return out;
}

/** Binary PGM (P5): a header and the raw bytes — no compression, so encoding costs nothing. */
export function toPgm(image: GreyImage): Buffer {
  const header = Buffer.from(`P5\n${image.width} ${image.height}\n255\n`, 'ascii');
  return Buffer.concat([header, image.data]);
}

export interface JpegRender {
  jpeg: Buffer;
  width: number;
  height: number;
  ms: number;
}

/**
 * Renders a page as JPEG for a vision model: the long side scaled to `longSidePx` (providers
 * downscale larger images anyway, and bill by size), encoded natively by @napi-rs/canvas (a
 * fraction of the cost of PNG).
 */
export async function renderPageJpeg(page: PDFPageProxy, canvasFactory: unknown, opts: { longSidePx: number; quality?: number }): Promise<JpegRender> {
  const t0 = performance.now();
  const base = page.getViewport({ scale: 1 });
  const scale = opts.longSidePx / Math.max(base.width, base.height);
  const viewport = page.getViewport({ scale });
  const factory = canvasFactory as CanvasFactoryLike;
  const entry = factory.create(Math.ceil(viewport.width), Math.ceil(viewport.height));
  try {
    const { canvas, context } = entry;
    context.fillStyle = '#ffffff';
    context.fillRect(0, 0, canvas.width, canvas.height);
    await page.render({ canvasContext: context as never, canvas: canvas as never, viewport, background: '#ffffff' }).promise;
    const jpeg = await (canvas as unknown as { encode(f: 'jpeg', q: number): Promise<Buffer> }).encode('jpeg', opts.quality ?? 85);
    return { jpeg, width: canvas.width, height: canvas.height, ms: Math.round(performance.now() - t0) };
  } finally {
    factory.destroy(entry);
  }
}
