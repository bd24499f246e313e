// The training step, in one place: forward, loss, backward, regularisation, clipping, the
// optimiser's update and the accuracy count; the loss-only evaluation; and the training options
// of compile(). model/ knows none of this: this module adds it to Model (compile's extension point
// and the training methods below), and src/index.ts loads it with the library.
import { ConfigError, FoveaError, ShapeError, checkOptionKeys, show, checkModel, firstNonFinite, isArrayLike } from "../errors.js";
import { regularizeCall, scaleCall, sumSquaresCall } from "../ops/optim.js";
import { checkBatchSize, extendCompile, Model, type CompileOptions, type ExampleData } from "../model/model.js";
import { layerOf, paramLabel } from "../model/graph.js";
import type { InputMaker, Plan } from "../model/plan.js";
import { invoke, type KernelCall } from "../runtime/calls.js";
import { formatShape, permutedAxes } from "../tensor.js";
import { checkLabels, checkLoss, checkSelections, computeLoss, targetsAreLabels, targetsAreSelections, targetWidth, type LossName } from "./losses.js";
import { Optimizer, checkLr } from "./optimizers.js";
import { counted, updated, type ParamBuffer } from "../layers/layer.js";
import { Permute } from "../layers/reshape.js";

/** A loss or the model's output became NaN/Inf during training. */
export class NumericError extends FoveaError {
  override name = "NumericError";
}

export interface Regularizer {
  /** L1 coefficient (gradient l1·sign(w)). */
  l1?: number;
  /** L2 coefficient (gradient l2·w, i.e. the penalty (l2/2)·‖w‖²). */
  l2?: number;
  /** Per-layer multipliers by layer name: one for both coefficients, or separate ones (ConvNetJS's l1/l2_decay_mul). */
  layers?: Record<string, number | { l1?: number; l2?: number }>;
}

/** compile()'s training options. */
export interface TrainingOptions {
  loss?: LossName;
  optimizer?: Optimizer;
  regularizer?: Regularizer;
  /** Clip the global gradient norm to this value. */
  clipNorm?: number;
  /**
   * softmaxCrossEntropy against smoothed targets: (1 − ε) on the label plus ε / classes on every
   * class (PyTorch's CrossEntropyLoss(label_smoothing = ε)); in [0, 1), default 0. The loss
   * fit and evaluate report is this loss.
   */
  labelSmoothing?: number;
}

declare module "../model/model.js" {
  interface CompileOptions extends TrainingOptions {}
  interface Model {
    /** The loss set by compile({ loss }) (setting it is compile({ loss })), or null. */
    loss: LossName | null;
    optimizer: Optimizer | null;
    regularizer: Regularizer | null;
    clipNorm: number;
    labelSmoothing: number;
    /** Training steps taken (schedules read it; set it to resume). */
    step: number;
    /** Correct top-1 predictions in the last computeGradients batch (classification losses). */
    readonly lastCorrect: number;
    /** Checks targets against the loss and the examples; returns them typed. */
    targets(y: ArrayLike<number>, n: number, where: string): Int32Array | Float32Array;
    /**
     * Forward + loss + backward on examples [start, start + count): fills every parameter's
     * gradient (averaged over the batch) and returns the mean loss. No update.
     */
    computeGradients(data: Float32Array, y: Int32Array | Float32Array, start: number, count: number): number;
    /** Regularisation, clipping and one optimiser step, on gradients already computed. */
    applyGradients(lr?: number): void;
    /**
     * One training step on a batch; returns the mean loss before the update. The same values as
     * computeGradients + applyGradients, but (without clipNorm, in a plan run in slices) the
     * update runs in the dispatch that sums the threads' gradients, not through applyGradients.
     */
    trainOnBatch(x: ExampleData, y: ArrayLike<number>, options?: { lr?: number }): number;
    /** Mean loss and accuracy (classification losses) over all examples, in inference mode. */
    evaluate(x: ExampleData, y: ArrayLike<number>, options?: { batchSize?: number }): { loss: number; accuracy: number | null };
    /**
     * Runs `fn` with the optimiser's moving averages of the weights and of batch norm's moving
     * statistics in their place (an optimiser given `ema`, e.g. sgd({ lr, momentum: 0.9, ema: 0.99 })) and returns what it
     * returns; the weights are back, bit for bit, when it returns or throws. Before the first
     * step the weights are their own averages. fn runs synchronously (a promise returned is a
     * ConfigError); training inside it is an error.
     */
    withAveragedWeights<T>(fn: () => T): T;
  }
}

