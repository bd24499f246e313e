import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { gz, idx, tinyMnist } from "./helpers/idx.mjs";

const D = fovea.data;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

describe("Fashion-MNIST (Debian's dataset-fashion-mnist, installed by .ci/run)", () => {
  const here = existsSync(`${D.FASHION_MNIST_DIR}/t10k-images-idx3-ubyte.gz`);
  if (!here) console.warn(`\n!! ${D.FASHION_MNIST_DIR} is missing (apt-get install dataset-fashion-mnist): the Fashion-MNIST loader test is SKIPPED\n`);
  it.skipIf(!here)("loads the real files: 10,000 test images of 28×28×1 in [0, 1], labels 0–9 with the class names", async () => {
    const t = await D.loadFashionMnist("t10k");
    expect(t.n).toBe(10_000);
    expect(t.shape).toEqual([28, 28, 1]);
    expect(t.classes).toEqual(["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]);
    let lo = Infinity, hi = -Infinity;
    for (const v of t.x) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    expect([lo, hi]).toEqual([0, 1]);
    const counts = new Array(10).fill(0);
    for (const y of t.y) counts[y]++;
    expect(counts).toEqual(new Array(10).fill(1000)); // the test set is balanced
  });
  it("a directory without the files is a FormatError naming the file", async () => {
    await expect(D.loadFashionMnist("t10k", "/nonexistent")).rejects.toThrow(/\/nonexistent\/t10k-images-idx3-ubyte: not found/);
  });
  it("the two loaders' arguments the other way round (loadMnist takes the directory first, loadFashionMnist the split) are a ConfigError saying so", async () => {
    // @ts-expect-error: the split first
    await expect(D.loadMnist("t10k", "/data/mnist")).rejects.toThrow('loadMnist(dir, split): the split "t10k" is where the directory goes, and "/data/mnist" where the split goes: the arguments the other way round');
    // @ts-expect-error: the directory first
    await expect(D.loadFashionMnist("/data/fashion", "train")).rejects.toThrow('loadFashionMnist(split, dir?): the split "train" is where the directory goes, and "/data/fashion" where the split goes: the arguments the other way round');
  });
});

describe("MNIST IDX loading", () => {
  it("reads plain and gzipped files, scales to [0, 1], 28×28×1", async () => {
    const { images, labels } = tinyMnist(30, 1);
    const a = await D.mnistFromBytes(images, labels);
    const b = await D.mnistFromBytes(gz(images), gz(labels));
    expect(a.n).toBe(30);
    expect(a.shape).toEqual([28, 28, 1]);
    expect(Array.from(a.y.subarray(0, 12))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1]);
    expect(a.x[4 * 28 + 3]).toBeCloseTo(images[16 + 4 * 28 + 3]! / 255, 7);
    expect(Array.from(b.x)).toEqual(Array.from(a.x));
    const dir = mkdtempSync(join(tmpdir(), "fovea-idx-"));
    writeFileSync(join(dir, "train-images-idx3-ubyte.gz"), gz(images));
    writeFileSync(join(dir, "train-labels-idx1-ubyte"), labels);
    const c = await D.loadMnist(dir, "train");
    expect(Array.from(c.y)).toEqual(Array.from(a.y));
    await expect(D.loadMnist(dir, "t10k")).rejects.toThrow(/t10k-images-idx3-ubyte: not found \(also tried \.gz\)/);
  });

  it("bad files are FormatErrors naming the file and the problem", async () => {
    const { images, labels } = tinyMnist(5, 2);
    const bad = async (im: Uint8Array, lb: Uint8Array, msg: RegExp) => {
      await expect(D.mnistFromBytes(im, lb, { images: "img.idx", labels: "lbl.idx" })).rejects.toThrow(fovea.FormatError);
      await expect(D.mnistFromBytes(im, lb, { images: "img.idx", labels: "lbl.idx" })).rejects.toThrow(msg);
    };
    await bad(Uint8Array.from([1, 2, 3, 4, 5]), labels, /img\.idx: not an IDX file \(bad magic 01 02 03 04/);
    await bad(images.subarray(0, images.length - 10), labels, /img\.idx: truncated: the header says 5×28×28 = 3920 bytes of data, the file has 3910/);
    await bad(Uint8Array.from([...images, 7]), labels, /img\.idx: trailing bytes/);
    await bad(images, idx([4], new Uint8Array(4)), /lbl\.idx: 4 labels for the 5 images of img\.idx/);
    await bad(images, idx([5], Uint8Array.from([1, 2, 3, 11, 0])), /lbl\.idx: label 3 is 11; MNIST labels are 0-9/);
    await bad(labels, labels, /img\.idx: an images file has 3 dimensions/);
    await bad(Uint8Array.from([0x1f, 0x8b, 1, 2, 3]), labels, /img\.idx: corrupt gzip data/);
    const wrongType = images.slice();
    wrongType[2] = 0x0d;
    await bad(wrongType, labels, /IDX element type 0xd is not supported/);
  });
});

describe("datasets", () => {
  const ds = () => fovea.data.makeDataset(Float32Array.from({ length: 20 * 12 }, (_, i) => (i * 7) % 11), Int32Array.from({ length: 20 }, (_, i) => i % 4), [2, 2, 3]);

  it("split is seeded, disjoint and complete", () => {
    const d = ds();
    const a = D.split(d, 0.25, new fovea.Rng(5)), b = D.split(d, 0.25, new fovea.Rng(5));
    expect(a.train.n).toBe(15);
    expect(a.validation.n).toBe(5);
    expect(Array.from(a.validation.y)).toEqual(Array.from(b.validation.y));
    // every example appears once: compare sorted first pixels + labels
    const key = (x: Float32Array, y: Int32Array, i: number) => `${x.subarray(i * 12, i * 12 + 12).join(",")}|${y[i]}`;
    const all = [...Array.from({ length: 15 }, (_, i) => key(a.train.x, a.train.y, i)), ...Array.from({ length: 5 }, (_, i) => key(a.validation.x, a.validation.y, i))].sort();
    expect(all).toEqual(Array.from({ length: 20 }, (_, i) => key(d.x, d.y, i)).sort());
    expect(() => D.split(d, 1, new fovea.Rng(1))).toThrow(fovea.ConfigError);
  });

  it("per-channel normalisation statistics match a float64 computation and normalise to mean 0, std 1", () => {
    const d = ds();
    const s = D.channelStats(d);
    for (let c = 0; c < 3; c++) {
      const v = Array.from(d.x).filter((_, i) => i % 3 === c);
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      expect(s.mean[c]).toBeCloseTo(mean, 10);
      expect(s.std[c]).toBeCloseTo(std, 10);
    }
    D.normalize(d, s);
    const t = D.channelStats(d);
    t.mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-6));
    t.std.forEach((v) => expect(v).toBeCloseTo(1, 5));
  });

  it("augmentation keeps shapes and labels; the identity is exact; shifts and flips move pixels", () => {
    const be = fovea.getBackend();
    const x = Float32Array.from({ length: 2 * 5 * 4 * 2 }, (_, i) => i);
    const orig = x.slice();
    D.augmenter(be, [5, 4, 2], {})(x, 2, new fovea.Rng(1));
    expect(Array.from(x)).toEqual(Array.from(orig));
    const flipped = orig.slice(0, 40);
    D.augmenter(be, [5, 4, 2], { flip: true })(flipped, 1, { uniform: () => 0.1 } as unknown as fovea.Rng);
    // row 0, column 0 of the flip is row 0, column 3 of the source
    expect([flipped[0], flipped[1]]).toEqual([orig[6], orig[7]]);
    const shifted = orig.slice(0, 40);
    // uniform() = 1 → shift by +1 pixel in x and y (max shift 1): output (y, x) reads source (y − 1, x − 1)
    D.augmenter(be, [5, 4, 2], { shift: 1 })(shifted, 1, { uniform: () => 1 } as unknown as fovea.Rng);
    expect(shifted[(1 * 4 + 1) * 2]).toBeCloseTo(orig[0]!, 5);
    expect(shifted[0]).toBe(0); // filled from outside
    const d = ds();
    const before = d.y.slice();
    D.augmenter(be, [2, 2, 3], { rotation: 10, scale: 0.1, shear: 0.1, shift: 1 })(d.x, d.n, new fovea.Rng(3));
    expect(d.x.length).toBe(240);
    expect(Array.from(d.y)).toEqual(Array.from(before));
  });
});
