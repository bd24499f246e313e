// The Layer contract: shape inference, parameters, FLOPs, plan-time resources, forward and
// backward on raw buffers in wasm memory, and a serialisable config. Shapes here are per
// example (no batch axis): [H, W, C] for images, [F] for features.

import { ConfigError, ShapeError, checkOptionKeys, show, checkName } from "../errors.js";
import { getLimits } from "../runtime/limits.js";
import type { Backend } from "../runtime/backend.js";
import type { Kernels } from "../runtime/generated/kernels.js";
import type { KernelCall } from "../runtime/calls.js";
import type { PoolGeometry } from "../ops/pool.js";
import type { Rng } from "../rng.js";
import { checkShape, formatShape, type Shape } from "../tensor.js";
import type { Initializer } from "./initializers.js";

export interface ParamSpec {
  name: string;
  shape: number[];
  init: Initializer;
  /** Updated by the optimiser (false: state such as batch-norm running statistics). */
  trainable: boolean;
  /** Counted by L1/L2 regularisers (weights yes, biases and norm parameters no). */
  regularize: boolean;
  /** State the training forward pass moves (batch norm's moving statistics): an optimiser's ema averages it with the weights. */
  running?: boolean;
}

/** A parameter's value and gradient in wasm memory (g is 0 until the model first trains). */
export interface ParamBuffer {
  spec: ParamSpec;
  size: number;
  w: number;
  g: number;
  /**
   * Training in slices (model/plan.ts): thread t ≥ 1's own gradient, gt[t − 1], made on first use
   * and shared by every plan of the model (their steps never overlap); freed with w and g.
   */
  gt?: number[];
  /** Frozen (Model.freeze): the optimiser and the regulariser leave it as it is; gradients still flow through its layer. */
  frozen?: boolean;
  /**
   * Tied parameters (Model.tie): one tensor read by several layers (a module a PyTorch net runs
   * twice, as ONNX gives it: one initializer read by two nodes), kept as equal copies, this one
   * among them (the same array for all). A training step gives each copy the sum of the copies'
   * gradients (model/plan.ts, `tieSums`) and the optimiser updates each in the same way, so they
   * stay equal bit for bit; setWeights writes them all.
   */
  tied?: readonly ParamBuffer[];
  /**
   * A tensor of the source file (its name) that other layers hold differently (importOnnx: a
   * Linear's weight used again transposed): one tensor in the file that
   * fovea cannot tie here, so a training step that would update it is refused (model/plan.ts);
   * frozen, the rest trains.
   */
  apart?: string;
}

/** Whether the optimiser updates p: a trainable parameter that is not frozen. */
export const updated = (p: ParamBuffer): boolean => p.spec.trainable && !p.frozen;

/** Whether p counts as a tensor of its own: untied, or the first copy of its tied group (ParamBuffer.tied; the others hold the same tensor). */
export const counted = (p: ParamBuffer): boolean => !p.tied || p.tied[0] === p;

export interface PrepareContext {
  be: Backend;
  /** Scratch bytes the layer's kernels need; the plan sizes the backend's scratch once for all layers. */
  needScratch(bytes: number): void;
  batch: number;
  training: boolean;
  inShapes: Shape[];
  outShape: Shape;
  /** Bytes owned by the plan, freed with it. */
  alloc(bytes: number): number;
  /**
   * Training: the slices (example ranges, one per thread, one on one thread) a plan runs its
   * per-example layers in; a layer that splits its own work by the same examples can run inside
   * the slices' programs (Layer.sliceSteps). Absent otherwise.
   */
  slices?: readonly (readonly [number, number])[];
}

/**
 * A step of a pass that a plan run in slices runs in line with the slices' programs: one program
 * per slice (program t reads and writes slice t's examples alone), or a function run on the calling
 * thread between programs (work that reads every slice's results).
 */
export type SliceStep = KernelCall[][] | (() => void);