/** A model's training state: what compile() set, the step count, the staged targets. */
class Training {
  loss: LossName | null = null;
  optimizer: Optimizer | null = null;
  regularizer: Regularizer | null = null;
  clipNorm = 0;
  labelSmoothing = 0;
  step = 0;
  lastCorrect = 0;
  labelsPtr = 0;
  labelsBytes = 0;
  /** The trainable parameters frozen when the gradients were last computed: the plan's backward gave them none. */
  frozenAtGradients: ParamBuffer[] = [];
}

const states = new WeakMap<Model, Training>();
/** The model each optimiser keeps state for: one optimiser, one model (it is keyed by their parameters). */
const owners = new WeakMap<Optimizer, Model>();
function training(m: Model): Training {
  m.checkLive();
  let t = states.get(m);
  if (!t) states.set(m, (t = new Training()));
  return t;
}

extendCompile({
  keys: ["loss", "optimizer", "regularizer", "clipNorm", "labelSmoothing"],
  apply(m, o: CompileOptions) {
    const t = training(m);
    if (o.optimizer !== undefined && o.optimizer !== t.optimizer && averaged.has(m)) throw new ConfigError(`model "${m.name}".compile: another optimizer inside withAveragedWeights (the weights in place are its optimiser's averages until it returns)`);
    // checked before anything changes: smoothing belongs to softmaxCrossEntropy
    const ls = o.labelSmoothing ?? t.labelSmoothing, loss = o.loss !== undefined ? checkLoss(o.loss) : t.loss;
    if (!(typeof ls === "number" && ls >= 0 && ls < 1)) throw new ConfigError(`compile: labelSmoothing must be a number in [0, 1), got ${show(ls)}`);
    if (ls > 0 && loss !== "softmaxCrossEntropy") {
      throw new ConfigError(`compile: labelSmoothing ${ls} smooths softmaxCrossEntropy's targets; the loss is ${show(loss)}${o.labelSmoothing === undefined ? " (compile({ labelSmoothing: 0 }) to change the loss)" : ""}`);
    }
    if (o.loss !== undefined) t.loss = loss;
    if (o.optimizer !== undefined) {
      if (!(o.optimizer instanceof Optimizer)) throw new ConfigError("compile: optimizer must be one of fovea.train's optimizers (sgd(), adam(), ...)");
      const owner = owners.get(o.optimizer);
      if (owner && owner !== m) {
        throw new ConfigError(`model "${m.name}".compile: this ${o.optimizer.name} optimizer belongs to model "${owner.name}" (it keeps that model's state); give each model its own, e.g. fovea.train.${o.optimizer.name}()`);
      }
      if (t.optimizer && t.optimizer !== o.optimizer) releaseOptimizer(t.optimizer);
      owners.set(o.optimizer, m);
      t.optimizer = o.optimizer;
    }
    if (o.regularizer !== undefined) t.regularizer = checkRegularizer(o.regularizer, m);
    if (o.clipNorm !== undefined) {
      if (!(typeof o.clipNorm === "number" && o.clipNorm > 0 && o.clipNorm < Infinity)) throw new ConfigError(`compile: clipNorm must be a finite number > 0, got ${show(o.clipNorm)}`);
      t.clipNorm = o.clipNorm;
    }
    t.labelSmoothing = ls;
  },
  lossNode: lossNodeOf,
  tie(m, groups) {
    const t = states.get(m);
    if (!t) return;
    if (averaged.has(m)) throw new ConfigError(`model "${m.name}".tie: inside withAveragedWeights (the weights in place are its optimiser's averages until it returns)`);
    const trained = t.optimizer ? groups.flat().find((p) => t.optimizer!.holds(p)) : undefined;
    if (trained) throw new ConfigError(`model "${m.name}".tie: ${paramLabel(m.nodes, trained)} has been trained (its optimiser keeps state for it, which each copy would keep apart): tie before training, or compile({ optimizer }) with a new optimiser first`);
    if (t.regularizer) checkTiedDecay(t.regularizer, m, groups, `model "${m.name}".tie`);
  },
  free(m) {
    const t = states.get(m);
    if (!t) return;
    if (t.labelsPtr) m.backend.heap.free(t.labelsPtr);
    if (t.optimizer) releaseOptimizer(t.optimizer);
    states.delete(m);
  },
});

