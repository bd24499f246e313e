// Model: a graph of layers with its parameters in wasm memory, compiled into Plans per batch size.
// predict / trainOnBatch / evaluate allocate nothing once their plan exists; results come back
// as plain typed arrays. free() returns every byte; a FinalizationRegistry is only a safety net.

import { regularizeCall, scaleCall, sumSquaresCall } from "../ops/optim.js";
import { invoke } from "../runtime/calls.js";
import { BackendError, ConfigError, FoveaError, ShapeError, checkOptionKeys } from "../errors.js";
import { createLayer, type LayerConfig } from "../layers/index.js";
import { Layer, size, type ParamBuffer } from "../layers/layer.js";
import { getBackend, type Backend } from "../runtime/backend.js";
import { Rng } from "../rng.js";
import { Tensor, formatShape, type Shape } from "../tensor.js";
import { checkLabels, checkLoss, computeLoss, targetsAreLabels, type LossName } from "../train/losses.js";
import { Optimizer } from "../train/optimizers.js";
import { allocateGrads, allocateParams, buildGraph, freeParams, type GraphNode } from "./graph.js";
import { fit, type FitOptions, type History } from "../train/fit.js";
import { Plan } from "./plan.js";
import { saveModel } from "./serialize.js";
import { summaryText } from "./summary.js";
import { input as symbolicInput, SymbolicTensor } from "./symbolic.js";

/** A loss or the model's output became NaN/Inf during training. */
export class NumericError extends FoveaError {}

export interface Regularizer {
  /** L1 coefficient (gradient l1·sign(w)). */
  l1?: number;
  /** L2 coefficient (gradient l2·w, i.e. the penalty (l2/2)·‖w‖²). */
  l2?: number;
  /** Per-layer multipliers by layer name: one for both coefficients, or separate ones (ConvNetJS's l1/l2_decay_mul). */
  layers?: Record<string, number | { l1?: number; l2?: number }>;
}

export interface CompileOptions {
  /** Per-example input shape, when the model was built without one (sequential). */
  inputShape?: number[];
  /** Batch size of the default plan. Default 32. */
  batchSize?: number;
  loss?: LossName;
  optimizer?: Optimizer;
  regularizer?: Regularizer;
  /** Clip the global gradient norm to this value. */
  clipNorm?: number;
  /** Fold each batch norm into the conv/dense before it in inference plans. Default true. */
  foldBatchNorm?: boolean;
}
const COMPILE_KEYS = ["inputShape", "batchSize", "loss", "optimizer", "regularizer", "clipNorm", "foldBatchNorm"];

export type ExampleData = Float32Array | readonly number[] | Tensor;

const registry = new FinalizationRegistry<() => void>((release) => release());

export class Model {
  readonly name: string;
  readonly rng: Rng;
  private inputSym: SymbolicTensor | null;
  private outputSym: SymbolicTensor | null;
  private readonly pending: Layer[] | null;
  private nodesList: GraphNode[] | null = null;
  private be: Backend | null = null;
  private plans = new Map<string, Plan>();
  private labelsPtr = 0;
  private labelsBytes = 0;
  private freed = false;
  batchSize = 32;
  loss: LossName | null = null;
  optimizer: Optimizer | null = null;
  regularizer: Regularizer | null = null;
  clipNorm = 0;
  foldBatchNorm = true;
  /** Training steps taken. */
  step = 0;
  /** Class names, when known (saved with the model). */
  classes: string[] | null = null;
  /** Bumped whenever the weights change (training steps, setWeights), so derived weights are redone. */
  weightsVersion = 0;
  /** Correct top-1 predictions in the last computeGradients batch (classification losses). */
  lastCorrect = 0;

