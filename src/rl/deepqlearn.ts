// deepqlearn.Brain: ConvNetJS's deep Q-learning agent (build/deepqlearn.js — the brain of the
// ConvNetJS rldemo and MIT's DeepTraffic) on fovea. The same options and defaults, the same
// temporal-window input, experience replay and TD update, the same properties (epsilon, age,
// average_reward_window, value_net.toJSON() in ConvNetJS's snapshot format, …). What differs is
// how the update runs: ConvNetJS trains tdtrainer.batch_size samples one at a time, accumulating
// their gradients, and updates once at the end of backward(); the Brain runs the same samples as
// one batch through fovea's training step — one batched forward for the targets, one for Q(s, a),
// one backward — which is the same math (test/deepqlearn.test.ts runs both side by side).
//
// Randomness comes from Math.random, as in ConvNetJS, drawn in the same order (the ε test and
// random actions in forward(), the replaced experience and the batch's samples in backward()), so a
// seeded Math.random makes the two brains take the same decisions. The value net's initial weights
// come from fovea's seeded generator, its seed drawn from Math.random once.
import { ConfigError, FormatError, ShapeError, checkOptionKeys, firstNonFinite, isArrayLike, show } from "../errors.js";
import { convnetjs, type ConvNetJSLayerDef } from "../io/convnetjs-defs.js";
import { exportConvnetjs, importConvnetjs, type ConvNetJSLayerJSON } from "../io/convnetjs.js";
import type { Model } from "../model/model.js";
import { sumSquaresCall } from "../ops/optim.js";
import { invoke } from "../runtime/calls.js";
import { adadelta, sgd, type Optimizer } from "../train/optimizers.js";
import type { Regularizer } from "../train/trainer.js";
import { annealedEpsilon, greedy, TDBatch } from "./qlearning.js";
import { Window } from "./window.js";

/** ConvNetJS's Trainer options as deepqlearn passes them (tdtrainer_options). */
export interface TDTrainerOptions {
  learning_rate?: number;
  momentum?: number;
  batch_size?: number;
  l2_decay?: number;
  l1_decay?: number;
  /** "sgd" (with momentum) or "adadelta"; ConvNetJS's adagrad and windowgrad are not fovea's updates. */
  method?: "sgd" | "adadelta";
  /** adadelta's ρ and ε. */
  ro?: number;
  eps?: number;
}

export interface BrainOptions {
  temporal_window?: number;
  experience_size?: number;
  start_learn_threshold?: number;
  gamma?: number;
  learning_steps_total?: number;
  learning_steps_burnin?: number;
  epsilon_min?: number;
  epsilon_test_time?: number;
  random_action_distribution?: number[];
  layer_defs?: ConvNetJSLayerDef[];
  hidden_layer_sizes?: number[];
  tdtrainer_options?: TDTrainerOptions;
}

const OPTIONS = ["temporal_window", "experience_size", "start_learn_threshold", "gamma", "learning_steps_total", "learning_steps_burnin",
  "epsilon_min", "epsilon_test_time", "random_action_distribution", "layer_defs", "hidden_layer_sizes", "tdtrainer_options"];
const TRAINER_OPTIONS = ["learning_rate", "momentum", "batch_size", "l2_decay", "l1_decay", "method", "ro", "eps"];

/** One transition as ConvNetJS's Experience holds it: network inputs, the action, its reward. */
export interface Experience { state0: Float32Array; action0: number; reward0: number; state1: Float32Array }

const randf = (a: number, b: number) => Math.random() * (b - a) + a;
const randi = (a: number, b: number) => Math.floor(Math.random() * (b - a) + a);

/** ConvNetJS's Trainer settings as the Brain runs them; learning_rate may be changed between steps. */
export class TDTrainer {
  readonly batch_size: number;
  readonly momentum: number;
  readonly l2_decay: number;
  readonly l1_decay: number;
  readonly method: "sgd" | "adadelta";
  readonly ro: number;
  readonly eps: number;
  private lr: number;
  /** Set by the brain to the optimiser of its current value net. */
  optimizer: Optimizer | null = null;

