// DQN (Mnih et al. 2013/2015) for any fovea model whose outputs are one Q-value per action:
// experience replay in a ring buffer, a target network copied every `targetUpdate` updates, an
// ε-greedy policy whose ε falls linearly, and the TD update of qlearning.ts (Huber on the chosen
// action's Q-value by default). Its randomness is its own seeded generator.
import { BackendError, ConfigError, ShapeError, checkOptionKeys, show, checkModel, firstNonFinite } from "../errors.js";
import { formatShape } from "../tensor.js";
import type { Model } from "../model/model.js";
import { loadModel } from "../model/serialize.js";
import { Rng } from "../rng.js";
import { checkLoss, targetsAreSelections, type LossName } from "../train/losses.js";
import { adam, Optimizer } from "../train/optimizers.js";
import { annealedEpsilon, greedy, TDBatch } from "./qlearning.js";
import { checkBatchNormRows } from "../train/trainer.js";

export interface DQNOptions {
  /** Discount. Default 0.99. */
  gamma?: number;
  /** Transitions the replay memory keeps (the oldest go first). Default 10,000. */
  replaySize?: number;
  /** Transitions per update. Default 32. */
  batchSize?: number;
  /** Steps of experience before the first update. Default 1,000. */
  learningStarts?: number;
  /** Steps between updates. Default 1. */
  trainEvery?: number;
  /** Updates between copies of the network into the target network. Default 500. */
  targetUpdate?: number;
  /** ε falls linearly from 1 (at learningStarts) to epsilonEnd over epsilonSteps steps. Defaults 0.05 and 10,000. */
  epsilonEnd?: number;
  epsilonSteps?: number;
  /** "selectedHuber" (default) or "selectedSquared". */
  loss?: LossName;
  /** Default adam({ lr: 1e-3 }). One with ema is refused: the agent never uses the averages. */
  optimizer?: Optimizer;
  /** Seeds the replay sampling and the ε-greedy draws. Default 1. */
  seed?: number;
}
const KEYS = ["gamma", "replaySize", "batchSize", "learningStarts", "trainEvery", "targetUpdate", "epsilonEnd", "epsilonSteps", "loss", "optimizer", "seed"];

/**
 * A DQN agent training `model` (input: one observation, e.g. stacked frames [H, W, frames];
 * output: one Q-value per action). Per step: act(observation) → action, then
 * observe(observation, action, reward, next, done). The model is compiled by the agent; the
 * target network is a copy it owns (free() returns it; the model stays the caller's).
 */
export class DQN {
  readonly model: Model;
  readonly target: Model;
  readonly numActions: number;
  readonly gamma: number;
  readonly replaySize: number;
  readonly batchSize: number;
  readonly learningStarts: number;
  readonly trainEvery: number;
  readonly targetUpdate: number;
  readonly epsilonEnd: number;
  readonly epsilonSteps: number;
  /** Transitions observed. */
  steps = 0;
  /** Updates made. */
  updates = 0;
  /** The last update's mean loss (NaN before the first). */
  lastLoss = NaN;
  private readonly rng: Rng;
  private readonly obsSize: number;
  private readonly obs0: Float32Array;
  private readonly obs1: Float32Array;
  private readonly actions: Int32Array;
  private readonly rewards: Float64Array;
  private readonly done: Uint8Array;
  private stored = 0;
  private freed = false;
  private readonly batch: TDBatch;

