// The fit loop: epochs of shuffled minibatches, validation, learning-rate schedules, callbacks
// (batch/epoch end, early stopping, checkpoints, reduce-on-plateau).
import { ConfigError, checkOptionKeys } from "../errors.js";
import { Model, type ExampleData } from "../model/model.js";
import type { Rng } from "../rng.js";
import { trainStep } from "./trainer.js";

declare module "../model/model.js" {
  interface Model {
    /** Trains for some epochs (see train/fit.ts); returns the per-epoch logs. */
    fit(x: ExampleData, y: ArrayLike<number>, options?: FitOptions): History;
  }
}

export interface EpochLogs {
  epoch: number;
  loss: number;
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

export interface Callback {
  onBatchEnd?(info: { epoch: number; batch: number; batches: number; loss: number; lr: number }): void;
  /** Return "stop" to end training after this epoch. */
  onEpochEnd?(logs: EpochLogs, model: Model): void | "stop";
}

/** lr for a step: a number, or a function of (step, epoch) (see schedules.ts). */
export type LearningRate = number | ((step: number, epoch: number) => number);

export interface FitOptions {
  epochs?: number;
  batchSize?: number;
  shuffle?: boolean;
  validationData?: [ExampleData, ArrayLike<number>];
  callbacks?: Callback[];
  lr?: LearningRate;
  /** Applied to each training batch (a shuffled copy) before the step, e.g. data.augmenter(...). */
  augment?: (x: Float32Array, count: number, rng: Rng) => void;
}
const FIT_KEYS = ["epochs", "batchSize", "shuffle", "validationData", "callbacks", "lr", "augment"];

export interface History {
  epochs: EpochLogs[];
}

export function fit(model: Model, x: ExampleData, y: ArrayLike<number>, options: FitOptions = {}): History {
  checkOptionKeys("fit", options, FIT_KEYS);
  const epochs = options.epochs ?? 1;
  if (!Number.isInteger(epochs) || epochs < 1) throw new ConfigError(`fit: epochs must be a whole number >= 1, got ${epochs}`);
  const bs = options.batchSize ?? model.batchSize;
  if (!Number.isInteger(bs) || bs < 1) throw new ConfigError(`fit: batchSize must be a whole number >= 1, got ${bs}`);
  if (!model.optimizer) throw new ConfigError("fit: no optimizer; compile({ loss, optimizer }) first");
  const inputSize = model.inputSize;
  const data = x instanceof Float32Array ? x : Float32Array.from(x instanceof Array ? x : (x as { toArray(): Float32Array }).toArray());
  if (data.length % inputSize !== 0) throw new ConfigError(`fit: ${data.length} values are not a whole number of examples of ${inputSize}`);
  const n = data.length / inputSize;
  const targets = model.targets(y, n, "fit");
  const perTarget = targets.length / n;
  const callbacks = options.callbacks ?? [];
  const history: History = { epochs: [] };
  // shuffled copies, reused every epoch (no per-batch allocation)
  const order = Int32Array.from({ length: n }, (_, i) => i);
  const xs = new Float32Array(data.length);
  const ys = targets instanceof Int32Array ? new Int32Array(targets.length) : new Float32Array(targets.length);
  const opt = model.optimizer;
  const lrOf = (step: number, epoch: number) => {
    const lr = options.lr ?? opt.lr;
    const v = typeof lr === "number" ? lr : lr(step, epoch);
    if (!(Number.isFinite(v) && v >= 0)) throw new ConfigError(`fit: the learning rate schedule gave ${v} at step ${step}`);
    return v;
  };
  for (let epoch = 0; epoch < epochs; epoch++) {
    const t0 = performance.now();
    if (options.shuffle ?? true) model.rng.shuffle(order);
    for (let i = 0; i < n; i++) {
      const s = order[i]!;
      xs.set(data.subarray(s * inputSize, (s + 1) * inputSize), i * inputSize);
      ys.set(targets.subarray(s * perTarget, (s + 1) * perTarget), i * perTarget);
    }
    let sum = 0, correct = 0;
    const batches = Math.ceil(n / bs);
    for (let b = 0; b < batches; b++) {
      const start = b * bs, count = Math.min(bs, n - start);
      const lr = lrOf(model.step, epoch);
      if (options.augment) options.augment(xs.subarray(start * inputSize, (start + count) * inputSize), count, model.rng);
      const step = trainStep(model, xs, ys, start, count, lr);
      const loss = step.loss;
      sum += loss * count;
      correct += step.correct;
      for (const c of callbacks) c.onBatchEnd?.({ epoch, batch: b, batches, loss, lr });
    }
    const seconds = (performance.now() - t0) / 1000;
    const train = { loss: sum / n };
    const val = options.validationData ? model.evaluate(options.validationData[0], options.validationData[1], { batchSize: bs }) : null;
    // running accuracy over the epoch's batches (training mode, as Keras reports it)
    const acc = model.loss === "softmaxCrossEntropy" || model.loss === "hinge" ? correct / n : null;
    const logs: EpochLogs = {
      epoch, loss: train.loss, accuracy: acc, valLoss: val?.loss ?? null, valAccuracy: val?.accuracy ?? null,
      lr: lrOf(model.step, epoch), seconds, imagesPerSecond: n / seconds,
    };
    history.epochs.push(logs);
    let stop = false;
    for (const c of callbacks) if (c.onEpochEnd?.(logs, model) === "stop") stop = true;
    if (stop) break;
  }
  return history;
}

Model.prototype.fit = function (this: Model, x: ExampleData, y: ArrayLike<number>, options: FitOptions = {}): History {
  return fit(this, x, y, options);
};

/** Stops when the monitored value has not improved by minDelta for `patience` epochs. */
export function earlyStopping(o: { monitor?: "loss" | "valLoss" | "valAccuracy"; patience?: number; minDelta?: number } = {}): Callback {
  checkOptionKeys("earlyStopping", o, ["monitor", "patience", "minDelta"]);
  const monitor = o.monitor ?? "valLoss", patience = o.patience ?? 3, minDelta = o.minDelta ?? 0;
  const higher = monitor === "valAccuracy";
  let best = higher ? -Infinity : Infinity, wait = 0;
  return {
    onEpochEnd(logs) {
      const v = logs[monitor];
      if (v === null) throw new ConfigError(`earlyStopping: ${monitor} needs validationData`);
      if (higher ? v > best + minDelta : v < best - minDelta) {
        best = v;
        wait = 0;
      } else if (++wait >= patience) return "stop";
    },
  };
}

/** Calls `save(model, logs)` after every epoch, or only when the monitored value improves. */
export function checkpoint(save: (model: Model, logs: EpochLogs) => void, o: { monitor?: "valLoss" | "loss"; bestOnly?: boolean } = {}): Callback {
  checkOptionKeys("checkpoint", o, ["monitor", "bestOnly"]);
  let best = Infinity;
  return {
    onEpochEnd(logs, model) {
      const v = logs[o.monitor ?? "valLoss"] ?? logs.loss;
      if (!o.bestOnly || v < best) {
        best = Math.min(best, v);
        save(model, logs);
      }
    },
  };
}

/** "LR/2 when validation stalls": multiplies the optimiser's lr by `factor` after `patience` epochs without improvement. */
export function reduceOnPlateau(o: { monitor?: "loss" | "valLoss"; factor?: number; patience?: number; minLr?: number; minDelta?: number } = {}): Callback {
  checkOptionKeys("reduceOnPlateau", o, ["monitor", "factor", "patience", "minLr", "minDelta"]);
  const factor = o.factor ?? 0.5, patience = o.patience ?? 2, minLr = o.minLr ?? 0, minDelta = o.minDelta ?? 0;
  if (!(factor > 0 && factor < 1)) throw new ConfigError(`reduceOnPlateau: factor must be in (0, 1), got ${factor}`);
  let best = Infinity, wait = 0;
  return {
    onEpochEnd(logs, model) {
      const v = logs[o.monitor ?? "valLoss"] ?? logs.loss;
      if (v < best - minDelta) {
        best = v;
        wait = 0;
      } else if (++wait >= patience && model.optimizer) {
        model.optimizer.lr = Math.max(minLr, model.optimizer.lr * factor);
        wait = 0;
      }
    },
  };
}