  /** Use fovea.model({ inputs, outputs }) or fovea.sequential([...]). */
  constructor(args: { inputs?: SymbolicTensor; outputs?: SymbolicTensor; layers?: Layer[]; name?: string; seed?: number }) {
    this.name = args.name ?? "model";
    this.rng = new Rng(args.seed ?? 1);
    this.inputSym = args.inputs ?? null;
    this.outputSym = args.outputs ?? null;
    this.pending = args.layers ?? null;
    if (this.inputSym && this.outputSym) this.build();
  }

  // ---- structure ----

  get built(): boolean {
    return this.nodesList !== null;
  }

  get nodes(): readonly GraphNode[] {
    if (!this.nodesList) throw new ConfigError(`model "${this.name}": no input shape yet; pass inputShape to sequential() or compile()`);
    return this.nodesList;
  }

  get backend(): Backend {
    if (!this.be) this.be = getBackend();
    return this.be;
  }

  get inputShape(): Shape {
    this.nodes;
    return this.inputSym!.shape;
  }

  get outputShape(): Shape {
    return this.nodes[this.nodes.length - 1]!.outShape;
  }

  get inputSize(): number {
    return size(this.inputShape);
  }

  get outputSize(): number {
    return size(this.outputShape);
  }

  get layers(): Layer[] {
    return this.nodes.map((n) => n.layer);
  }

  /** Every parameter buffer (trainable and state), in graph order. */
  get params(): ParamBuffer[] {
    return this.nodes.flatMap((n) => n.params);
  }

  /** Number of trainable parameters (batch-norm moving statistics are not counted). */
  countParams(trainableOnly = true): number {
    return this.params.filter((p) => !trainableOnly || p.spec.trainable).reduce((a, p) => a + p.size, 0);
  }

  /** For a sequential model: connects its layers on an input of this shape. */
  private buildSequential(shape: number[]): void {
    const inp = symbolicInput(shape, { name: `${this.name}_input` });
    let x = inp;
    for (const l of this.pending!) x = l.apply(x);
    this.inputSym = inp;
    this.outputSym = x;
    this.build();
  }

  private build(): void {
    const nodes = buildGraph(this.inputSym!, this.outputSym!);
    allocateParams(this.backend, nodes, this.rng);
    this.nodesList = nodes;
    const be = this.backend;
    registry.register(this, () => freeParams(be, nodes), this);
  }

  // ---- compile and plans ----

  /**
   * Fixes the input shape (sequential models), the default batch size, and the training setup
   * (loss, optimizer, regularizer, gradient clipping), and builds the default plan.
   */
  compile(options: CompileOptions = {}): this {
    checkOptionKeys(`model "${this.name}".compile`, options, COMPILE_KEYS);
    this.checkLive();
    if (options.inputShape) {
      if (!this.built) {
        if (!this.pending) throw new ConfigError(`model "${this.name}": a functional model takes its input shape from fovea.input()`);
        this.buildSequential(options.inputShape);
      } else if (formatShape(options.inputShape) !== formatShape(this.inputShape)) {
        throw new ShapeError(`model "${this.name}": built for input ${formatShape(this.inputShape)}, compile asked for ${formatShape(options.inputShape)}`);
      }
    }
    this.nodes;
    if (options.batchSize !== undefined) {
      if (!Number.isInteger(options.batchSize) || options.batchSize < 1) throw new ConfigError(`compile: batchSize must be a whole number >= 1, got ${options.batchSize}`);
      this.batchSize = options.batchSize;
    }
    if (options.loss !== undefined) this.loss = checkLoss(options.loss);
    if (options.optimizer !== undefined) {
      if (!(options.optimizer instanceof Optimizer)) throw new ConfigError("compile: optimizer must be one of fovea.train's optimizers (sgd(), adam(), ...)");
      this.optimizer = options.optimizer;
    }
    if (options.regularizer !== undefined) this.regularizer = checkRegularizer(options.regularizer, this);
    if (options.foldBatchNorm !== undefined && options.foldBatchNorm !== this.foldBatchNorm) {
      this.foldBatchNorm = options.foldBatchNorm;
      this.dropPlans();
    }
    if (options.clipNorm !== undefined) {
      if (!(options.clipNorm > 0)) throw new ConfigError(`compile: clipNorm must be > 0, got ${options.clipNorm}`);
      this.clipNorm = options.clipNorm;
    }
    this.plan(this.batchSize, false);
    return this;
  }

