// Image files to tensors through well-kept decoders (pngjs, jpeg-js; in a browser, its own
// through createImageBitmap), resized as PIL and torchvision resize (bilinear, antialiased when
// shrinking); the pixels of a page's canvas or ImageData; folders of images (one subfolder per
// class) as datasets.
// The decoders load on first use, so importing fovea does not pull them into a page.
import { ConfigError, FormatError, ShapeError, checkBytes, checkPath, htmlHint, isArrayLike, isRecord, show } from "../errors.js";
import { getLimits } from "../runtime/limits.js";
import { nodeModule, runtimeName } from "../runtime/platform.js";
import { makeDataset, type Dataset } from "./dataset.js";
import { listDir, readBytes } from "./files.js";
import { decodeJpeg } from "./jpeg.js";

export interface Rgba {
  width: number;
  height: number;
  /** width × height × 4 bytes (a canvas's ImageData holds a Uint8ClampedArray). */
  data: Uint8Array | Uint8ClampedArray;
}

/** What fromCanvas reads: an HTMLCanvasElement or an OffscreenCanvas (a page, a worker). */
export interface CanvasLike {
  width: number;
  height: number;
  getContext(type: "2d", options?: { willReadFrequently?: boolean }): { getImageData(x: number, y: number, w: number, h: number): Rgba } | null;
}

type PngModule = typeof import("pngjs");
type BufferCtor = { from(b: ArrayBufferLike, offset: number, length: number): Uint8Array };
type JpegModule = typeof import("jpeg-js");
// "#pngjs" (package.json "imports"): pngjs, or for the "browser" condition its self-contained
// build (no zlib/stream/Buffer for a bundler to look for; a browser decodes with createImageBitmap)
const pngjs = async (): Promise<PngModule> => (await import("#pngjs")) as PngModule;
const jpegjs = async (): Promise<JpegModule> => ((await import("jpeg-js")) as { default: JpegModule }).default;

/** Decodes PNG or JPEG bytes (by magic number); in a browser, any format it decodes. */
export async function decodeImage(bytes: Uint8Array, source = "image"): Promise<Rgba> {
  checkBytes(bytes, source, "the bytes of a PNG or JPEG image");
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
  if (isPng) checkPngSize(bytes, source);
  const components = isJpeg ? checkJpegSize(bytes, source) : null;
  if (runtimeName() === "browser") return decodeInBrowser(bytes, source);
  // libjpeg-turbo (jpeg.ts) for greyscale and colour, PIL's pixels; jpeg-js for a CMYK or YCCK
  // JPEG (four components), whose colours libjpeg does not convert to RGB
  if (isJpeg && components !== 4) return decodeJpeg(bytes, source, getLimits().maxImagePixels);
  const { PNG } = isPng ? await pngjs() : ({} as PngModule);
  const jpeg = isJpeg ? await jpegjs() : null;
  try {
    if (isPng) {
      // pngjs reads a Node Buffer: global in Node, from node:buffer in Deno
      const B = (globalThis as { Buffer?: BufferCtor }).Buffer ?? nodeModule<{ Buffer: BufferCtor }>("node:buffer").Buffer;
      const png = PNG.sync.read(B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as never);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    if (jpeg) {
      const maxPixels = getLimits().maxImagePixels;
      // the size was checked above; jpeg-js's own caps only guard its working memory (about 12 bytes a pixel)
      const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: Math.ceil(maxPixels / 1e6) + 1, maxMemoryUsageInMB: Math.ceil((maxPixels * 16) / 2 ** 20) + 64 });
      return { width: j.width, height: j.height, data: j.data };
    }
  } catch (e) {
    // pngjs's words (misspelt) for a stream that ended with chunks still to read
    const why = isPng && /read requests waitng on finished stream/.test((e as Error).message) ? `it ends early: ${bytes.length} bytes and no IEND chunk` : (e as Error).message;
    throw new FormatError(`${source}: corrupt ${isPng ? "PNG" : "JPEG"} (${why})`);
  }
  throw new FormatError(`${source}: unsupported image format (PNG and JPEG are read)${htmlHint(bytes)}`);
}

