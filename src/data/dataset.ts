// In-memory datasets (NHWC float32 examples, integer labels), splits, per-channel normalisation.
import { ConfigError, ShapeError, isArrayLike, isRecord, show } from "../errors.js";
import { Rng } from "../rng.js";
import { formatShape } from "../tensor.js";

export interface Dataset {
  /** n × H × W × C values. */
  x: Float32Array;
  /** n class indices. */
  y: Int32Array;
  /** Per-example shape [H, W, C]. */
  shape: [number, number, number];
  n: number;
  /** Class names when known (image folders, CIFAR-10). */
  classes?: string[];
}

/** A Dataset (makeDataset's, a loader's), its parts consistent; anything else a ConfigError naming the call and the part. */
function checkDataset(d: Dataset, where: string): void {
  const bad = (why: string): never => {
    throw new ConfigError(`${where}: expected a Dataset ({ x, y, shape, n }, as makeDataset and the loaders give): ${why}`);
  };
  if (!isRecord(d)) bad(`got ${show(d)}`);
  if (!(d.x instanceof Float32Array)) bad(`its x is ${show(d.x)}, not a Float32Array`);
  if (!(d.y instanceof Int32Array)) bad(`its y is ${show(d.y)}, not an Int32Array`);
  if (!isShape3(d.shape)) bad(`its shape is ${show(d.shape)}, not [height, width, channels]`);
  if (!(Number.isInteger(d.n) && d.y.length === d.n && d.x.length === d.n * d.shape[0] * d.shape[1] * d.shape[2])) bad(`n ${show(d.n)}, ${d.y.length} labels and ${d.x.length} values do not agree with ${formatShape(d.shape)}`);
}

const isShape3 = (s: unknown): s is [number, number, number] => Array.isArray(s) && s.length === 3 && s.every((v) => Number.isInteger(v) && v >= 1);

/** An example's [height, width, channels] (a dataset's, an augmenter's): three whole numbers >= 1; else a ConfigError naming the call. */
export function checkExampleShape(where: string, shape: unknown): asserts shape is [number, number, number] {
  if (!isShape3(shape)) throw new ConfigError(`${where}: an example's shape is [height, width, channels], three whole numbers >= 1; got ${show(shape)}`);
}

export function makeDataset(x: ArrayLike<number>, y: ArrayLike<number>, shape: [number, number, number], classes?: string[]): Dataset {
  // any arrays of numbers: values become float32, labels int32 (class indices, checked)
  if (!isArrayLike(x) || !isArrayLike(y)) throw new ConfigError(`dataset: x and y must be arrays of numbers, got ${show(x)} and ${show(y)}`);
  checkExampleShape("dataset", shape);
  if (classes !== undefined && !(Array.isArray(classes) && classes.every((c) => typeof c === "string"))) throw new ConfigError(`dataset: classes must be a list of names, got ${show(classes)}`);
  const k = Array.from(y).findIndex((v) => !(Number.isInteger(v) && v >= 0 && (classes === undefined || v < classes.length)));
  if (k >= 0) throw new ConfigError(`dataset: label ${k} is ${show(y[k])}; labels are class indices, whole numbers >= 0${classes ? ` and < ${classes.length} (the classes named)` : ""}`);
  const values = x instanceof Float32Array ? x : Float32Array.from(x), labels = y instanceof Int32Array ? y : Int32Array.from(y);
  const per = shape[0] * shape[1] * shape[2];
  if (values.length !== labels.length * per) throw new ShapeError(`dataset: ${values.length} values for ${labels.length} examples of ${shape.join("×")} (need ${labels.length * per})`);
  return { x: values, y: labels, shape, n: labels.length, ...(classes ? { classes } : {}) };
}

