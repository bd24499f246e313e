// Model: a graph of layers with its parameters in wasm memory, compiled into Plans per batch size.
// predict allocates nothing once its plan exists; results come back as plain typed arrays. free()
// returns every byte; a FinalizationRegistry is only a safety net. Training (loss, optimiser, the
// step, fit, evaluate) is train/'s: it extends compile() and Model through the extension point below.

import { BackendError, ConfigError, ShapeError, checkOptionKeys, show, checkBoolean, checkName, firstNonFinite, isArrayLike, isRecord as isPlainObject } from "../errors.js";
import { createLayer, type LayerConfig } from "../layers/index.js";
import { Layer, counted, size, updated, type ParamBuffer } from "../layers/layer.js";
import { getBackend, type Backend } from "../runtime/backend.js";
import { Rng } from "../rng.js";
import { Tensor, formatShape, type Shape } from "../tensor.js";
import { allocateGrads, allocateParams, buildGraph, freeParams, layerOf, paramAt, paramLabel, type GraphNode, type Preset } from "./graph.js";
import { Plan, type InputMaker } from "./plan.js";
import { saveModel } from "./save.js";
import { summaryText } from "./summary.js";
import { input as symbolicInput, SymbolicTensor } from "../layers/symbolic.js";
import { isRecord, packInputs, unpackOutputs, type NamedIO } from "./named.js";

export interface CompileOptions {
  /** Per-example input shape, when the model was built without one (sequential). */
  inputShape?: number[];
  /** Batch size of the default plan. Default 32. */
  batchSize?: number;
  /** Fold each batch norm into the conv/dense before it in inference plans. Default true. */
  foldBatchNorm?: boolean;
  /**
   * Run a residual add, a ReLU/ReLU6 and a max pool that follow a conv in the conv's own kernel
   * (inference plans; the outputs are bit-identical); in training, a ReLU's backward in the max
   * pool's after it (bit-identical) and a conv's gradients from the 2×2 max pool's after its ReLU
   * (the same sums in another order: equal within float32 rounding). Default true.
   */
  fuse?: boolean;
}
const COMPILE_KEYS = ["inputShape", "batchSize", "foldBatchNorm", "fuse"];
/** warm(): passes on zeros until this many ms have gone by (at least one, at most WARM_PASSES). */
const WARM_MS = 100;
const WARM_PASSES = 100;

/**
 * How another part of fovea extends a model (train/ adds the training options and state): more
 * compile() options, where backward passes start, and memory to return in free().
 */
export interface ModelExtension {
  /** compile() options it takes. */
  keys: readonly string[];
  /** Applies them (after the model's own options). */
  apply(m: Model, options: CompileOptions): void;
  /** The node a training plan's backward pass starts at (default: the last). */
  lossNode?(m: Model): number;
  free?(m: Model): void;
  /** Checks a tie (Model.tie) of these groups before it is made: throws where it would part the copies. */
  tie?(m: Model, groups: readonly (readonly ParamBuffer[])[]): void;
}
const extensions: ModelExtension[] = [];

export function extendCompile(e: ModelExtension): void {
  extensions.push(e);
}

export type ExampleData = Float32Array | readonly number[] | Tensor;

const registry = new FinalizationRegistry<() => void>((release) => release());

/** A batch size (where: the call, for the message): a whole number >= 1. */
export function checkBatchSize(where: string, bs: unknown): number {
  if (!(Number.isSafeInteger(bs) && (bs as number) >= 1)) throw new ConfigError(`${where}: batchSize must be a whole number >= 1, got ${show(bs)}`);
  return bs as number;
}