  constructor(o: TDTrainerOptions | undefined) {
    // deepqlearn's own defaults when no options are given; ConvNetJS Trainer's defaults for the ones left out
    const given = o !== undefined;
    if (given) checkOptionKeys("deepqlearn.Brain: tdtrainer_options", o, TRAINER_OPTIONS);
    const t = o ?? { learning_rate: 0.01, momentum: 0.0, batch_size: 64, l2_decay: 0.01 };
    const num = (k: keyof TDTrainerOptions, dflt: number, ok: (v: number) => boolean, range: string) => {
      const v = t[k] ?? dflt;
      if (typeof v !== "number" || !Number.isFinite(v) || !ok(v)) throw new ConfigError(`deepqlearn.Brain: tdtrainer_options.${k} must be ${range}, got ${show(t[k])}`);
      return v;
    };
    this.lr = num("learning_rate", 0.01, (v) => v > 0, "a number > 0");
    this.l1_decay = num("l1_decay", 0, (v) => v >= 0, "a number >= 0");
    this.l2_decay = num("l2_decay", 0, (v) => v >= 0, "a number >= 0");
    this.batch_size = num("batch_size", 1, (v) => Number.isSafeInteger(v) && v >= 1, "a whole number >= 1");
    this.momentum = num("momentum", 0.9, (v) => v >= 0 && v < 1, "in [0, 1)");
    this.ro = num("ro", 0.95, (v) => v >= 0 && v < 1, "in [0, 1)");
    this.eps = num("eps", 1e-6, (v) => v > 0, "a number > 0");
    const method = t.method ?? "sgd";
    if (method !== "sgd" && method !== "adadelta") {
      throw new ConfigError(`deepqlearn.Brain: tdtrainer_options.method must be "sgd" or "adadelta", got ${show(method)}` +
        (method === "adagrad" || method === "windowgrad" ? ` (ConvNetJS's ${method} divides by √(h + ε), fovea's updates by √h + ε: not the same math)` : ""));
    }
    this.method = method;
  }

  get learning_rate(): number {
    return this.lr;
  }
  set learning_rate(v: number) {
    if (!(Number.isFinite(v) && v > 0)) throw new ConfigError(`deepqlearn.Brain: tdtrainer.learning_rate must be a number > 0, got ${show(v)}`);
    this.lr = v;
    if (this.optimizer) this.optimizer.lr = v;
  }

  /** A fresh optimiser making ConvNetJS's update (adadelta ignores learning_rate there too). */
  makeOptimizer(): Optimizer {
    return this.method === "sgd" ? sgd({ lr: this.lr, momentum: this.momentum }) : adadelta({ lr: 1, rho: this.ro, epsilon: this.eps });
  }

  /**
   * ConvNetJS adds l2·w + l1·sign(w) to the batch's summed gradient and divides by batch_size; fovea's
   * gradient is the batch mean, so the coefficients are divided here. null without decay.
   */
  regularizer(factory: (d: { l1?: number; l2?: number }) => Regularizer): Regularizer | null {
    if (this.l1_decay === 0 && this.l2_decay === 0) return null;
    return factory({ l1: this.l1_decay / this.batch_size, l2: this.l2_decay / this.batch_size });
  }
}

/** The Brain's value network: a fovea model, saved and loaded in ConvNetJS's snapshot format. */
export class ValueNet {
  /** @internal */
  constructor(private readonly brain: Brain, private current: Model, private decay: Regularizer["layers"]) {}

  /** The fovea model (input [1, 1, net_inputs], one output per action). */
  get model(): Model {
    return this.current;
  }

  /** The net as ConvNetJS's net.toJSON() returns it: JSON.stringify it, or load it with net.fromJSON / value_net.fromJSON. */
  toJSON(): { layers: ConvNetJSLayerJSON[] } {
    return exportConvnetjs(this.current, { head: "regression", decay: this.decay });
  }

