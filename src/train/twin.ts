// Gradients with respect to a model's input, at inference semantics, and the machinery behind
// them: a model's *inference twin* — the same graph with every batch norm as the per-channel
// affine it is at inference (a `scale` layer: scale = γ/√(σ² + ε), shift = β − μ·scale) and every
// dropout as the identity (rate 0), the model's weights copied in — run by training plans whose
// backward pass starts at the node looked at (Plan's lossNode) and also writes the gradient with
// respect to the input (Plan's inputGradient). A model keeps its twins and their plans until its
// weights change (the weights are copied again) or it is freed (they are freed with it).
//
// This module adds Model.inputGradient (as fit.ts adds fit); train/inspect.ts builds saliency
// maps, deconvnet projections, class-model images and Deep Dream on it.
import { ConfigError, ShapeError, show } from "../errors.js";
import { createLayer, type LayerConfig } from "../layers/index.js";
import { size, type LayerGrad } from "../layers/layer.js";
import type { BatchNorm } from "../layers/norm.js";
import { input, type SymbolicTensor } from "../layers/symbolic.js";
import { allocateGrads } from "../model/graph.js";
import { extendCompile, model as functionalModel, Model, type ExampleData } from "../model/model.js";
import { Plan } from "../model/plan.js";
import { batchNormAffine } from "../ops/norm.js";
import { formatShape, type Shape } from "../tensor.js";

/**
 * What an input gradient is the gradient of: a class score (the logit before a final softmax:
 * Simonyan et al.'s class score), or a layer's unit (the channel `unit` — the last axis — summed
 * over positions: a conv layer's feature map, a dense layer's element), or with `layer` alone
 * half the squared L2 norm of the layer's output (Deep Dream's objective).
 */
export type GradientTarget = { class: number } | { layer: string; unit?: number };

declare module "../model/model.js" {
  interface Model {
    /**
     * d(target)/d(input) for each example, at inference semantics (batch norm with its moving
     * statistics, dropout off): one input-sized gradient per example, in order. See train/twin.ts.
     */
    inputGradient(x: ExampleData, target: GradientTarget): Float32Array;
  }
}

/** A target resolved against a model: where the backward pass starts and what it starts from. */
export interface Objective {
  /** The model's node (index into model.nodes). */
  node: number;
  /**
   * "unit": the channel of units[i] (one for all examples, or one each) summed over positions;
   * "l2": ½‖output‖²; "deconv": the strongest activation of channel units[i] alone (all: every
   * position of it), the others zero (Zeiler and Fergus's projection start).
   */
  kind: "unit" | "l2" | "deconv";
  units: number | Int32Array;
  all?: boolean;
  /** `layer "C3" unit 4` for messages. */
  label: string;
}

/** A twin: the inference graph of the model (or of the nodes up to one, at another input size). */
export interface Twin {
  model: Model;
  /** The model's node index → the twin's. */
  at: Map<number, number>;
  /** The model's weightsVersion its weights were copied at. */
  version: number;
  plans: Map<string, Plan>;
  /** Memory the twin's users allocated for its plans (call geometry), freed with it. */
  blocks: number[];
  /** Calls built once per plan and node by a twin's users (the deconvnet's), keyed as they like. */
  calls: Map<string, unknown>;
}

const twins = new WeakMap<Model, Map<string, Twin>>();

extendCompile({
  keys: [],
  apply() {},
  free: releaseTwins,
});

/** Frees every twin of a model (its plans, their memory, the twin's parameters). */
export function releaseTwins(m: Model): void {
  const all = twins.get(m);
  if (!all) return;
  twins.delete(m);
  for (const t of all.values()) freeTwin(t);
}

function freeTwin(t: Twin): void {
  for (const p of t.plans.values()) p.free();
  t.plans.clear();
  for (const b of t.blocks) t.model.backend.heap.free(b);
  t.blocks.length = 0;
  t.calls.clear();
  t.model.free();
}