export class Model {
  readonly name: string;
  readonly rng: Rng;
  private inputSym: SymbolicTensor | null;
  private outputSym: SymbolicTensor | null;
  private readonly pending: Layer[] | null;
  /** Parameters a loader sets right after construction (see the constructor); used once, by build. */
  private preset: Preset | undefined;
  private nodesList: GraphNode[] | null = null;
  private be: Backend | null = null;
  private plans = new Map<string, Plan>();
  private freed = false;
  batchSize = 32;
  foldBatchNorm = true;
  fuse = true;
  private classNames: string[] | null = null;
  /** Bumped whenever the weights change (training steps, setWeights), so derived weights are redone. */
  weightsVersion = 0;
  /**
   * Named inputs and outputs (importOnnx sets them): each example holds the inputs' values one
   * after another, the output the outputs'; predict takes and returns records keyed by these names
   * (and plain arrays too where there is one input and one output).
   */
  io: NamedIO | null = null;

  /**
   * Use fovea.model({ inputs, outputs }) or fovea.sequential([...]). layers with inputShape: a
   * sequential model, built (no plan yet: compile, warm or the first predict makes one).
   * `preset` (loaders): the parameters the caller sets right after construction; they start as
   * zeros instead of being drawn from the seed's generator, which they would only overwrite.
   */
  constructor(args: { inputs?: SymbolicTensor; outputs?: SymbolicTensor; layers?: Layer[]; inputShape?: number[]; name?: string; seed?: number; preset?: (layer: string, param: string) => boolean }) {
    if (!isPlainObject(args)) throw new ConfigError(`model: expected { inputs, outputs } (fovea.model) or { layers, inputShape } (fovea.sequential), got ${show(args)}`);
    // a functional model (fovea.model, the importers) needs both ends
    if (!args.layers && !(args.inputs instanceof SymbolicTensor && args.outputs instanceof SymbolicTensor)) {
      throw new ConfigError("model: inputs and outputs must be symbolic tensors (fovea.input([...]) and layer.apply(...))");
    }
    checkName("model", args.name);
    this.name = args.name ?? "model";
    this.rng = new Rng(args.seed ?? 1);
    this.inputSym = args.inputs ?? null;
    this.outputSym = args.outputs ?? null;
    this.pending = args.layers ?? null;
    this.preset = args.preset;
    if (this.inputSym && this.outputSym) this.build();
    else if (this.pending && args.inputShape) {
      try {
        this.buildSequential(args.inputShape);
      } catch (e) {
        this.free(); // the caller never sees this model: nothing of it may stay in memory
        throw e;
      }
    }
  }

  // ---- structure ----

  get built(): boolean {
    return this.nodesList !== null;
  }