  constructor(model: Model, options: DQNOptions = {}) {
    checkModel(model, "DQN");
    checkOptionKeys("DQN", options, KEYS);
    const whole = (v: number, what: string, min: number) => {
      if (!Number.isSafeInteger(v) || v < min) throw new ConfigError(`DQN: ${what} must be a whole number >= ${min}, got ${show(v)}`);
      return v;
    };
    const real = (v: number, what: string) => {
      if (typeof v !== "number" || !(v >= 0 && v <= 1)) throw new ConfigError(`DQN: ${what} must be in [0, 1], got ${show(v)}`);
      return v;
    };
    this.gamma = real(options.gamma ?? 0.99, "gamma");
    this.replaySize = whole(options.replaySize ?? 10000, "replaySize", 1);
    this.batchSize = whole(options.batchSize ?? 32, "batchSize", 1);
    this.learningStarts = whole(options.learningStarts ?? 1000, "learningStarts", this.batchSize);
    this.trainEvery = whole(options.trainEvery ?? 1, "trainEvery", 1);
    this.targetUpdate = whole(options.targetUpdate ?? 500, "targetUpdate", 1);
    this.epsilonEnd = real(options.epsilonEnd ?? 0.05, "epsilonEnd");
    this.epsilonSteps = whole(options.epsilonSteps ?? 10000, "epsilonSteps", 1);
    if (this.epsilonEnd === 1) throw new ConfigError("DQN: epsilonEnd must be below 1 (ε falls from 1 to it)");
    const loss = checkLoss(options.loss ?? "selectedHuber");
    if (!targetsAreSelections(loss)) throw new ConfigError(`DQN: loss must be selectedHuber or selectedSquared (a loss on the chosen action's Q-value), got ${show(loss)}`);
    if (options.optimizer !== undefined && !(options.optimizer instanceof Optimizer)) throw new ConfigError("DQN: optimizer must be one of fovea.train's optimizers");
    if (options.optimizer && options.optimizer.ema > 0) {
      throw new ConfigError(`DQN: the optimizer's ema ${options.optimizer.ema} (a moving average of the weights) would never be used: the agent acts and learns with the trained weights, and its target network is a copy every targetUpdate steps; give an optimizer without ema`);
    }
    if (this.batchSize > this.replaySize) throw new ConfigError(`DQN: batchSize ${this.batchSize} is more than the replay memory's ${this.replaySize} transitions (replaySize)`);
    // Q-values: one per action, any real number
    if (model.outputShape.length !== 1) throw new ShapeError(`DQN: the model must give one Q-value per action (a vector), got an output of ${formatShape(model.outputShape)}`);
    const last = model.nodes[model.nodes.length - 1]!.layer;
    if (last.type === "softmax" || last.type === "logSoftmax") throw new ConfigError(`DQN: the model ends in ${last.type} ("${last.name}"): Q-values are returns, not probabilities; end it with a dense layer`);
    // every update trains on batchSize transitions: a batch norm over one value per channel is refused now, not at the first update
    checkBatchNormRows(model, this.batchSize, "DQN", `give batchSize 2 or more (it is ${this.batchSize})`);
    this.rng = new Rng(options.seed ?? 1);
    this.model = model;
    this.obsSize = model.inputSize;
    this.numActions = model.outputSize;
    // the replay memory first: a size that cannot be allocated leaves the caller's model as it was
    const n = this.replaySize * this.obsSize;
    try {
      this.obs0 = new Float32Array(n);
      this.obs1 = new Float32Array(n);
    } catch {
      throw new ConfigError(`DQN: a replay memory of ${this.replaySize} transitions of ${this.obsSize}-value observations (2 × ${n} floats) cannot be allocated; give a smaller replaySize`);
    }
    model.compile({ batchSize: this.batchSize, loss, optimizer: options.optimizer ?? adam({ lr: 1e-3 }) });
    this.target = loadModel(model.save(), { source: `target network of "${model.name}"` });
    this.actions = new Int32Array(this.replaySize);
    this.rewards = new Float64Array(this.replaySize);
    this.done = new Uint8Array(this.replaySize);
    this.batch = new TDBatch(this.batchSize, this.obsSize);
  }

  /** The current ε: 1 until learningStarts, then falling linearly to epsilonEnd over epsilonSteps steps. */
  get epsilon(): number {
    return annealedEpsilon(this.steps, this.learningStarts, this.learningStarts + this.epsilonSteps / (1 - this.epsilonEnd), this.epsilonEnd);
  }

  private live(where: string): void {
    if (this.freed) throw new BackendError(`DQN.${where}: this agent was freed (its target network with it; the model is still yours)`);
  }

