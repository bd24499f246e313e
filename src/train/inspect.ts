// Seeing inside a trained CNN, on input gradients at inference semantics (train/twin.ts):
//   saliency      Simonyan, Vedaldi & Zisserman 2013: |d class score / d pixel|, max over channels;
//   classModel    the same paper's class-model images: gradient ascent on a class score from
//                 noise, with Yosinski et al.'s (2015) jitter, blur and L2 decay as regularisers;
//   deepDream     Mordvintsev, Olah & Tyka 2015: gradient ascent on ½‖a‖² of a layer from an image,
//                 octave by octave (smallest first, the detail carried up), jittered, with steps
//                 normalised by the gradient's mean magnitude;
//   deconvnet     Zeiler & Fergus 2014: a unit's strongest activation projected back to pixels —
//                 max pooling undone with the forward pass's switches, ReLU applied to the signal
//                 itself (not gated by the forward input), convolution by the transposed filters
//                 (ops/conv's convTransposeCalls, the conv2dTranspose layer's builder); LRN is
//                 left out of the path, as the paper does.
// Images are H×W×C Float32Arrays (NHWC, one example), as fovea's image loaders give them — or
// C×H×W for a model whose input is channels-first and permuted to H×W×C by every layer that reads
// it (importOnnx's NCHW input): these functions take and give images in the model's own layout,
// and shift, blur and resize them by their rows and columns (imageLayout).
import { ConfigError, ShapeError, checkOptionKeys, show, checkBoolean, checkModel } from "../errors.js";
import { Conv2d } from "../layers/conv.js";
import { Permute } from "../layers/reshape.js";
import { size, type LayerGrad } from "../layers/layer.js";
import type { ExampleData, Model } from "../model/model.js";
import type { Plan } from "../model/plan.js";
import { convTransposeCalls, runConvTranspose, type ConvTransposeCalls } from "../ops/conv.js";
import { activationCalls, copyCall } from "../ops/eltwise.js";
import { resizeMatrix, warpAffineCall } from "../ops/image.js";
import { withScratchAlloc } from "../ops/split.js";
import type { KernelCall } from "../runtime/calls.js";
import { ACT } from "../runtime/generated/layout.js";
import { Rng } from "../rng.js";
import { formatShape, transposed, type Shape } from "../tensor.js";
import { checkUnit, classNode, nodeNamed, objectiveGradient, resolveTarget, shapeProblem, type GradientTarget, type Objective, type Twin } from "./twin.js";

export type { GradientTarget };

/** An input gradient, as Model.inputGradient (for those who prefer a function). */
export function inputGradient(m: Model, x: ExampleData, target: GradientTarget): Float32Array {
  checkModel(m, "inputGradient");
  return m.inputGradient(x, target);
}

// ---- option checks ----

function num<T extends object>(o: T, key: keyof T & string, dflt: number, lo: number, where: string, integer = false): number {
  const v: unknown = o[key] ?? dflt;
  if (typeof v !== "number" || !Number.isFinite(v) || v < lo || (integer && !Number.isInteger(v))) {
    throw new ConfigError(`${where}: ${key} must be ${integer ? "a whole number" : "a number"} >= ${lo}, got ${show(o[key])}`);
  }
  return v;
}

function range(v: unknown, where: string): [number, number] | null {
  if (v === undefined) return null;
  if (!Array.isArray(v) || v.length !== 2 || !v.every((x) => typeof x === "number" && Number.isFinite(x)) || !(v[0] < v[1])) {
    throw new ConfigError(`${where}: range must be [low, high] with low < high, got ${show(v)}`);
  }
  return [v[0], v[1]];
}

/**
 * How a model takes an image: H×W×C, or C×H×W (chw) where every layer reading the input is a
 * permute to H×W×C (importOnnx's NCHW input). [H, W, C] is the image's size either way.
 */
interface ImageLayout {
  chw: boolean;
  hwc: [number, number, number];
}

function imageLayout(m: Model, where: string): ImageLayout {
  const s = m.inputShape;
  if (s.length !== 3) throw new ShapeError(`${where}: needs a model of images [H, W, C] (or [C, H, W]); model "${m.name}" takes ${formatShape(s)}`);
  const readers = m.nodes.filter((n) => n.inputs.includes(-1));
  const chw = readers.length > 0 && readers.every((n) => n.layer instanceof Permute && n.layer.perm.join() === "1,2,0");
  return { chw, hwc: chw ? [s[1]!, s[2]!, s[0]!] : [s[0]!, s[1]!, s[2]!] };
}