  get nodes(): readonly GraphNode[] {
    this.checkLive(); // everything that reads the graph's memory comes through here
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

  /** Class names, one per output, when known (saved with the model); null when not. */
  get classes(): string[] | null {
    return this.classNames;
  }
  set classes(v: readonly string[] | null) {
    if (v !== null && !(Array.isArray(v) && v.every((c) => typeof c === "string") && v.length === this.outputSize)) {
      throw new ConfigError(`model "${this.name}": classes must be null or a list of ${this.outputSize} names, one per output, got ${show(v)}${Array.isArray(v) ? ` (${v.length} entries)` : ""}`);
    }
    this.classNames = v === null ? null : [...v];
  }

  get layers(): Layer[] {
    return this.nodes.map((n) => n.layer);
  }

  /** Every parameter buffer (trainable and state), in graph order. */
  get params(): ParamBuffer[] {
    return this.nodes.flatMap((n) => n.params);
  }

  /** Number of parameters training updates (not batch-norm moving statistics, nor those of frozen layers: freeze); all of them with false. A tied group (tie) counts once. */
  countParams(trainableOnly = true): number {
    return this.params.filter((p) => (!trainableOnly || updated(p)) && counted(p)).reduce((a, p) => a + p.size, 0);
  }

  /**
   * Ties parameters: each group, [layer, parameter] pairs of one shape and kind, becomes one tensor
   * read by several layers, with the first's values (a module a PyTorch net runs twice, a Siamese
   * net's two branches), as importOnnx and loadModel tie what their files share. Training
   * gives each copy the sum of the group's gradients and updates the copies alike, so they stay
   * equal; setWeights writes them all; freeze takes all of a group's layers or none; save() keeps
   * the ties. A parameter is in one group at most.
   */
  tie(groups: readonly (readonly (readonly [layer: string, param: string])[])[]): void {
    this.checkLive();
    const where = `tie: model "${this.name}"`;
    if (!Array.isArray(groups)) throw new ConfigError(`${where}: expected groups of [layer, parameter] pairs, got ${show(groups)}`);
    const seen = new Set<ParamBuffer>();
    const found = groups.map((g) => {
      if (!Array.isArray(g) || g.length < 2) throw new ConfigError(`${where}: a group ties two parameters or more, got ${show(g)}`);
      const ps = g.map((pair) => {
        if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string") throw new ConfigError(`${where}: each member is a [layer, parameter] pair of names, got ${show(pair)}`);
        const p = paramAt(this.nodes, pair[0], pair[1]);
        if (!p) throw new ConfigError(`${where} has no parameter "${pair[0]}".${pair[1]}`);
        if (seen.has(p) || p.tied) throw new ConfigError(`${where}: "${pair[0]}".${pair[1]} is in two groups (or tied already)`);
        seen.add(p);
        return p;
      });
      const [a] = ps as [ParamBuffer];
      for (const p of ps) {
        const what = `${paramLabel(this.nodes, a)} and ${paramLabel(this.nodes, p)}`;
        if (formatShape(p.spec.shape) !== formatShape(a.spec.shape)) throw new ShapeError(`${where}: ${what} differ in shape (${formatShape(a.spec.shape)}, ${formatShape(p.spec.shape)})`);
        if (p.spec.trainable !== a.spec.trainable || p.spec.regularize !== a.spec.regularize || !!p.spec.running !== !!a.spec.running || !!p.frozen !== !!a.frozen) throw new ConfigError(`${where}: ${what} are not the same kind of parameter (trained, regularised, moving statistics, frozen)`);
      }
      return ps;
    });
    for (const e of extensions) e.tie?.(this, found);
    // every check passed: each group takes its first's values
    const h = this.backend.heap;
    for (const ps of found) for (const p of ps) {
      p.tied = ps;
      if (p !== ps[0]) h.f32(p.w, p.size).set(h.f32(ps[0]!.w, p.size));
    }
    if (found.length) {
      this.weightsVersion++;
      this.dropPlans();
    }
  }

  /** Parameters that are one tensor of the source file with others, held differently (ParamBuffer.apart; training refuses them unless frozen): [layer, parameter, the file's tensor]. */
  get apart(): [layer: string, param: string, tensor: string][] {
    return this.nodes.flatMap((n) => n.params.filter((p) => p.apart !== undefined).map((p): [string, string, string] => [n.layer.name, p.spec.name, p.apart!]));
  }

  /** The tied groups (tie), as [layer, parameter] pairs, in graph order. */
  get ties(): [layer: string, param: string][][] {
    return this.nodes.flatMap((n) => n.params.filter((p) => p.tied?.[0] === p).map((p) => p.tied!.map((q): [string, string] => [layerOf(this.nodes, q), q.spec.name])));
  }

  /** For a sequential model: connects its layers on an input of this shape. */
  private buildSequential(shape: number[]): void {
    const inp = symbolicInput(shape, { name: `${this.name}_input` });
    let x = inp;
    const connected: Layer[] = [];
    try {
      for (const l of this.pending!) {
        x = l.apply(x);
        connected.push(l);
      }
      this.inputSym = inp;
      this.outputSym = x;
      this.build();
    } catch (e) {
      // a failed build changes nothing: its layers can be connected again (compile({ inputShape }) with another shape)
      for (const l of connected) l.unapply();
      this.inputSym = this.outputSym = null;
      throw e;
    }
  }

  private build(): void {
    const nodes = buildGraph(this.inputSym!, this.outputSym!);
    allocateParams(this.backend, nodes, this.rng, this.name, this.preset);
    this.preset = undefined;
    this.nodesList = nodes;
    const be = this.backend;
    registry.register(this, () => freeParams(be, nodes), this);
  }

  // ---- compile and plans ----

  /**
   * Fixes the input shape (sequential models), the default batch size, and the training setup
   * (loss, optimizer, regularizer, gradient clipping: see train/), and builds the default plan.
   */
  compile(options: CompileOptions = {}): this {
    checkOptionKeys(`model "${this.name}".compile`, options, [...COMPILE_KEYS, ...extensions.flatMap((e) => e.keys)]);
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
      this.batchSize = checkBatchSize("compile", options.batchSize);
    }
    for (const e of extensions) e.apply(this, options);
    if (options.foldBatchNorm !== undefined && options.foldBatchNorm !== this.foldBatchNorm) {
      checkBoolean("compile", "foldBatchNorm", options.foldBatchNorm);
      this.foldBatchNorm = options.foldBatchNorm;
      this.dropPlans();
    }
    if (options.fuse !== undefined && options.fuse !== this.fuse) {
      checkBoolean("compile", "fuse", options.fuse);
      this.fuse = options.fuse;
      this.dropPlans();
    }
    const fresh = !this.plans.has(`${this.batchSize}:i`);
    const plan = this.plan(this.batchSize, false);
    // compiled for inference (no training option): predict's passes now (warm)
    if (fresh && !extensions.some((e) => e.keys.some((k) => k in options))) this.warm(plan.batch);
    return this;
  }