  /**
   * Loads a ConvNetJS snapshot (an object or its JSON text), as ConvNetJS's net.fromJSON does:
   * the net becomes the snapshot's, decay multipliers included. The trainer's state (momentum)
   * carries over when the snapshot has the same parameter shapes, as ConvNetJS's does.
   */
  fromJSON(json: string | { layers: unknown[] }): void {
    const src = "value_net.fromJSON";
    // the new model's generator continues the old one's (Math.random stays untouched, as in ConvNetJS's fromJSON)
    const imported = importConvnetjs(json as string, { source: src, seed: this.current.rng.nextU32() });
    const b = this.brain;
    try {
      if (imported.loss !== "mse") throw new FormatError(`${src}: a deepqlearn value net ends in a regression layer; this snapshot's head trains with ${imported.loss}`);
      if (imported.model.inputSize !== b.net_inputs || imported.model.outputSize !== b.num_actions) {
        throw new FormatError(`${src}: the snapshot's net maps ${imported.model.inputSize} inputs to ${imported.model.outputSize} values; this brain needs ${b.net_inputs} inputs (num_states · temporal_window + num_actions · temporal_window + num_states) and ${b.num_actions} actions`);
      }
    } catch (e) {
      imported.model.free();
      throw e;
    }
    const old = this.current;
    const shapes = (m: Model) => m.params.filter((p) => p.spec.trainable).map((p) => p.spec.shape.join("x")).join(",");
    const carry = shapes(old) === shapes(imported.model) && old.optimizer ? old.optimizer.exportState(old.params) : null;
    try {
      b.setup(imported.model, imported.regularizer);
      if (carry) imported.model.optimizer!.importState(imported.model.backend, imported.model.params, carry);
    } catch (e) {
      imported.model.free();
      b.tdtrainer.optimizer = old.optimizer; // the net that stays keeps its trainer
      throw e;
    }
    this.current = imported.model;
    this.decay = imported.regularizer({}).layers;
    old.free();
  }
}

/**
 * ConvNetJS's deepqlearn.Brain: new Brain(num_states, num_actions, opt), then per step
 * forward(state) → action and backward(reward). Options, defaults and properties are
 * ConvNetJS's; unknown options and ones ConvNetJS would only complain about on the console
 * (a layer_defs that does not fit, a distribution that does not sum to 1) are ConfigErrors.
 */
export class Brain {
  readonly temporal_window: number;
  readonly experience_size: number;
  readonly start_learn_threshold: number;
  readonly gamma: number;
  readonly learning_steps_total: number;
  readonly learning_steps_burnin: number;
  readonly epsilon_min: number;
  readonly epsilon_test_time: number;
  readonly random_action_distribution: number[];
  readonly net_inputs: number;
  readonly num_states: number;
  readonly num_actions: number;
  readonly window_size: number;
  /** The last window_size inputs, actions, rewards and network inputs, oldest first. */
  readonly state_window: (Float32Array | null)[];
  readonly action_window: (number | null)[];
  readonly reward_window: (number | null)[];
  readonly net_window: (Float32Array | null)[];
  readonly value_net: ValueNet;
  readonly tdtrainer: TDTrainer;
  readonly experience: Experience[] = [];
  /** backward() calls while learning. */
  age = 0;
  forward_passes = 0;
  epsilon = 1.0;
  latest_reward = 0;
  last_input_array: ArrayLike<number> = [];
  readonly average_reward_window = new Window(1000, 10);
  readonly average_loss_window = new Window(1000, 10);
  /** false: act with epsilon_test_time and do not learn (backward only records the reward). */
  learning = true;
  private readonly batch: TDBatch;