/** An image's shape in the model's layout, for its H×W×C size. */
const modelShape = (l: ImageLayout, [H, W, C]: readonly number[]): [number, number, number] => (l.chw ? [C!, H!, W!] : [H!, W!, C!]);

/** One image from the model's layout to H×W×C (toHWC: C × HW transposed) or back (fromHWC); [H, W, C] its size. */
const toHWC = (l: ImageLayout, x: Float32Array, [H, W, C]: readonly number[]): Float32Array => (l.chw ? transposed(x, C!, H! * W!) : x);
const fromHWC = (l: ImageLayout, x: Float32Array, [H, W, C]: readonly number[]): Float32Array => (l.chw ? transposed(x, H! * W!, C!) : x);

// ---- saliency ----

export interface SaliencyMaps {
  /** Per example an H×W map: the largest |d score / d pixel| over the pixel's channels. */
  values: Float32Array;
  shape: [number, number];
  /** The class whose score each map is of. */
  classes: Int32Array;
}

/**
 * Saliency maps of the examples' class scores (default: each example's predicted class; or one
 * class for all, or one per example).
 */
export function saliency(m: Model, x: ExampleData, options: { class?: number | ArrayLike<number> } = {}): SaliencyMaps {
  checkOptionKeys("saliency", options, ["class"]);
  checkModel(m, "saliency");
  const where = `saliency (model "${m.name}")`;
  const layout = imageLayout(m, where), [H, W, C] = layout.hwc;
  const { data, n } = m.examples(x, where);
  const node = classNode(m);
  let classes: Int32Array;
  if (options.class === undefined) classes = m.predictClasses(data);
  else if (typeof options.class === "number") classes = new Int32Array(n).fill(checkUnit(m, node, options.class, where, "class"));
  else {
    const given = options.class;
    if (given.length !== n) throw new ConfigError(`${where}: ${given.length} classes for ${n} examples`);
    classes = Int32Array.from({ length: n }, (_, i) => checkUnit(m, node, given[i], where, `class[${i}]`));
  }
  const { grad } = objectiveGradient(m, data, n, { node, kind: "unit", units: classes, label: "class" });
  const values = new Float32Array(n * H * W), P = H * W;
  for (let e = 0; e < n; e++) {
    const g = toHWC(layout, grad.subarray(e * P * C, (e + 1) * P * C), layout.hwc);
    for (let p = 0; p < P; p++) {
      let v = 0;
      for (let c = 0; c < C; c++) v = Math.max(v, Math.abs(g[p * C + c]!));
      values[e * P + p] = v;
    }
  }
  return { values, shape: [H, W], classes };
}

// ---- deconvnet ----

export interface DeconvOptions {
  /** A layer with a feature-map output [H, W, C]. */
  layer: string;
  /** Its channel to project. */
  unit: number;
  /** Project every position of the channel's map, not only its strongest activation. Default false. */
  all?: boolean;
}

export interface DeconvProjection {
  /** Per example an input-shaped image: the projection of the unit's activation. */
  values: Float32Array;
  /** Per example the activation projected (the strongest of the channel's map; with `all`, still the strongest). */
  activations: Float64Array;
}

/** Layers the projection passes through with their own backward pass (linear maps or pooling switches). */
const LINEAR = new Set(["maxPool2d", "avgPool2d", "globalMaxPool2d", "globalAvgPool2d", "batchNorm", "scale", "dropout", "flatten", "reshape", "permute", "add", "concat"]);

/** Every layer between the unit and the input is one the deconvnet passes through. */
function checkDeconvPath(m: Model, node: number, where: string): void {
  const nodes = m.nodes;
  const seen = new Set<number>();
  const stack = [node];
  while (stack.length) {
    const j = stack.pop()!;
    if (seen.has(j)) continue;
    seen.add(j);
    const l = nodes[j]!.layer;
    const ok = l instanceof Conv2d ? l.act !== ACT.RELU6 : l.type === "relu" || l.type === "lrn" || LINEAR.has(l.type);
    if (!ok) {
      throw new ConfigError(`${where}: ${l.label}${l instanceof Conv2d ? " (fused relu6)" : ""} lies on the way to the input; the deconvnet passes through ` +
        "conv (no activation or ReLU), ReLU, pooling, LRN, batch norm, dropout, add, concat and reshaping layers only (its rectification is ReLU's)");
    }
    for (const i of nodes[j]!.inputs) if (i >= 0) stack.push(i);
  }
}