/** An optimiser leaves its model (replaced, or the model freed): its state is returned, and it may start over on another. */
function releaseOptimizer(o: Optimizer): void {
  o.free();
  o.iterations = 0;
  owners.delete(o);
}

// the training state as model properties; setting one goes through the same checks as compile()
for (const k of ["loss", "optimizer", "regularizer", "clipNorm", "labelSmoothing"] as const) {
  Object.defineProperty(Model.prototype, k, {
    get(this: Model) { return training(this)[k]; },
    set(this: Model, v: unknown) { this.compile({ [k]: v }); },
    configurable: true,
  });
}
Object.defineProperty(Model.prototype, "step", {
  get(this: Model) { return training(this).step; },
  set(this: Model, v: unknown) {
    if (!Number.isInteger(v) || (v as number) < 0) throw new ConfigError(`model "${this.name}": step must be a whole number >= 0, got ${String(v)}`);
    training(this).step = v as number;
  },
  configurable: true,
});
Object.defineProperty(Model.prototype, "lastCorrect", { get(this: Model) { return training(this).lastCorrect; }, configurable: true });

/**
 * What the loss reads: the logits before a final softmax for softmaxCrossEntropy, and before a
 * sigmoid for sigmoidCrossEntropy (the losses take logits: PyTorch's BCELoss on a Sigmoid head went
 * through the sigmoid twice, 11% off from the first step) — also past layers that only move the
 * sigmoid's values after it (an imported segmentation head's NCHW permute, a flatten): then `order`
 * gives each output value's place in the logits, where the targets are put (stageTargets).
 */
interface LossView { node: number; order: Int32Array | null }

const LAYOUT_ONLY = new Set(["permute", "reshape", "flatten"]);

const lossViews = new WeakMap<Model, { loss: LossName | null; view: LossView }>();

/** The model's LossView for its loss (kept while the loss stays: the layers do not change). */
function lossViewOf(m: Model): LossView {
  const loss = states.get(m)?.loss ?? null, kept = lossViews.get(m);
  if (kept && kept.loss === loss) return kept.view;
  const view = findLossView(m, loss);
  lossViews.set(m, { loss, view });
  return view;
}

function findLossView(m: Model, loss: LossName | null): LossView {
  const nodes = m.nodes, last = nodes.length - 1;
  // the last nodes, each reading the one before it alone
  const prev = (j: number) => (j >= 1 && nodes[j]!.inputs.length === 1 && nodes[j]!.inputs[0] === j - 1 ? j - 1 : -1);
  if (loss === "softmaxCrossEntropy" && nodes[last]!.layer.type === "softmax" && prev(last) >= 0) return { node: last - 1, order: null };
  if (loss !== "sigmoidCrossEntropy") return { node: last, order: null };
  let j = last;
  while (LAYOUT_ONLY.has(nodes[j]!.layer.type) && prev(j) >= 0) j = prev(j);
  if (nodes[j]!.layer.type !== "sigmoid" || prev(j) < 0) return { node: last, order: null };
  // where each value of the output is among the logits: the index of every logit moved as the layers move it
  let order: Int32Array | null = null;
  for (let k = j + 1; k <= last; k++) {
    const l = nodes[k]!.layer;
    if (!(l instanceof Permute)) continue;
    const from = nodes[k]!.inShapes[0]!, idx: Int32Array = order ?? Int32Array.from({ length: from.reduce((a, b) => a * b, 1) }, (_, i) => i);
    order = permutedAxes(idx, from, l.perm, new Int32Array(idx.length));
  }
  return { node: j - 1, order };
}

function lossNodeOf(m: Model): number {
  return lossViewOf(m).node;
}

function requireLoss(m: Model, where: string): LossName {
  m.checkLive();
  const loss = states.get(m)?.loss;
  if (!loss) throw new ConfigError(`${where}: no loss; compile({ loss, optimizer }) first`);
  return loss;
}

