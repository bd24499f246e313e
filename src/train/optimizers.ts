// Optimisers: each owns its per-parameter state buffers (allocated on the first step) and
// applies the update kernels of assembly/optim to every trainable parameter.
import { ConfigError, checkOptionKeys, show, checkBoolean, isRecord } from "../errors.js";
import { inRange, updated, type ParamBuffer } from "../layers/layer.js";
import { adadeltaUpdate, adagradUpdate, adamUpdate, averageCall, claimLines, momentumUpdate, regularizeCall, rmspropUpdate, sgdUpdate, updateAllPrograms } from "../ops/optim.js";
import type { Backend } from "../runtime/backend.js";
import type { KernelCall } from "../runtime/calls.js";

/** A finite number > 0 (epsilon: 0 divides by zero where a running average is 0). */
const positive = (v: unknown, what: string, where: string): number => {
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) throw new ConfigError(`${where}: ${what} must be a finite number > 0, got ${show(v)}`);
  return v;
};

/**
 * An optimiser's state as a checkpoint keeps it (exportState / importState): with the same
 * hyperparameters, an optimiser given this state makes the same updates as the one it came from.
 */
export interface OptimizerState {
  name: string;
  lr: number;
  iterations: number;
  /**
   * The hyperparameters the state was kept under (momentum, betas, epsilon, …: Optimizer.settings);
   * importState refuses an optimiser with others. Absent in checkpoints written before fovea kept them.
   */
  settings?: Record<string, number | boolean>;
  /** State buffers per trainable parameter (the optimiser's kind decides: Adam 2, SGD with momentum 1, …; one more with ema). */
  slots: number;
  /**
   * The trainable parameters frozen when the state was kept (indices in the order of `values`):
   * a resume must freeze the same (restoreCheckpoint). Absent in checkpoints written before.
   */
  frozen?: number[];
  /**
   * Every trainable parameter's slots in parameter order, slot by slot (zeros for a frozen one
   * never updated; with ema the last slot is the average, for such a parameter its values); then,
   * with ema, the average of every running statistic (batch norm's moving mean and variance:
   * averagedAlongside) in parameter order. Empty before the first step.
   */
  values: Float32Array;
}

/**
 * Every optimiser's options besides its own: `ema` keeps an exponential moving average of the
 * model's parameters (Polyak averaging, as TensorFlow's ExponentialMovingAverage with num_updates):
 * after step t, average ← average − (1 − a)·(average − values) with a = min(ema, (1 + t) / (10 + t)),
 * so early steps, far from where training settles, fade fast. Trainable parameters are averaged
 * from their values before their first update while they are updated (a frozen layer keeps its
 * values: the averages leave it as it is, and resume from where they were when it thaws); batch
 * norm's moving statistics, which the forward pass moves, from their values at the first step,
 * so the averaged model's statistics are those of the averaged weights' window (as timm's
 * ModelEmaV2 averages buffers). Constants are not averaged. fit validates with the averages and
 * ends with them in the model; `model.withAveragedWeights` runs code with them in place. Weights
 * set from outside (setWeights, a loaded file) leave the averages as they were: compile a fresh
 * optimiser to start them anew. 0 (the default): no averages.
 */
export interface AveragingOptions { ema?: number }

/** The parameters besides the trainable ones that an optimiser's ema averages: running statistics (ParamSpec.running). */
export const averagedAlongside = (p: ParamBuffer): boolean => p.spec.running === true;

/**
 * With threads, an update claims its weights' lines first (ops/optim.claimLines) where all the
 * weights updated together fit this: weights the other threads keep in their second-level caches
 * (1 MB each here), whose lines must come back from there. Larger ones stream from memory, where
 * a claim only adds its misses: a 2048-2048-1024-10 MLP's sum and update on 2 threads ran 21.6
 * -> 22.0 ms with claims (23.1 claiming 64 KB at a time), LeNet-5's 0.300 -> 0.220 ms (the slow
 * pairing).
 */
const CLAIM_MAX_BYTES = 1 << 20;

/** A call of the update's programs made anew each step, at programs[..][at]: an update (learning rate, step) or an average (its weight). */
interface Remake { program: KernelCall[]; at: number; make: (lr: number, t: number, a: number) => KernelCall }
/** What Optimizer.programs built, and what it was built for. */
interface Built {
  be: Backend;
  parts: number | undefined;
  threads: number;
  params: readonly { p: ParamBuffer; w: number; g: number; on: boolean; d: readonly [number, number] | undefined }[];
  programs: KernelCall[][];
  remake: Remake[];
}