/** The deconvnet's backward rules for the twin's plan: convs by their transposed filters, ReLUs on the signal, LRN skipped. */
function deconvRules(t: Twin, plan: Plan): (j: number, run: LayerGrad<unknown>) => boolean {
  const be = t.model.backend;
  return (j, run) => {
    const node = t.model.nodes[j]!, l = node.layer;
    const n = plan.batch * size(node.outShape), C = node.outShape[node.outShape.length - 1]!;
    if (l instanceof Conv2d) {
      const key = `deconv:${plan.batch}:${plan.lossNode}:${j}`;
      let c = t.calls.get(key) as { relu: KernelCall[]; conv: ConvTransposeCalls } | undefined;
      if (!c) {
        const alloc = (bytes: number) => {
          const p = be.heap.alloc(bytes, true);
          t.blocks.push(p);
          return p;
        };
        c = {
          // a fused ReLU rectifies the signal in place (the gradient buffer is the plan's to overwrite)
          relu: l.act === ACT.RELU ? activationCalls("relu", 0, n, C, { x: run.dy, y: run.dy, dy: 0, dx: 0 }).fwd : [],
          conv: convTransposeCalls(be, l.geometry(node.inShapes[0]!, plan.batch), alloc, { x: run.dy, y: run.dx[0]!, w: run.params[0]!.w, bias: 0, dy: 0, dx: 0, dw: 0, db: 0 }),
        };
        t.calls.set(key, c);
      }
      be.run(c.relu);
      runConvTranspose(be, c.conv);
      return true;
    }
    if (l.type === "relu") {
      be.run(activationCalls("relu", 0, n, C, { x: run.dy, y: run.dx[0]!, dy: 0, dx: 0 }).fwd); // relu of the signal
      return true;
    }
    if (l.type === "lrn") {
      be.run([copyCall(n, run.dy, run.dx[0]!)]);
      return true;
    }
    return false; // pooling by the switches, and the linear layers: their own backward pass
  };
}

/** Zeiler–Fergus projections of one unit of a feature-map layer, for each example. */
export function deconvnet(m: Model, x: ExampleData, options: DeconvOptions): DeconvProjection {
  checkOptionKeys("deconvnet", options, ["layer", "unit", "all"]);
  checkModel(m, "deconvnet");
  const where = `deconvnet (model "${m.name}")`;
  const node = nodeNamed(m, options.layer, where);
  const out = m.nodes[node]!.outShape;
  if (out.length !== 3) throw new ConfigError(`${where}: ${m.nodes[node]!.layer.label} outputs ${formatShape(out)}; a projection starts from a feature map [H, W, C]`);
  const unit = checkUnit(m, node, options.unit, where);
  checkBoolean(where, "all", options.all);
  checkDeconvPath(m, node, where);
  const { data, n } = m.examples(x, where);
  const obj: Objective = { node, kind: "deconv", units: unit, all: options.all ?? false, label: `${m.nodes[node]!.layer.label} unit ${unit}` };
  const { grad, values } = objectiveGradient(m, data, n, obj, m.inputShape, deconvRules);
  return { values: grad, activations: values };
}

/** A layer's channels by their strongest activation for one example, strongest first (the first `count`). */
export function strongestUnits(m: Model, x: ExampleData, layer: string, count = Infinity): { unit: number; value: number }[] {
  checkModel(m, "strongestUnits");
  const where = `strongestUnits (model "${m.name}")`;
  if (!(count === Infinity || (Number.isSafeInteger(count) && count >= 1))) throw new ConfigError(`${where}: count must be a whole number >= 1 (or Infinity), got ${show(count)}`);
  const node = nodeNamed(m, layer, where);
  const a = m.activations(x)[node]!;
  const C = a.shape[a.shape.length - 1]!, P = a.values.length / C;
  const best = Array.from({ length: C }, (_, u) => {
    let v = -Infinity;
    for (let p = 0; p < P; p++) v = Math.max(v, a.values[p * C + u]!);
    return { unit: u, value: v };
  });
  return best.sort((p, q) => q.value - p.value || p.unit - q.unit).slice(0, count);
}