export interface LayerRun<S> {
  be: Backend;
  k: Kernels;
  batch: number;
  training: boolean;
  inShapes: Shape[];
  outShape: Shape;
  x: number[];
  y: number;
  params: ParamBuffer[];
  state: S;
  rng: Rng;
  /** The model's weight version: layers that cache derived weights (packed panels) redo them when it changes. */
  weightsVersion: number;
  /** Inference: the work of later layers the plan fused into this layer's kernel (Layer.fusible). */
  fused?: Fused;
}

/** Work of the layers after a conv that an inference plan runs in the conv's own kernel (model/fuse.ts). */
export interface Fused {
  /** The other operand of the add the layer's output feeds, added before the activation; 0: none. */
  res: number;
  /** The activation applied last (ACT code) in place of the layer's own: a ReLU/ReLU6 layer's after it. */
  act?: number;
  /** A max pool over the (activated) output: y is then the pool's output. */
  pool: PoolGeometry | null;
}

export interface LayerGrad<S> extends LayerRun<S> {
  /** Gradient of the loss with respect to the output (may be overwritten by the layer). */
  dy: number;
  /** Where to write each input's gradient; 0 where no gradient is needed. Overwrite, never add. */
  dx: number[];
  /** Training, a max pool: its input is a ReLU's output, whose backward (dx·[x > 0]) its backward applies too (Plan). */
  reluMask?: boolean;
  /** Training, a max pool: x is the ReLU's input (not its output), and the forward applies the ReLU to the maxima (Plan). */
  reluIn?: boolean;
  /** Training, a layer whose own activation is a ReLU: a max pool after it already applied the ReLU's backward to dy. */
  reluApplied?: boolean;
  /** Training, a batch norm: a max pool after it (through a ReLU) normalises the norm's input itself (affineIn); y is never written. */
  outputUnread?: boolean;
  /** Training, a batch norm with outputUnread: its backward reads this max pool's dy (2×2 windows, stride 2) and tap codes (f32_maxpool_fwd_codes) for its own, which the pool then never writes (Plan). */
  poolGrad?: { geometry: PoolGeometry; dy: number; codes: number };
  /** Training, a max pool whose backward the batch norm before it does (poolGrad): where its forward writes its windows' tap codes, a byte an output (f32_maxpool_fwd_codes; the norm's poolGrad.codes); it keeps no argmax and has no backward of its own (Plan). */
  tapCodes?: number;
  /** Training, a max pool: x is a batch norm's input, and the forward pools (x − sub)·A + K per channel, the norm's output (Plan). */
  affineIn?: { sub: number; A: number; K: number };
  /** Training, a layer with gradsFromPool: the output gradient of the 2×2 max pool over its ReLU output, whence all its gradients come; its dy is then neither written nor read (Plan). */
  pooledDy?: number;
  /** Training, a max pool whose dy the conv before it takes its gradients from (that conv's pooledDy): it keeps no argmax and has no backward of its own (Plan). */
  gradByConv?: boolean;
}

// ---- symbolic tensors of the functional API: a per-example shape and the layer that produced it ----

export class SymbolicTensor {
  constructor(
    readonly shape: Shape,
    /** The layer that produced this tensor; null for a model input. */
    readonly layer: Layer | null,
    readonly inputs: readonly SymbolicTensor[],
    readonly name: string,
  ) {}

  toString(): string {
    return `${this.name} ${formatShape(this.shape)}`;
  }
}

let inputCount = 0;

/** A model input of the given per-example shape ([H, W, C] for images, [F] for features). */
export function input(shape: number[], options: { name?: string } = {}): SymbolicTensor {
  checkOptionKeys("input", options, ["name"]);
  checkName("input", options.name);
  checkShape(shape, "input");
  if (shape.length === 0 || shape.some((d) => d < 1)) throw new ShapeError(`input: shape ${formatShape(shape)} must have dimensions >= 1`);
  return new SymbolicTensor(Object.freeze([...shape]), null, [], options.name ?? `input_${++inputCount}`);
}