/** The browser's decoder (createImageBitmap), and a 2D canvas for the pixels: pngjs needs Node's zlib. */
async function decodeInBrowser(bytes: Uint8Array, source: string): Promise<Rgba> {
  const g = globalThis as { createImageBitmap?: typeof createImageBitmap; OffscreenCanvas?: typeof OffscreenCanvas };
  if (typeof g.createImageBitmap !== "function" || typeof g.OffscreenCanvas !== "function") {
    throw new FormatError(`${source}: this browser has no createImageBitmap / OffscreenCanvas to decode images with`);
  }
  let bitmap: ImageBitmap;
  try {
    bitmap = await g.createImageBitmap(new Blob([bytes as Uint8Array<ArrayBuffer>]), { premultiplyAlpha: "none", colorSpaceConversion: "none" });
  } catch (e) {
    throw new FormatError(`${source}: the browser could not decode these ${bytes.length} bytes as an image (${(e as Error).message})${htmlHint(bytes)}`);
  }
  try {
    const { width, height } = bitmap, limit = getLimits().maxImagePixels;
    if (width * height > limit) throw new FormatError(`${source}: the image has ${width}×${height} = ${width * height} pixels; the limit is ${limit} (setLimits({ maxImagePixels }))`);
    const ctx = new g.OffscreenCanvas(width, height).getContext("2d", { willReadFrequently: true });
    if (!ctx) throw new FormatError(`${source}: no 2D canvas to read the decoded pixels from`);
    ctx.drawImage(bitmap, 0, 0);
    return ctx.getImageData(0, 0, width, height);
  } finally {
    bitmap.close();
  }
}

/**
 * The size a PNG declares (its IHDR chunk, always first) against the pixel limit, before the
 * decoder allocates anything for it.
 */
function checkPngSize(bytes: Uint8Array, source: string): void {
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") throw new FormatError(`${source}: corrupt PNG (no IHDR chunk first)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = dv.getUint32(16, false), height = dv.getUint32(20, false), limit = getLimits().maxImagePixels;
  if (width === 0 || height === 0) throw new FormatError(`${source}: the PNG declares ${width}×${height} pixels; a PNG is at least 1×1`);
  if (width * height > limit) throw new FormatError(`${source}: the PNG declares ${width}×${height} = ${width * height} pixels; the limit is ${limit} (setLimits({ maxImagePixels }))`);
}

/**
 * The size a JPEG declares (its start-of-frame marker) against the pixel limit, before the decoder
 * allocates anything for it; returns its number of components. Markers are walked by their
 * lengths; a file without a frame header before its scan is left to the decoder to refuse (null).
 */
function checkJpegSize(bytes: Uint8Array, source: string): number | null {
  let o = 2;
  while (o + 4 <= bytes.length) {
    // bytes between markers are skipped, as libjpeg skips them (it warns of "extraneous bytes" and decodes on)
    if (bytes[o] !== 0xff) { o++; continue; }
    const marker = bytes[o + 1]!;
    if (marker === 0xff) { o++; continue; } // fill byte
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) { o += 2; continue; } // no length
    const len = (bytes[o + 2]! << 8) | bytes[o + 3]!;
    // SOF0-SOF15 except DHT (c4), JPG (c8) and DAC (cc): precision, height, width
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      if (o + 10 > bytes.length) return null;
      const height = (bytes[o + 5]! << 8) | bytes[o + 6]!, width = (bytes[o + 7]! << 8) | bytes[o + 8]!, limit = getLimits().maxImagePixels;
      if (width * height > limit) throw new FormatError(`${source}: the JPEG declares ${width}×${height} = ${width * height} pixels; the limit is ${limit} (setLimits({ maxImagePixels }))`);
      return bytes[o + 9]!;
    }
    if (marker === 0xda || len < 2) return null; // the scan starts: no frame header seen
    o += 2 + len;
  }
  return null;
}