// ---- image helpers (one H×W×C image) ----

/** The image shifted circularly by (dy, dx) pixels. */
function roll(x: Float32Array, [H, W, C]: Shape, dy: number, dx: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let y = 0; y < H!; y++) {
    const sy = (((y - dy) % H!) + H!) % H!;
    for (let xx = 0; xx < W!; xx++) {
      const sx = (((xx - dx) % W!) + W!) % W!;
      out.set(x.subarray((sy * W! + sx) * C!, (sy * W! + sx + 1) * C!), (y * W! + xx) * C!);
    }
  }
  return out;
}

/** A separable Gaussian blur (radius 3σ, edges repeated). */
function blur(x: Float32Array, [H, W, C]: Shape, sigma: number): Float32Array {
  const r = Math.ceil(3 * sigma);
  const k = Array.from({ length: 2 * r + 1 }, (_, i) => Math.exp(-((i - r) ** 2) / (2 * sigma * sigma)));
  const sum = k.reduce((a, b) => a + b, 0);
  const taps = k.map((v) => v / sum);
  const pass = (src: Float32Array, alongY: boolean): Float32Array => {
    const out = new Float32Array(src.length);
    for (let y = 0; y < H!; y++) for (let xx = 0; xx < W!; xx++) for (let c = 0; c < C!; c++) {
      let s = 0;
      for (let i = -r; i <= r; i++) {
        const yy = alongY ? Math.min(H! - 1, Math.max(0, y + i)) : y, xs = alongY ? xx : Math.min(W! - 1, Math.max(0, xx + i));
        s += taps[i + r]! * src[(yy * W! + xs) * C! + c]!;
      }
      out[(y * W! + xx) * C! + c] = s;
    }
    return out;
  };
  return pass(pass(x, false), true);
}

/** Bilinear resize with the wasm warp kernel. */
function resize(m: Model, x: Float32Array, [H, W, C]: Shape, OH: number, OW: number): Float32Array {
  if (H === OH && W === OW) return x.slice();
  const be = m.backend;
  return withScratchAlloc(be, (alloc) => {
    const sp = alloc(x.length * 4), dp = alloc(OH * OW * C! * 4), mp = alloc(24);
    be.heap.f32(sp, x.length).set(x);
    be.heap.f32(mp, 6).set(resizeMatrix(H!, W!, OH, OW));
    be.run([warpAffineCall(sp, H!, W!, C!, mp, 0, false, dp, OH, OW)]);
    return be.heap.f32(dp, OH * OW * C!).slice();
  });
}

/** x += step · g / mean|g| (Deep Dream's normalised step); false when g is all zeros. */
function ascend(x: Float32Array, g: Float32Array, step: number): boolean {
  let s = 0;
  for (const v of g) s += Math.abs(v);
  if (s === 0) return false;
  const f = (step * g.length) / s;
  for (let i = 0; i < x.length; i++) x[i]! += f * g[i]!;
  return true;
}

function clamp(x: Float32Array, r: [number, number] | null): void {
  if (r) for (let i = 0; i < x.length; i++) x[i] = Math.min(r[1], Math.max(r[0], x[i]!));
}

/** The objective's value at an H×W×C image x of size `shape`, and its input gradient there (H×W×C). */
function gradientAt(m: Model, l: ImageLayout, x: Float32Array, shape: Shape, obj: Objective): { grad: Float32Array; value: number } {
  const r = objectiveGradient(m, fromHWC(l, x, shape), 1, obj, modelShape(l, shape));
  return { grad: toHWC(l, r.grad, shape), value: r.values[0]! };
}

/** The input gradient of `obj` at x (H×W×C), computed on x shifted by a random jitter and shifted back. */
function jitteredGradient(m: Model, l: ImageLayout, x: Float32Array, shape: Shape, obj: Objective, jitter: number, rng: Rng): Float32Array {
  const dy = rng.int(2 * jitter + 1) - jitter, dx = rng.int(2 * jitter + 1) - jitter;
  return roll(gradientAt(m, l, roll(x, shape, dy, dx), shape, obj).grad, shape, -dy, -dx);
}