/** Examples [start, end) as a new dataset (views, no copy). */
export function slice(d: Dataset, start: number, end: number): Dataset {
  checkDataset(d, "slice");
  if (!(Number.isSafeInteger(start) && Number.isSafeInteger(end) && start >= 0 && start <= end && end <= d.n)) {
    throw new ConfigError(`slice: examples [${show(start)}, ${show(end)}) of ${d.n}: need whole numbers 0 <= start <= end <= ${d.n}`);
  }
  const per = d.x.length / d.n;
  return { ...d, x: d.x.subarray(start * per, end * per), y: d.y.subarray(start, end), n: end - start };
}

/** A seeded random split: the last `fraction` of a shuffled copy is the validation set. */
export function split(d: Dataset, fraction: number, rng: Rng): { train: Dataset; validation: Dataset } {
  checkDataset(d, "split");
  if (!(rng instanceof Rng)) throw new ConfigError(`split: rng must be a fovea.Rng (e.g. model.rng, or new fovea.Rng(seed)), got ${show(rng)}`);
  if (!(typeof fraction === "number" && fraction > 0 && fraction < 1)) throw new ConfigError(`split: fraction must be in (0, 1), got ${show(fraction)}`);
  // both parts hold examples: a split that leaves one empty is refused, not returned
  const nv = Math.round(d.n * fraction);
  if (nv < 1 || nv > d.n - 1) throw new ConfigError(`split: a fraction of ${fraction} of ${d.n} examples leaves ${nv < 1 ? "no validation" : "no training"} examples (it takes ${nv})`);
  const order = rng.shuffle(Int32Array.from({ length: d.n }, (_, i) => i));
  const per = d.x.length / d.n;
  const x = new Float32Array(d.x.length), y = new Int32Array(d.n);
  order.forEach((s, i) => {
    x.set(d.x.subarray(s * per, (s + 1) * per), i * per);
    y[i] = d.y[s]!;
  });
  const all = { ...d, x, y };
  return { train: slice(all, 0, d.n - nv), validation: slice(all, d.n - nv, d.n) };
}

export interface Normalization {
  mean: number[];
  std: number[];
}

/** Per-channel mean and standard deviation (population), accumulated in float64. */
export function channelStats(d: Dataset): Normalization {
  checkDataset(d, "channelStats");
  const C = d.shape[2];
  const sum = new Float64Array(C), sq = new Float64Array(C);
  for (let i = 0; i < d.x.length; i++) {
    const v = d.x[i]!;
    sum[i % C]! += v;
    sq[i % C]! += v * v;
  }
  const count = d.x.length / C;
  const mean = Array.from(sum, (s) => s / count);
  const std = Array.from(sq, (s, c) => Math.sqrt(Math.max(s / count - mean[c]! ** 2, 0)));
  return { mean, std };
}

/** x ← (x − mean) / std per channel, in place (std 0 leaves the channel centred only). */
export function normalize(d: Dataset, s: { mean: ArrayLike<number>; std: ArrayLike<number> }): Dataset {
  checkDataset(d, "normalize");
  if (!isRecord(s) || !isArrayLike(s.mean) || !isArrayLike(s.std)) throw new ConfigError(`normalize: statistics are { mean, std }, one number a channel (channelStats'), got ${show(s)}`);
  const C = d.shape[2];
  if (s.mean.length !== C || s.std.length !== C) throw new ShapeError(`normalize: statistics for ${s.mean.length} channels, data has ${C}`);
  for (let c = 0; c < C; c++) {
    if (!(Number.isFinite(s.mean[c]) && Number.isFinite(s.std[c]) && s.std[c]! >= 0)) throw new ConfigError(`normalize: channel ${c}'s mean ${s.mean[c]} and std ${s.std[c]}; a mean is finite, a std finite and >= 0`);
  }
  const inv = Array.from(s.std, (v) => (v > 0 ? 1 / v : 1));
  for (let i = 0; i < d.x.length; i++) d.x[i] = (d.x[i]! - s.mean[i % C]!) * inv[i % C]!;
  return d;
}