/** The same parameters in the same order, their buffers where they were, updated or not as then, with the same L1 / L2 terms. */
function sameParams(was: Built["params"], params: readonly ParamBuffer[], decay: ReadonlyMap<ParamBuffer, readonly [number, number]> | undefined): boolean {
  if (was.length !== params.length) return false;
  for (let i = 0; i < params.length; i++) {
    const q = was[i]!, p = params[i]!, d = decay?.get(p);
    if (q.p !== p || q.w !== p.w || q.g !== p.g || q.on !== updated(p) || !Object.is(q.d?.[0], d?.[0]) || !Object.is(q.d?.[1], d?.[1])) return false;
  }
  return true;
}

/** A learning rate: a finite number > 0 (a ConfigError naming `where` and the value otherwise). */
export function checkLr(where: string, v: unknown): number {
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) throw new ConfigError(`${where}: lr must be a finite number > 0, got ${show(v)}`);
  return v;
}

export abstract class Optimizer {
  abstract readonly name: string;
  private base: number;
  /** The base learning rate; a schedule may scale it per step. Set to anything but a finite number > 0, a ConfigError and no change. */
  get lr(): number {
    return this.base;
  }
  set lr(v: number) {
    this.base = checkLr(`optimizer ${this.name}`, v);
  }
  /** Number of steps taken. */
  iterations = 0;
  /** The decay of the moving average of the parameters (AveragingOptions); 0: none kept. */
  readonly ema: number;
  /** The update's state buffers per parameter. */
  private state = new Map<ParamBuffer, number[]>();
  /** The moving average of each parameter (ema > 0). */
  private averages = new Map<ParamBuffer, number>();
  private be: Backend | null = null;
  /** The programs programs() built last, kept while what shapes them stays (see programs()). */
  private built: Built | null = null;

  constructor(lr: number, ema: number | undefined, where: string) {
    this.base = checkLr(where, lr);
    this.ema = inRange(ema ?? 0, 0, 1, "ema", where, false, true);
  }

  /** State buffers per parameter of the update itself (e.g. Adam: m and v). */
  protected abstract get updateSlots(): number;
  /** The update's hyperparameters besides lr (lr is state: a callback may lower it mid-run). */
  protected abstract get updateSettings(): Record<string, number | boolean>;
  /** The update's call for values [off, off + n) of p (byte offset 4·off into every buffer). */
  protected abstract call(n: number, off: number, p: ParamBuffer, s: number[], lr: number, t: number): KernelCall;

  /** State buffers per trainable parameter: the update's, then the moving average where one is kept. */
  protected get slots(): number {
    return this.updateSlots + (this.ema > 0 ? 1 : 0);
  }

  /** The hyperparameters besides lr that shape its updates and averages (ema only where one is kept: the states of runs without stay as they were). */
  get settings(): Record<string, number | boolean> {
    return { ...this.updateSettings, ...(this.ema > 0 ? { ema: this.ema } : {}) };
  }

  /** Whether it keeps state for p (an update's buffers or a moving average: p has been trained). */
  holds(p: ParamBuffer): boolean {
    return (this.state.get(p)?.length ?? 0) > 0 || this.averages.has(p);
  }

  /** The buffer of p's moving average (ema > 0, p seen by a step), else null. */
  averageOf(p: ParamBuffer): number | null {
    return this.averages.get(p) ?? null;
  }

  /** A buffer of p's size starting as p's values (an average's first value). */
  private copyOf(be: Backend, p: ParamBuffer): number {
    const ptr = be.heap.alloc(p.size * 4);
    be.heap.f32(ptr, p.size).set(be.heap.f32(p.w, p.size));
    return ptr;
  }