export const size = (s: Shape) => s.reduce((a, b) => a * b, 1);

/**
 * Every dimension a whole number >= 1 (>= 0 where `empty` allows a tensor with no values), and the
 * tensor within the model limit (as float32), so a shape computed from a file's numbers (huge pads,
 * 1e308 filters) is refused before any allocation.
 */
export function checkDims(shape: Shape, where: string, empty = false): void {
  const least = empty ? 0 : 1;
  if (!Array.isArray(shape) || shape.length === 0 || !shape.every((d) => Number.isSafeInteger(d) && d >= least)) {
    throw new ShapeError(`${where} shape ${show(shape)} must be whole numbers >= ${least}`);
  }
  const bytes = size(shape) * 4, limit = getLimits().maxModelBytes;
  if (bytes > limit) throw new ShapeError(`${where} ${formatShape(shape)} needs ${bytes} bytes; the limit is ${limit} (setLimits({ maxModelBytes }))`);
}

export abstract class Layer<S = unknown> {
  abstract readonly type: string;
  readonly name: string;

  constructor(name: string) {
    this.name = name;
  }

  /** `type "name"` for messages. */
  get label(): string {
    return `${this.type} "${this.name}"`;
  }

  private applied = false;

  /** Undoes apply() (a sequential model whose build failed at a later layer): the layer may be connected again. */
  unapply(): void {
    this.applied = false;
  }

  /**
   * Connects this layer in a functional graph: checks the input shapes now (a ShapeError
   * names this layer) and returns the symbolic output. A layer instance is applied once.
   */
  apply(...inputs: SymbolicTensor[]): SymbolicTensor {
    if (this.applied) throw new ConfigError(`${this.label} is already connected; create a new layer (weights are not shared)`);
    const n = this.arity;
    if (n === -1 ? inputs.length < 2 : inputs.length !== n) {
      throw new ConfigError(`${this.label} takes ${n === -1 ? "two or more inputs" : `${n} input`}, got ${inputs.length}`);
    }
    inputs.forEach((x, i) => {
      if (!(x instanceof SymbolicTensor)) throw new ConfigError(`${this.label}: input ${i} is not a symbolic tensor (use fovea.input([...]) and layer.apply)`);
    });
    // a tensor with no values (a zero dimension) is only ever an output (see emptyOutput)
    inputs.forEach((x, i) => {
      if (size(x.shape) === 0) throw new ShapeError(`${this.label}: input ${i} ${formatShape(x.shape)} has no values; a tensor with a zero dimension cannot be computed on`);
    });
    const shape = this.outputShape(inputs.map((x) => x.shape));
    checkDims(shape, `${this.label}: output`, this.emptyOutput);
    // validates parameter shapes too
    for (const p of this.params(inputs.map((x) => x.shape))) checkDims(p.shape, `${this.label}: parameter ${p.name}`, this.emptyOutput);
    this.applied = true;
    return new SymbolicTensor(Object.freeze([...shape]), this, inputs, this.name);
  }

  /**
   * Whether its output (and parameters) may have a zero dimension, i.e. no values: only a layer
   * whose output does not depend on its input computes one (constant). No layer takes such a tensor
   * as input (apply refuses it), so it can only be a model's output. Default false.
   */
  get emptyOutput(): boolean {
    return false;
  }

  /** Number of inputs this layer takes (-1: two or more). */
  get arity(): number {
    return 1;
  }

  abstract outputShape(inputs: Shape[]): Shape;

  params(_inputs: Shape[]): ParamSpec[] {
    return [];
  }

  /** Multiply-adds × 2 per example. */
  flops(_inputs: Shape[], _out: Shape): number {
    return 0;
  }

