// JPEG decoding in Node and Deno through libjpeg-turbo (mozjpeg's decoder compiled to wasm:
// @jsquash/jpeg), so that a photo's pixels are PIL's and torchvision's to the byte: libjpeg
// interpolates subsampled colour (4:2:0, most photos) where jpeg-js repeats each sample, up to
// tens of levels apart at colour edges. Loaded on the first JPEG decoded; a browser decodes
// with its own libjpeg (createImageBitmap) and never loads this.
import { FormatError } from "../errors.js";
import { readBytes } from "./files.js";

interface MozJpeg {
  decode(data: BufferSource, preserveOrientation: boolean): { width: number; height: number; data: Uint8ClampedArray } | null;
}

let compiled: Promise<{ wasm: WebAssembly.Module; factory: (o: object) => Promise<MozJpeg> }> | null = null;
let decoder: Promise<{ module: MozJpeg; messages: string[] }> | null = null;

/** What the decoder builds its result with (its glue looks ImageData up by name when it decodes): fovea's own, whatever the program's global is. */
class DecodedImage {
  constructor(readonly data: Uint8ClampedArray, readonly width: number, readonly height: number) {}
}

/** The global ImageData as it is now; the function puts it back (or removes it, where there was none). */
function keepImageData(): () => void {
  const g = globalThis as { ImageData?: unknown };
  const had = Object.hasOwn(g, "ImageData"), before = g.ImageData;
  return () => {
    if (had) g.ImageData = before;
    else delete g.ImageData;
  };
}

/** Images past this many bytes of RGBA leave the instance's memory that large (wasm memory never shrinks): the next decode makes another. */
const KEEP_BYTES = 64 * 2 ** 20;

/**
 * The decoder: its wasm read beside its glue (import.meta.resolve) and compiled once, an instance
 * made on first use and again after a decode that failed (libjpeg's fatal errors leave the
 * instance's memory holding what that decode allocated: a fuzz campaign of corrupt files grew it
 * to gigabytes) or that made a large image; its messages kept instead of printed. A load that
 * fails (a file descriptor short) is tried again at the next decode.
 */
function load(): Promise<{ module: MozJpeg; messages: string[] }> {
  compiled ??= (async () => {
    const resolve = (import.meta as { resolve?: (specifier: string) => string }).resolve;
    if (!resolve) throw new FormatError("JPEG: this runtime has no import.meta.resolve to find the JPEG decoder's wasm with (Node 20.6+, Deno)");
    const wasm = await WebAssembly.compile((await readBytes(resolve("@jsquash/jpeg/codec/dec/mozjpeg_dec.wasm"))) as Uint8Array<ArrayBuffer>);
    // (the package's own types model the options without print / printErr and an instance's callback as a Module's)
    const glue: { default: unknown } = await import("@jsquash/jpeg/codec/dec/mozjpeg_dec.js");
    const factory = glue.default as (o: object) => Promise<MozJpeg>;
    return { wasm, factory };
  })().catch((e: unknown) => {
    compiled = null;
    throw e;
  });
  decoder ??= (async () => {
    const { wasm, factory } = await compiled!;
    const restore = keepImageData(), messages: string[] = [];
    try {
      const module = await factory({
        noInitialRun: true,
        instantiateWasm: (imports: WebAssembly.Imports, done: (i: WebAssembly.Instance) => void) => {
          const instance = new WebAssembly.Instance(wasm, imports);
          done(instance);
          return instance.exports;
        },
        print: () => {},
        printErr: (line: string) => void messages.push(line),
      });
      return { module, messages };
    } finally {
      restore(); // the glue defines a global ImageData where the runtime has none: not left behind
    }
  })().catch((e: unknown) => {
    decoder = null;
    throw e;
  });
  return decoder;
}

/** A JPEG's pixels as RGBA, as libjpeg-turbo (PIL) decodes them; corrupt data is a FormatError with libjpeg's own words. */
export async function decodeJpeg(bytes: Uint8Array, source: string, maxPixels: number): Promise<{ width: number; height: number; data: Uint8Array }> {
  const { module, messages } = await load();
  const restore = keepImageData();
  messages.length = 0;
  (globalThis as { ImageData?: unknown }).ImageData = DecodedImage;
  let image: ReturnType<MozJpeg["decode"]>;
  try {
    image = module.decode(new Uint8Array(bytes), false); // (its own ArrayBuffer: a view of shared memory is not one embind reads)
  } catch (e) {
    // libjpeg's fatal errors end in exit(1) (an ExitStatus): its message is the last it wrote; the
    // next decode gets a new instance
    decoder = null;
    throw new FormatError(`${source}: corrupt JPEG (${messages.at(-1) ?? (e instanceof Error ? e.message : String(e))})`);
  } finally {
    restore();
  }
  if (!(image instanceof DecodedImage)) {
    decoder = null;
    throw new FormatError(`${source}: corrupt JPEG (${messages.at(-1) ?? "the decoder returned no image"})`);
  }
  const { width, height, data } = image;
  if (data.byteLength > KEEP_BYTES) decoder = null;
  // (the frame header's size was checked before; a size that differs from it is refused as well)
  if (width * height > maxPixels) throw new FormatError(`${source}: the JPEG decodes to ${width}×${height} = ${width * height} pixels; the limit is ${maxPixels} (setLimits({ maxImagePixels }))`);
  // libjpeg fills what a file cut short lacks with grey and says so; PIL refuses such a file ("image file is truncated")
  if (messages.some((m) => /Premature end of JPEG file/.test(m))) throw new FormatError(`${source}: corrupt JPEG (it ends early: ${bytes.length} bytes, its scan cut short)`);
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}