  /**
   * Runs the inference plan for `batchSize` examples (built now if new) on zeros, so that a
   * predict of that many finds the weights packed, batch norms folded and the kernels past the
   * engine's first, unoptimised tier. V8 optimises a kernel in the background once it has run a
   * while, and a pass uses the optimised code only once that is done: passes until WARM_MS have
   * gone by (one, where a pass takes longer, or where an earlier warm-up on this backend ran
   * every kernel this one does). compile() does this for inference at its batch size,
   * importOnnx at the file's batch (1 where it is not fixed). LeNet-5 at batch 64 took ~2.7x its
   * steady time on the first predict after five passes in under 10 ms (the rule before).
   */
  warm(batchSize = 1): this {
    this.checkLive();
    const where = `model "${this.name}".warm`;
    checkBatchSize(where, batchSize);
    const be = this.backend, zeros = new Float32Array(batchSize * this.inputSize), seen = new Set<string>();
    // through predict where it takes the examples as they are (its own first call costs ~0.5 ms)
    const pass = !this.io || (this.io.inputs.length === 1 && this.io.outputs.length === 1)
      ? () => this.predict(zeros, { batchSize })
      : () => this.run(zeros, batchSize, batchSize, where);
    const t0 = performance.now();
    be.seen = seen;
    try {
      pass();
    } finally {
      be.seen = null;
    }
    if ([...seen].every((f) => be.warmed.has(f))) return this;
    for (let i = 1; i < WARM_PASSES && performance.now() - t0 < WARM_MS; i++) pass();
    for (const f of seen) be.warmed.add(f);
    return this;
  }