  /** The plan for this batch size and mode, built on first use and kept. */
  plan(batch: number, training: boolean): Plan {
    this.checkLive();
    const key = `${batch}:${training ? "t" : "i"}`;
    let p = this.plans.get(key);
    if (!p) {
      const nodes = this.nodes;
      if (training) allocateGrads(this.backend, nodes);
      const fused = training && this.fusedSoftmax();
      p = new Plan(this.backend, nodes, this.inputSize, batch, training, this.rng, fused ? nodes.length - 2 : nodes.length - 1, () => this.weightsVersion, this.foldBatchNorm);
      this.plans.set(key, p);
    }
    return p;
  }

  /** softmaxCrossEntropy on a model ending in softmax: the loss reads the logits before it. */
  private fusedSoftmax(): boolean {
    const nodes = this.nodes;
    return this.loss === "softmaxCrossEntropy" && nodes.length >= 2 && nodes[nodes.length - 1]!.layer.type === "softmax" &&
      nodes[nodes.length - 1]!.inputs[0] === nodes.length - 2;
  }

  /** Bytes of the activation/gradient buffers of every plan built so far. */
  planBytes(): number {
    let b = 0;
    for (const p of this.plans.values()) b += p.bufferBytes;
    return b;
  }

  // ---- data ----

  /** Examples as one flat Float32Array and their count. */
  private examples(x: ExampleData, where: string): { data: Float32Array; n: number } {
    const per = this.inputSize;
    let data: Float32Array;
    if (x instanceof Tensor) {
      if (x.rank !== this.inputShape.length + 1 || formatShape(x.shape.slice(1)) !== formatShape(this.inputShape)) {
        throw new ShapeError(`${where}: input tensor ${formatShape(x.shape)} does not match [N, ${this.inputShape.join(", ")}]`);
      }
      data = x.toArray();
    } else data = x instanceof Float32Array ? x : Float32Array.from(x);
    if (data.length % per !== 0 || data.length === 0) {
      throw new ShapeError(`${where}: ${data.length} values are not a whole number of ${formatShape(this.inputShape)} examples (${per} values each)`);
    }
    return { data, n: data.length / per };
  }

  private runForward(data: Float32Array, start: number, count: number, training: boolean): Plan {
    const plan = this.plan(count, training);
    this.backend.heap.f32(plan.inputPtr, count * this.inputSize).set(data.subarray(start * this.inputSize, (start + count) * this.inputSize));
    plan.forward();
    return plan;
  }

  /** Outputs for every example, in batches of `batchSize` (default: the compiled batch size). */
  predict(x: ExampleData, options: { batchSize?: number } = {}): Float32Array {
    checkOptionKeys("predict", options, ["batchSize"]);
    this.checkLive();
    const { data, n } = this.examples(x, `model "${this.name}".predict`);
    const bs = options.batchSize ?? this.batchSize;
    const out = new Float32Array(n * this.outputSize);
    for (let s = 0; s < n; s += bs) {
      const c = Math.min(bs, n - s);
      const plan = this.runForward(data, s, c, false);
      out.set(this.backend.heap.f32(plan.outputPtr, c * this.outputSize), s * this.outputSize);
    }
    return out;
  }