/** The model's nodes that `upTo` reads, itself included (all nodes for null), as flags. */
function ancestors(m: Model, upTo: number | null): boolean[] {
  const nodes = m.nodes;
  if (upTo === null) return nodes.map(() => true);
  const keep = nodes.map(() => false);
  const stack = [upTo];
  while (stack.length) {
    const j = stack.pop()!;
    if (keep[j]) continue;
    keep[j] = true;
    for (const i of nodes[j]!.inputs) if (i >= 0) stack.push(i);
  }
  return keep;
}

/** A layer's config in the twin: batch norm as its inference affine, dropout as the identity. */
function twinConfig(m: Model, j: number): LayerConfig {
  const l = m.nodes[j]!.layer;
  if (l.type === "batchNorm") return { type: "scale", name: l.name };
  if (l.type === "dropout") return { type: "dropout", name: l.name, rate: 0 };
  return l.config() as LayerConfig;
}

/**
 * The twin's symbolic graph for this input shape, without allocating anything: a ShapeError when
 * a layer cannot take the shape, or when a parameter would differ in size from the model's (a
 * dense layer after a flatten takes only the model's input size).
 */
function twinGraph(m: Model, keep: boolean[], shape: Shape, last: number): { inp: SymbolicTensor; out: SymbolicTensor } {
  const nodes = m.nodes;
  const inp = input([...shape], { name: `${m.name}_input` });
  const sym = new Map<number, SymbolicTensor>();
  nodes.forEach((n, j) => {
    if (!keep[j]) return;
    const layer = createLayer(twinConfig(m, j));
    const ins = n.inputs.map((i) => (i < 0 ? inp : sym.get(i)!));
    const out = layer.apply(...ins);
    const specs = layer.params(ins.map((t) => t.shape));
    specs.forEach((s, k) => {
      const p = n.params[k]!;
      if (size(s.shape) !== p.size) {
        throw new ShapeError(`${n.layer.label}: its ${p.spec.name}${formatShape(p.spec.shape)} fits only the model's input ${formatShape(m.inputShape)}; with input ${formatShape(shape)} it would be ${formatShape(s.shape)}`);
      }
    });
    sym.set(j, out);
  });
  return { inp, out: sym.get(last)! };
}

/** Whether layers up to `upTo` take input `shape` (with the model's parameters): null, or why not. */
export function shapeProblem(m: Model, upTo: number, shape: Shape): string | null {
  try {
    twinGraph(m, ancestors(m, upTo), shape, upTo);
    return null;
  } catch (e) {
    if (e instanceof ShapeError || e instanceof ConfigError) return e.message;
    throw e;
  }
}

/**
 * The model's twin for input `shape`: the whole graph at the model's own input shape, or the
 * nodes up to `upTo` at another (Deep Dream's octaves). Built on first use, its weights copied
 * again when the model's changed.
 */
export function twinOf(m: Model, upTo: number, shape: Shape = m.inputShape): Twin {
  m.checkLive();
  const whole = formatShape(shape) === formatShape(m.inputShape);
  const key = whole ? "whole" : `${upTo}@${formatShape(shape)}`;
  let all = twins.get(m);
  if (!all) twins.set(m, (all = new Map()));
  let t = all.get(key);
  if (!t) {
    const last = whole ? m.nodes.length - 1 : upTo;
    const keep = ancestors(m, whole ? null : upTo);
    const { inp, out } = twinGraph(m, keep, shape, last);
    const tm = functionalModel({ inputs: inp, outputs: out, name: `${m.name} (inference twin)`, seed: 1 });
    try {
      allocateGrads(tm.backend, tm.nodes); // the layers' backward passes write parameter gradients
      const byName = new Map(tm.nodes.map((n, i) => [n.layer.name, i]));
      const at = new Map<number, number>();
      keep.forEach((k, j) => { if (k) at.set(j, byName.get(m.nodes[j]!.layer.name)!); });
      t = { model: tm, at, version: -1, plans: new Map(), blocks: [], calls: new Map() };
    } catch (e) {
      tm.free();
      throw e;
    }
    all.set(key, t);
  }
  if (t.version !== m.weightsVersion) copyWeights(m, t);
  return t;
}