  /** The plan for this batch size and mode, built on first use and kept. */
  plan(batch: number, training: boolean): Plan {
    this.checkLive();
    const nodes = this.nodes;
    // where the loss reads the output (e.g. the logits before a final softmax): per extension; an
    // inference plan keeps that node's buffer where layers after it would reuse it (evaluate reads it)
    let lossNode = nodes.length - 1;
    for (const e of extensions) if (e.lossNode) lossNode = e.lossNode(this);
    const keep = !training && lossNode < nodes.length - 2 ? lossNode : -1;
    const key = training ? `${batch}:t:${lossNode}` : keep >= 0 ? `${batch}:i:${keep}` : `${batch}:i`;
    let p = this.plans.get(key);
    if (!p) {
      if (training) allocateGrads(this.backend, nodes);
      const build = () => new Plan(this.backend, nodes, this.inputSize, batch, training, this.rng, training ? lossNode : nodes.length - 1, () => this.weightsVersion, this.foldBatchNorm, false, false, this.fuse, keep);
      try {
        p = build();
      } catch (e) {
        if (!(e instanceof BackendError && e.message.startsWith("out of wasm memory"))) throw e;
        // the buffers of this model's other plans (a training plan's, after fit) are what evaluate or
        // predict at another batch size may need: they go (they rebuild on use), and it tries once more
        const others = this.plans.size;
        this.dropPlans();
        try {
          if (!others) throw e;
          p = build();
        } catch (again) {
          if (!(again instanceof BackendError && again.message.startsWith("out of wasm memory"))) throw again;
          throw new BackendError(`model "${this.name}": its ${training ? "training" : "inference"} plan for batches of ${batch} needs more wasm memory than is left${others ? ", with its other plans dropped" : ""}: ${again.message}. A smaller batch size needs less (compile({ batchSize }), predict's and evaluate's batchSize); other models' free() or dropPlans() return theirs`);
        }
      }
      this.plans.set(key, p);
    }
    return p;
  }

  /** Bytes of the activation/gradient buffers of every plan built so far. */
  planBytes(): number {
    let b = 0;
    for (const p of this.plans.values()) b += p.bufferBytes;
    return b;
  }

  // ---- data ----

  /** Examples as one flat Float32Array and their count. */
  /** Examples as one Float32Array of whole examples (checked against the input shape). */
  examples(x: ExampleData, where: string): { data: Float32Array; n: number } {
    const per = this.inputSize;
    let data: Float32Array;
    if (x instanceof Tensor) {
      if (x.rank !== this.inputShape.length + 1 || formatShape(x.shape.slice(1)) !== formatShape(this.inputShape)) {
        throw new ShapeError(`${where}: input tensor ${formatShape(x.shape)} does not match [N, ${this.inputShape.join(", ")}]`);
      }
      data = x.toArray();
    } else if (x instanceof Float32Array) data = x;
    else if (isArrayLike(x)) data = Float32Array.from(x);
    else throw new ConfigError(`${where}: examples must be a Float32Array, an array of numbers or a Tensor, got ${show(x)}`);
    if (data.length % per !== 0 || data.length === 0) {
      throw new ShapeError(`${where}: ${data.length} values are not a whole number of ${formatShape(this.inputShape)} examples (${per} values each)`);
    }
    return { data, n: data.length / per };
  }

  /**
   * Stages examples [start, start + count) of data in the plan for `count` and runs its forward
   * pass; given `make`, the plan's input is what make writes (data is not read).
   */
  forward(data: Float32Array, start: number, count: number, training: boolean, make?: InputMaker): Plan {
    const plan = this.plan(count, training);
    if (!make) this.backend.heap.f32(plan.inputPtr, count * this.inputSize).set(data.subarray(start * this.inputSize, (start + count) * this.inputSize));
    plan.forward(make);
    return plan;
  }