  private check(obs: ArrayLike<number>, where: string): void {
    this.live(where);
    if (obs?.length !== this.obsSize) throw new ShapeError(`DQN.${where}: an observation of ${obs?.length} values; the model takes ${this.obsSize}`);
    // a NaN stored in the replay memory would fail every update that samples it, later
    const bad = firstNonFinite(obs);
    if (bad >= 0) throw new ShapeError(`DQN.${where}: observation value ${bad} is ${show(obs[bad])}; observations must be finite`);
  }

  /** The greedy action for one observation and the Q-values. */
  greedy(obs: ArrayLike<number>): { action: number; value: number } {
    this.check(obs, "greedy");
    const plan = this.model.forward(obs instanceof Float32Array ? obs : Float32Array.from(obs), 0, 1, false);
    return greedy(this.model.backend.heap.f32(plan.outputPtr, this.numActions), 0, this.numActions);
  }

  /** ε-greedy action for one observation (pass epsilon to override the schedule, e.g. 0 to evaluate). */
  act(obs: ArrayLike<number>, epsilon = this.epsilon): number {
    this.check(obs, "act");
    if (typeof epsilon !== "number" || !(epsilon >= 0 && epsilon <= 1)) throw new ConfigError(`DQN.act: epsilon must be in [0, 1] (the chance of a random action), got ${show(epsilon)}`);
    return this.rng.uniform() < epsilon ? this.rng.int(this.numActions) : this.greedy(obs).action;
  }

  /**
   * Stores a transition and, when due, makes one TD update of a sampled batch and refreshes the
   * target network. Returns the update's mean loss, or null when no update ran.
   */
  observe(obs: ArrayLike<number>, action: number, reward: number, next: ArrayLike<number>, done: boolean): number | null {
    this.check(obs, "observe");
    this.check(next, "observe");
    if (!Number.isInteger(action) || action < 0 || action >= this.numActions) throw new ShapeError(`DQN.observe: action ${show(action)} is not one of 0 … ${this.numActions - 1}`);
    if (typeof reward !== "number" || !Number.isFinite(reward)) throw new ConfigError(`DQN.observe: the reward must be a finite number, got ${show(reward)}`);
    if (typeof done !== "boolean") throw new ConfigError(`DQN.observe: done must be true or false (whether next ends the episode: no value is taken from it), got ${show(done)}`);
    const slot = this.steps % this.replaySize;
    this.obs0.set(obs, slot * this.obsSize);
    this.obs1.set(next, slot * this.obsSize);
    this.actions[slot] = action;
    this.rewards[slot] = reward;
    this.done[slot] = done ? 1 : 0;
    this.stored = Math.min(this.stored + 1, this.replaySize);
    this.steps++;
    if (this.steps < this.learningStarts || this.steps % this.trainEvery !== 0) return null;
    const b = this.batch, S = this.obsSize;
    for (let k = 0; k < this.batchSize; k++) {
      const i = this.rng.int(this.stored);
      b.s0.set(this.obs0.subarray(i * S, (i + 1) * S), k * S);
      b.s1.set(this.obs1.subarray(i * S, (i + 1) * S), k * S);
      b.actions[k] = this.actions[i]!;
      b.rewards[k] = this.rewards[i]!;
      b.done[k] = this.done[i]!;
    }
    this.lastLoss = b.update(this.model, this.target, this.gamma);
    this.updates++;
    if (this.updates % this.targetUpdate === 0) this.syncTarget();
    return this.lastLoss;
  }

  /** Copies the network's weights into the target network. */
  syncTarget(): void {
    this.live("syncTarget");
    const heap = this.model.backend.heap, from = this.model.params, to = this.target.params;
    from.forEach((p, i) => heap.f32(to[i]!.w, p.size).set(heap.f32(p.w, p.size)));
    this.target.weightsVersion++;
  }

  /** Returns the target network's memory (the model is the caller's to free); the agent cannot be used after. */
  free(): void {
    if (this.freed) return;
    this.freed = true;
    this.target.free();
  }
}