  /**
   * Every layer's output for one example (a plan that keeps them all, built for this call and
   * freed after): [{ layer, type, shape, values }] in graph order.
   */
  activations(x: ExampleData): { layer: string; type: string; shape: number[]; values: Float32Array }[] {
    this.checkLive();
    const { data, n } = this.examples(x, `model "${this.name}".activations`);
    if (n !== 1) throw new ShapeError(`model "${this.name}".activations: one example, got ${n}`);
    const plan = new Plan(this.backend, this.nodes, this.inputSize, 1, false, this.rng, this.nodes.length - 1, () => this.weightsVersion, false, true);
    try {
      this.backend.heap.f32(plan.inputPtr, this.inputSize).set(data);
      plan.forward();
      return this.nodes.map((nd, j) => ({ layer: nd.layer.name, type: nd.layer.type, shape: [...nd.outShape], values: plan.activation(j).slice() }));
    } finally {
      plan.free();
    }
  }

  /** Top class index per example. */
  predictClasses(x: ExampleData, options: { batchSize?: number } = {}): Int32Array {
    const p = this.predict(x, options), k = this.outputSize;
    const out = new Int32Array(p.length / k);
    for (let i = 0; i < out.length; i++) {
      let best = 0;
      for (let j = 1; j < k; j++) if (p[i * k + j]! > p[i * k + best]!) best = j;
      out[i] = best;
    }
    return out;
  }

  /** Puts the targets of examples [start, start + count) where the loss kernel reads them. */
  private stageTargets(loss: LossName, y: Int32Array | Float32Array, start: number, count: number): number {
    const per = targetsAreLabels(loss) ? 1 : this.outputSize;
    const bytes = count * per * 4;
    if (bytes > this.labelsBytes) {
      if (this.labelsPtr) this.backend.heap.free(this.labelsPtr);
      this.labelsPtr = this.backend.heap.alloc(bytes);
      this.labelsBytes = bytes;
    }
    const src = y.subarray(start * per, (start + count) * per);
    if (y instanceof Int32Array) this.backend.heap.i32(this.labelsPtr, src.length).set(src);
    else this.backend.heap.f32(this.labelsPtr, src.length).set(src);
    return this.labelsPtr;
  }

  /** Checks targets against the loss and the examples; returns them typed. */
  targets(y: ArrayLike<number>, n: number, where: string): Int32Array | Float32Array {
    const loss = this.requireLoss(where);
    if (targetsAreLabels(loss)) return checkLabels(y, n, this.outputSize, where);
    if (y.length !== n * this.outputSize) {
      throw new ShapeError(`${where}: ${y.length} target values for ${n} examples of output ${formatShape(this.outputShape)} (need ${n * this.outputSize})`);
    }
    return y instanceof Float32Array ? y : Float32Array.from(y);
  }

  private requireLoss(where: string): LossName {
    if (!this.loss) throw new ConfigError(`${where}: no loss; compile({ loss, optimizer }) first`);
    return this.loss;
  }

  /**
   * Forward + loss + backward on examples [start, start + count): fills every parameter's
   * gradient (averaged over the batch) and returns the mean loss. No update.
   */
  computeGradients(data: Float32Array, y: Int32Array | Float32Array, start: number, count: number): number {
    const loss = this.requireLoss(`model "${this.name}"`);
    const plan = this.runForward(data, start, count, true);
    const t = this.stageTargets(loss, y, start, count);
    const lossNode = this.fusedSoftmax() ? this.nodes.length - 2 : this.nodes.length - 1;
    const value = computeLoss(this.backend.kernels, loss, plan.act[lossNode]!, t, count, this.outputSize, plan.grad[lossNode]!);
    if (!Number.isFinite(value)) this.nonFinite(plan, value);
    if (targetsAreLabels(loss)) this.lastCorrect = countCorrect(this.backend.heap.f32(plan.outputPtr, count * this.outputSize), y as Int32Array, start, count, this.outputSize);
    plan.backward();
    return value;
  }