/** Puts the targets of examples [start, start + count) where the loss kernel reads them. */
function stageTargets(m: Model, loss: LossName, y: Int32Array | Float32Array, start: number, count: number): number {
  const t = training(m), h = m.backend.heap;
  const per = targetWidth(loss, m.outputSize);
  const bytes = count * per * 4;
  if (bytes > t.labelsBytes) {
    if (t.labelsPtr) h.free(t.labelsPtr);
    t.labelsPtr = h.alloc(bytes);
    t.labelsBytes = bytes;
  }
  const src = y.subarray(start * per, (start + count) * per);
  if (y instanceof Int32Array) h.i32(t.labelsPtr, src.length).set(src);
  else {
    const dst = h.f32(t.labelsPtr, src.length), order = targetsAreLabels(loss) ? null : lossViewOf(m).order;
    // targets where the loss reads the logits of their outputs (LossView.order)
    if (order) for (let e = 0; e < count; e++) for (let i = 0; i < per; i++) dst[e * per + order[i]!] = src[e * per + i]!;
    else dst.set(src);
  }
  return t.labelsPtr;
}

/** Examples whose top output is their label. */
function countCorrect(out: Float32Array, labels: Int32Array, start: number, count: number, K: number): number {
  let correct = 0;
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let j = 1; j < K; j++) if (out[i * K + j]! > out[i * K + best]!) best = j;
    if (best === labels[start + i]) correct++;
  }
  return correct;
}

/** Names the first layer whose output went non-finite. */
function nonFinite(m: Model, plan: Plan, value: number): never {
  const where = `training step ${training(m).step + 1}: the loss is ${value}`;
  const inp = m.backend.heap.f32(plan.inputPtr, plan.batch * m.inputSize);
  if (inp.some((v) => !Number.isFinite(v))) throw new NumericError(`${where}; the input batch holds NaN or Inf`);
  for (let j = 0; j < m.nodes.length; j++) {
    const n = m.nodes[j]!;
    // a layer whose work a later one does (a batch norm the max pool after it applies) has no
    // output of its own to look at: its parameters are
    if (!plan.writes(j) && n.params.some((p) => m.backend.heap.f32(p.w, p.size).some((v) => !Number.isFinite(v)))) {
      throw new NumericError(`${where}; the first non-finite values are layer ${n.layer.label}'s parameters`);
    }
    if (plan.writes(j) && plan.activation(j).some((v) => !Number.isFinite(v))) {
      throw new NumericError(`${where}; the first non-finite output is layer ${n.layer.label} (${formatShape(n.outShape)})`);
    }
  }
  throw new NumericError(`${where}; every layer output is finite (check the targets and the loss)`);
}

/**
 * One training step on examples [start, start + count) of data / y: forward, loss, backward,
 * regularisation, clipping, the update with learning rate lr. Returns the mean loss before the
 * update and the correct top-1 predictions (classification). The caller's arrays are checked
 * first (checkStep: the range inside the examples, every target valid for the loss); `fit` and
 * `trainOnBatch`, which checked theirs once, run `runStep`.
 */
export function trainStep(m: Model, data: Float32Array, y: Int32Array | Float32Array, start: number, count: number, lr?: number, make?: InputMaker): { loss: number; correct: number } {
  checkModel(m, "trainStep");
  const where = `trainStep(model "${m.name}")`;
  if (lr !== undefined) checkLr(where, lr);
  const c = checkStep(m, where, data, y, start, count);
  needOptimizer(m, where);
  return runStep(m, c.data, c.y, 0, count, lr, make);
}

/** A step that updates needs the optimiser, checked before its forward pass moves anything (batch norm's statistics, dropout's draws). */
function needOptimizer(m: Model, where: string): void {
  if (!training(m).optimizer) throw new ConfigError(`${where}: model "${m.name}" has no optimizer; compile({ loss, optimizer }) first`);
}

/**
 * A training step on `count` examples normalises each batch norm's channels over the batch: with one
 * value per channel (features or a 1×1 map, one example) the output would be its β and the moving
 * variance would decay towards 0, so it is a ShapeError before anything runs, as PyTorch refuses it.
 */
