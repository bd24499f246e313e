// Image files to tensors through well-kept decoders (pngjs, jpeg-js), resized with the wasm
// warp kernel; folders of images (one subfolder per class) as datasets.
// The decoders load on first use, so importing fovea does not pull them into a page.
import { ConfigError, FormatError } from "../errors.js";
import { getLimits } from "../runtime/limits.js";
import { warpAffineCall } from "../ops/image.js";
import type { Backend } from "../runtime/backend.js";
import { getBackend } from "../runtime/backend.js";
import { makeDataset, type Dataset } from "./dataset.js";
import { listDir, readBytes } from "./files.js";

export interface Rgba {
  width: number;
  height: number;
  /** width × height × 4 bytes. */
  data: Uint8Array;
}

type PngModule = typeof import("pngjs");
type BufferCtor = { from(b: ArrayBufferLike, offset: number, length: number): Uint8Array };
const bufferModule = "node:buffer";
type JpegModule = typeof import("jpeg-js");
const pngjs = async (): Promise<PngModule> => (await import("pngjs")) as PngModule;
const jpegjs = async (): Promise<JpegModule> => ((await import("jpeg-js")) as { default: JpegModule }).default;

/** Decodes PNG or JPEG bytes (by magic number). */
export async function decodeImage(bytes: Uint8Array, source: string): Promise<Rgba> {
  const isPng = bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  const isJpeg = bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8;
  if (isPng) checkPngSize(bytes, source);
  const { PNG } = isPng ? await pngjs() : ({} as PngModule);
  const jpeg = isJpeg ? await jpegjs() : null;
  try {
    if (isPng) {
      // pngjs reads a Node Buffer: global in Node, from node:buffer in Deno
      const B = (globalThis as { Buffer?: BufferCtor }).Buffer ?? ((await import(bufferModule)) as { Buffer: BufferCtor }).Buffer;
      const png = PNG.sync.read(B.from(bytes.buffer, bytes.byteOffset, bytes.byteLength) as never);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.byteLength) };
    }
    if (jpeg) {
      const maxPixels = getLimits().maxImagePixels;
      const j = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: true, maxResolutionInMP: maxPixels / 1e6, maxMemoryUsageInMB: Math.ceil((maxPixels * 8) / 2 ** 20) });
      return { width: j.width, height: j.height, data: j.data };
    }
  } catch (e) {
    throw new FormatError(`${source}: corrupt ${isPng ? "PNG" : "JPEG"} (${(e as Error).message})`);
  }
  throw new FormatError(`${source}: unsupported image format (PNG and JPEG are read)`);
}

/**
 * The size a PNG declares (its IHDR chunk, always first) against the pixel limit, before the
 * decoder allocates anything for it.
 */
function checkPngSize(bytes: Uint8Array, source: string): void {
  if (bytes.length < 24 || String.fromCharCode(...bytes.subarray(12, 16)) !== "IHDR") throw new FormatError(`${source}: corrupt PNG (no IHDR chunk first)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const width = dv.getUint32(16, false), height = dv.getUint32(20, false), limit = getLimits().maxImagePixels;
  if (width === 0 || height === 0) throw new FormatError(`${source}: the PNG declares ${width}×${height} pixels`);
  if (width * height > limit) throw new FormatError(`${source}: the PNG declares ${width}×${height} = ${width * height} pixels; the limit is ${limit} (setLimits({ maxImagePixels }))`);
}

/**
 * An image as H×W×C floats in [0, 1], resized (bilinear) to height × width; channels 1 (luma)
 * or 3 (RGB); alpha is composited on black.
 */
export function imageToArray(img: Rgba, shape: [number, number, number], be: Backend = getBackend()): Float32Array {
  const [H, W, C] = shape;
  if (C !== 1 && C !== 3) throw new ConfigError(`image: ${C} channels requested; 1 or 3 are supported`);
  const src = new Float32Array(img.width * img.height * C);
  for (let p = 0; p < img.width * img.height; p++) {
    const a = img.data[p * 4 + 3]! / 255;
    const r = (img.data[p * 4]! / 255) * a, g = (img.data[p * 4 + 1]! / 255) * a, b = (img.data[p * 4 + 2]! / 255) * a;
    if (C === 1) src[p] = 0.299 * r + 0.587 * g + 0.114 * b;
    else src.set([r, g, b], p * 3);
  }
  if (img.width === W && img.height === H) return src;
  const sp = be.heap.alloc(src.length * 4), dp = be.heap.alloc(H * W * C * 4), mp = be.heap.alloc(32);
  try {
    be.heap.f32(sp, src.length).set(src);
    // output pixel centre (x + 0.5) maps to source (x + 0.5)·scale − 0.5
    const sx = img.width / W, sy = img.height / H;
    be.heap.f32(mp, 6).set([sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5]);
    be.run([warpAffineCall(sp, img.height, img.width, C, mp, 0, false, dp, H, W)]);
    return be.heap.f32(dp, H * W * C).slice();
  } finally {
    [sp, dp, mp].forEach((p) => be.heap.free(p));
  }
}

/** Reads and decodes an image file into H×W×C floats. */
export async function loadImage(path: string, shape: [number, number, number]): Promise<Float32Array> {
  return imageToArray(await decodeImage(await readBytes(path), path), shape);
}

/** A folder with one subfolder per class (sorted names = class indices) of PNG/JPEG files. */
export async function loadImageFolder(dir: string, shape: [number, number, number]): Promise<Dataset> {
  const classes = (await listDir(dir)).filter((e) => e.dir).map((e) => e.name).sort();
  if (classes.length === 0) throw new FormatError(`${dir}: no class subfolders`);
  const xs: Float32Array[] = [], ys: number[] = [];
  for (const [k, c] of classes.entries()) {
    const files = (await listDir(`${dir}/${c}`)).filter((e) => !e.dir && /\.(png|jpe?g)$/i.test(e.name)).map((e) => e.name).sort();
    for (const f of files) {
      xs.push(await loadImage(`${dir}/${c}/${f}`, shape));
      ys.push(k);
    }
  }
  if (xs.length === 0) throw new FormatError(`${dir}: no PNG or JPEG images in ${classes.join(", ")}`);
  const per = shape[0] * shape[1] * shape[2];
  const x = new Float32Array(xs.length * per);
  xs.forEach((v, i) => x.set(v, i * per));
  return makeDataset(x, Int32Array.from(ys), shape, classes);
}

/** H×W×C floats in [0, 1] (1 or 3 channels) as PNG bytes. */
export async function encodePng(values: Float32Array, [H, W, C]: [number, number, number]): Promise<Uint8Array> {
  const { PNG } = await pngjs();
  const png = new PNG({ width: W, height: H });
  for (let p = 0; p < H * W; p++) {
    for (let c = 0; c < 3; c++) png.data[p * 4 + c] = Math.round(255 * Math.min(1, Math.max(0, values[p * C + (C === 1 ? 0 : c)]!)));
    png.data[p * 4 + 3] = 255;
  }
  const buf = PNG.sync.write(png);
  return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
}