  /** Names the first layer whose output went non-finite. */
  private nonFinite(plan: Plan, value: number): never {
    const where = `training step ${this.step + 1}: the loss is ${value}`;
    const inp = this.backend.heap.f32(plan.inputPtr, plan.batch * this.inputSize);
    if (inp.some((v) => !Number.isFinite(v))) throw new NumericError(`${where}; the input batch holds NaN or Inf`);
    for (let j = 0; j < this.nodes.length; j++) {
      if (plan.activation(j).some((v) => !Number.isFinite(v))) {
        const n = this.nodes[j]!;
        throw new NumericError(`${where}; the first non-finite output is layer ${n.layer.label} (${formatShape(n.outShape)})`);
      }
    }
    throw new NumericError(`${where}; every layer output is finite (check the targets and the loss)`);
  }

  /** Regularisation, clipping and one optimiser step, on gradients already computed. */
  applyGradients(lr?: number): void {
    const be = this.backend;
    if (!this.optimizer) throw new ConfigError(`model "${this.name}": no optimizer; compile({ loss, optimizer }) first`);
    const reg = this.regularizer;
    if (reg) {
      for (const n of this.nodes) {
        const mul = reg.layers?.[n.layer.name] ?? 1;
        const l1 = (reg.l1 ?? 0) * (typeof mul === "number" ? mul : (mul.l1 ?? 1));
        const l2 = (reg.l2 ?? 0) * (typeof mul === "number" ? mul : (mul.l2 ?? 1));
        for (const p of n.params) {
          if (p.spec.trainable && p.spec.regularize && (l1 !== 0 || l2 !== 0)) be.run([regularizeCall(p.size, p.w, p.g, l1, l2)]);
        }
      }
    }
    const trainable = this.params.filter((p) => p.spec.trainable);
    if (this.clipNorm > 0) {
      let ss = 0;
      for (const p of trainable) ss += invoke(be.kernels, sumSquaresCall(p.size, p.g))!;
      const norm = Math.sqrt(ss);
      if (norm > this.clipNorm) be.runInTurn(trainable.map((p) => scaleCall(p.size, this.clipNorm / norm, p.g)));
    }
    this.optimizer.step(be, trainable, lr ?? this.optimizer.lr);
    this.step++;
    this.weightsVersion++;
  }

  /** One training step on a batch; returns the mean loss before the update. */
  trainOnBatch(x: ExampleData, y: ArrayLike<number>, options: { lr?: number } = {}): number {
    checkOptionKeys("trainOnBatch", options, ["lr"]);
    this.checkLive();
    const where = `model "${this.name}".trainOnBatch`;
    const { data, n } = this.examples(x, where);
    const value = this.computeGradients(data, this.targets(y, n, where), 0, n);
    this.applyGradients(options.lr);
    return value;
  }

  /** Mean loss and accuracy (classification losses) over all examples, in inference mode. */
  evaluate(x: ExampleData, y: ArrayLike<number>, options: { batchSize?: number } = {}): { loss: number; accuracy: number | null } {
    checkOptionKeys("evaluate", options, ["batchSize"]);
    this.checkLive();
    const where = `model "${this.name}".evaluate`;
    const loss = this.requireLoss(where);
    const { data, n } = this.examples(x, where);
    const t = this.targets(y, n, where);
    const bs = options.batchSize ?? this.batchSize;
    const fused = this.fusedSoftmax();
    let total = 0, correct = 0;
    const K = this.outputSize;
    for (let s = 0; s < n; s += bs) {
      const c = Math.min(bs, n - s);
      const plan = this.runForward(data, s, c, false);
      const node = fused ? this.nodes.length - 2 : this.nodes.length - 1;
      const scratch = this.backend.scratch(c * K * 4);
      total += computeLoss(this.backend.kernels, loss, plan.act[node]!, this.stageTargets(loss, t, s, c), c, K, scratch) * c;
      if (targetsAreLabels(loss)) correct += countCorrect(this.backend.heap.f32(plan.outputPtr, c * K), t as Int32Array, s, c, K);
    }
    return { loss: total / n, accuracy: targetsAreLabels(loss) ? correct / n : null };
  }