export function checkBatchNormRows(m: Model, count: number, where: string, advice = "train with batches of 2 or more"): void {
  for (const node of m.nodes) {
    if (node.layer.type !== "batchNorm") continue;
    const s = node.outShape, perChannel = s.reduce((a, b) => a * b, 1) / s[s.length - 1]!;
    if (count * perChannel < 2) {
      throw new ShapeError(`${where}: batchNorm "${node.layer.name}" normalises each channel over the batch, and ${count} example${count === 1 ? "" : "s"} of ${formatShape(s)} give${count === 1 ? "s" : ""} it one value per channel (its output would be β, its moving variance would decay towards 0; PyTorch refuses it too): ${advice}`);
    }
  }
}

/** trainStep on targets checked already (fit, trainOnBatch). */
export function runStep(m: Model, data: Float32Array, y: Int32Array | Float32Array, start: number, count: number, lr?: number, make?: InputMaker): { loss: number; correct: number } {
  // the update runs in the dispatch that sums the slices' gradients, each thread updating the
  // ranges it just summed; clipping needs the whole gradient's norm first, so it updates after
  const g = gradients(m, data, y, start, count, make, training(m).clipNorm > 0 ? undefined : { lr });
  if (!g.updated) applyUpdate(m, lr); // (a schedule may give 0: only a caller's own lr must be > 0)
  return { loss: g.loss, correct: training(m).lastCorrect };
}

/**
 * A step's checks on a caller's arrays (computeGradients, trainStep), before anything changes:
 * the model live, data whole examples (as fit takes them), [start, start + count) a non-empty
 * range of them, as many targets as examples, and the targets of the range valid for the loss (a
 * label out of range would be read, or written by a loss kernel, outside its buffer). Only the
 * range's targets are read (a loop over a data set's batches checks each once); they are
 * returned typed, as the range's own, with the data from `start` on.
 */
function checkStep(m: Model, where: string, data: unknown, y: ArrayLike<number>, start: unknown, count: unknown): { data: Float32Array; y: Int32Array | Float32Array } {
  m.checkLive();
  const loss = requireLoss(m, where);
  const { data: typed, n } = m.examples(data as ExampleData, where);
  if (typeof start !== "number" || !Number.isInteger(start) || start < 0 || typeof count !== "number" || !Number.isInteger(count) || count < 1 || start + count > n) {
    throw new ConfigError(`${where}: examples [start, start + count) must be a non-empty range of the ${n} in data, got start ${show(start)}, count ${show(count)}`);
  }
  if (!isArrayLike(y)) throw new ConfigError(`${where}: targets must be an array of numbers or a typed array, got ${show(y)}`);
  const per = targetWidth(loss, m.outputSize);
  if (y.length !== n * per) {
    m.targets(y, n, where); // the loss's own message for the count
    throw new ShapeError(`${where}: ${y.length} target values for ${n} examples (need ${n * per})`);
  }
  checkBatchNormRows(m, count, where);
  const part = Float64Array.from({ length: count * per }, (_, i) => y[start * per + i]!);
  const inputs = m.inputSize;
  // (a message's label index counts from start)
  return { data: typed.subarray(start * inputs, (start + count) * inputs), y: m.targets(part, count, `${where}, examples from ${start}`) };
}

/**
 * Model.computeGradients; given `make`, the batch's input is what make writes (Plan.forward);
 * given `update` and a plan run in slices, the optimiser's step with `update.lr` runs in the
 * gradient sum's dispatch (Plan.backward's `then`) and is counted: `updated`.
 */
function gradients(m: Model, data: Float32Array, y: Int32Array | Float32Array, start: number, count: number, make?: InputMaker, update?: { lr?: number }): { loss: number; updated: boolean } {
  notAveraged(m);
  const loss = requireLoss(m, `model "${m.name}"`);
  const plan = m.forward(data, start, count, true, make);
  training(m).frozenAtGradients = m.params.filter((p) => p.spec.trainable && p.frozen);
  const t = stageTargets(m, loss, y, start, count);
  const node = plan.lossNode;
  const value = computeLoss(m.backend.kernels, loss, plan.act[node]!, t, count, m.outputSize, plan.grad[node]!, training(m).labelSmoothing);
  if (!Number.isFinite(value)) nonFinite(m, plan, value);
  if (targetsAreLabels(loss)) training(m).lastCorrect = countCorrect(m.backend.heap.f32(plan.outputPtr, count * m.outputSize), y as Int32Array, start, count, m.outputSize);
  if (!update || !plan.isSliced) {
    plan.backward();
    return { loss: value, updated: false };
  }
  plan.backward(undefined, (parts) => updateCalls(m, update.lr, parts));
  stepDone(m);
  return { loss: value, updated: true };
}

