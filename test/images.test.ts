import { readFileSync } from "node:fs";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";

const require = createRequire(import.meta.url);
const jpeg = require("jpeg-js") as { encode(img: { data: Uint8Array; width: number; height: number }, q: number): { data: Uint8Array } };
const D = fovea.data;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

/** A 1-record-per-class CIFAR-10 batch: class k has red = 10k, green = 100, blue = the pixel index mod 256. */
function cifarBatch(n: number, badLabelAt = -1): Uint8Array {
  const b = new Uint8Array(n * 3073);
  for (let r = 0; r < n; r++) {
    b[r * 3073] = r === badLabelAt ? 12 : r % 10;
    for (let p = 0; p < 1024; p++) {
      b[r * 3073 + 1 + p] = 10 * (r % 10);
      b[r * 3073 + 1 + 1024 + p] = 100;
      b[r * 3073 + 1 + 2048 + p] = p % 256;
    }
  }
  return b;
}

describe("CIFAR-10 binary batches", () => {
  it("reads records into NHWC 32×32×3 with labels and class names", () => {
    const d = D.cifar10FromBytes([cifarBatch(12), cifarBatch(3)]);
    expect(d.n).toBe(15);
    expect(d.shape).toEqual([32, 32, 3]);
    expect(d.classes![3]).toBe("cat");
    expect(Array.from(d.y.subarray(10, 15))).toEqual([0, 1, 0, 1, 2]);
    const i = 3, p = 37;
    expect([d.x[i * 3072 + p * 3], d.x[i * 3072 + p * 3 + 1], d.x[i * 3072 + p * 3 + 2]].map((v) => Math.round(v! * 255))).toEqual([30, 100, 37]);
  });

  it("loads data_batch_1..5 and test_batch from a directory; bad files are FormatErrors", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fovea-cifar-"));
    for (let k = 1; k <= 5; k++) writeFileSync(join(dir, `data_batch_${k}.bin`), cifarBatch(4));
    writeFileSync(join(dir, "test_batch.bin"), cifarBatch(2));
    expect((await D.loadCifar10(dir, "train")).n).toBe(20);
    expect((await D.loadCifar10(dir, "test")).n).toBe(2);
    expect(() => D.cifar10FromBytes([cifarBatch(2).subarray(0, 5000)], ["b.bin"])).toThrow("b.bin: 5000 bytes is not a whole number of CIFAR-10 records (3073 bytes each)");
    expect(() => D.cifar10FromBytes([cifarBatch(3, 1)], ["b.bin"])).toThrow("b.bin: record 1 has label 12; CIFAR-10 labels are 0-9");
    await expect(D.loadCifar10(join(dir, "nope"), "test")).rejects.toThrow(fovea.FormatError);
    // with every batch missing, the first is named every time (the first read to fail in time varied)
    for (let r = 0; r < 20; r++) await expect(D.loadCifar10(join(dir, "nope"), "train")).rejects.toThrow(/nope\/data_batch_1\.bin: no such file: /);
    rmSync(join(dir, "data_batch_3.bin"));
    await expect(D.loadCifar10(dir, "train")).rejects.toThrow(/data_batch_3\.bin: no such file: /);
  });
});