// ---- class-model images ----

export interface ClassModelOptions {
  /** Ascent steps. Default 200. */
  steps?: number;
  /** Each step moves the image by stepSize · g / mean|g|. Default 0.02. */
  stepSize?: number;
  /** After each step the image shrinks by this fraction (L2 decay, the ‖I‖² penalty). Default 0.01. */
  l2Decay?: number;
  /** Each step's gradient is taken on the image shifted by up to this many pixels (circularly). Default 1. */
  jitter?: number;
  /** Every this many steps the image is blurred (0: never). Default 4. */
  blurEvery?: number;
  /** The blur's standard deviation in pixels. Default 0.5. */
  blurSigma?: number;
  /** Pixel values are clipped to [low, high] after each step (e.g. [0, 1]). Default: not clipped. */
  range?: [number, number];
  /** The starting noise (normal, σ 0.01) and the jitter. Default 1. */
  seed?: number;
}

/** An image that maximises class k's score (Simonyan et al.'s class model), and that score. */
export function classModel(m: Model, k: number, options: ClassModelOptions = {}): { values: Float32Array; score: number } {
  checkOptionKeys("classModel", options, ["steps", "stepSize", "l2Decay", "jitter", "blurEvery", "blurSigma", "range", "seed"]);
  checkModel(m, "classModel");
  const where = `classModel (model "${m.name}")`;
  const layout = imageLayout(m, where), shape = layout.hwc;
  const o = options;
  const steps = num(o, "steps", 200, 1, where, true), step = num(o, "stepSize", 0.02, 0, where), decay = num(o, "l2Decay", 0.01, 0, where);
  const jitter = num(o, "jitter", 1, 0, where, true), blurEvery = num(o, "blurEvery", 4, 0, where, true), sigma = num(o, "blurSigma", 0.5, 0, where);
  if (decay >= 1) throw new ConfigError(`${where}: l2Decay must be below 1, got ${decay}`);
  const r = range(options.range, where);
  const node = classNode(m);
  const obj: Objective = { node, kind: "unit", units: checkUnit(m, node, k, where, "class"), label: `class ${k}` };
  const rng = new Rng(num(o, "seed", 1, 0, where, true));
  let x: Float32Array = Float32Array.from({ length: size(shape) }, () => 0.01 * rng.normal());
  clamp(x, r);
  for (let s = 0; s < steps; s++) {
    ascend(x, jitteredGradient(m, layout, x, shape, obj, jitter, rng), step);
    for (let i = 0; i < x.length; i++) x[i]! *= 1 - decay;
    if (blurEvery > 0 && sigma > 0 && (s + 1) % blurEvery === 0) x = blur(x, shape, sigma);
    clamp(x, r);
  }
  return { values: fromHWC(layout, x, shape), score: gradientAt(m, layout, x, shape, obj).value };
}

// ---- Deep Dream ----

export interface DreamOptions {
  /** The layer whose ½‖output‖² (or, with `unit`, whose channel's sum) the image is pushed to raise. */
  layer: string;
  unit?: number;
  /** The image's [H, W, C] ([C, H, W] for a model that takes C×H×W images) when it is not the model's input size (the layers up to `layer` must take it). Default: the model's. */
  shape?: [number, number, number];
  /** Scales the image is dreamt at, each octaveScale times smaller than the one before. Default 3. */
  octaves?: number;
  /** Default 1.4. */
  octaveScale?: number;
  /** Ascent steps per octave. Default 10. */
  steps?: number;
  /** Each step moves the image by stepSize · g / mean|g|. Default 0.02. */
  stepSize?: number;
  /** Random circular shift of up to this many pixels per step. Default: 1/16 of the smaller side, at least 1. */
  jitter?: number;
  /** Pixel values are clipped to [low, high] after each step. Default: not clipped. */
  range?: [number, number];
  seed?: number;
}

