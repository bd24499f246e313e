import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
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
  });
});

describe("image files", () => {
  const rgba = (w: number, h: number) => Uint8Array.from({ length: w * h * 4 }, (_, i) => (i % 4 === 3 ? 255 : (i * 37) % 256));

  it("PNG and JPEG decode through pngjs / jpeg-js; PNG round-trips exactly", async () => {
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

  it("resizes with the wasm warp, converts to grey, and names bad files", async () => {
    const img = { width: 8, height: 8, data: Uint8Array.from({ length: 256 }, (_, i) => (i % 4 === 3 ? 255 : 128)) };
    const g = D.imageToArray(img, [4, 4, 1]);
    expect(g.length).toBe(16);
    g.forEach((x) => expect(x).toBeCloseTo(128 / 255, 5));
    await expect(D.decodeImage(Uint8Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]), "x.gif")).rejects.toThrow("x.gif: unsupported image format (PNG and JPEG are read)");
    const png = await D.encodePng(new Float32Array(12), [2, 2, 3]);
    await expect(D.decodeImage(png.subarray(0, 30), "cut.png")).rejects.toThrow(/cut\.png: corrupt PNG/);
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