/** The model's weights into the twin; each batch norm's as its inference scale and shift. */
function copyWeights(m: Model, t: Twin): void {
  const h = m.backend.heap;
  for (const [j, tj] of t.at) {
    const src = m.nodes[j]!, dst = t.model.nodes[tj]!;
    if (src.layer.type === "batchNorm") {
      const C = src.outShape[src.outShape.length - 1]!;
      const [g, b, mean, variance] = src.params;
      batchNormAffine(h, C, (src.layer as BatchNorm).epsilon, g!.w, b!.w, mean!.w, variance!.w, dst.params[0]!.w, dst.params[1]!.w);
    } else {
      src.params.forEach((p, k) => h.f32(dst.params[k]!.w, p.size).set(h.f32(p.w, p.size)));
    }
  }
  t.model.weightsVersion++;
  t.version = m.weightsVersion;
}

/** The twin's training plan for `batch` examples whose backward starts at its node `node` and reaches the input. */
export function planOf(t: Twin, batch: number, node: number): Plan {
  const key = `${batch}:${node}`;
  let p = t.plans.get(key);
  if (!p) {
    const tm = t.model;
    // not fused (fuse false): a backward step of the caller's (the deconvnet's ReLU rule) runs on each layer's own dy
    p = new Plan(tm.backend, tm.nodes, tm.inputSize, batch, true, tm.rng, node, () => tm.weightsVersion, true, false, true, false);
    t.plans.set(key, p);
  }
  return p;
}

/** The node a class score is read at: the logits before a final softmax / logSoftmax, else the output. */
export function classNode(m: Model): number {
  const nodes = m.nodes, last = nodes.length - 1;
  const l = nodes[last]!;
  return (l.layer.type === "softmax" || l.layer.type === "logSoftmax") && l.inputs[0]! >= 0 ? l.inputs[0]! : last;
}

/** A layer's node by name; an unknown name is a ConfigError listing the model's layers. */
export function nodeNamed(m: Model, name: unknown, where: string): number {
  const nodes = m.nodes;
  const j = typeof name === "string" ? nodes.findIndex((n) => n.layer.name === name) : -1;
  if (j < 0) throw new ConfigError(`${where}: model "${m.name}" has no layer ${show(name)}; its layers: ${nodes.map((n) => n.layer.name).join(", ")}`);
  return j;
}

/** A unit (channel, the last axis) of node j: a whole number below its channel count. */
export function checkUnit(m: Model, j: number, unit: unknown, where: string, what = "unit"): number {
  const n = m.nodes[j]!, C = n.outShape[n.outShape.length - 1]!;
  if (!Number.isSafeInteger(unit) || (unit as number) < 0 || (unit as number) >= C) {
    const kind = n.outShape.length === 3 ? `channels (${formatShape(n.outShape)})` : `units (${formatShape(n.outShape)})`;
    throw new ConfigError(`${where}: ${unit === undefined ? `give the ${what}` : `${what} ${show(unit)} is out of range`}; ${n.layer.label} has ${C} ${kind}: 0 to ${C - 1}`);
  }
  return unit as number;
}

/** A GradientTarget checked against the model. */
export function resolveTarget(m: Model, target: GradientTarget, where: string): Objective {
  if (typeof target !== "object" || target === null) throw new ConfigError(`${where}: the target must be { class } or { layer, unit? }, got ${show(target)}`);
  const keys = Object.keys(target);
  if ("class" in target) {
    if (keys.length !== 1) throw new ConfigError(`${where}: a { class } target takes no other key, got ${show(keys)}`);
    const node = classNode(m);
    const k = checkUnit(m, node, target.class, where, "class");
    return { node, kind: "unit", units: k, label: `class ${k}` };
  }
  const bad = keys.filter((k) => k !== "layer" && k !== "unit");
  if (!("layer" in target) || bad.length) throw new ConfigError(`${where}: the target must be { class } or { layer, unit? }, got keys ${show(keys)}`);
  const node = nodeNamed(m, target.layer, where);
  if (target.unit === undefined) return { node, kind: "l2", units: 0, label: `½‖${m.nodes[node]!.layer.label}‖²` };
  const u = checkUnit(m, node, target.unit, where);
  return { node, kind: "unit", units: u, label: `${m.nodes[node]!.layer.label} unit ${u}` };
}