  /**
   * The calls of one update of every trainable parameter with learning rate `lr`, the step after
   * the `iterations` counted so far (the state and the averages' first values are made now): the
   * caller runs them before anything reads the weights, then calls counted(). One program per
   * thread (updateAllPrograms), or `parts` programs with each parameter cut by paramCut (to run
   * in a sliced plan's gradient sum, Plan.backward). `decay`: the L1 / L2 coefficients of the
   * parameters to regularise first (f32_regularize on the same slice, in the same program, just
   * before its update). With ema, each update's slice is followed by its average's, in the same
   * program, and the running statistics among `params` (averagedAlongside) are averaged too.
   * The programs are kept for the next call, which gives the same arrays while nothing that shapes
   * them changed: read-only, valid until then.
   */
  programs(be: Backend, params: readonly ParamBuffer[], lr = this.lr, decay?: ReadonlyMap<ParamBuffer, readonly [l1: number, l2: number]>, parts?: number): readonly (readonly KernelCall[])[] {
    this.be = be;
    const t = this.iterations + 1, a = Math.min(this.ema, (1 + t) / (10 + t));
    // a training step asks for the same programs step after step, but for the learning rate and the
    // step count (Adam's bias corrections, the averages' warm-up): while the backend, the cut, the
    // parameters (their buffers, which are updated, their L1 / L2 terms) stay, only the update and
    // average calls are made anew, in their places (building all of it each step cost a small MLP's
    // step 4 of its 46 µs, LeNet-5's at batch 64 on 2 threads 19–52 µs)
    const b = this.built;
    if (b && b.be === be && b.parts === parts && b.threads === be.threads && sameParams(b.params, params, decay)) {
      for (const r of b.remake) r.program[r.at] = r.make(lr, t, a);
      return b.programs;
    }
    const todo: [ParamBuffer, number[] | null][] = [];
    for (const p of params) {
      if (updated(p)) {
        let s = this.state.get(p);
        if (!s) {
          s = Array.from({ length: this.updateSlots }, () => be.heap.alloc(p.size * 4, true));
          this.state.set(p, s);
        }
        todo.push([p, s]);
      } else if (this.ema > 0 && averagedAlongside(p)) todo.push([p, null]);
    }
    // every average starts at the values before its first update
    if (this.ema > 0) for (const [p] of todo) if (!this.averages.has(p)) this.averages.set(p, this.copyOf(be, p));
    // the pool's other threads read the weights: where they keep them cached, their lines are taken back first
    const claim = be.threads > 1 && todo.reduce((sum, [p, st]) => sum + (st ? 4 * p.size : 0), 0) <= CLAIM_MAX_BYTES;
    // each slice's calls that take the step's learning rate or count, kept with how to make them again
    const makers = new Map<KernelCall, Remake["make"]>();
    const made = (make: Remake["make"]): KernelCall => {
      const c = make(lr, t, a);
      makers.set(c, make);
      return c;
    };
    const programs = updateAllPrograms(be, todo.map(([p]) => p), (k, n, o) => {
      const [p, s] = todo[k]!, d = decay?.get(p);
      const calls = s ? [made((lr, t) => this.call(n, o, p, s, lr, t))] : [];
      if (s && d) calls.unshift(regularizeCall(n, p.w + o, p.g + o, d[0], d[1]));
      if (s && claim) calls.unshift(claimLines(n, o, p.w));
      if (this.ema > 0) {
        const avg = this.averages.get(p)! + o;
        calls.push(made((_lr, _t, a) => averageCall(n, p.w + o, avg, a)));
      }
      return calls;
    }, parts);
    const remake: Remake[] = [];
    for (const program of programs) program.forEach((c, at) => { const make = makers.get(c); if (make) remake.push({ program, at, make }); });
    // the L1 / L2 terms as they are now (a caller may change its pair in place)
    this.built = { be, parts, threads: be.threads, params: params.map((p) => { const d = decay?.get(p); return { p, w: p.w, g: p.g, on: updated(p), d: d ? [d[0], d[1]] as const : undefined }; }), programs, remake };
    return programs;
  }

  /** The calls programs() gave have run: one more step taken (Adam's bias corrections, the averages' warm-up and checkpoints count them). */
  counted(): void {
    this.iterations++;
  }

  /** How many values a state of `params` holds: the slots of the trainable ones, and with ema an average of every running statistic. */
  private floats(params: readonly ParamBuffer[]): number {
    return stateFloats(params, this.slots, this.ema > 0);
  }