/** The optimiser's step as programs (applyGradients' checks first; the L1 / L2 terms in the same slices); `parts`: cut as Plan.backward's `then` asks. */
function updateCalls(m: Model, lr: number | undefined, parts?: number): readonly (readonly KernelCall[])[] {
  const t = training(m);
  if (!t.optimizer) throw new ConfigError(`model "${m.name}": no optimizer; compile({ loss, optimizer }) first`);
  notAveraged(m);
  // gradient buffers come with the first training plan: before it there is nothing to apply
  // (and the update kernels would write through a null pointer into the heap's first bytes)
  const params = m.params;
  const none = params.find((p) => updated(p) && p.g === 0);
  if (none) throw new ConfigError(`model "${m.name}": applyGradients before any computeGradients: parameter ${none.spec.name} has no gradients yet (trainOnBatch and fit compute them)`);
  const reg = t.regularizer;
  // the L1 / L2 terms go into the gradients in the optimiser's own programs, slice by slice just
  // before the update; clipping needs the norm of the regularised gradients, so it adds them first
  const decay = new Map<ParamBuffer, [number, number]>();
  if (reg) {
    for (const n of m.nodes) {
      const [l1, l2] = layerDecay(reg, n.layer.name);
      for (const p of n.params) if (updated(p) && p.spec.regularize && (l1 !== 0 || l2 !== 0)) decay.set(p, [l1, l2]);
    }
  }
  const be = m.backend;
  if (t.clipNorm > 0) {
    const trainable = params.filter(updated);
    for (const [p, [l1, l2]] of decay) be.run([regularizeCall(p.size, p.w, p.g, l1, l2)]);
    decay.clear();
    let ss = 0;
    // (a tied group's copies hold one gradient: counted once, as the one tensor it is)
    for (const p of trainable) if (counted(p)) ss += invoke(be.kernels, sumSquaresCall(p.size, p.g))!;
    const norm = Math.sqrt(ss);
    if (norm > t.clipNorm) be.runInTurn(trainable.map((p) => scaleCall(p.size, t.clipNorm / norm, p.g)));
  }
  // every parameter: the optimiser updates the trainable ones and, with ema, averages running statistics too
  return t.optimizer.programs(be, params, lr ?? t.optimizer.lr, decay, parts);
}

/** The optimiser's step with learning rate lr (checked by the caller, or a schedule's), counted. */
function applyUpdate(m: Model, lr: number | undefined): void {
  m.backend.runPrograms(updateCalls(m, lr));
  stepDone(m);
}

/** A step's update has run: counted (by the model and its optimiser), and the weights are new. */
function stepDone(m: Model): void {
  const t = training(m);
  t.optimizer!.counted();
  t.step++;
  m.weightsVersion++;
}

/**
 * Exchanges every parameter's values with the optimiser's moving average of them (`copy`: the
 * averages overwrite the values, which fit does at its end). Frozen parameters keep their values,
 * and those never averaged (constants) have none.
 */
export function swapAverages(m: Model, copy = false): void {
  const opt = training(m).optimizer, h = m.backend.heap;
  if (!opt || opt.ema === 0) return;
  for (const p of m.params) {
    const avg = opt.averageOf(p);
    if (avg === null || p.frozen) continue;
    const w = h.f32(p.w, p.size), a = h.f32(avg, p.size);
    if (copy) w.set(a);
    else {
      const values = w.slice();
      w.set(a);
      a.set(values);
    }
  }
  m.weightsVersion++;
}

function isLive(m: Model): boolean {
  try {
    m.checkLive();
    return true;
  } catch {
    return false;
  }
}