/**
 * Writes the seed of the backward pass (d objective / d node output) for `count` examples and
 * returns each example's objective value. a: the node's output, d: its gradient buffer.
 */
function seed(obj: Objective, shape: Shape, a: Float32Array, d: Float32Array, first: number, count: number, values: Float64Array): void {
  const per = size(shape), C = shape[shape.length - 1]!, P = per / C;
  if (obj.kind === "l2") {
    d.set(a);
    for (let i = 0; i < count; i++) {
      let s = 0;
      for (let q = 0; q < per; q++) s += a[i * per + q]! ** 2;
      values[first + i] = s / 2;
    }
    return;
  }
  d.fill(0);
  for (let i = 0; i < count; i++) {
    const u = typeof obj.units === "number" ? obj.units : obj.units[first + i]!;
    const o = i * per + u;
    if (obj.kind === "unit") {
      let s = 0;
      for (let p = 0; p < P; p++) {
        d[o + p * C] = 1;
        s += a[o + p * C]!;
      }
      values[first + i] = s;
    } else if (obj.all) {
      let best = -Infinity;
      for (let p = 0; p < P; p++) {
        d[o + p * C] = a[o + p * C]!;
        best = Math.max(best, a[o + p * C]!);
      }
      values[first + i] = best;
    } else {
      let best = 0;
      for (let p = 1; p < P; p++) if (a[o + p * C]! > a[o + best * C]!) best = p;
      d[o + best * C] = a[o + best * C]!;
      values[first + i] = a[o + best * C]!;
    }
  }
}

/**
 * The input gradient of an objective for n examples of `data` (input `shape`: the model's, or
 * another one the layers up to the objective take), in batches of at most the model's batch size.
 * `step` (per twin and plan) gives the backward pass rules of its own (Plan.backward's `step`).
 */
export function objectiveGradient(
  m: Model, data: Float32Array, n: number, obj: Objective, shape: Shape = m.inputShape,
  step?: (t: Twin, plan: Plan) => (j: number, run: LayerGrad<unknown>) => boolean,
): { grad: Float32Array; values: Float64Array } {
  const t = twinOf(m, obj.node, shape);
  const node = t.at.get(obj.node)!;
  const per = size(shape), outShape = t.model.nodes[node]!.outShape, outPer = size(outShape);
  const grad = new Float32Array(n * per), values = new Float64Array(n);
  const bs = Math.min(n, m.batchSize);
  for (let s = 0; s < n; s += bs) {
    const c = Math.min(bs, n - s);
    const plan = planOf(t, c, node);
    const h = m.backend.heap;
    h.f32(plan.inputPtr, c * per).set(data.subarray(s * per, (s + c) * per));
    plan.forward();
    seed(obj, outShape, h.f32(plan.act[node]!, c * outPer), h.f32(plan.grad[node]!, c * outPer), s, c, values);
    plan.backward(step?.(t, plan));
    grad.set(h.f32(plan.inputGradPtr, c * per), s * per);
  }
  return { grad, values };
}

Model.prototype.inputGradient = function (this: Model, x: ExampleData, target: GradientTarget): Float32Array {
  this.checkLive();
  const where = `model "${this.name}".inputGradient`;
  const obj = resolveTarget(this, target, where);
  const { data, n } = this.examples(x, where);
  return objectiveGradient(this, data, n, obj).grad;
};