  /**
   * Whether a per-channel affine after this layer (an inference batch norm) can fold into its
   * weights: its output channels are the last axis of its weights and bias, with no activation
   * in between (conv, dense). Inference plans fold such pairs.
   */
  get absorbsChannelAffine(): boolean {
    return false;
  }

  /**
   * Inference: what a plan of `batch` examples may fuse into this layer's kernel (model/fuse.ts,
   * LayerRun.fused) — `act`: its own activation is none and its epilogue can apply one;
   * `residual`: it can also add a residual before that; `pool`: whether its kernel can take the
   * max pool `pg` over its output (null: no pool). Default: nothing.
   */
  fusible(_inputs: Shape[], _batch: number): { act: boolean; residual: boolean; pool: ((pg: PoolGeometry) => boolean) | null } {
    return { act: false, residual: false, pool: null };
  }

  /**
   * Training: whether this layer's output is its own ReLU's (a fused activation) and its backward
   * can start from a dy the ReLU's backward was already applied to (LayerGrad.reluApplied).
   */
  get endsInRelu(): boolean {
    return false;
  }

  /**
   * Training: whether this layer (its ReLU's output read only by a 2×2, stride-2 max pool) takes
   * its gradients from the pool's output gradient (LayerGrad.pooledDy), skipping the zeros the
   * pool leaves in its own.
   */
  gradsFromPool(_be: Backend, _input: Shape, _batch: number): boolean {
    return false;
  }

  /**
   * Whether the layer's output is its input's values as they lie in memory, only with another
   * shape (flatten, reshape): an inference plan then gives it its input's buffer and runs nothing
   * for it. Default false.
   */
  get view(): boolean {
    return false;
  }

  /**
   * Whether a training plan may run this layer on slices of the batch, one slice per thread, each
   * as one program (Plan): every example's output and input gradient depend on that example
   * alone, its backward pass writes (never adds to) its parameter gradients, and both passes are
   * exactly the kernel calls it hands to the backend, the same every step (no JavaScript per
   * step: random masks, batch statistics). Default false; a layer says true only when all of
   * that holds.
   */
  get perExample(): boolean {
    return false;
  }

  /**
   * Training in slices (bound with PrepareContext.slices): this layer's pass as steps the plan
   * runs in line with the slices' programs — a program step is appended to the slices' programs
   * of the layers before it (consecutive program steps run as one program per thread), a function
   * step runs between programs. null (the default): the plan runs the pass on the whole batch,
   * between programs.
   */
  sliceSteps(_run: LayerGrad<S>, _pass: "fwd" | "bwd"): SliceStep[] | null {
    return null;
  }

  /**
   * Training in slices: the parameters (indices into params) whose gradients this layer computes
   * over the whole batch once every slice's backward pass ran (wholeBatchGradCalls, in the
   * gradient sum's dispatch: Plan), instead of each slice writing a copy of its own to be added —
   * fewer, longer sums, and no copies to write and add. Slices then run with those parameters' g
   * = 0 and must leave them alone; what wholeBatchGradCalls reads must be the whole batch's when
   * they run (x, and dy as the slices' backward passes left it: the plan keeps this layer's dy
   * buffer until then). Default: none.
   */
  get wholeBatchGrads(): readonly number[] {
    return [];
  }

  /**
   * The calls writing values [lo, hi) (a paramCut range) of parameter k's gradient (k in
   * wholeBatchGrads) from the whole batch of `run`, to run on one thread: the values the copies the
   * `slices` (example ranges) would have written, added in their order (bit for bit where the
   * kernel's sums allow: ops/gemm.denseKernelGrad).
   */
  wholeBatchGradCalls(_run: LayerGrad<S>, k: number, _lo: number, _hi: number, _slices: readonly (readonly [number, number])[]): KernelCall[] {
    throw new ConfigError(`${this.label}: parameter ${k} has no whole-batch gradient`);
  }