  constructor(num_states: number, num_actions: number, opt: BrainOptions = {}) {
    const where = "deepqlearn.Brain";
    checkOptionKeys(where, opt, OPTIONS);
    const whole = (v: unknown, what: string, min: number) => {
      if (!Number.isSafeInteger(v) || (v as number) < min) throw new ConfigError(`${where}: ${what} must be a whole number >= ${min}, got ${show(v)}`);
      return v as number;
    };
    const real = (v: unknown, what: string, lo: number, hi: number) => {
      if (typeof v !== "number" || !(v >= lo && v <= hi)) throw new ConfigError(`${where}: ${what} must be a number in [${lo}, ${hi}], got ${show(v)}`);
      return v;
    };
    this.num_states = whole(num_states, "num_states", 1);
    this.num_actions = whole(num_actions, "num_actions", 1);
    this.temporal_window = whole(opt.temporal_window ?? 1, "temporal_window", 0);
    this.experience_size = whole(opt.experience_size ?? 30000, "experience_size", 1);
    this.start_learn_threshold = whole(opt.start_learn_threshold ?? Math.floor(Math.min(this.experience_size * 0.1, 1000)), "start_learn_threshold", 0);
    // learning starts once the memory holds more than the threshold, which it never would
    if (this.start_learn_threshold >= this.experience_size) throw new ConfigError(`deepqlearn.Brain: start_learn_threshold ${this.start_learn_threshold} must be below experience_size ${this.experience_size} (the brain would never learn)`);
    this.gamma = real(opt.gamma ?? 0.8, "gamma", 0, 1);
    this.learning_steps_total = whole(opt.learning_steps_total ?? 100000, "learning_steps_total", 1);
    this.learning_steps_burnin = whole(opt.learning_steps_burnin ?? 3000, "learning_steps_burnin", 0);
    if (this.learning_steps_burnin >= this.learning_steps_total) {
      throw new ConfigError(`${where}: learning_steps_burnin (${this.learning_steps_burnin}) must be below learning_steps_total (${this.learning_steps_total}): ε falls between them`);
    }
    this.epsilon_min = real(opt.epsilon_min ?? 0.05, "epsilon_min", 0, 1);
    this.epsilon_test_time = real(opt.epsilon_test_time ?? 0.01, "epsilon_test_time", 0, 1);
    this.random_action_distribution = [];
    if (opt.random_action_distribution !== undefined) {
      const d = opt.random_action_distribution;
      if (!Array.isArray(d) || d.length !== num_actions || !d.every((p) => typeof p === "number" && p >= 0 && p <= 1)) {
        throw new ConfigError(`${where}: random_action_distribution must hold ${num_actions} probabilities (one per action), got ${show(d)}`);
      }
      const s = d.reduce((a, b) => a + b, 0);
      if (Math.abs(s - 1) > 1e-4) throw new ConfigError(`${where}: random_action_distribution must sum to 1, sums to ${s}`);
      this.random_action_distribution = [...d];
    }
    this.net_inputs = num_states * this.temporal_window + num_actions * this.temporal_window + num_states;
    this.window_size = Math.max(this.temporal_window, 2);
    this.state_window = new Array(this.window_size).fill(null);
    this.action_window = new Array(this.window_size).fill(null);
    this.reward_window = new Array(this.window_size).fill(null);
    this.net_window = new Array(this.window_size).fill(null);

    const defs = this.layerDefs(opt, where);
    this.tdtrainer = new TDTrainer(opt.tdtrainer_options);
    const net = convnetjs(defs, { seed: randi(0, 2 ** 32), name: "value_net" });
    try {
      this.setup(net.model, net.regularizer);
    } catch (e) {
      net.model.free();
      throw e;
    }
    this.value_net = new ValueNet(this, net.model, net.regularizer({}).layers);
    this.batch = new TDBatch(this.tdtrainer.batch_size, this.net_inputs);
  }

  /** layer_defs as given (checked as ConvNetJS only warns), or ConvNetJS's default net: fc relu layers of hidden_layer_sizes, then a regression. */
  private layerDefs(opt: BrainOptions, where: string): ConvNetJSLayerDef[] {
    if (opt.layer_defs !== undefined) {
      if (opt.hidden_layer_sizes !== undefined) throw new ConfigError(`${where}: give layer_defs or hidden_layer_sizes, not both (ConvNetJS ignores hidden_layer_sizes then)`);
      const defs = opt.layer_defs;
      if (!Array.isArray(defs) || defs.length < 2) throw new ConfigError(`${where}: layer_defs must have at least 2 layers`);
      const first = defs[0]!, last = defs[defs.length - 1]!;
      if (first.type !== "input") throw new ConfigError(`${where}: layer_defs must start with an input layer, got ${show(first.type)}`);
      if (last.type !== "regression") throw new ConfigError(`${where}: layer_defs must end with a regression layer, got ${show(last.type)}`);
      const size = [first.out_sx, first.out_sy, first.out_depth].reduce((a: number, v) => a * (v as number), 1);
      if (size !== this.net_inputs) {
        throw new ConfigError(`${where}: the input layer holds ${size} values; the network input is num_states · temporal_window + num_actions · temporal_window + num_states = ${this.net_inputs}`);
      }
      if (last.num_neurons !== this.num_actions) throw new ConfigError(`${where}: the regression layer has ${show(last.num_neurons)} neurons; it needs one per action (${this.num_actions})`);
      return defs;
    }
    const defs: ConvNetJSLayerDef[] = [{ type: "input", out_sx: 1, out_sy: 1, out_depth: this.net_inputs }];
    const hl = opt.hidden_layer_sizes;
    if (hl !== undefined) {
      if (!Array.isArray(hl)) throw new ConfigError(`${where}: hidden_layer_sizes must be an array of layer sizes, got ${show(hl)}`);
      for (const n of hl) defs.push({ type: "fc", num_neurons: n, activation: "relu" });
    }
    defs.push({ type: "regression", num_neurons: this.num_actions });
    return defs;
  }

