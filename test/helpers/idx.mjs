// Writes small IDX files (the MNIST format) for loader, CLI and checkpoint tests, the kill-resume
// script and the fuzz targets (plain JavaScript so scripts can use it too; types in idx.d.mts).
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

/** @param {number[]} dims @param {Uint8Array} data */
export function idx(dims, data) {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out.set([0, 0, 8, dims.length]);
  const dv = new DataView(out.buffer);
  dims.forEach((d, i) => dv.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

/** n 28×28 images: class k is a bright vertical bar near column 3 + 2k, with noise. */
export function tinyMnist(n, seed) {
  let s = seed >>> 0;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const px = new Uint8Array(n * 784), lb = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = i % 10;
    lb[i] = k;
    const col = 3 + 2 * k + Math.floor(rnd() * 2);
    for (let r = 4; r < 24; r++) for (let c = col; c < col + 2; c++) px[i * 784 + r * 28 + c] = 200 + Math.floor(rnd() * 55);
    for (let j = 0; j < 784; j++) if (rnd() < 0.03) px[i * 784 + j] = Math.floor(rnd() * 255);
  }
  return { images: idx([n, 28, 28], px), labels: idx([n], lb) };
}

export const gz = (b) => new Uint8Array(gzipSync(b));

/**
 * A new temporary folder holding a tiny MNIST in its four IDX files (`fovea train mnist <dir>`):
 * tinyMnist(train, 1) and tinyMnist(test, 2).
 * @param {string} prefix @param {number} train @param {number} test
 */
export function tinyMnistDir(prefix, train, test) {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const tr = tinyMnist(train, 1), te = tinyMnist(test, 2);
  writeFileSync(join(dir, "train-images-idx3-ubyte"), tr.images);
  writeFileSync(join(dir, "train-labels-idx1-ubyte"), tr.labels);
  writeFileSync(join(dir, "t10k-images-idx3-ubyte"), te.images);
  writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), te.labels);
  return dir;
}
