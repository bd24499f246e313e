// Optimisers: each owns its per-parameter state buffers (allocated on the first step) and
// applies the update kernels of assembly/optim to every trainable parameter.
import { ConfigError, checkOptionKeys, show, checkBoolean } from "../errors.js";
import { inRange, updated, type ParamBuffer } from "../layers/layer.js";
import { adadeltaUpdate, adagradUpdate, adamUpdate, momentumUpdate, regularizeCall, rmspropUpdate, sgdUpdate, updateAllPrograms } from "../ops/optim.js";
import type { Backend } from "../runtime/backend.js";
import type { KernelCall } from "../runtime/calls.js";

/** A finite number > 0 (epsilon: 0 divides by zero where a running average is 0). */
const positive = (v: unknown, what: string, where: string) => inRange(v, 0, Number.MAX_VALUE, what, where, true);

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
  /** State buffers per parameter (the optimiser's kind decides: Adam 2, SGD with momentum 1, …). */
  slots: number;
  /** Every trainable parameter's slots in parameter order, slot by slot (zeros for a frozen one never updated); empty before the first step. */
  values: Float32Array;
}

export abstract class Optimizer {
  abstract readonly name: string;
  /** The base learning rate; a schedule may scale it per step. */
  lr: number;
  /** Number of steps taken. */
  iterations = 0;
  private state = new Map<ParamBuffer, number[]>();
  private be: Backend | null = null;

  constructor(lr: number) {
    if (!(Number.isFinite(lr) && lr > 0)) throw new ConfigError(`optimizer: lr must be a finite number > 0, got ${lr}`);
    this.lr = lr;
  }

  /** State buffers per parameter (e.g. Adam: m and v). */
  protected abstract get slots(): number;
  /** The hyperparameters besides lr that shape its updates (lr is state: a callback may lower it mid-run). */
  abstract get settings(): Record<string, number | boolean>;
  /** The update kernel call for values [off, off + n) of p (byte offset 4·off into every buffer). */
  protected abstract call(n: number, off: number, p: ParamBuffer, s: number[], lr: number, t: number): KernelCall;

  /**
   * One update of every trainable parameter with learning rate `lr`, in one dispatch
   * (updateAllPrograms). `decay`: the L1 / L2 coefficients of the parameters to regularise first
   * (f32_regularize on the same slice, in the same program, just before its update).
   */
  step(be: Backend, params: ParamBuffer[], lr = this.lr, decay?: ReadonlyMap<ParamBuffer, readonly [l1: number, l2: number]>): void {
    this.be = be;
    this.iterations++;
    const todo: [ParamBuffer, number[]][] = [];
    for (const p of params) {
      if (!updated(p)) continue;
      let s = this.state.get(p);
      if (!s) {
        s = Array.from({ length: this.slots }, () => be.heap.alloc(p.size * 4, true));
        this.state.set(p, s);
      }
      todo.push([p, s]);
    }
    const t = this.iterations;
    be.runPrograms(updateAllPrograms(be, todo.map(([p]) => p.size), (k, n, o) => {
      const [p, s] = todo[k]!, d = decay?.get(p), update = this.call(n, o, p, s, lr, t);
      return d ? [regularizeCall(n, p.w + o, p.g + o, d[0], d[1]), update] : update;
    }));
  }

  /** A copy of the state for `params` (the trainable ones, in the order given), e.g. for a checkpoint. */
  exportState(params: readonly ParamBuffer[]): OptimizerState {
    const trainable = params.filter((p) => p.spec.trainable);
    const base = { name: this.name, lr: this.lr, iterations: this.iterations, settings: this.settings, slots: this.slots };
    if (this.state.size === 0 || this.slots === 0) return { ...base, values: new Float32Array(0) };
    const missing = trainable.findIndex((p) => !this.state.has(p) && !p.frozen);
    if (missing >= 0) throw new ConfigError(`${this.name}: trainable parameter ${missing} (${trainable[missing]!.spec.name}) has no optimiser state; it was not among the parameters this optimiser updated`);
    const values = new Float32Array(this.slots * trainable.reduce((a, p) => a + p.size, 0));
    let off = 0;
    for (const p of trainable) {
      const slots = this.state.get(p);
      if (!slots) off += this.slots * p.size; // frozen all along: the state a fresh optimiser starts from
      else for (const ptr of slots) {
        values.set(this.be!.heap.f32(ptr, p.size), off);
        off += p.size;
      }
    }
    return { ...base, values };
  }