export interface ImageToArrayOptions {
  /**
   * Scale the image's shorter side to the target's larger side over `centerCrop`, keeping its
   * aspect, then take the target's size from its center: torchvision's ImageNet evaluation
   * (Resize(256), CenterCrop(224)) is 0.875. Default: the whole image scaled to the target, its
   * aspect changed where the target's differs.
   */
  centerCrop?: number;
}

/**
 * An image as H×W×C floats in [0, 1], resized to height × width as PIL's and torchvision's
 * bilinear resize (antialias on) do: a triangle filter widened by the scale where the image
 * shrinks, so a photo scaled down averages its pixels instead of sampling a few of them; channels
 * 1 (luma) or 3 (RGB); alpha is composited on black.
 */
export function imageToArray(img: Rgba, shape: [number, number, number], options: ImageToArrayOptions = {}): Float32Array {
  if (!(Array.isArray(shape) && shape.length === 3)) throw new ConfigError(`image: the target shape is [height, width, channels], got ${show(shape)}`);
  checkRgba("image", img);
  if (!isRecord(options)) throw new ConfigError(`image: options must be { centerCrop }, got ${show(options)}`);
  for (const k of Object.keys(options)) if (k !== "centerCrop") throw new ConfigError(`image: unknown option "${k}" (centerCrop)`);
  const crop = options.centerCrop;
  if (crop !== undefined && !(typeof crop === "number" && crop > 0 && crop <= 1)) throw new ConfigError(`image: centerCrop must be a fraction in (0, 1] (0.875: torchvision's ImageNet evaluation), got ${show(crop)}`);
  const [H, W, C] = shape;
  if (C !== 1 && C !== 3) throw new ConfigError(`image: ${C} channels requested; 1 or 3 are supported`);
  const limit = getLimits().maxImagePixels;
  if (!Number.isSafeInteger(H) || !Number.isSafeInteger(W) || H < 1 || W < 1 || H * W > limit) {
    throw new ConfigError(`image: a ${H}×${W} target is not whole numbers >= 1 within the limit of ${limit} pixels (setLimits({ maxImagePixels }))`);
  }
  const src = new Float32Array(img.width * img.height * C), d = img.data;
  for (let p = 0; p < img.width * img.height; p++) {
    const a = d[p * 4 + 3]! / 255;
    const r = (d[p * 4]! / 255) * a, g = (d[p * 4 + 1]! / 255) * a, b = (d[p * 4 + 2]! / 255) * a;
    if (C === 1) src[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    else (src[p * 3] = r), (src[p * 3 + 1] = g), (src[p * 3 + 2] = b);
  }
  if (crop === undefined) return resizeImage(src, img.height, img.width, C, H, W);
  // torchvision's Resize(size): the shorter side to size (Python's round of the target's larger side over
  // the fraction), the longer to ⌊size · long / short⌋; CenterCrop's corner at round((h − H) / 2): only
  // that window of the resized image is computed
  const size = pyRound(Math.max(H, W) / crop), tall = img.height > img.width;
  const short = Math.min(img.height, img.width), long = Math.max(img.height, img.width), longOut = Math.floor((size * long) / short);
  const [rh, rw] = tall ? [longOut, size] : [size, longOut];
  return resizeImage(src, img.height, img.width, C, rh, rw, { top: pyRound((rh - H) / 2), left: pyRound((rw - W) / 2), height: H, width: W });
}

/** Python's round: half to even (a 25-wide image cropped to 16 starts at column 4, not 5; 12.5 rounds to 12). */
const pyRound = (v: number) => (v % 1 === 0.5 && Math.floor(v) % 2 === 0 ? Math.floor(v) : Math.round(v));

/**
 * An H×W×C image resized to OH×OW as PIL's ImagingResample and torch's antialiased bilinear
 * interpolate (align_corners false) do: each output pixel's centre (o + ½)·scale, a triangle of
 * half-width max(scale, 1) over the input pixels' centres, the weights normalised (and cut at the
 * edges); one axis, then the other (the order that keeps the pass between them smaller). Without
 * antialias shrinking by 10 sampled 4 of every 100 pixels. `window`: only those output rows and
 * columns are computed (a centre crop of a large resize).
 */
export function resizeImage(src: Float32Array, h: number, w: number, C: number, OH: number, OW: number,
  window: { top: number; left: number; height: number; width: number } = { top: 0, left: 0, height: OH, width: OW }): Float32Array {
  const { top, left, height: WH, width: WW } = window;
  if (h === OH && w === OW && WH === OH && WW === OW) return src.slice();
  const across = taps(w, OW, left, WW), down = taps(h, OH, top, WH);
  // rows first: an h × WW pass between; columns first: WH × w
  if (h * WW <= WH * w) return resampleColumns(resampleRows(src, h, w, C, across), h, WW, C, down);
  return resampleRows(resampleColumns(src, h, w, C, down), WH, w, C, across);
}

type Taps = { start: Int32Array; count: Int32Array; weight: Float64Array; max: number };

/** Each row of an h×w×C image resampled along its width by `t` (h × t's outputs × C). */
function resampleRows(src: Float32Array, h: number, w: number, C: number, t: Taps): Float32Array {
  const OW = t.start.length, out = new Float32Array(h * OW * C), wt = t.weight;
  for (let y = 0; y < h; y++) {
    for (let o = 0; o < OW; o++) {
      const n = t.count[o]!, at = o * t.max, from = (y * w + t.start[o]!) * C, to = (y * OW + o) * C;
      if (C === 3) { // (a photo's three channels in one pass over the taps)
        let r = 0, g = 0, b = 0;
        for (let k = 0, q = from; k < n; k++, q += 3) {
          const v = wt[at + k]!;
          r += v * src[q]!;
          g += v * src[q + 1]!;
          b += v * src[q + 2]!;
        }
        (out[to] = r), (out[to + 1] = g), (out[to + 2] = b);
      } else {
        let sum = 0;
        for (let k = 0; k < n; k++) sum += wt[at + k]! * src[from + k]!;
        out[to] = sum;
      }
    }
  }
  return out;
}

/** The columns of an h×w×C image resampled along its height by `t` (t's outputs × w × C). */
function resampleColumns(src: Float32Array, h: number, w: number, C: number, t: Taps): Float32Array {
  const OH = t.start.length, line = w * C, out = new Float32Array(OH * line);
  for (let o = 0; o < OH; o++) {
    const start = t.start[o]!, n = t.count[o]!, at = o * t.max;
    for (let i = 0; i < line; i++) {
      let sum = 0;
      for (let k = 0; k < n; k++) sum += t.weight[at + k]! * src[(start + k) * line + i]!;
      out[o * line + i] = sum;
    }
  }
  return out;
}

/** The input pixels (first, count) and normalised triangle weights of output pixels from … from + n of `out` resampled from `size`. */
function taps(size: number, out: number, from = 0, n = out): Taps {
  const scale = size / out, stretch = Math.max(scale, 1), support = stretch;
  const max = Math.min(Math.ceil(support) * 2 + 1, size);
  const start = new Int32Array(n), count = new Int32Array(n), weight = new Float64Array(n * max);
  for (let j = 0; j < n; j++) {
    const centre = (from + j + 0.5) * scale;
    const lo = Math.max(Math.trunc(centre - support + 0.5), 0), hi = Math.min(Math.trunc(centre + support + 0.5), size);
    let total = 0;
    for (let i = lo; i < hi; i++) {
      const v = Math.max(0, 1 - Math.abs((i - centre + 0.5) / stretch));
      weight[j * max + i - lo] = v;
      total += v;
    }
    for (let i = lo; i < hi; i++) weight[j * max + i - lo]! /= total || 1;
    start[j] = lo;
    count[j] = hi - lo;
  }
  return { start, count, weight, max };
}

/**
 * Reads and decodes an image into H×W×C floats: a file (Node, Deno) or a URL (fetch; in a
 * browser also a URL relative to the page, decoded by the browser).
 */
export async function loadImage(pathOrUrl: string | URL, shape: [number, number, number], options: ImageToArrayOptions = {}): Promise<Float32Array> {
  checkPath("loadImage", pathOrUrl, true);
  checkImageShape("loadImage", shape);
  const source = String(pathOrUrl);
  return imageToArray(await decodeImage(await readBytes(pathOrUrl), source), shape, options);
}

/**
 * The pixels of an ImageData (a canvas's getImageData, or any { width, height, data } of RGBA
 * bytes) as H×W×C floats in [0, 1], resized to `shape` as imageToArray does.
 */
export function fromImageData(image: Rgba, shape: [number, number, number], options: ImageToArrayOptions = {}): Float32Array {
  checkImageShape("fromImageData", shape);
  checkRgba("fromImageData", image);
  return imageToArray({ width: image.width, height: image.height, data: image.data }, shape, options);
}

/** A canvas's pixels (HTMLCanvasElement or OffscreenCanvas, read through its 2D context) as H×W×C floats: see fromImageData. */
export function fromCanvas(canvas: CanvasLike, shape: [number, number, number], options: ImageToArrayOptions = {}): Float32Array {
  if (typeof canvas?.getContext !== "function") throw new ConfigError(`fromCanvas: expected an HTMLCanvasElement or OffscreenCanvas, got ${canvas === null ? "null" : typeof canvas}`);
  const { width, height } = canvas;
  if (!(width > 0 && height > 0)) throw new ConfigError(`fromCanvas: the canvas is ${width}×${height}; it has no pixels`);
  const ctx = canvas.getContext("2d", { willReadFrequently: true });
  if (!ctx) throw new ConfigError(`fromCanvas: the ${width}×${height} canvas has no 2D context (one of another kind, e.g. webgl, was made first)`);
  let pixels: Rgba;
  try {
    pixels = ctx.getImageData(0, 0, width, height);
  } catch (e) {
    // a canvas that drew a cross-origin image without CORS is "tainted": reading it is a SecurityError
    throw new FormatError(`fromCanvas: the ${width}×${height} canvas cannot be read (${(e as Error).message})`);
  }
  return fromImageData(pixels, shape, options);
}

/** RGBA pixels ({ width, height, data }: decodeImage's, a canvas's ImageData): whole sizes > 0, 4 bytes a pixel. */
function checkRgba(where: string, image: unknown): asserts image is Rgba {
  if (!isRecord(image)) throw new ConfigError(`${where}: expected RGBA pixels { width, height, data } (decodeImage's, or a canvas's ImageData), got ${show(image)}`);
  const { width, height, data } = image as Partial<Rgba>;
  if (!(Number.isInteger(width) && Number.isInteger(height) && width! > 0 && height! > 0)) {
    throw new ConfigError(`${where}: width and height must be whole numbers > 0, got ${String(width)}×${String(height)}`);
  }
  if (!(data instanceof Uint8ClampedArray || data instanceof Uint8Array)) {
    throw new ConfigError(`${where}: data must be a Uint8ClampedArray (ImageData) or Uint8Array of RGBA bytes, got ${show(data)}`);
  }
  if (data.length !== width! * height! * 4) {
    throw new ShapeError(`${where}: a ${width}×${height} RGBA image has ${width! * height! * 4} bytes, this data ${data.length}`);
  }
}

/** An [H, W, C] shape for images: whole sizes > 0 and 1 or 3 channels. */
function checkImageShape(where: string, shape: unknown): void {
  const ok = Array.isArray(shape) && shape.length === 3 && shape.every((v) => Number.isInteger(v) && v > 0);
  if (!ok) throw new ConfigError(`${where}: shape must be [height, width, channels] of whole numbers > 0, got ${JSON.stringify(shape)}`);
  if (shape[2] !== 1 && shape[2] !== 3) throw new ConfigError(`${where}: ${shape[2]} channels requested; 1 or 3 are supported`);
}

/** A folder with one subfolder per class (sorted names = class indices) of PNG/JPEG files. */
export async function loadImageFolder(dir: string, shape: [number, number, number]): Promise<Dataset> {
  checkPath("loadImageFolder", dir);
  checkImageShape("loadImageFolder", shape);
  const classes = (await listDir(dir)).filter((e) => e.dir).map((e) => e.name).sort();
  if (classes.length === 0) throw new FormatError(`${dir}: no class subfolders`);
  const xs: Float32Array[] = [], ys: number[] = [];
  const empty: string[] = [];
  for (const [k, c] of classes.entries()) {
    const files = (await listDir(`${dir}/${c}`)).filter((e) => !e.dir && /\.(png|jpe?g)$/i.test(e.name)).map((e) => e.name).sort();
    if (files.length === 0) empty.push(c);
    for (const f of files) {
      xs.push(await loadImage(`${dir}/${c}/${f}`, shape));
      ys.push(k);
    }
  }
  if (xs.length === 0) throw new FormatError(`${dir}: no PNG or JPEG images in ${classes.join(", ")}`);
  // a class without images would still take an index, an output no example teaches
  if (empty.length) throw new FormatError(`${dir}: no PNG or JPEG images in class ${empty.length > 1 ? "folders" : "folder"} ${empty.join(", ")} (every subfolder is a class: remove it or add its images)`);
  const per = shape[0] * shape[1] * shape[2];
  const x = new Float32Array(xs.length * per);
  xs.forEach((v, i) => x.set(v, i * per));
  return makeDataset(x, Int32Array.from(ys), shape, classes);
}

/**
 * H×W×C floats in [0, 1] (1 or 3 channels) as PNG bytes (RGBA, opaque): pngjs's encoder, or in a
 * browser its own (an OffscreenCanvas's convertToBlob), as a browser decodes with its own: the same
 * pixels, and a page that loads fovea's dist/ without a bundler resolves no "#pngjs".
 */
export async function encodePng(values: ArrayLike<number>, shape: [number, number, number]): Promise<Uint8Array> {
  checkImageShape("encodePng", shape);
  const [H, W, C] = shape;
  if (!isArrayLike(values) || values.length !== H * W * C) throw new ShapeError(`encodePng: expected ${H * W * C} values for a ${H}×${W}×${C} image, got ${show(values)}`);
  const rgba = new Uint8ClampedArray(4 * H * W);
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < 3; c++) rgba[p * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, values[p * C + (C === 1 ? 0 : c)]!)));
    rgba[p * 4 + 3] = 255;
  }
  if (runtimeName() === "browser") return encodeInBrowser(rgba, W, H);
  const { PNG } = await pngjs();
  const png = new PNG({ width: W, height: H });
  png.data.set(rgba);
  const buf = PNG.sync.write(png);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** The browser's PNG encoder: the RGBA pixels on an OffscreenCanvas, written by convertToBlob. */
async function encodeInBrowser(rgba: Uint8ClampedArray<ArrayBuffer>, W: number, H: number): Promise<Uint8Array> {
  const g = globalThis as { OffscreenCanvas?: typeof OffscreenCanvas; ImageData?: typeof ImageData };
  if (typeof g.OffscreenCanvas !== "function" || typeof g.ImageData !== "function") throw new ConfigError("encodePng: this browser has no OffscreenCanvas / ImageData to encode PNG images with");
  const canvas = new g.OffscreenCanvas(W, H), ctx = canvas.getContext("2d");
  if (!ctx) throw new ConfigError("encodePng: no 2D canvas to encode with");
  ctx.putImageData(new g.ImageData(rgba, W, H), 0, 0);
  return new Uint8Array(await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer());
}