  /** A copy of the state for `params` (the model's, in its order), e.g. for a checkpoint. */
  exportState(params: readonly ParamBuffer[]): OptimizerState {
    const trainable = params.filter((p) => p.spec.trainable);
    const frozen = trainable.flatMap((p, i) => (p.frozen ? [i] : []));
    const base = { name: this.name, lr: this.lr, iterations: this.iterations, settings: this.settings, slots: this.slots, frozen };
    if (this.slots === 0 || (this.iterations === 0 && this.state.size === 0 && this.averages.size === 0)) return { ...base, values: new Float32Array(0) };
    const missing = trainable.findIndex((p) => !this.state.has(p) && !p.frozen);
    if (missing >= 0) throw new ConfigError(`${this.name}: trainable parameter ${missing} (${trainable[missing]!.spec.name}) has no optimiser state; it was not among the parameters this optimiser updated`);
    const values = new Float32Array(this.floats(params)), h = this.be!.heap;
    let off = 0;
    const put = (ptr: number | undefined, p: ParamBuffer) => {
      // frozen all along: the state a fresh optimiser starts from (zeros; an average of the values themselves)
      if (ptr !== undefined) values.set(h.f32(ptr, p.size), off);
      off += p.size;
    };
    for (const p of trainable) {
      const slots = this.state.get(p);
      for (let k = 0; k < this.updateSlots; k++) put(slots?.[k], p);
      if (this.ema > 0) put(this.averages.get(p) ?? p.w, p);
    }
    if (this.ema > 0) for (const p of params) if (averagedAlongside(p)) put(this.averages.get(p) ?? p.w, p);
    return { ...base, values };
  }

  /**
   * Continues from `s` (exportState of an optimiser of the same kind and hyperparameters) for
   * `params` (the same parameters in the same order). Checks everything before it changes anything.
   */
  importState(be: Backend, params: readonly ParamBuffer[], s: OptimizerState): void {
    if (!isRecord(s) || typeof s.name !== "string" || !(s.values instanceof Float32Array)) throw new ConfigError(`${this.name}: a state is { name, lr, iterations, slots, values } (exportState's), got ${show(s)}`);
    const trainable = params.filter((p) => p.spec.trainable);
    const floats = this.floats(params);
    if (s.name !== this.name) throw new ConfigError(`${this.name}: the state is ${s.name}'s`);
    if (s.settings !== undefined) {
      // a state kept without averages says nothing of ema
      const theirs: Record<string, number | boolean> = { ema: 0, ...s.settings }, mine: Record<string, number | boolean> = { ema: 0, ...this.settings };
      const keys = [...new Set([...Object.keys(theirs), ...Object.keys(mine)])];
      const diff = keys.filter((k) => theirs[k] !== mine[k]).map((k) => `${k} ${show(theirs[k])} there, ${show(mine[k])} here`);
      if (diff.length > 0) throw new ConfigError(`${this.name}: the state was kept with other settings: ${diff.join("; ")} (continue with the optimiser it was written with)`);
    }
    if (s.slots !== this.slots) throw new ConfigError(`${this.name}: the state has ${s.slots} buffers per parameter, this optimiser keeps ${this.slots}`);
    if (!(Number.isInteger(s.iterations) && s.iterations >= 0)) throw new ConfigError(`${this.name}: iterations must be a whole number >= 0, got ${s.iterations}`);
    if (!(Number.isFinite(s.lr) && s.lr > 0)) throw new ConfigError(`${this.name}: lr must be a finite number > 0, got ${s.lr}`);
    if (s.values.length !== 0 && s.values.length !== floats) throw new ConfigError(`${this.name}: the state holds ${s.values.length} values, ${stateNeeds(params, this.slots, this.ema > 0)}`);
    if (s.values.length === 0 && s.iterations > 0 && this.slots > 0) throw new ConfigError(`${this.name}: ${s.iterations} steps taken but no state values`);
    // the new buffers first: if memory runs out, the optimiser keeps its old state and nothing leaks
    const fresh = new Map<ParamBuffer, number[]>(), averages = new Map<ParamBuffer, number>();
    try {
      let off = 0;
      const take = (p: ParamBuffer) => {
        const ptr = be.heap.alloc(p.size * 4);
        be.heap.f32(ptr, p.size).set(s.values.subarray(off, off + p.size));
        off += p.size;
        return ptr;
      };
      if (s.values.length !== 0) {
        for (const p of trainable) {
          const bufs: number[] = [];
          fresh.set(p, bufs);
          for (let k = 0; k < this.updateSlots; k++) bufs.push(take(p));
          if (this.ema > 0) averages.set(p, take(p));
        }
        if (this.ema > 0) for (const p of params) if (averagedAlongside(p)) averages.set(p, take(p));
      }
    } catch (e) {
      for (const bufs of fresh.values()) for (const ptr of bufs) be.heap.free(ptr);
      for (const ptr of averages.values()) be.heap.free(ptr);
      throw e;
    }
    this.free();
    this.be = be;
    this.lr = s.lr;
    this.iterations = s.iterations;
    for (const [p, bufs] of fresh) this.state.set(p, bufs);
    for (const [p, ptr] of averages) this.averages.set(p, ptr);
  }