  /**
   * Outputs for every example, in batches of `batchSize` (default: the compiled batch size). A model
   * with several named inputs or outputs (`io`) takes a record of inputs by name and returns one of
   * outputs.
   */
  predict(x: ExampleData, options?: { batchSize?: number }): Float32Array;
  predict(x: Readonly<Record<string, ExampleData>>, options?: { batchSize?: number }): Record<string, Float32Array>;
  /** A model without inputs (`io.inputs` empty: an imported graph whose outputs are constants): its one example's output. */
  predict(): Float32Array;
  predict(x?: ExampleData | Readonly<Record<string, ExampleData>>, options: { batchSize?: number } = {}): Float32Array | Record<string, Float32Array> {
    checkOptionKeys("predict", options, ["batchSize"]);
    this.checkLive();
    const where = `model "${this.name}".predict`;
    if (this.io?.inputs.length === 0) {
      // no inputs: one example, computed from the placeholder input nothing reads; predict() or predict({})
      if (x !== undefined && !(isRecord(x) && Object.keys(x).length === 0)) throw new ConfigError(`${where}: this model has no inputs (its outputs are constants); call predict() or predict({}) without data, got ${show(x)}`);
      if (x === undefined && this.io.outputs.length > 1) throw new ConfigError(`${where}: this model has outputs ${this.io.outputs.map((o) => `"${o.name}"`).join(", ")}; call predict({}) for a record of them by name`);
      const y = this.run(new Float32Array(this.inputSize), 1, 1, where);
      return x === undefined ? y : unpackOutputs(this.io, y, 1);
    }
    if (x === undefined) throw new ConfigError(`${where}: no examples given`);
    if (isRecord(x)) {
      if (!this.io) throw new ConfigError(`${where}: this model has one unnamed input; pass its examples, not a record`);
      const { data, n } = packInputs(this.io, x, where);
      return unpackOutputs(this.io, this.run(data, n, options.batchSize, where), n);
    }
    if (this.io && (this.io.inputs.length > 1 || this.io.outputs.length > 1)) {
      throw new ConfigError(`${where}: this model has inputs ${this.io.inputs.map((i) => `"${i.name}"`).join(", ")} and outputs ${this.io.outputs.map((o) => `"${o.name}"`).join(", ")}; pass a record of inputs by name`);
    }
    const { data, n } = this.examples(x, where);
    return this.run(data, n, options.batchSize, where);
  }