describe("image files", () => {
  const rgba = (w: number, h: number) => Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));

  it("JPEG decodes to PIL's own pixels (libjpeg-turbo): subsampled colour 4:2:0 and 4:2:2, 4:4:4, progressive, greyscale, byte for byte; CMYK through jpeg-js within a level", async () => {
    const meta = JSON.parse(readFileSync(new URL("./fixtures/jpeg/meta.json", import.meta.url), "utf8")) as { pil: string; width: number; height: number; cases: Record<string, { mode: string }> };
    expect(meta.pil).toMatch(/^9\./);
    const dec = require("jpeg-js") as { decode(b: Uint8Array, o: object): { data: Uint8Array } };
    const worst = (data: ArrayLike<number>, pil: Uint8Array) => {
      let m = 0;
      for (let i = 0, k = 0; i < pil.length; i += 3, k += 4) for (let c = 0; c < 3; c++) m = Math.max(m, Math.abs(data[k + c]! - pil[i + c]!));
      return m;
    };
    for (const [name, want] of [["s420", 0], ["s422", 0], ["s444", 0], ["progressive", 0], ["grey", 0], ["cmyk", 1]] as const) {
      const bytes = new Uint8Array(readFileSync(new URL(`./fixtures/jpeg/${name}.jpg`, import.meta.url)));
      const pil = new Uint8Array(readFileSync(new URL(`./fixtures/jpeg/${name}.rgb`, import.meta.url)));
      const img = await D.decodeImage(bytes, `${name}.jpg`);
      expect([img.width, img.height]).toEqual([meta.width, meta.height]);
      expect(worst(img.data, pil), name).toBeLessThanOrEqual(want);
      // jpeg-js, every JPEG's decoder before, repeats each colour sample where libjpeg interpolates
      if (name === "s420" || name === "progressive") expect(worst(dec.decode(bytes, { useTArray: true }).data, pil), name).toBeGreaterThan(60);
    }
    // no global ImageData left behind in Node (the decoder's glue defines one for its own use)
    expect(typeof (globalThis as { ImageData?: unknown }).ImageData).toBe("undefined");
    // a file cut short is refused, as PIL refuses it ("image file is truncated"), not filled with grey
    const s420 = new Uint8Array(readFileSync(new URL("./fixtures/jpeg/s420.jpg", import.meta.url)));
    await expect(D.decodeImage(s420.subarray(0, 900), "cut.jpg")).rejects.toThrow(new fovea.FormatError("cut.jpg: corrupt JPEG (it ends early: 900 bytes, its scan cut short)"));
    await expect(D.decodeImage(s420.subarray(0, 200), "head.jpg")).rejects.toThrow(/^head\.jpg: corrupt JPEG \(/);
    // after a failed decode (a new decoder instance: libjpeg's fatal error leaves the old one's memory held), the same pixels
    const s420rgb = new Uint8Array(readFileSync(new URL("./fixtures/jpeg/s420.rgb", import.meta.url)));
    expect(worst((await D.decodeImage(s420, "s420.jpg")).data, s420rgb)).toBe(0);
    // a stray byte before the frame header (libjpeg skips it, as it decodes): its size is still checked against the limit
    const stray = Uint8Array.from([...s420.subarray(0, 2), 0, ...s420.subarray(2)]);
    expect(worst((await D.decodeImage(stray, "stray.jpg")).data, s420rgb)).toBe(0);
    const limit = fovea.getLimits();
    fovea.setLimits({ maxImagePixels: 37 * 29 - 1 });
    try {
      await expect(D.decodeImage(stray, "stray.jpg")).rejects.toThrow(new fovea.FormatError(`stray.jpg: the JPEG declares 37×29 = 1073 pixels; the limit is 1072 (setLimits({ maxImagePixels }))`));
    } finally {
      fovea.setLimits({ maxImagePixels: limit.maxImagePixels });
    }
    // a program's own global ImageData, defined after fovea's first JPEG, is left as it was (and not used by the decoder)
    class Stub {}
    (globalThis as { ImageData?: unknown }).ImageData = Stub;
    try {
      expect(worst((await D.decodeImage(s420, "s420.jpg")).data, s420rgb)).toBe(0);
      expect((globalThis as { ImageData?: unknown }).ImageData).toBe(Stub);
    } finally {
      delete (globalThis as { ImageData?: unknown }).ImageData;
    }
  });

  it("PNG and JPEG decode through pngjs / libjpeg-turbo; PNG round-trips exactly", async () => {
    const v = Float32Array.from({ length: 6 * 5 * 3 }, (_, i) => ((i * 17) % 256) / 255);
    const png = await D.encodePng(v, [6, 5, 3]);
    const img = await D.decodeImage(png, "a.png");
    expect([img.width, img.height]).toEqual([5, 6]);
    const back = D.imageToArray(img, [6, 5, 3]);
    expect(Array.from(back).map((x) => Math.round(x * 255))).toEqual(Array.from(v).map((x) => Math.round(x * 255)));
    const jpg = jpeg.encode({ data: rgba(16, 8), width: 16, height: 8 }, 95).data;
    const j = await D.decodeImage(jpg, "b.jpg");
    expect([j.width, j.height]).toEqual([16, 8]);
  });

  it("resizes as torchvision and PIL do (bilinear, antialiased when shrinking), and centerCrop as torchvision's Resize + CenterCrop", () => {
    const f = JSON.parse(readFileSync(new URL("./fixtures/resize-antialias-torch.json", import.meta.url), "utf8")) as {
      height: number; width: number; rgb: number[];
      resized: { size: [number, number]; torch: number[]; pil: number[] }[];
      cropped: { size: [number, number]; centerCrop: number; tall: boolean; torch: number[] }[];
      edges: { height: number; width: number; rgb: number[]; size: [number, number]; centerCrop: number; torch: number[] }[];
    };
    const rgba = (tall: boolean) => {
      const [h, w] = tall ? [f.width, f.height] : [f.height, f.width], data = new Uint8Array(h * w * 4);
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) {
        const at = tall ? (x * f.width + y) * 3 : (y * f.width + x) * 3; // the transposed image: (y, x) ← (x, y)
        data.set([f.rgb[at]!, f.rgb[at + 1]!, f.rgb[at + 2]!, 255], (y * w + x) * 4);
      }
      return { width: w, height: h, data };
    };
    for (const r of f.resized) {
      const got = D.imageToArray(rgba(false), [...r.size, 3]);
      expect(got.length).toBe(r.torch.length);
      r.torch.forEach((v, i) => expect(Math.abs(got[i]! - v), `${r.size} ${i}`).toBeLessThanOrEqual(1e-6));
      // PIL computes the same, rounding to bytes after each of its two passes (its coefficients fixed-point)
      r.pil.forEach((v, i) => expect(Math.abs(got[i]! * 255 - v), `${r.size} PIL ${i}`).toBeLessThanOrEqual(1));
    }
    for (const c of f.cropped) {
      const got = D.imageToArray(rgba(c.tall), [...c.size, 3], { centerCrop: c.centerCrop });
      expect(got.length).toBe(c.torch.length);
      c.torch.forEach((v, i) => expect(Math.abs(got[i]! - v), `${c.size} ${c.centerCrop} ${c.tall} ${i}`).toBeLessThanOrEqual(1e-6));
    }
    // a size of exactly .5 rounded as Python rounds it, and a 1 × 1200 line: only the crop's window of its 9 × 10800 resize is computed
    for (const e of f.edges) {
      const data = new Uint8Array(e.height * e.width * 4);
      for (let p = 0; p < e.height * e.width; p++) data.set([e.rgb[p * 3]!, e.rgb[p * 3 + 1]!, e.rgb[p * 3 + 2]!, 255], p * 4);
      const got = D.imageToArray({ width: e.width, height: e.height, data }, [...e.size, 3], { centerCrop: e.centerCrop });
      e.torch.forEach((v, i) => expect(Math.abs(got[i]! - v), `${e.height}×${e.width} → ${e.size} ${i}`).toBeLessThanOrEqual(1e-6));
    }
    const img = rgba(false);
    for (const bad of [0, 1.5, -1, NaN, "0.875"]) expect(() => D.imageToArray(img, [8, 8, 3], { centerCrop: bad as number })).toThrow(/image: centerCrop must be a fraction in \(0, 1\]/);
    expect(() => D.imageToArray(img, [8, 8, 3], { crop: 0.875 } as never)).toThrow(/image: unknown option "crop" \(centerCrop\)/);
  });

  it("converts to grey, and names bad files", async () => {
    const img = { width: 8, height: 8, data: Uint8Array.from({ length: 256 }, (_, i) => (i % 4 === 3 ? 255 : 128)) };
    const g = D.imageToArray(img, [4, 4, 1]);
    expect(g.length).toBe(16);
    g.forEach((x) => expect(x).toBeCloseTo(128 / 255, 5));
    await expect(D.decodeImage(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), "x.gif")).rejects.toThrow("x.gif: unsupported image format (PNG and JPEG are read)");
    const png = await D.encodePng(new Float32Array(12), [2, 2, 3]);
    await expect(D.decodeImage(png.subarray(0, 30), "cut.png")).rejects.toThrow("cut.png: corrupt PNG (it ends early: 30 bytes and no IEND chunk)");
    expect(() => D.imageToArray(img, [4, 4, 2])).toThrow(fovea.ConfigError);
  });

  it("an image folder (one subfolder per class) is a dataset with class names", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fovea-folder-"));
    for (const [k, cls] of ["cats", "dogs"].entries()) {
      mkdirSync(join(dir, cls));
      for (let i = 0; i < 3; i++) {
        writeFileSync(join(dir, cls, `${i}.png`), await D.encodePng(new Float32Array(8 * 8 * 3).fill(k), [8, 8, 3]));
      }
    }
    writeFileSync(join(dir, "dogs", "notes.txt"), "ignored");
    const d = await D.loadImageFolder(dir, [4, 4, 3]);
    expect(d.classes).toEqual(["cats", "dogs"]);
    expect(Array.from(d.y)).toEqual([0, 0, 0, 1, 1, 1]);
    expect(d.x[0]).toBe(0);
    expect(d.x[d.x.length - 1]).toBeCloseTo(1, 6);
    await expect(D.loadImageFolder(join(dir, "cats"), [4, 4, 3])).rejects.toThrow(/no class subfolders/);
    // a class subfolder without images would take an index no example teaches
    mkdirSync(join(dir, "empty"));
    await expect(D.loadImageFolder(dir, [4, 4, 3])).rejects.toThrow(/fovea-folder-\w+: no PNG or JPEG images in class folder empty \(every subfolder is a class: remove it or add its images\)/);
  });

  it("model.activations returns every layer's output for one example", () => {
    const m = fovea.zoo.lenet5({ seed: 1 });
    const a = m.activations(new Float32Array(784).fill(0.5));
    expect(a.map((l) => l.layer)).toEqual(m.layers.map((l) => l.name));
    expect(a[0]!.shape).toEqual([28, 28, 6]);
    expect(Array.from(a[a.length - 1]!.values)).toEqual(Array.from(m.predict(new Float32Array(784).fill(0.5))));
    m.free();
  });
});