  /** Returns the state buffers to the heap. */
  free(): void {
    this.built = null;
    if (this.be) {
      for (const s of this.state.values()) for (const ptr of s) this.be.heap.free(ptr);
      for (const ptr of this.averages.values()) this.be.heap.free(ptr);
    }
    this.state.clear();
    this.averages.clear();
  }
}

/** Whether an optimiser state's settings keep averages (OptimizerState.settings with ema > 0). */
export const averages = (settings: Readonly<Record<string, unknown>> | undefined): boolean => typeof settings?.ema === "number" && settings.ema > 0;

/** The values an optimiser state of `params` holds (OptimizerState.values): `slots` per trainable value, and with ema one per running statistic. */
export function stateFloats(params: readonly ParamBuffer[], slots: number, ema: boolean): number {
  return params.reduce((n, p) => n + (p.spec.trainable ? slots : ema && averagedAlongside(p) ? 1 : 0) * p.size, 0);
}

/** What a state of `params` needs, for messages: "3 trainable parameters need 2145 (3 per weight, and the averages of 2 running statistics)". */
export function stateNeeds(params: readonly ParamBuffer[], slots: number, ema: boolean): string {
  const trainable = params.filter((p) => p.spec.trainable).length, running = ema ? params.filter(averagedAlongside).length : 0;
  return `${trainable} trainable parameters need ${stateFloats(params, slots, ema)} (${slots} per weight${running > 0 ? `, and the averages of ${running} running statistics` : ""})`;
}

export interface SgdOptions extends AveragingOptions {
  lr?: number;
  momentum?: number;
  nesterov?: boolean;
  /**
   * Where the rate is: "keras" (the default), v ← μ·v − lr·g, w ← w + v (Nesterov: w ← w + μ·v − lr·g);
   * "pytorch", torch.optim.SGD's, v ← μ·v + g, w ← w − lr·v (Nesterov: w ← w − lr·(g + μ·v)). The same
   * steps at a constant rate; under a schedule PyTorch's rate acts on the whole velocity at once, so a
   * PyTorch recipe with momentum and a schedule (OneCycleLR, cosine) trains as PyTorch's only so.
   */
  momentumForm?: "keras" | "pytorch";
}
/** SGD, with momentum in Keras's form or PyTorch's (SgdOptions.momentumForm). */
export class SGD extends Optimizer {
  readonly name = "sgd";
  readonly momentum: number;
  readonly nesterov: boolean;
  readonly momentumForm: "keras" | "pytorch";
  constructor(o: SgdOptions = {}) {
    checkOptionKeys("sgd", o, ["lr", "momentum", "nesterov", "momentumForm", "ema"]);
    super(o.lr ?? 0.01, o.ema, "sgd");
    this.momentum = inRange(o.momentum ?? 0, 0, 1, "momentum", "sgd", false, true);
    this.nesterov = o.nesterov ?? false;
    checkBoolean("sgd", "nesterov", this.nesterov);
    if (this.nesterov && this.momentum === 0) throw new ConfigError("sgd: nesterov needs momentum > 0");
    const form: unknown = o.momentumForm ?? "keras";
    if (form !== "keras" && form !== "pytorch") throw new ConfigError(`sgd: momentumForm must be "keras" or "pytorch", got ${show(o.momentumForm)}`);
    this.momentumForm = form;
  }
  protected get updateSettings() {
    return { momentum: this.momentum, nesterov: this.nesterov, ...(this.momentumForm === "pytorch" ? { pytorchMomentum: true } : {}) };
  }
  protected get updateSlots() {
    return this.momentum > 0 ? 1 : 0;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number): KernelCall {
    return this.momentum > 0 ? momentumUpdate(n, o, p.w, p.g, s[0]!, lr, this.momentum, this.nesterov, this.momentumForm === "pytorch") : sgdUpdate(n, o, p.w, p.g, lr);
  }
}