/** Models whose averaged weights are in place now (withAveragedWeights): no training step until they are back. */
const averaged = new WeakSet<Model>();

/** Training refused while the averages are in place, before anything (batch norm's statistics, the RNG) changes. */
export function notAveraged(m: Model): void {
  if (averaged.has(m)) throw new ConfigError(`model "${m.name}": a training step inside withAveragedWeights (the averages are in place of the weights until it returns)`);
}

const methods: Pick<Model, "targets" | "computeGradients" | "applyGradients" | "trainOnBatch" | "evaluate" | "withAveragedWeights"> & ThisType<Model> = {
  targets(y, n, where) {
    const loss = requireLoss(this, where);
    if (!isArrayLike(y)) throw new ConfigError(`${where}: targets must be an array of numbers or a typed array, got ${show(y)}`);
    if (targetsAreLabels(loss)) return checkLabels(y, n, this.outputSize, where);
    if (targetsAreSelections(loss)) return checkSelections(y, n, this.outputSize, where);
    if (y.length !== n * this.outputSize) {
      throw new ShapeError(`${where}: ${y.length} target values for ${n} examples of output ${formatShape(this.outputShape)} (need ${n * this.outputSize})`);
    }
    const t = y instanceof Float32Array ? y : Float32Array.from(y);
    // (before the forward pass: a NaN target would show only in the loss, after batch norm's statistics and the RNG moved)
    finiteExamples(where, "the target data", t, this.outputSize);
    return t;
  },

  computeGradients(data, y, start, count) {
    const c = checkStep(this, `model "${this.name}".computeGradients`, data, y, start, count);
    return gradients(this, c.data, c.y, 0, count).loss;
  },

  applyGradients(lr) {
    if (lr !== undefined) checkLr(`model "${this.name}".applyGradients`, lr);
    // a layer frozen when the gradients were computed got none (the plan's backward stops before it)
    const stale = training(this).frozenAtGradients.find(updated);
    if (stale) {
      const layer = this.nodes.find((n) => n.params.includes(stale))!.layer.name;
      throw new ConfigError(`model "${this.name}".applyGradients: layer "${layer}" was frozen when computeGradients ran, so it has no gradient from it; it learns now: computeGradients again first`);
    }
    applyUpdate(this, lr);
  },

  trainOnBatch(x, y, options = {}) {
    checkOptionKeys("trainOnBatch", options, ["lr"]);
    this.checkLive();
    const where = `model "${this.name}".trainOnBatch`;
    if (options.lr !== undefined) checkLr(where, options.lr);
    const { data, n } = this.examples(x, where);
    const t = this.targets(y, n, where);
    needOptimizer(this, where);
    checkBatchNormRows(this, n, where);
    return runStep(this, data, t, 0, n, options.lr).loss;
  },

  evaluate(x, y, options = {}) {
    checkOptionKeys("evaluate", options, ["batchSize"]);
    this.checkLive();
    const where = `model "${this.name}".evaluate`;
    requireLoss(this, where);
    const { data, n } = this.examples(x, where);
    const t = this.targets(y, n, where);
    const bs = checkBatchSize(where, options.batchSize ?? this.batchSize);
    finiteExamples(where, "the data", data, this.inputSize);
    return evaluateOn(this, data, n, t, bs);
  },

  withAveragedWeights(fn) {
    const where = `model "${this.name}".withAveragedWeights`, opt = training(this).optimizer;
    if (typeof fn !== "function") throw new ConfigError(`${where}: expected a function, got ${show(fn)}`);
    if (!opt || opt.ema === 0) throw new ConfigError(`${where}: the optimiser keeps no averages of the weights; compile with one given ema (e.g. fovea.train.sgd({ lr: 0.1, momentum: 0.9, ema: 0.99 }))`);
    if (averaged.has(this)) throw new ConfigError(`${where}: the averages are in place already (a call inside another)`);
    swapAverages(this);
    averaged.add(this);
    try {
      const r = fn();
      // the weights go back when fn returns: an async fn would go on after its first await with the raw weights
      if (typeof (r as { then?: unknown } | null)?.then === "function") throw new ConfigError(`${where}: fn returned a promise; it must do its work before it returns (the weights are back when it does)`);
      return r;
    } finally {
      averaged.delete(this);
      // a model freed inside fn has no weights to put back
      if (isLive(this)) swapAverages(this);
    }
  },
};
Object.assign(Model.prototype, methods);

