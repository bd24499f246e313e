// Q-learning's pieces shared by deepqlearn's Brain and the DQN agent: the linear ε schedule, the
// greedy action, and the TD update of a batch of transitions through fovea's training step.
import { ConfigError, ShapeError } from "../errors.js";
import type { Model } from "../model/model.js";
import { targetsAreSelections } from "../train/losses.js";
import { NumericError } from "../train/trainer.js";

/**
 * ε of ConvNetJS deepqlearn's schedule: 1 until `burnin` steps, then falling linearly to reach 0
 * at `total`, never below `min`: min(1, max(min, 1 − (age − burnin) / (total − burnin))).
 */
export function annealedEpsilon(age: number, burnin: number, total: number, min: number): number {
  return Math.min(1, Math.max(min, 1 - (age - burnin) / (total - burnin)));
}

/** The first largest of q[row·cols … row·cols + cols) and its index (ties go to the lowest action, as ConvNetJS's policy). */
export function greedy(q: ArrayLike<number>, row: number, cols: number): { action: number; value: number } {
  const o = row * cols;
  let action = 0, value = q[o]!;
  for (let k = 1; k < cols; k++) if (q[o + k]! > value) { action = k; value = q[o + k]!; }
  return { action, value };
}

/**
 * A batch of transitions (s, a, r, s′, done) and its TD update. Fill the first `count` rows of
 * s0 / actions / rewards / s1 / done, then update(): one batched forward pass of `target` (the
 * network itself, or a target network) gives max_a′ Q̂(s′, a′); the model, compiled with a
 * selected-output loss (selectedSquared or selectedHuber), takes one training step regressing
 * Q(s, a) on r + γ·max_a′ Q̂(s′, a′) (r alone where done). The other outputs get no gradient.
 */
export class TDBatch {
  readonly s0: Float32Array;
  readonly s1: Float32Array;
  readonly actions: Int32Array;
  readonly rewards: Float64Array;
  readonly done: Uint8Array;
  /** (action, target) pairs, the selected-output loss's targets. */
  private readonly pairs: Float32Array;

  constructor(readonly size: number, readonly inputSize: number) {
    this.s0 = new Float32Array(size * inputSize);
    this.s1 = new Float32Array(size * inputSize);
    this.actions = new Int32Array(size);
    this.rewards = new Float64Array(size);
    this.done = new Uint8Array(size);
    this.pairs = new Float32Array(2 * size);
  }

  /** The targets r + γ·max Q̂(s′) of the first `count` transitions, as (action, target) pairs. */
  targets(target: Model, gamma: number, count = this.size): Float32Array {
    if (count < 1 || count > this.size) throw new ShapeError(`TDBatch: count must be in [1, ${this.size}], got ${count}`);
    const K = target.outputSize;
    const plan = target.forward(this.s1, 0, count, false);
    const q1 = target.backend.heap.f32(plan.outputPtr, count * K);
    for (let i = 0; i < count; i++) {
      const t = this.rewards[i]! + (this.done[i] ? 0 : gamma * greedy(q1, i, K).value);
      if (!Number.isFinite(t)) {
        throw new NumericError(`TD update with model "${target.name}": transition ${i} has the target ${t} (reward ${this.rewards[i]}, Q-values of the next state ${Array.from(q1.subarray(i * K, (i + 1) * K)).join(", ")}); the Q-values diverged — a lower learning rate helps`);
      }
      this.pairs[2 * i] = this.actions[i]!;
      this.pairs[2 * i + 1] = t;
    }
    return this.pairs.subarray(0, 2 * count);
  }

  /** One training step of `model` on the first `count` transitions; returns the mean loss before the update. */
  update(model: Model, target: Model, gamma: number, count = this.size): number {
    if (!model.loss || !targetsAreSelections(model.loss)) {
      throw new ConfigError(`TDBatch: model "${model.name}" must be compiled with a selected-output loss (selectedSquared or selectedHuber), got ${String(model.loss)}`);
    }
    const pairs = this.targets(target, gamma, count);
    return model.trainOnBatch(count === this.size ? this.s0 : this.s0.subarray(0, count * this.inputSize), pairs);
  }
}