  /** Trains for some epochs (see train/fit.ts); returns the per-epoch logs. */
  fit(x: ExampleData, y: ArrayLike<number>, options: FitOptions = {}): History {
    return fit(this, x, y, options);
  }

  /** Layers, output shapes, parameter counts, FLOPs and activation memory, as text. */
  summary(): string {
    return summaryText(this);
  }

  /** Values of every parameter, in graph order (copies). */
  getWeights(): { layer: string; name: string; shape: number[]; values: Float32Array }[] {
    return this.nodes.flatMap((n) => n.params.map((p) => ({ layer: n.layer.name, name: p.spec.name, shape: [...p.spec.shape], values: this.backend.heap.f32(p.w, p.size).slice() })));
  }

  /** Sets parameters by layer and name; every value must be finite and the sizes must match. */
  setWeights(weights: { layer: string; name: string; values: ArrayLike<number> }[]): void {
    this.checkLive();
    const found = weights.map((w) => {
      const n = this.nodes.find((q) => q.layer.name === w.layer);
      const p = n?.params.find((q) => q.spec.name === w.name);
      if (!p) throw new ConfigError(`setWeights: model "${this.name}" has no parameter ${w.layer}.${w.name}`);
      if (w.values.length !== p.size) throw new ShapeError(`setWeights: ${w.layer}.${w.name}${formatShape(p.spec.shape)} holds ${p.size} values, got ${w.values.length}`);
      for (let i = 0; i < w.values.length; i++) if (!Number.isFinite(w.values[i])) throw new ConfigError(`setWeights: ${w.layer}.${w.name}[${i}] is ${w.values[i]}`);
      return p;
    });
    found.forEach((p, i) => this.backend.heap.f32(p.w, p.size).set(weights[i]!.values));
    this.weightsVersion++;
  }

  /** The model as bytes of the native format (topology + weights); see loadModel. */
  save(): Uint8Array<ArrayBuffer> {
    this.checkLive();
    return saveModel(this);
  }

  /** Returns all wasm memory of this model (parameters, plans, optimiser state). */
  free(): void {
    if (this.freed) return;
    for (const p of this.plans.values()) p.free();
    this.plans.clear();
    if (this.nodesList) {
      registry.unregister(this);
      freeParams(this.backend, this.nodesList);
    }
    if (this.labelsPtr) this.backend.heap.free(this.labelsPtr);
    this.optimizer?.free();
    this.freed = true;
  }

  private checkLive(): void {
    if (this.freed) throw new BackendError(`model "${this.name}" was freed`);
  }

  /** Drops every plan (after a weight layout change, or to return memory); they rebuild on use. */
  dropPlans(): void {
    for (const p of this.plans.values()) p.free();
    this.plans.clear();
  }
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
  }
  return r;
}

/** A model whose layers run one after another. */
export function sequential(layers: (Layer | LayerConfig)[], options: { inputShape?: number[]; name?: string; seed?: number } = {}): Model {
  checkOptionKeys("sequential", options, ["inputShape", "name", "seed"]);
  if (!Array.isArray(layers) || layers.length === 0) throw new ConfigError("sequential: needs at least one layer");
  const built = layers.map((l) => (l instanceof Layer ? l : createLayer(l)));
  const m = new Model({ layers: built, name: options.name, seed: options.seed });
  if (options.inputShape) m.compile({ inputShape: options.inputShape });
  return m;
}

/** A model from the functional API: fovea.model({ inputs: fovea.input([...]), outputs: y }). */
export function model(args: { inputs: SymbolicTensor; outputs: SymbolicTensor; name?: string; seed?: number }): Model {
  checkOptionKeys("model", args, ["inputs", "outputs", "name", "seed"]);
  if (!(args.inputs instanceof SymbolicTensor) || !(args.outputs instanceof SymbolicTensor)) {
    throw new ConfigError("model: inputs and outputs must be symbolic tensors (fovea.input([...]) and layer.apply(...))");
  }
  return new Model(args);
}