  /** @internal Compiles a value model for the TD update (a new one at construction and in value_net.fromJSON). */
  setup(model: Model, regularizer: (d: { l1?: number; l2?: number }) => Regularizer): void {
    const optimizer = this.tdtrainer.makeOptimizer();
    const reg = this.tdtrainer.regularizer(regularizer);
    model.compile({ batchSize: this.tdtrainer.batch_size, loss: "selectedSquared", optimizer, ...(reg ? { regularizer: reg } : {}) });
    this.tdtrainer.optimizer = optimizer;
  }

  /** A random action: uniform, or drawn from random_action_distribution. */
  random_action(): number {
    const d = this.random_action_distribution;
    if (d.length === 0) return randi(0, this.num_actions);
    const p = randf(0, 1.0);
    let cum = 0.0, last = 0;
    for (let k = 0; k < this.num_actions; k++) {
      cum += d[k]!;
      if (p < cum) return k;
      if (d[k]! > 0) last = k;
    }
    return last; // p beyond a sum that rounds below 1 (ConvNetJS would return undefined)
  }

  /** The greedy action in network input s and its value. */
  policy(s: ArrayLike<number>): { action: number; value: number } {
    const m = this.value_net.model;
    if (s.length !== this.net_inputs) throw new ShapeError(`deepqlearn.Brain.policy: ${s.length} values; the network input has ${this.net_inputs}`);
    const plan = m.forward(s instanceof Float32Array ? s : Float32Array.from(s), 0, 1, false);
    return greedy(m.backend.heap.f32(plan.outputPtr, this.num_actions), 0, this.num_actions);
  }

  /**
   * The network input for state xt: xt, then for each of the last temporal_window steps (newest
   * first) its state and its action as a one-of-k vector scaled by num_states.
   */
  getNetInput(xt: ArrayLike<number>): Float32Array {
    const w = new Float32Array(this.net_inputs);
    w.set(xt);
    const n = this.window_size, S = this.num_states, A = this.num_actions;
    let o = S;
    for (let k = 0; k < this.temporal_window; k++) {
      w.set(this.state_window[n - 1 - k]!, o);
      o += S;
      w[o + this.action_window[n - 1 - k]!] = S;
      o += A;
    }
    return w;
  }

  /** Chooses an action for input_array (num_states values): ε-greedy while learning, epsilon_test_time otherwise. */
  forward(input_array: ArrayLike<number>): number {
    if (!isArrayLike(input_array)) throw new ShapeError(`deepqlearn.Brain.forward: expects an array of num_states = ${this.num_states} numbers, got ${show(input_array)}`);
    if (input_array.length !== this.num_states) throw new ShapeError(`deepqlearn.Brain.forward: ${input_array.length} inputs; this brain takes num_states = ${this.num_states}`);
    // each a finite number as given (a string or null would be converted silently)
    const bad = firstNonFinite(input_array);
    if (bad >= 0) throw new ShapeError(`deepqlearn.Brain.forward: input ${bad} is ${show(input_array[bad])}; inputs must be finite numbers`);
    const x = Float32Array.from(input_array);
    this.forward_passes += 1;
    this.last_input_array = input_array;
    let action: number, net_input: Float32Array | null = null;
    if (this.forward_passes > this.temporal_window) {
      net_input = this.getNetInput(x);
      this.epsilon = this.learning ? annealedEpsilon(this.age, this.learning_steps_burnin, this.learning_steps_total, this.epsilon_min) : this.epsilon_test_time;
      action = randf(0, 1) < this.epsilon ? this.random_action() : this.policy(net_input).action;
    } else {
      action = this.random_action(); // the first steps, before the window is full
    }
    this.net_window.shift();
    this.net_window.push(net_input);
    this.state_window.shift();
    this.state_window.push(x);
    this.action_window.shift();
    this.action_window.push(action);
    return action;
  }

