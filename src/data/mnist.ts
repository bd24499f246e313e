// MNIST from IDX files (plain or gzipped): images scaled to [0, 1], 28×28×1 NHWC.
import { ConfigError, FormatError, checkPath, isRecord, show } from "../errors.js";
import { makeDataset, type Dataset } from "./dataset.js";
import { maybeGunzip, NotFoundError, readBytes } from "./files.js";
import { idxByteLength, parseIdx } from "./idx.js";

/** A dataset from the bytes of an images file and a labels file (already read). */
export async function mnistFromBytes(images: Uint8Array, labels: Uint8Array, names = { images: "images", labels: "labels" }): Promise<Dataset> {
  if (!isRecord(names) || typeof names.images !== "string" || typeof names.labels !== "string") throw new ConfigError(`mnistFromBytes: names must be { images, labels }, the two files' names, got ${show(names)}`);
  const im = parseIdx(await maybeGunzip(images, names.images, { sizeOf: idxByteLength }), names.images);
  const lb = parseIdx(await maybeGunzip(labels, names.labels, { sizeOf: idxByteLength }), names.labels);
  if (im.dims.length !== 3) throw new FormatError(`${names.images}: an images file has 3 dimensions (count, rows, cols), this one ${im.dims.length}`);
  if (lb.dims.length !== 1) throw new FormatError(`${names.labels}: a labels file has 1 dimension, this one ${lb.dims.length}`);
  const [n, rows, cols] = im.dims as [number, number, number];
  if (n < 1 || rows < 1 || cols < 1) throw new FormatError(`${names.images}: ${n} images of ${rows}×${cols} pixels; a data set needs at least one image of at least 1×1`);
  if (lb.dims[0] !== n) throw new FormatError(`${names.labels}: ${lb.dims[0]} labels for the ${n} images of ${names.images}`);
  const bad = lb.data.findIndex((v) => v > 9);
  if (bad >= 0) throw new FormatError(`${names.labels}: label ${bad} is ${lb.data[bad]}; MNIST labels are 0-9`);
  const x = new Float32Array(im.data.length);
  for (let i = 0; i < x.length; i++) x[i] = im.data[i]! / 255;
  return makeDataset(x, Int32Array.from(lb.data), [rows, cols, 1], ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]);
}

/** The IDX files' prefixes: "train" and "t10k" (the test set's). */
function checkSplit(where: string, split: unknown): void {
  if (split !== "train" && split !== "t10k") throw new ConfigError(`${where}: split must be "train" or "t10k" (the test set's files are t10k-*), got ${show(split)}`);
}

/** The two arguments the other way round (loadMnist takes the directory first, loadFashionMnist the split): said so. */
function swapped(call: string, split: unknown, dir: unknown): void {
  const isSplit = (v: unknown) => v === "train" || v === "t10k";
  if (!isSplit(split) && isSplit(dir)) throw new ConfigError(`${call}: the split ${show(dir)} is where the directory goes, and ${show(split)} where the split goes: the arguments the other way round`);
}

/** Loads `<prefix>-images-idx3-ubyte[.gz]` and `<prefix>-labels-idx1-ubyte[.gz]` from a directory (or URL prefix). */
export async function loadMnist(dir: string, split: "train" | "t10k"): Promise<Dataset> {
  swapped("loadMnist(dir, split)", split, dir);
  checkPath("loadMnist", dir);
  checkSplit("loadMnist", split);
  const base = dir.replace(/\/$/, "");
  const find = async (name: string) => {
    for (const suffix of ["", ".gz"]) {
      try {
        return { path: `${base}/${name}${suffix}`, bytes: await readBytes(`${base}/${name}${suffix}`) };
      } catch (e) {
        if (!(e instanceof NotFoundError && e.reason === "missing")) throw e; // (a file there that cannot be read says why)
      }
    }
    throw new NotFoundError(`${base}/${name}: not found (also tried .gz)`);
  };
  const im = await find(`${split}-images-idx3-ubyte`), lb = await find(`${split}-labels-idx1-ubyte`);
  return mnistFromBytes(im.bytes, lb.bytes, { images: im.path, labels: lb.path });
}

/** Where Debian's dataset-fashion-mnist package installs the four gzip IDX files. */
export const FASHION_MNIST_DIR = "/usr/share/datasets/fashion-mnist";

/** Fashion-MNIST's classes, in label order. */
export const FASHION_MNIST_CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/**
 * Fashion-MNIST (the same IDX format as MNIST: 60,000 training and 10,000 test images, 28×28 grey,
 * 10 classes) from `dir` (default: Debian's package). A missing default directory names the package.
 */
export async function loadFashionMnist(split: "train" | "t10k", dir?: string): Promise<Dataset> {
  swapped("loadFashionMnist(split, dir?)", split, dir);
  checkSplit("loadFashionMnist", split);
  if (dir !== undefined) checkPath("loadFashionMnist", dir);
  let d: Dataset;
  try {
    d = await loadMnist(dir ?? FASHION_MNIST_DIR, split);
  } catch (e) {
    if (dir === undefined && e instanceof NotFoundError && e.reason === "missing") {
      throw new NotFoundError(`Fashion-MNIST is not in ${FASHION_MNIST_DIR}: install Debian's package (apt-get install dataset-fashion-mnist), or pass the directory with its IDX files`);
    }
    throw e;
  }
  return makeDataset(d.x, d.y, d.shape, FASHION_MNIST_CLASSES);
}