describe("pixels from a page: fromImageData, fromCanvas", () => {
  /** A w×h RGBA image whose pixel p has grey level (p * 29) % 256, as a canvas's ImageData holds it. */
  const imageData = (w: number, h: number) => ({
    width: w,
    height: h,
    data: Uint8ClampedArray.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : (Math.floor(i / 4) * 29) % 256)),
  });
  /** An object with a canvas's shape: getContext("2d").getImageData, as HTMLCanvasElement / OffscreenCanvas have. */
  const canvas = (img: ReturnType<typeof imageData>, ctx: "2d" | "none" | "tainted" = "2d") => ({
    width: img.width,
    height: img.height,
    getContext: (type: string) => {
      if (type !== "2d" || ctx === "none") return null;
      return {
        getImageData: (x: number, y: number, w: number, h: number) => {
          if (ctx === "tainted") throw new Error("The canvas has been tainted by cross-origin data.");
          expect([x, y, w, h]).toEqual([0, 0, img.width, img.height]);
          return img;
        },
      };
    },
  });

  it("reads a Uint8ClampedArray ImageData as H×W×C floats in [0, 1]; same as imageToArray, resized too", () => {
    const img = imageData(6, 4);
    const grey = D.fromImageData(img, [4, 6, 1]);
    expect(Array.from(grey).map((v) => Math.round(v * 255))).toEqual(Array.from({ length: 24 }, (_, p) => (p * 29) % 256));
    const rgb = D.fromImageData(img, [4, 6, 3]);
    expect(rgb[3 * 5 + 1]).toBeCloseTo(((5 * 29) % 256) / 255, 6);
    const small = D.fromImageData(img, [2, 3, 1]);
    expect(Array.from(small)).toEqual(Array.from(D.imageToArray({ width: 6, height: 4, data: new Uint8Array(img.data) }, [2, 3, 1])));
    expect(Array.from(D.fromCanvas(canvas(img), [2, 3, 1]))).toEqual(Array.from(small));
  });

  it("says what is wrong: sizes, data, shape, a canvas without a 2D context, a tainted canvas", () => {
    const img = imageData(4, 4);
    expect(() => D.fromImageData({ ...img, data: img.data.subarray(0, 60) }, [4, 4, 1])).toThrow(new fovea.ShapeError("fromImageData: a 4×4 RGBA image has 64 bytes, this data 60"));
    expect(() => D.fromImageData({ ...img, data: new Float32Array(64) as unknown as Uint8Array }, [4, 4, 1])).toThrow(/fromImageData: data must be a Uint8ClampedArray \(ImageData\) or Uint8Array of RGBA bytes, got Float32Array/);
    expect(() => D.fromImageData({ ...img, width: 0 }, [4, 4, 1])).toThrow(/fromImageData: width and height must be whole numbers > 0, got 0×4/);
    expect(() => D.fromImageData(img, [4, 4, 2])).toThrow(/fromImageData: 2 channels requested; 1 or 3 are supported/);
    expect(() => D.fromImageData(img, [4, 4] as unknown as [number, number, number])).toThrow(/fromImageData: shape must be \[height, width, channels\]/);
    expect(() => D.fromCanvas(canvas(img, "none"), [4, 4, 1])).toThrow(new fovea.ConfigError("fromCanvas: the 4×4 canvas has no 2D context (one of another kind, e.g. webgl, was made first)"));
    expect(() => D.fromCanvas(canvas(img, "tainted"), [4, 4, 1])).toThrow(new fovea.FormatError("fromCanvas: the 4×4 canvas cannot be read (The canvas has been tainted by cross-origin data.)"));
    expect(() => D.fromCanvas({} as never, [4, 4, 1])).toThrow(/fromCanvas: expected an HTMLCanvasElement or OffscreenCanvas, got object/);
    for (const f of [() => D.fromImageData(img, [0, 4, 1]), () => D.fromCanvas(canvas(img, "none"), [4, 4, 1])]) expect(f).toThrow(fovea.FoveaError);
  });
});