  /** The reward for the last action; while learning, stores the transition and makes one TD update of a sampled batch. */
  backward(reward: number): void {
    if (typeof reward !== "number" || !Number.isFinite(reward)) throw new ConfigError(`deepqlearn.Brain.backward: the reward must be a finite number, got ${show(reward)}`);
    this.latest_reward = reward;
    this.average_reward_window.add(reward);
    this.reward_window.shift();
    this.reward_window.push(reward);
    if (!this.learning) return;
    this.age += 1;
    if (this.forward_passes > this.temporal_window + 1) {
      const n = this.window_size;
      const e: Experience = { state0: this.net_window[n - 2]!, action0: this.action_window[n - 2]!, reward0: this.reward_window[n - 2]!, state1: this.net_window[n - 1]! };
      if (this.experience.length < this.experience_size) this.experience.push(e);
      else this.experience[randi(0, this.experience_size)] = e; // finite memory: replace one at random
    }
    if (this.experience.length > this.start_learn_threshold) {
      const b = this.batch, bs = this.tdtrainer.batch_size, I = this.net_inputs;
      for (let k = 0; k < bs; k++) {
        const e = this.experience[randi(0, this.experience.length)]!;
        b.s0.set(e.state0, k * I);
        b.s1.set(e.state1, k * I);
        b.actions[k] = e.action0;
        b.rewards[k] = e.reward0;
      }
      const decay = this.decayLoss();
      const loss = b.update(this.value_net.model, this.value_net.model, this.gamma);
      // ConvNetJS's average: its regression layer reports 2·(Q − target)² per sample (4× the ½e²
      // fovea minimises), and its trainer adds the decay loss on the batch's last sample
      this.average_loss_window.add(4 * loss + decay / bs);
    }
  }

  /** Σ over regularised weights of l2·mul·w²/2 + l1·mul·|w|, before the update (ConvNetJS's l2/l1_decay_loss). */
  private decayLoss(): number {
    const m = this.value_net.model, reg = m.regularizer;
    if (!reg) return 0;
    const be = m.backend;
    let total = 0;
    for (const n of m.nodes) {
      const mul = reg.layers?.[n.layer.name];
      const l1 = this.tdtrainer.l1_decay * (typeof mul === "number" ? mul : (mul?.l1 ?? 1));
      const l2 = this.tdtrainer.l2_decay * (typeof mul === "number" ? mul : (mul?.l2 ?? 1));
      for (const p of n.params) {
        if (!p.spec.trainable || !p.spec.regularize) continue;
        if (l2 !== 0) total += (l2 * invoke(be.kernels, sumSquaresCall(p.size, p.w))!) / 2;
        if (l1 !== 0) for (const v of be.heap.f32(p.w, p.size)) total += l1 * Math.abs(v);
      }
    }
    return total;
  }

  /**
   * Fills a DOM element with the brain's state as ConvNetJS's visSelf does (DeepTraffic's page
   * calls it): replay size, ε, age, the average Q-learning loss and the smooth-ish reward, one a line.
   */
  visSelf(elt: { innerHTML: string }): void {
    if (elt === null || typeof elt !== "object" || typeof elt.innerHTML !== "string") throw new ConfigError(`deepqlearn.Brain.visSelf: expected a DOM element, got ${show(elt)}`);
    // numbers only (no markup from elsewhere): the nodes ConvNetJS builds, <div><div>lines</div></div>
    const lines = [`experience replay size: ${this.experience.length}<br>`, `exploration epsilon: ${this.epsilon}<br>`, `age: ${this.age}<br>`,
      `average Q-learning loss: ${this.average_loss_window.get_average()}<br />`, `smooth-ish reward: ${this.average_reward_window.get_average()}<br />`];
    elt.innerHTML = `<div><div>${lines.join("")}</div></div>`;
  }

  /** Returns the value net's wasm memory; the brain cannot be used after. */
  free(): void {
    this.value_net.model.free();
  }
}