  /** Plan-time resources for one batch size. */
  prepare(_ctx: PrepareContext): S {
    return undefined as S;
  }

  /** Called once the plan has fixed every buffer of this layer's run (e.g. to lay out thread splits). */
  bind(_run: LayerGrad<S>, _ctx: PrepareContext): void {}

  abstract forward(run: LayerRun<S>): void;
  abstract backward(run: LayerGrad<S>): void;

  /** The layer's config, enough to rebuild it. */
  abstract config(): Record<string, unknown> & { type: string; name: string };

  // ---- validation helpers shared by every layer ----
  protected rank(inputs: Shape[], r: number | number[], what = "input"): Shape {
    const s = inputs[0]!;
    const ranks = typeof r === "number" ? [r] : r;
    if (!ranks.includes(s.length)) {
      const want = ranks.map((q) => (q === 3 ? "[H, W, C]" : q === 1 ? "[features]" : `rank ${q}`)).join(" or ");
      throw new ShapeError(`${this.label}: expects ${what} ${want}, got ${formatShape(s)}${r === 1 ? " (add a flatten layer before it)" : ""}`);
    }
    return s;
  }
}

/**
 * The kernel calls of a layer's two passes: parts that run at the same time, one per thread of
 * the pool (Backend.run), or with `inTurn` a sequence that runs in order on this thread, or with
 * `programs` one list of calls per thread (Backend.runPrograms).
 */
export type PassCalls =
  | { fwd: KernelCall[]; bwd: KernelCall[]; inTurn?: boolean }
  | { programs: true; fwd: KernelCall[][]; bwd: KernelCall[][] };
export type Planned<S> = S & { calls: PassCalls | null };

/**
 * A layer whose passes are kernel calls that an ops/ builder makes once per plan, over the plan's
 * buffers: it names its own buffers (argmax, masks, …) and which builder; running is the same
 * for all of them.
 */
export abstract class PlannedLayer<S extends object = object> extends Layer<Planned<S>> {
  /** Buffers of the layer's own, allocated once per plan. */
  protected buffers(_ctx: PrepareContext): S {
    return {} as S;
  }

  /** Both passes' calls (bwd: none where no input gradient is wanted). */
  protected abstract calls(r: LayerGrad<Planned<S>>, ctx: PrepareContext): PassCalls;

  override prepare(ctx: PrepareContext): Planned<S> {
    return { ...this.buffers(ctx), calls: null };
  }

  override bind(r: LayerGrad<Planned<S>>, ctx: PrepareContext): void {
    r.state.calls = this.calls(r, ctx);
  }

  forward(r: LayerRun<Planned<S>>): void {
    const c = r.state.calls!;
    if ("programs" in c) r.be.runPrograms(c.fwd);
    else if (c.inTurn) r.be.runInTurn(c.fwd);
    else r.be.run(c.fwd);
  }

  backward(r: LayerGrad<Planned<S>>): void {
    const c = r.state.calls!;
    if ("programs" in c) r.be.runPrograms(c.bwd);
    else if (c.inTurn) r.be.runInTurn(c.bwd);
    else r.be.run(c.bwd);
  }
}

// ---- option checking for configs ----

export function positiveInt(v: unknown, what: string, where: string): number {
  if (!Number.isSafeInteger(v) || (v as number) < 1) throw new ConfigError(`${where}: ${what} must be a whole number >= 1, got ${show(v)}`);
  return v as number;
}

export function inRange(v: unknown, lo: number, hi: number, what: string, where: string, openLo = false, openHi = false): number {
  const ok = typeof v === "number" && Number.isFinite(v) && (openLo ? v > lo : v >= lo) && (openHi ? v < hi : v <= hi);
  if (!ok) throw new ConfigError(`${where}: ${what} must be in ${openLo ? "(" : "["}${lo}, ${hi}${openHi ? ")" : "]"}, got ${show(v)}`);
  return v as number;
}