export interface AdamOptions extends AveragingOptions { lr?: number; beta1?: number; beta2?: number; epsilon?: number }
/** adamw's: Adam's, and the decoupled weight decay. */
export interface AdamWOptions extends AdamOptions { weightDecay?: number }
export class Adam extends Optimizer {
  readonly name: string = "adam";
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  constructor(o: AdamWOptions = {}, decoupled = false) {
    const where = decoupled ? "adamw" : "adam";
    checkOptionKeys(where, o, decoupled ? ["lr", "beta1", "beta2", "epsilon", "weightDecay", "ema"] : ["lr", "beta1", "beta2", "epsilon", "ema"]);
    super(o.lr ?? 0.001, o.ema, where);
    this.beta1 = inRange(o.beta1 ?? 0.9, 0, 1, "beta1", where, false, true);
    this.beta2 = inRange(o.beta2 ?? 0.999, 0, 1, "beta2", where, false, true);
    this.epsilon = positive(o.epsilon ?? 1e-8, "epsilon", where);
    const wd = o.weightDecay ?? 0.01;
    if (decoupled && !(typeof wd === "number" && Number.isFinite(wd) && wd >= 0)) throw new ConfigError(`${where}: weightDecay must be a finite number >= 0, got ${show(wd)}`);
    this.weightDecay = decoupled ? wd : 0;
  }
  protected get updateSettings() {
    return { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: this.weightDecay };
  }
  protected get updateSlots() {
    return 2;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number, t: number): KernelCall {
    return adamUpdate(n, o, p.w, p.g, s[0]!, s[1]!, lr, this.beta1, this.beta2, this.epsilon, t, this.weightDecay);
  }
}

export class AdamW extends Adam {
  override readonly name = "adamw";
  constructor(o: AdamWOptions = {}) {
    super(o, true);
  }
}

export interface AdagradOptions extends AveragingOptions { lr?: number; epsilon?: number }
export class Adagrad extends Optimizer {
  readonly name = "adagrad";
  readonly epsilon: number;
  constructor(o: AdagradOptions = {}) {
    checkOptionKeys("adagrad", o, ["lr", "epsilon", "ema"]);
    super(o.lr ?? 0.01, o.ema, "adagrad");
    this.epsilon = positive(o.epsilon ?? 1e-7, "epsilon", "adagrad");
  }
  protected get updateSettings() {
    return { epsilon: this.epsilon };
  }
  protected get updateSlots() {
    return 1;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number): KernelCall {
    return adagradUpdate(n, o, p.w, p.g, s[0]!, lr, this.epsilon);
  }
}

export interface RmspropOptions extends AveragingOptions { lr?: number; rho?: number; epsilon?: number }
export class RMSProp extends Optimizer {
  readonly name = "rmsprop";
  readonly rho: number;
  readonly epsilon: number;
  constructor(o: RmspropOptions = {}) {
    checkOptionKeys("rmsprop", o, ["lr", "rho", "epsilon", "ema"]);
    super(o.lr ?? 0.001, o.ema, "rmsprop");
    this.rho = inRange(o.rho ?? 0.9, 0, 1, "rho", "rmsprop", false, true);
    this.epsilon = positive(o.epsilon ?? 1e-7, "epsilon", "rmsprop");
  }
  protected get updateSettings() {
    return { rho: this.rho, epsilon: this.epsilon };
  }
  protected get updateSlots() {
    return 1;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number): KernelCall {
    return rmspropUpdate(n, o, p.w, p.g, s[0]!, lr, this.rho, this.epsilon);
  }
}

export interface AdadeltaOptions extends AveragingOptions { lr?: number; rho?: number; epsilon?: number }
export class Adadelta extends Optimizer {
  readonly name = "adadelta";
  readonly rho: number;
  readonly epsilon: number;
  constructor(o: AdadeltaOptions = {}) {
    checkOptionKeys("adadelta", o, ["lr", "rho", "epsilon", "ema"]);
    super(o.lr ?? 1, o.ema, "adadelta");
    this.rho = inRange(o.rho ?? 0.95, 0, 1, "rho", "adadelta", false, true);
    this.epsilon = positive(o.epsilon ?? 1e-6, "epsilon", "adadelta");
  }
  protected get updateSettings() {
    return { rho: this.rho, epsilon: this.epsilon };
  }
  protected get updateSlots() {
    return 2;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number): KernelCall {
    return adadeltaUpdate(n, o, p.w, p.g, s[0]!, s[1]!, lr, this.rho, this.epsilon);
  }
}

export const sgd = (o?: SgdOptions) => new SGD(o);
export const adam = (o?: AdamOptions) => new Adam(o);
export const adamw = (o?: AdamWOptions) => new AdamW(o);
export const adagrad = (o?: AdagradOptions) => new Adagrad(o);
export const rmsprop = (o?: RmspropOptions) => new RMSProp(o);
export const adadelta = (o?: AdadeltaOptions) => new Adadelta(o);