/** The sizes of the octaves, largest first: each the largest that the layers up to `node` take at or below its scale. */
function octaveSizes(m: Model, l: ImageLayout, node: number, [H, W, C]: [number, number, number], octaves: number, scale: number, where: string): [number, number][] {
  const first = shapeProblem(m, node, modelShape(l, [H, W, C]));
  if (first) throw new ShapeError(`${where}: ${first}`);
  const sizes: [number, number][] = [[H, W]];
  for (let i = 1; i < octaves; i++) {
    const h = Math.round(H / scale ** i);
    let found: [number, number] | null = null, why = "";
    for (let hh = Math.min(h, sizes[i - 1]![0] - 1); hh >= 1 && !found; hh--) {
      const ww = Math.max(1, Math.round((hh * W) / H));
      const p = shapeProblem(m, node, modelShape(l, [hh, ww, C]));
      if (p === null) found = [hh, ww];
      else why ||= p;
    }
    if (!found) throw new ConfigError(`${where}: octave ${i + 1} of ${octaves}: no size at or below ${h}x${Math.round(W / scale ** i)} fits the layers up to ${m.nodes[node]!.layer.label}${why ? ` (${why})` : ` (octave ${i} is ${sizes[i - 1]!.join("x")})`}; ask for fewer octaves`);
    sizes.push(found);
  }
  return sizes;
}

/** Deep Dream on an image: returns the dreamt image, of the image's shape. */
export function deepDream(m: Model, image: Float32Array, options: DreamOptions): { values: Float32Array; shape: [number, number, number]; objective: number } {
  checkOptionKeys("deepDream", options, ["layer", "unit", "shape", "octaves", "octaveScale", "steps", "stepSize", "jitter", "range", "seed"]);
  checkModel(m, "deepDream");
  const where = `deepDream (model "${m.name}")`;
  const layout = imageLayout(m, where), given = options.shape ?? modelShape(layout, layout.hwc), C = layout.hwc[2];
  const named = layout.chw ? "[C, H, W]" : "[H, W, C]";
  if (!Array.isArray(given) || given.length !== 3 || !given.every((d) => Number.isSafeInteger(d) && d >= 1) || given[layout.chw ? 0 : 2] !== C) {
    throw new ShapeError(`${where}: shape must be ${named} with the model's ${C} channels, got ${show(given)}`);
  }
  if (!(image instanceof Float32Array) || image.length !== size(given)) throw new ShapeError(`${where}: the image must be a Float32Array of ${formatShape(given)} = ${size(given)} values, got ${image instanceof Float32Array ? image.length : show(image)}`);
  // dreamt as H×W×C, given back in the model's layout
  const shape: [number, number, number] = layout.chw ? [given[1], given[2], given[0]] : [given[0], given[1], given[2]];
  const o = options;
  const octaves = num(o, "octaves", 3, 1, where, true), scale = num(o, "octaveScale", 1.4, 1, where);
  const steps = num(o, "steps", 10, 1, where, true), step = num(o, "stepSize", 0.02, 0, where);
  const jitter = num(o, "jitter", Math.max(1, Math.round(Math.min(shape[0], shape[1]) / 16)), 0, where, true);
  const r = range(options.range, where);
  const obj = resolveTarget(m, options.unit === undefined ? { layer: options.layer } : { layer: options.layer, unit: options.unit }, where);
  const rng = new Rng(num(o, "seed", 1, 0, where, true));
  const sizes = octaveSizes(m, layout, obj.node, shape, octaves, scale, where);
  const start = toHWC(layout, image, shape);
  let detail: Float32Array = new Float32Array(sizes[sizes.length - 1]![0] * sizes[sizes.length - 1]![1] * C);
  let prev = sizes[sizes.length - 1]!;
  let x: Float32Array = start.slice();
  for (let i = sizes.length - 1; i >= 0; i--) {
    const [h, w] = sizes[i]!;
    const s: Shape = [h, w, C];
    const base = resize(m, start, shape, h, w);
    detail = resize(m, detail, [prev[0], prev[1], C], h, w);
    x = base.map((v, q) => v + detail[q]!);
    for (let t = 0; t < steps; t++) {
      ascend(x, jitteredGradient(m, layout, x, s, obj, jitter, rng), step);
      clamp(x, r);
    }
    detail = x.map((v, q) => v - base[q]!);
    prev = [h, w];
  }
  return { values: fromHWC(layout, x, shape), shape: [...given], objective: gradientAt(m, layout, x, shape, obj).value };
}