  /**
   * Continues from `s` (exportState of an optimiser of the same kind and hyperparameters) for
   * `params` (the same parameters in the same order). Checks everything before it changes anything.
   */
  importState(be: Backend, params: readonly ParamBuffer[], s: OptimizerState): void {
    const trainable = params.filter((p) => p.spec.trainable);
    const floats = this.slots * trainable.reduce((a, p) => a + p.size, 0);
    if (s.name !== this.name) throw new ConfigError(`${this.name}: the state is ${s.name}'s`);
    if (s.slots !== this.slots) throw new ConfigError(`${this.name}: the state has ${s.slots} buffers per parameter, this optimiser keeps ${this.slots}`);
    if (!(Number.isInteger(s.iterations) && s.iterations >= 0)) throw new ConfigError(`${this.name}: iterations must be a whole number >= 0, got ${s.iterations}`);
    if (!(Number.isFinite(s.lr) && s.lr > 0)) throw new ConfigError(`${this.name}: lr must be a finite number > 0, got ${s.lr}`);
    if (s.values.length !== 0 && s.values.length !== floats) {
      throw new ConfigError(`${this.name}: the state holds ${s.values.length} values, ${trainable.length} trainable parameters need ${floats} (${this.slots} per weight)`);
    }
    if (s.values.length === 0 && s.iterations > 0 && this.slots > 0) throw new ConfigError(`${this.name}: ${s.iterations} steps taken but no state values`);
    if (s.settings !== undefined) {
      const mine = this.settings, keys = [...new Set([...Object.keys(s.settings), ...Object.keys(mine)])];
      const diff = keys.filter((k) => s.settings![k] !== mine[k]).map((k) => `${k} ${show(s.settings![k])} there, ${show(mine[k])} here`);
      if (diff.length > 0) throw new ConfigError(`${this.name}: the state was kept with other settings: ${diff.join("; ")} (continue with the optimiser it was written with)`);
    }
    // the new buffers first: if memory runs out, the optimiser keeps its old state and nothing leaks
    const fresh = new Map<ParamBuffer, number[]>();
    try {
      let off = 0;
      if (s.values.length !== 0) for (const p of trainable) {
        const bufs: number[] = [];
        fresh.set(p, bufs);
        for (let k = 0; k < this.slots; k++, off += p.size) {
          const ptr = be.heap.alloc(p.size * 4);
          bufs.push(ptr);
          be.heap.f32(ptr, p.size).set(s.values.subarray(off, off + p.size));
        }
      }
    } catch (e) {
      for (const bufs of fresh.values()) for (const ptr of bufs) be.heap.free(ptr);
      throw e;
    }
    this.free();
    this.be = be;
    this.lr = s.lr;
    this.iterations = s.iterations;
    for (const [p, bufs] of fresh) this.state.set(p, bufs);
  }

  /** Returns the state buffers to the heap. */
  free(): void {
    if (this.be) for (const s of this.state.values()) for (const ptr of s) this.be.heap.free(ptr);
    this.state.clear();
  }
}

export interface SgdOptions { lr?: number; momentum?: number; nesterov?: boolean }
export class SGD extends Optimizer {
  readonly name = "sgd";
  readonly momentum: number;
  readonly nesterov: boolean;
  constructor(o: SgdOptions = {}) {
    checkOptionKeys("sgd", o, ["lr", "momentum", "nesterov"]);
    super(o.lr ?? 0.01);
    this.momentum = inRange(o.momentum ?? 0, 0, 1, "momentum", "sgd", false, true);
    this.nesterov = o.nesterov ?? false;
    checkBoolean("sgd", "nesterov", this.nesterov);
    if (this.nesterov && this.momentum === 0) throw new ConfigError("sgd: nesterov needs momentum > 0");
  }
  get settings() {
    return { momentum: this.momentum, nesterov: this.nesterov };
  }
  protected get slots() {
    return this.momentum > 0 ? 1 : 0;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number): KernelCall {
    return this.momentum > 0 ? momentumUpdate(n, o, p.w, p.g, s[0]!, lr, this.momentum, this.nesterov) : sgdUpdate(n, o, p.w, p.g, lr);
  }
}