/** Model.evaluate on examples and targets checked already (fit's validation, every epoch). */
export function evaluateOn(m: Model, data: Float32Array, n: number, t: Int32Array | Float32Array, bs: number): { loss: number; accuracy: number | null } {
  const loss = requireLoss(m, `model "${m.name}".evaluate`);
  let total = 0, correct = 0;
  const K = m.outputSize;
  for (let s = 0; s < n; s += bs) {
    const c = Math.min(bs, n - s);
    const plan = m.forward(data, s, c, false);
    const scratch = m.backend.scratch(c * K * 4);
    total += computeLoss(m.backend.kernels, loss, plan.act[lossNodeOf(m)]!, stageTargets(m, loss, t, s, c), c, K, scratch, training(m).labelSmoothing) * c;
    if (targetsAreLabels(loss)) correct += countCorrect(m.backend.heap.f32(plan.outputPtr, c * K), t as Int32Array, s, c, K);
  }
  return { loss: total / n, accuracy: targetsAreLabels(loss) ? correct / n : null };
}

/** Refuses examples holding NaN or Inf, naming the first: training on them would spoil the weights batch by batch, and a loss over them says nothing. */
export function finiteExamples(where: string, what: string, data: Float32Array, per: number): void {
  const i = firstNonFinite(data);
  if (i >= 0) throw new NumericError(`${where}: ${what} holds ${data[i]} at example ${Math.floor(i / per)} (value ${i % per} of its ${per})`);
}

function checkRegularizer(r: Regularizer, m: Model): Regularizer {
  checkOptionKeys("regularizer", r, ["l1", "l2", "layers"]);
  for (const k of ["l1", "l2"] as const) {
    if (r[k] !== undefined && !(Number.isFinite(r[k]) && r[k]! >= 0)) throw new ConfigError(`regularizer: ${k} must be >= 0, got ${r[k]}`);
  }
  if (r.layers) {
    const names = new Set(m.layers.map((l) => l.name));
    for (const [name, mul] of Object.entries(r.layers)) {
      if (!names.has(name)) throw new ConfigError(`regularizer: no layer named "${name}" in model "${m.name}"`);
      const vals = typeof mul === "number" ? [mul] : (checkOptionKeys(`regularizer "${name}"`, mul, ["l1", "l2"]), [mul.l1 ?? 1, mul.l2 ?? 1]);
      if (!vals.every((v) => Number.isFinite(v) && v >= 0)) throw new ConfigError(`regularizer: multipliers of "${name}" must be >= 0, got ${JSON.stringify(mul)}`);
    }
    checkTiedDecay(r, m, m.params.filter((p) => p.tied?.[0] === p).map((p) => p.tied!), "regularizer");
  }
  return r;
}

/** Tied copies (ParamBuffer.tied: one tensor) take one penalty: regularizer.layers' factors that differ would part them. */
function checkTiedDecay(r: Regularizer, m: Model, groups: readonly (readonly ParamBuffer[])[], where: string): void {
  for (const g of groups) {
    if (!g[0]!.spec.regularize) continue;
    const d = g.map((q) => layerDecay(r, layerOf(m.nodes, q)));
    if (d.some(([l1, l2]) => l1 !== d[0]![0] || l2 !== d[0]![1])) {
      throw new ConfigError(`${where}: ${g.map((q, i) => `${paramLabel(m.nodes, q)} would take l1 ${d[i]![0]}, l2 ${d[i]![1]}`).join(", ")}, but they are one tensor (tied: read by several layers), which takes one penalty: give their layers the same factors`);
    }
  }
}

/** The L1 and L2 factors of a layer's parameters (regularizer.layers' multipliers applied). */
function layerDecay(reg: Regularizer, layer: string): [l1: number, l2: number] {
  const mul = reg.layers?.[layer] ?? 1;
  return [(reg.l1 ?? 0) * (typeof mul === "number" ? mul : (mul.l1 ?? 1)), (reg.l2 ?? 0) * (typeof mul === "number" ? mul : (mul.l2 ?? 1))];
}