  private run(data: Float32Array, n: number, batchSize: number | undefined, where: string): Float32Array {
    const bs = checkBatchSize(where, batchSize ?? this.batchSize);
    const out = new Float32Array(n * this.outputSize);
    for (let s = 0; s < n; s += bs) {
      const c = Math.min(bs, n - s);
      const plan = this.forward(data, s, c, false);
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
    if (!Array.isArray(weights)) throw new ConfigError(`setWeights: model "${this.name}": expected a list of { layer, name, values } (getWeights' form), got ${show(weights)}`);
    const found = weights.map((w) => {
      if (!isPlainObject(w) || typeof w.layer !== "string" || typeof w.name !== "string" || !isArrayLike(w.values)) {
        throw new ConfigError(`setWeights: model "${this.name}": each entry is { layer, name, values } with values an array of numbers, got ${show(w)}`);
      }
      const p = paramAt(this.nodes, w.layer, w.name);
      if (!p) throw new ConfigError(`setWeights: model "${this.name}" has no parameter ${w.layer}.${w.name}`);
      if (w.values.length !== p.size) throw new ShapeError(`setWeights: ${w.layer}.${w.name}${formatShape(p.spec.shape)} holds ${p.size} values, got ${w.values.length}`);
      const bad = firstNonFinite(w.values);
      if (bad >= 0) throw new ConfigError(`setWeights: ${w.layer}.${w.name}[${bad}] is ${w.values[bad]}`);
      return p;
    });
    // a tied group is one tensor: what sets one copy sets all; two entries for it must agree
    const into = new Map<ParamBuffer, number>();
    found.forEach((p, i) => {
      for (const q of p.tied ?? [p]) {
        const j = into.get(q);
        if (j !== undefined && j !== i) {
          const a = weights[j]!.values, b = weights[i]!.values;
          for (let k = 0; k < a.length; k++) if (!Object.is(Math.fround(a[k]!), Math.fround(b[k]!))) throw new ConfigError(`setWeights: ${weights[j]!.layer}.${weights[j]!.name} and ${weights[i]!.layer}.${weights[i]!.name} are one tensor (tied) and are given different values (at ${k}: ${a[k]}, ${b[k]})`);
        }
        into.set(q, i);
      }
    });
    for (const [q, i] of into) this.backend.heap.f32(q.w, q.size).set(weights[i]!.values);
    this.weightsVersion++;
  }

  /**
   * Freezes the parameters of the named layers (every layer when none are named): the optimiser
   * and the regulariser leave them as they are, while gradients still flow through those layers to
   * the ones before them that learn (batch-norm running statistics still follow the batches, as in
   * PyTorch). Where nothing before a layer learns, its backward does not run: behind a frozen
   * backbone a step costs about its forward pass (as PyTorch with requires_grad off), and frozen
   * parameters get no gradient (applyGradients refuses what computeGradients gave while a layer
   * that learns now was frozen). `unfreeze` undoes it (the plans are built again). Freezing is a
   * training setting: save() does not keep it.
   */
  freeze(layers?: readonly string[]): void {
    this.setFrozen(layers, true, "freeze");
  }

  unfreeze(layers?: readonly string[]): void {
    this.setFrozen(layers, false, "unfreeze");
  }

  private setFrozen(layers: readonly string[] | undefined, frozen: boolean, where: string): void {
    const nodes = this.nodes;
    if (layers !== undefined && (!Array.isArray(layers) || !layers.every((l) => typeof l === "string"))) throw new ConfigError(`${where}: expected a list of layer names, got ${show(layers)}`);
    const missing = (layers ?? []).filter((l) => !nodes.some((n) => n.layer.name === l));
    if (missing.length) throw new ConfigError(`${where}: model "${this.name}" has no layer ${missing.map((l) => `"${l}"`).join(", ")}`);
    // a tied group is one tensor: it learns in all its layers or in none
    if (layers) {
      for (const n of nodes) for (const p of n.params) {
        if (p.tied?.[0] !== p) continue;
        const named = p.tied.map((q) => layerOf(nodes, q)), inside = named.filter((l) => layers.includes(l));
        if (inside.length && inside.length < named.length) throw new ConfigError(`${where}: ${p.tied.map((q) => paramLabel(nodes, q)).join(" and ")} are one tensor (tied: read by several layers); ${where} ${named.map((l) => `"${l}"`).join(" and ")} together, or none of them`);
      }
    }
    let changed = false;
    for (const n of nodes) if (!layers || layers.includes(n.layer.name)) for (const p of n.params) (changed ||= !!p.frozen !== frozen), (p.frozen = frozen);
    // a training plan runs the backward only where something before it learns (model/plan.ts): built again
    if (changed) this.dropPlans();
  }

  /**
   * Transfer learning: a new model made of copies of the layers `layer`'s output depends on (their
   * weights copied, this model unchanged), with `head(features)` after that output — an imported
   * network's features and a new classifier, say. `freeze: true` freezes the copied layers (see
   * freeze). Named inputs (model.io) stay as they were; the new output is named `outputName`
   * ("output" by default).
   */
  withHead(layer: string, head: (features: SymbolicTensor) => SymbolicTensor, options: { name?: string; seed?: number; freeze?: boolean; outputName?: string } = {}): Model {
    checkOptionKeys("withHead", options, ["name", "seed", "freeze", "outputName"]);
    checkBoolean("withHead", "freeze", options.freeze);
    const nodes = this.nodes;
    const cut = nodes.findIndex((n) => n.layer.name === layer);
    if (cut < 0) throw new ConfigError(`withHead: model "${this.name}" has no layer "${layer}" (layers: ${nodes.map((n) => `"${n.layer.name}"`).join(", ")})`);
    if (typeof head !== "function") throw new ConfigError(`withHead: head must be a function from the features (a symbolic tensor) to the new output, got ${show(head)}`);
    // the layers the cut depends on
    const need = new Set<number>([cut]);
    for (let i = cut; i >= 0; i--) if (need.has(i)) for (const j of nodes[i]!.inputs) if (j >= 0) need.add(j);
    const inp = symbolicInput([...this.inputShape], { name: this.inputSym?.name });
    const made = new Map<number, SymbolicTensor>();
    for (let i = 0; i <= cut; i++) {
      if (!need.has(i)) continue;
      const n = nodes[i]!;
      made.set(i, createLayer(n.layer.config() as LayerConfig).apply(...n.inputs.map((j) => (j < 0 ? inp : made.get(j)!))));
    }
    const out = head(made.get(cut)!);
    if (!(out instanceof SymbolicTensor)) throw new ConfigError(`withHead: head must return a symbolic tensor (layer.apply(features)), got ${show(out)}`);
    const copied = new Set([...need].map((i) => nodes[i]!.layer.name));
    const m = new Model({ inputs: inp, outputs: out, name: options.name ?? `${this.name}-tuned`, seed: options.seed, preset: (layer) => copied.has(layer) });
    try {
      m.setWeights(this.getWeights().filter((w) => copied.has(w.layer)));
      // ties among the copied layers (a group's copies left out are no longer read: the rest stay one tensor), and what is held apart
      m.tie(this.ties.map((g) => g.filter(([l]) => copied.has(l))).filter((g) => g.length >= 2));
      const kept = this.apart.filter(([l]) => copied.has(l)), held = (t: string) => kept.filter((e) => e[2] === t).length;
      markApart(m, kept.filter(([, , t]) => held(t) >= 2)); // (a tensor one copied layer alone holds is its own now)
      if (options.freeze) m.freeze([...copied]);
    } catch (e) {
      m.free();
      throw e;
    }
    if (this.io) m.io = { inputs: this.io.inputs.map((i) => ({ name: i.name, shape: [...i.shape] })), outputs: [{ name: options.outputName ?? "output", shape: [...out.shape] }], ...(this.io.whole ? { whole: true as const } : {}) };
    return m;
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
    for (const e of extensions) e.free?.(this);
    this.freed = true;
  }

  /** Throws a BackendError if free() was called (every method that touches memory checks this). */
  checkLive(): void {
    if (this.freed) throw new BackendError(`model "${this.name}" was freed`);
  }

  /** Drops every plan (after a weight layout change, or to return memory); they rebuild on use. */
  dropPlans(): void {
    for (const p of this.plans.values()) p.free();
    this.plans.clear();
  }
}

/** A model whose layers run one after another. */
export function sequential(layers: (Layer | LayerConfig)[], options: { inputShape?: number[]; name?: string; seed?: number } = {}): Model {
  checkOptionKeys("sequential", options, ["inputShape", "name", "seed"]);
  if (!Array.isArray(layers) || layers.length === 0) throw new ConfigError("sequential: needs at least one layer");
  const built = layers.map((l) => (l instanceof Layer ? l : createLayer(l)));
  // built, not compiled: a model made to train plans no inference pass (compile() or warm() does)
  return new Model({ layers: built, inputShape: options.inputShape, name: options.name, seed: options.seed });
}

/** A model from the functional API: fovea.model({ inputs: fovea.input([...]), outputs: y }). */
export function model(args: { inputs: SymbolicTensor; outputs: SymbolicTensor; name?: string; seed?: number }): Model {
  checkOptionKeys("model", args, ["inputs", "outputs", "name", "seed"]);
  return new Model(args);
}

/**
 * Marks parameters that are one tensor of the source file with others held differently
 * (ParamBuffer.apart: importOnnx, loadModel, withHead), as [layer, parameter, the file's tensor];
 * an entry naming no parameter is a ConfigError, before anything is marked.
 */
export function markApart(m: Model, entries: readonly (readonly [string, string, string])[]): void {
  const found = entries.map(([layer, param, tensor]) => {
    const p = paramAt(m.nodes, layer, param);
    if (!p) throw new ConfigError(`model "${m.name}" has no parameter "${layer}".${param} (held apart from "${tensor}")`);
    return [p, tensor] as const;
  });
  for (const [p, tensor] of found) p.apart = tensor;
  if (found.length) m.dropPlans();
}