export interface AdamOptions { lr?: number; beta1?: number; beta2?: number; epsilon?: number; weightDecay?: number }
export class Adam extends Optimizer {
  readonly name: string = "adam";
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly weightDecay: number;
  constructor(o: AdamOptions = {}, decoupled = false) {
    checkOptionKeys(decoupled ? "adamw" : "adam", o, decoupled ? ["lr", "beta1", "beta2", "epsilon", "weightDecay"] : ["lr", "beta1", "beta2", "epsilon"]);
    super(o.lr ?? 0.001);
    const where = decoupled ? "adamw" : "adam";
    this.beta1 = inRange(o.beta1 ?? 0.9, 0, 1, "beta1", where, false, true);
    this.beta2 = inRange(o.beta2 ?? 0.999, 0, 1, "beta2", where, false, true);
    this.epsilon = positive(o.epsilon ?? 1e-8, "epsilon", where);
    this.weightDecay = decoupled ? inRange(o.weightDecay ?? 0.01, 0, Number.MAX_VALUE, "weightDecay", where) : 0;
  }
  get settings() {
    return { beta1: this.beta1, beta2: this.beta2, epsilon: this.epsilon, weightDecay: this.weightDecay };
  }
  protected get slots() {
    return 2;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number, t: number): KernelCall {
    return adamUpdate(n, o, p.w, p.g, s[0]!, s[1]!, lr, this.beta1, this.beta2, this.epsilon, t, this.weightDecay);
  }
}

export class AdamW extends Adam {
  override readonly name = "adamw";
  constructor(o: AdamOptions = {}) {
    super(o, true);
  }
}

export interface AdagradOptions { lr?: number; epsilon?: number }
export class Adagrad extends Optimizer {
  readonly name = "adagrad";
  readonly epsilon: number;
  constructor(o: AdagradOptions = {}) {
    checkOptionKeys("adagrad", o, ["lr", "epsilon"]);
    super(o.lr ?? 0.01);
    this.epsilon = positive(o.epsilon ?? 1e-7, "epsilon", "adagrad");
  }
  get settings() {
    return { epsilon: this.epsilon };
  }
  protected get slots() {
    return 1;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number): KernelCall {
    return adagradUpdate(n, o, p.w, p.g, s[0]!, lr, this.epsilon);
  }
}

export interface RmspropOptions { lr?: number; rho?: number; epsilon?: number }
export class RMSProp extends Optimizer {
  readonly name = "rmsprop";
  readonly rho: number;
  readonly epsilon: number;
  constructor(o: RmspropOptions = {}) {
    checkOptionKeys("rmsprop", o, ["lr", "rho", "epsilon"]);
    super(o.lr ?? 0.001);
    this.rho = inRange(o.rho ?? 0.9, 0, 1, "rho", "rmsprop", false, true);
    this.epsilon = positive(o.epsilon ?? 1e-7, "epsilon", "rmsprop");
  }
  get settings() {
    return { rho: this.rho, epsilon: this.epsilon };
  }
  protected get slots() {
    return 1;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number): KernelCall {
    return rmspropUpdate(n, o, p.w, p.g, s[0]!, lr, this.rho, this.epsilon);
  }
}

export interface AdadeltaOptions { lr?: number; rho?: number; epsilon?: number }
export class Adadelta extends Optimizer {
  readonly name = "adadelta";
  readonly rho: number;
  readonly epsilon: number;
  constructor(o: AdadeltaOptions = {}) {
    checkOptionKeys("adadelta", o, ["lr", "rho", "epsilon"]);
    super(o.lr ?? 1);
    this.rho = inRange(o.rho ?? 0.95, 0, 1, "rho", "adadelta", false, true);
    this.epsilon = positive(o.epsilon ?? 1e-6, "epsilon", "adadelta");
  }
  get settings() {
    return { rho: this.rho, epsilon: this.epsilon };
  }
  protected get slots() {
    return 2;
  }
  protected call(n: number, o: number, p: ParamBuffer, s: number[], lr: number): KernelCall {
    return adadeltaUpdate(n, o, p.w, p.g, s[0]!, s[1]!, lr, this.rho, this.epsilon);
  }
}

export const sgd = (o?: SgdOptions) => new SGD(o);
export const adam = (o?: AdamOptions) => new Adam(o);
export const adamw = (o?: AdamOptions) => new AdamW(o);
export const adagrad = (o?: AdagradOptions) => new Adagrad(o);
export const rmsprop = (o?: RmspropOptions) => new RMSProp(o);
export const adadelta = (o?: AdadeltaOptions) => new Adadelta(o);
