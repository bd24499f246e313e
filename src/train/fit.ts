// The fit loop: epochs of shuffled minibatches, validation, learning-rate schedules, callbacks
// (batch/epoch end, early stopping, checkpoints, reduce-on-plateau), progress events. One loop
// (fitRun, a generator that stops after every batch) runs as fit (to the end, now) and as
// fitAsync (giving the event loop a turn between batches, so a page stays responsive).
import { ConfigError, checkOptionKeys, show, checkBoolean, checkModel, firstNonFinite, isRecord } from "../errors.js";
import { targetsAreLabels } from "./losses.js";
import { checkLr } from "./optimizers.js";
import { Model, checkBatchSize, type ExampleData } from "../model/model.js";
import type { Rng } from "../rng.js";
import { NumericError, checkBatchNormRows, evaluateOn, finiteExamples, notAveraged, runStep, swapAverages } from "./trainer.js";
import type { InputStager } from "../model/plan.js";
import { formatShape } from "../tensor.js";

declare module "../model/model.js" {
  interface Model {
    /** Trains for some epochs (see train/fit.ts); returns the per-epoch logs. */
    fit(x: ExampleData, y: ArrayLike<number>, options?: FitOptions): History;
    /**
     * fit that gives the event loop a turn between batches (see train/fit.ts's fitAsync). The
     * examples and targets are read batch by batch while it runs: change them only once it is done.
     */
    fitAsync(x: ExampleData, y: ArrayLike<number>, options?: FitAsyncOptions): Promise<History>;
  }
}

export interface EpochLogs {
  epoch: number;
  loss: number;
  accuracy: number | null;
  valLoss: number | null;
  valAccuracy: number | null;
  /** The learning rate of the epoch's last step (the one it ended with, not the next epoch's). */
  lr: number;
  seconds: number;
  imagesPerSecond: number;
}

/**
 * Where fit is, between two batches: with the model's weights, its optimiser's state, its RNG
 * and its step count (train/checkpoint.ts keeps all of them), enough for FitOptions.resume to
 * continue exactly as if fit had not stopped. Callbacks with state of their own (earlyStopping,
 * reduceOnPlateau's patience) start afresh on a resume.
 */
export interface FitProgress {
  /** The epoch under way (0-based); the number of epochs once all are done. */
  epoch: number;
  /** Batches of that epoch taken; 0: nothing of it done yet, not even its shuffle. */
  batch: number;
  batchSize: number;
  /** The example order of that epoch (at batch 0, the last epoch's order, which the next shuffle permutes). */
  order: Int32Array;
  /** Over the batches taken in this epoch: the sum of loss × examples, the correct predictions, the seconds. */
  lossSum: number;
  correct: number;
  seconds: number;
  /** The logs of the epochs finished. */
  history: EpochLogs[];
}

export interface BatchInfo {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
  lr: number;
  /** Where fit is after this batch; `order` is fit's own array, valid until the callback returns. */
  progress: FitProgress;
}

export interface Callback {
  onBatchEnd?(info: BatchInfo): void;
  /**
   * Return "stop" to end training after this epoch. `progress`: as in onBatchEnd, at the start of
   * the next epoch. A promise (an async save, T.checkpoint) is waited for by fitAsync before the
   * next epoch (its value is not read: "stop" is returned, not resolved); fit, which cannot
   * wait, refuses it with a ConfigError (before it trains, where the callback says so: `waits`).
   */
  onEpochEnd?(logs: EpochLogs, model: Model, progress: FitProgress): void | "stop" | Promise<unknown>;
  /** The value it reads each epoch (earlyStopping, checkpoint with bestOnly, reduceOnPlateau): fit refuses, before it trains, a run that will not report it. */
  readonly monitor?: Monitor;
  /** Its onEpochEnd returns a promise (T.checkpoint with an async save): fit, which cannot wait for it, refuses it before it trains. */
  readonly waits?: boolean;
  /** It sets the optimiser's lr between epochs (reduceOnPlateau): fit refuses it beside an `lr` option, which would override it. */
  readonly setsLr?: boolean;
}

/** What FitOptions.onProgress hears: after every batch, and after every epoch with its logs. */
export interface FitEvent {
  type: "batch" | "epoch";
  /** The epoch (0-based) and the run's number of epochs. */
  epoch: number;
  epochs: number;
  /** Batches of this epoch taken, and its number of batches. */
  batch: number;
  batches: number;
  /** The last batch's loss, and the mean loss per example over this epoch's batches so far. */
  loss: number;
  epochLoss: number;
  /** The part of the whole run done, in (0, 1]. */
  fraction: number;
  /** type "epoch": the epoch's logs (what History holds); "batch": null. */
  logs: EpochLogs | null;
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
  /**
   * Applied to each training batch (its examples gathered in shuffled order into a buffer of the
   * batch) before the step, e.g. data.augmenter(...).
   * An augmenter of the model's backend warps the batch straight into the model's input, each
   * thread its own slice at the head of its forward pass where that pass starts with per-example
   * layers (no copies back, no dispatch of its own), else by example ranges just before it; any
   * other function changes the batch in place. Both give the same bits.
   */
  augment?: (x: Float32Array, count: number, rng: Rng) => void;
  /**
   * Continue from a FitProgress a callback was given (with the model, optimiser and RNG state
   * of that moment restored, e.g. by train/checkpoint.ts): the same epochs, batch size, data and
   * options then give the same result as the run that was interrupted. (With an optimiser given
   * ema, a fit that ended left the averages in the model: continue from a checkpoint, which keeps
   * the weights themselves, as Keras's use_ema also ends fit with the averages.)
   */
  resume?: FitProgress;
  /** Called after every batch and every epoch with where the run is (e.g. for a progress bar or a loss curve). */
  onProgress?: (event: FitEvent) => void;
  /** true: print one line per epoch (formatEpoch) with console.log; a function: give it that line instead. */
  verbose?: boolean | ((line: string) => void);
}
const FIT_KEYS = ["epochs", "batchSize", "shuffle", "validationData", "callbacks", "lr", "augment", "resume", "onProgress", "verbose"];

export interface FitAsyncOptions extends FitOptions {
  /**
   * The longest stretch of training between two turns of the event loop, in ms (default 10; 0:
   * a turn after every batch). A batch is never split: a longer batch is one longer stretch.
   */
  yieldMs?: number;
}

export interface History {
  epochs: EpochLogs[];
}

/**
 * Trains `model` for some epochs, now; returns the per-epoch logs. x and y are read batch by batch
 * (callbacks must not change them).
 */
export function fit(model: Model, x: ExampleData, y: ArrayLike<number>, options: FitOptions = {}): History {
  checkOptionKeys("fit", options, FIT_KEYS);
  const run = fitRun(model, x, y, options, "fit");
  try {
    for (;;) {
      const r = run.next();
      if (r.done) return r.value;
      if (r.value) throw cannotWait("a callback's onEpochEnd returned a promise (an async save given T.checkpoint?)");
    }
  } finally {
    run.return(undefined as never); // a fit stopped here is not running (its finally blocks run)
  }
}

/**
 * fit, giving the event loop a turn between batches (at least every `yieldMs`): a page stays
 * responsive and can draw onProgress's events while the model trains on its main thread. The
 * results are fit's, bit for bit. Another fit of the same model while one runs is a ConfigError;
 * a model freed meanwhile rejects the promise with fit's BackendError.
 */
export async function fitAsync(model: Model, x: ExampleData, y: ArrayLike<number>, options: FitAsyncOptions = {}): Promise<History> {
  checkOptionKeys("fitAsync", options, [...FIT_KEYS, "yieldMs"]);
  const { yieldMs = 10, ...fitOptions } = options;
  if (!(typeof yieldMs === "number" && yieldMs >= 0)) throw new ConfigError(`fitAsync: yieldMs must be a number of ms >= 0, got ${String(yieldMs)}`);
  const run = fitRun(model, x, y, fitOptions, "fitAsync");
  let last = performance.now();
  try {
    for (;;) {
      const r = run.next();
      if (r.done) return r.value;
      if (r.value) await r.value; // a callback's promise (an async save): it rejects fitAsync if it fails
      if (performance.now() - last >= yieldMs) {
        await turn();
        last = performance.now();
      }
    }
  } finally {
    run.return(undefined as never);
  }
}

/**
 * One turn of the event loop, as a task behind those already queued (timers, messages, I/O),
 * without the clamping of nested timers: setImmediate where there is one (Node), else a message
 * to ourselves. (Not scheduler.yield: its continuation goes before the page's other tasks.)
 */
function turn(): Promise<void> {
  const g = globalThis as { setImmediate?: (f: () => void) => void };
  if (typeof g.setImmediate === "function") return new Promise((r) => g.setImmediate!(r));
  return new Promise((r) => {
    const c = new MessageChannel();
    c.port1.onmessage = () => {
      c.port1.close();
      r();
    };
    c.port2.postMessage(null);
  });
}

/** fit refusing a callback's promise: what to use instead. */
const cannotWait = (what: string) => new ConfigError(`fit: ${what}, which fit cannot wait for: use fitAsync, which waits for it, or a synchronous save (the writer fovea.data.fileWriter() gives)`);

const isPromise = (v: unknown): v is Promise<unknown> => typeof (v as { then?: unknown } | null)?.then === "function";

/** fn with the averages of the weights in place where the model's optimiser keeps them (ema), else as it is. */
function withAverages<T>(model: Model, fn: () => T): T {
  return (model.optimizer?.ema ?? 0) > 0 ? model.withAveragedWeights(fn) : fn();
}

/** The models a fit runs on now (fitAsync interleaves with other code: a second fit of one model is an error). */
const running = new WeakSet<Model>();

/**
 * The fit loop: stops after every batch and every epoch (yield; after an epoch whose callbacks
 * returned promises, yielding them all as one), returns the history at the end.
 */
function* fitRun(model: Model, x: ExampleData, y: ArrayLike<number>, options: FitOptions, where: string): Generator<Promise<unknown> | void, History, void> {
  checkModel(model, where);
  const epochs = options.epochs ?? 1;
  if (!Number.isInteger(epochs) || epochs < 1) throw new ConfigError(`${where}: epochs must be a whole number >= 1, got ${show(epochs)}`);
  const bs = checkBatchSize(where, options.batchSize ?? model.batchSize);
  if (!model.optimizer) throw new ConfigError(`${where}: no optimizer; compile({ loss, optimizer }) first`);
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") throw new ConfigError(`${where}: onProgress must be a function, got ${typeof options.onProgress}`);
  checkBoolean(where, "shuffle", options.shuffle);
  if (options.verbose !== undefined && typeof options.verbose !== "boolean" && typeof options.verbose !== "function") throw new ConfigError(`${where}: verbose must be true, false or a function taking each epoch's line, got ${show(options.verbose)}`);
  notAveraged(model);
  if (running.has(model)) throw new ConfigError(`${where}: model "${model.name}" is already being trained (a fitAsync under way); wait for it to end`);
  const { data, n } = model.examples(x, where);
  const targets = model.targets(y, n, where);
  // everything fit will read, checked before anything trains: a mistake found after an epoch would
  // leave the model, its step and its RNG changed
  finiteExamples(where, "the training data", data, model.inputSize);
  // every batch's size: full ones and the last, partial one
  for (const count of new Set([Math.min(bs, n), n % bs || bs])) {
    // the batch sizes nearest bs whose last batch is not one example
    const fits = (b: number) => b >= 2 && n % b !== 1;
    const near = [1, 2, 3, 4, 5, 6, 7, 8].flatMap((d) => [bs - d, bs + d]).filter(fits).slice(0, 2);
    const advice = count < Math.min(bs, n) ? `pass a batchSize that leaves no last batch of one example (${near.join(" or ")}, say), or leave an example out` : "train with batches of 2 or more";
    checkBatchNormRows(model, count, `${where}: a batch of ${count} (${n} examples in batches of ${bs})`, advice);
  }
  const vd = options.validationData;
  let val: Validation | null = null;
  if (vd !== undefined) {
    if (!Array.isArray(vd) || vd.length !== 2) throw new ConfigError(`${where}: validationData must be a pair [examples, targets], got ${show(vd)}`);
    const v = model.examples(vd[0], `${where} validationData`);
    val = { ...v, targets: model.targets(vd[1], v.n, `${where} validationData`) };
    finiteExamples(where, "validationData", v.data, model.inputSize);
  }
  if (options.augment !== undefined && typeof options.augment !== "function") throw new ConfigError(`${where}: augment must be a function of (examples, count, rng), e.g. fovea.data.augmenter(...), got ${show(options.augment)}`);
  if (typeof options.lr === "number") checkLr(where, options.lr);
  else if (options.lr !== undefined && typeof options.lr !== "function") throw new ConfigError(`${where}: lr must be a number or a schedule (a function of step and epoch), got ${show(options.lr)}`);
  checkCallbacks(where, model, options);
  running.add(model);
  try {
    return yield* epochsOf(model, data, targets, n, epochs, bs, options, val);
  } finally {
    running.delete(model);
  }
}

/** Validation data as fitRun checked it. */
interface Validation {
  data: Float32Array;
  n: number;
  targets: Int32Array | Float32Array;
}

function* epochsOf(model: Model, data: Float32Array, targets: Int32Array | Float32Array, n: number, epochs: number, bs: number, options: FitOptions, valData: Validation | null): Generator<Promise<unknown> | void, History, void> {
  const inputSize = model.inputSize;
  const opt = model.optimizer!; // fitRun checked it
  const perTarget = targets.length / n;
  const callbacks = options.callbacks ?? [];
  const onProgress = options.onProgress;
  const say = options.verbose === true ? (line: string) => console.log(line) : typeof options.verbose === "function" ? options.verbose : null;
  const batches = Math.ceil(n / bs);
  const resume = options.resume;
  if (resume) checkProgress(resume, n, bs, batches, epochs);
  const history: History = { epochs: resume ? [...resume.history] : [] };
  const aug = options.augment as Partial<InputStager> | undefined;
  if (aug?.shape && aug.shape[0] * aug.shape[1] * aug.shape[2] !== inputSize) {
    throw new ConfigError(`fit: the augmenter takes examples of ${formatShape(aug.shape)} (${aug.shape[0] * aug.shape[1] * aug.shape[2]} values), the model's input is ${formatShape(model.inputShape)} (${inputSize})`);
  }
  const staged = aug?.stage && aug.backend === model.backend ? (aug as InputStager) : null;
  // each batch's examples gathered in the epoch's shuffled order into buffers reused every batch
  // (no copy of the whole data set per epoch, no per-batch allocation)
  const order = resume ? Int32Array.from(resume.order) : Int32Array.from({ length: n }, (_, i) => i);
  const most = Math.min(bs, n);
  const xb = new Float32Array(most * inputSize);
  const yb = targets instanceof Int32Array ? new Int32Array(most * perTarget) : new Float32Array(most * perTarget);
  const lrOf = (step: number, epoch: number) => {
    const lr = options.lr ?? opt.lr;
    const v = typeof lr === "number" ? lr : lr(step, epoch);
    if (!(Number.isFinite(v) && v >= 0)) throw new ConfigError(`fit: the learning rate schedule gave ${show(v)} at step ${step}`);
    return v;
  };
  // the first step's learning rate before anything changes (the shuffle draws from the model's RNG)
  if ((resume?.epoch ?? 0) < epochs) lrOf(model.step, resume?.epoch ?? 0);
  for (let epoch = resume?.epoch ?? 0; epoch < epochs; epoch++) {
    const resumed = resume !== undefined && epoch === resume.epoch;
    const first = resumed ? resume.batch : 0;
    const t0 = performance.now() - (resumed ? resume.seconds * 1000 : 0);
    if (first === 0 && (options.shuffle ?? true)) model.rng.shuffle(order);
    let sum = resumed ? resume.lossSum : 0, correct = resumed ? resume.correct : 0;
    // (an epoch resumed at its end ran its last step before the checkpoint)
    let lastLr = first < batches ? 0 : lrOf(Math.max(0, model.step - 1), epoch);
    for (let b = first; b < batches; b++) {
      const start = b * bs, count = Math.min(bs, n - start);
      const lr = (lastLr = lrOf(model.step, epoch));
      // an augmenter of the model's backend warps the batch straight into the model's input, in
      // line with the forward pass (the same draws, the same bits); any other function in place
      for (let i = 0; i < count; i++) {
        const s = order[start + i]!;
        xb.set(data.subarray(s * inputSize, (s + 1) * inputSize), i * inputSize);
        yb.set(targets.subarray(s * perTarget, (s + 1) * perTarget), i * perTarget);
      }
      const batch = xb.subarray(0, count * inputSize);
      const make = staged ? staged.stage(batch, count, model.rng) : undefined;
      if (!staged) options.augment?.(batch, count, model.rng);
      const step = runStep(model, xb, yb, 0, count, lr, make);
      const loss = step.loss;
      sum += loss * count;
      correct += step.correct;
      onProgress?.({ type: "batch", epoch, epochs, batch: b + 1, batches, loss, epochLoss: sum / (start + count), fraction: (epoch * batches + b + 1) / (epochs * batches), logs: null });
      if (callbacks.length === 0) {
        yield;
        continue;
      }
      const progress: FitProgress = {
        epoch, batch: b + 1, batchSize: bs, order, lossSum: sum, correct, seconds: (performance.now() - t0) / 1000, history: history.epochs,
      };
      for (const c of callbacks) c.onBatchEnd?.({ epoch, batch: b, batches, loss, lr, progress });
      yield;
    }
    const seconds = (performance.now() - t0) / 1000;
    const train = { loss: sum / n };
    // an optimiser that averages the weights is validated with its averages: the weights fit ends with
    const val = valData ? withAverages(model, () => evaluateOn(model, valData.data, valData.n, valData.targets, bs)) : null;
    // running accuracy over the epoch's batches (training mode, as Keras reports it)
    const acc = model.loss === "softmaxCrossEntropy" || model.loss === "hinge" ? correct / n : null;
    const logs: EpochLogs = {
      epoch, loss: train.loss, accuracy: acc, valLoss: val?.loss ?? null, valAccuracy: val?.accuracy ?? null,
      lr: lastLr, seconds, imagesPerSecond: seconds > 0 ? n / seconds : 0,
    };
    history.epochs.push(logs);
    onProgress?.({ type: "epoch", epoch, epochs, batch: batches, batches, loss: logs.loss, epochLoss: logs.loss, fraction: (epoch + 1) / epochs, logs });
    if (say) say(formatEpoch(logs, epochs));
    const next: FitProgress = { epoch: epoch + 1, batch: 0, batchSize: bs, order, lossSum: 0, correct: 0, seconds: 0, history: history.epochs };
    let stop = false;
    const waits: Promise<unknown>[] = [];
    for (const c of callbacks) {
      const r = c.onEpochEnd?.(logs, model, next);
      if (r === "stop") stop = true;
      else if (isPromise(r)) waits.push(r);
    }
    if (waits.length) yield Promise.all(waits);
    if (stop) break;
    yield;
  }
  // the moving averages of the weights (an optimiser given ema) are what training ends with
  swapAverages(model, true);
  return history;
}

/** One line for an epoch's logs, as fit's `verbose` prints it. */
export function formatEpoch(l: EpochLogs, epochs: number): string {
  if (!isRecord(l) || typeof l.loss !== "number" || !Number.isInteger(l.epoch)) throw new ConfigError(`formatEpoch: expected an epoch's logs (fit's History entries), got ${show(l)}`);
  const pct = (v: number) => `${(100 * v).toFixed(2)}%`;
  return [
    `epoch ${l.epoch + 1}/${epochs}`, `loss ${l.loss.toFixed(4)}`,
    ...(l.accuracy !== null ? [`accuracy ${pct(l.accuracy)}`] : []),
    ...(l.valLoss !== null ? [`validation loss ${l.valLoss.toFixed(4)}`] : []),
    ...(l.valAccuracy !== null ? [`validation accuracy ${pct(l.valAccuracy)}`] : []),
    `lr ${Number(l.lr.toPrecision(4))}`, `${l.seconds.toFixed(1)} s`, `${Math.round(l.imagesPerSecond).toLocaleString("en-US")} img/s`,
  ].join("  ");
}

/** FitOptions.resume against this fit: same batch size and examples, a place inside the epochs. */
function checkProgress(p: FitProgress, n: number, bs: number, batches: number, epochs: number): void {
  const bad = (what: string): never => {
    throw new ConfigError(`fit: resume: ${what}`);
  };
  if (p.batchSize !== bs) bad(`the progress is of batches of ${p.batchSize}, this fit has batchSize ${bs}`);
  if (!(p.order instanceof Int32Array) || p.order.length !== n) bad(`the example order has ${p.order?.length} entries, this fit has ${n} examples`);
  if (!(Number.isInteger(p.epoch) && p.epoch >= 0 && p.epoch <= epochs)) bad(`epoch ${p.epoch} is outside 0…${epochs} (epochs: ${epochs})`);
  if (!(Number.isInteger(p.batch) && p.batch >= 0 && p.batch <= batches)) bad(`batch ${p.batch} is outside 0…${batches} (${n} examples in batches of ${bs})`);
  if (p.epoch === epochs && p.batch !== 0) bad(`batch ${p.batch} of epoch ${p.epoch}, after the last epoch`);
  if (!Array.isArray(p.history) || p.history.length !== p.epoch) bad(`${p.history?.length} epochs of history for ${p.epoch} epochs done`);
  if (!(Number.isFinite(p.lossSum) && Number.isInteger(p.correct) && p.correct >= 0 && p.correct <= n && p.seconds >= 0)) {
    bad(`lossSum ${p.lossSum}, correct ${p.correct}, seconds ${p.seconds}: not a running sum, a count of 0…${n} and a duration`);
  }
  const seen = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const k = p.order[i]!;
    if (!(k >= 0 && k < n) || seen[k]) bad(`the example order is not a permutation of 0…${n - 1} (entry ${i} is ${k})`);
    seen[k] = 1;
  }
}

Model.prototype.fit = function (this: Model, x: ExampleData, y: ArrayLike<number>, options: FitOptions = {}): History {
  return fit(this, x, y, options);
};
Model.prototype.fitAsync = function (this: Model, x: ExampleData, y: ArrayLike<number>, options: FitAsyncOptions = {}): Promise<History> {
  return fitAsync(this, x, y, options);
};

/** What a callback watches: a value of EpochLogs (accuracies should rise, losses fall). */
export type Monitor = "loss" | "accuracy" | "valLoss" | "valAccuracy";

const MONITORS: readonly Monitor[] = ["loss", "accuracy", "valLoss", "valAccuracy"];

/** The callbacks' shared checks: `monitor` one of MONITORS, and its numbers in range (where: the callback's name). */
function checkMonitor(where: string, monitor: unknown): Monitor {
  if (!MONITORS.includes(monitor as Monitor)) throw new ConfigError(`${where}: monitor must be ${MONITORS.map((a) => `"${a}"`).join(", ").replace(/, ([^,]*)$/, " or $1")}, got ${show(monitor)}`);
  return monitor as Monitor;
}
function checkCount(where: string, name: string, v: unknown): number {
  if (!(Number.isSafeInteger(v) && (v as number) >= 1)) throw new ConfigError(`${where}: ${name} must be a whole number of epochs >= 1, got ${show(v)}`);
  return v as number;
}
function checkNonNegative(where: string, name: string, v: unknown): number {
  if (!(typeof v === "number" && Number.isFinite(v) && v >= 0)) throw new ConfigError(`${where}: ${name} must be a finite number >= 0, got ${show(v)}`);
  return v;
}

/** Why fit will not report `monitor` (no validationData, a loss without accuracy), or null where it will. */
function unreported(monitor: Monitor, validation: boolean, accuracy: boolean): string | null {
  if (monitor.startsWith("val") && !validation) return `monitor "${monitor}" needs validationData in fit (or monitor "${monitor === "valLoss" ? "loss" : "accuracy"}")`;
  if ((monitor === "accuracy" || monitor === "valAccuracy") && !accuracy) return `monitor "${monitor}": the loss reports no accuracy (softmaxCrossEntropy and hinge do)`;
  return null;
}

/** The monitored value of an epoch; a value fit does not report is an error, never another value in its place (fit checks this before it trains). */
function monitored(where: string, logs: EpochLogs, monitor: Monitor): number {
  const v = logs[monitor];
  if (v !== null) return v;
  throw new ConfigError(`${where}: ${unreported(monitor, logs.valLoss !== null, false) ?? `monitor "${monitor}" was not reported`}`);
}

/** fit's callbacks: objects whose hooks are functions, each value one monitors reported, no lr set by one that an lr option overrides. */
function checkCallbacks(where: string, model: Model, options: FitOptions): void {
  const callbacks: unknown = options.callbacks ?? [];
  if (!Array.isArray(callbacks)) throw new ConfigError(`${where}: callbacks must be an array of callbacks, got ${show(callbacks)}`);
  callbacks.forEach((c: unknown, i) => {
    if (!isRecord(c) || (c.onBatchEnd !== undefined && typeof c.onBatchEnd !== "function") || (c.onEpochEnd !== undefined && typeof c.onEpochEnd !== "function")) {
      throw new ConfigError(`${where}: callbacks[${i}] must be an object with onBatchEnd / onEpochEnd functions, got ${show(c)}`);
    }
    const cb = c as Callback;
    if (cb.monitor !== undefined) checkMonitor(`${where}: callbacks[${i}]`, cb.monitor);
    const why = cb.monitor !== undefined ? unreported(cb.monitor, options.validationData !== undefined, targetsAreLabels(model.loss!)) : null;
    if (why) throw new ConfigError(`${where}: callbacks[${i}]: ${why}`);
    if (cb.waits && where === "fit") throw cannotWait(`callbacks[${i}] returns a promise (an async save given T.checkpoint)`);
    if (cb.setsLr && options.lr !== undefined) throw new ConfigError(`${where}: callbacks[${i}] sets the optimiser's lr between epochs, which fit's lr option would override; give one or the other`);
  });
}

/** Whether the monitored value should go up (accuracies) rather than down (losses). */
const upward = (monitor: Monitor) => monitor === "accuracy" || monitor === "valAccuracy";
/** Whether v improves on best by more than minDelta. */
const improves = (monitor: Monitor, v: number, best: number, minDelta: number) => (upward(monitor) ? v > best + minDelta : v < best - minDelta);
/** The best value before any epoch: every first value improves on it. */
const worst = (monitor: Monitor) => (upward(monitor) ? -Infinity : Infinity);

/** Stops when the monitored value has not improved by minDelta for `patience` epochs. */
export function earlyStopping(o: { monitor?: Monitor; patience?: number; minDelta?: number } = {}): Callback {
  checkOptionKeys("earlyStopping", o, ["monitor", "patience", "minDelta"]);
  const monitor = checkMonitor("earlyStopping", o.monitor ?? "valLoss");
  const patience = checkCount("earlyStopping", "patience", o.patience ?? 3), minDelta = checkNonNegative("earlyStopping", "minDelta", o.minDelta ?? 0);
  let best = worst(monitor), wait = 0;
  return {
    monitor,
    onEpochEnd(logs) {
      const v = monitored("earlyStopping", logs, monitor);
      if (improves(monitor, v, best, minDelta)) {
        best = v;
        wait = 0;
      } else if (++wait >= patience) return "stop";
    },
  };
}

/**
 * Calls `save(model, logs)` after every epoch, or (bestOnly) only when the monitored value
 * improves; with an optimiser that averages the weights (ema), with the averages in place — the
 * weights fit validated and ends with. An async save (returning a promise) is for fitAsync, which
 * waits for it before the next epoch (and rejects if it fails); the averages are in place until
 * its first await, so it takes the model's bytes before that (`writeBytes(path, model.save())`).
 * fit cannot wait: it refuses a promise with a ConfigError (use fovea.data.fileWriter()'s writer).
 */
export function checkpoint(save: (model: Model, logs: EpochLogs) => unknown, o: { monitor?: Monitor; bestOnly?: boolean } = {}): Callback {
  checkOptionKeys("checkpoint", o, ["monitor", "bestOnly"]);
  if (typeof save !== "function") throw new ConfigError(`checkpoint: save must be a function (model, logs) => void, got ${show(save)}`);
  checkBoolean("checkpoint", "bestOnly", o.bestOnly);
  const monitor = checkMonitor("checkpoint", o.monitor ?? "valLoss");
  let best = worst(monitor);
  return {
    ...(o.bestOnly ? { monitor } : {}),
    // an async function is known before fit trains; another that returns a promise, only at its first epoch's end
    ...(save.constructor.name === "AsyncFunction" ? { waits: true } : {}),
    onEpochEnd(logs, model) {
      if (o.bestOnly) {
        const v = monitored("checkpoint", logs, monitor);
        if (!improves(monitor, v, best, 0)) return;
        best = v;
      }
      // an async save runs to its first await with the averages in place (where writeBytes(path,
      // model.save()) takes the bytes); fitAsync waits for the rest
      let r: unknown;
      withAverages(model, () => {
        r = save(model, logs);
      });
      if (isPromise(r)) return r;
    },
  };
}

/** "LR/2 when validation stalls": multiplies the optimiser's lr by `factor` after `patience` epochs without improvement, down to minLr. */
export function reduceOnPlateau(o: { monitor?: Monitor; factor?: number; patience?: number; minLr?: number; minDelta?: number } = {}): Callback {
  checkOptionKeys("reduceOnPlateau", o, ["monitor", "factor", "patience", "minLr", "minDelta"]);
  const monitor = checkMonitor("reduceOnPlateau", o.monitor ?? "valLoss");
  const factor = o.factor ?? 0.5, patience = checkCount("reduceOnPlateau", "patience", o.patience ?? 2);
  const minLr = checkNonNegative("reduceOnPlateau", "minLr", o.minLr ?? 0), minDelta = checkNonNegative("reduceOnPlateau", "minDelta", o.minDelta ?? 0);
  if (!(typeof factor === "number" && factor > 0 && factor < 1)) throw new ConfigError(`reduceOnPlateau: factor must be in (0, 1), got ${show(factor)}`);
  let best = worst(monitor), wait = 0;
  return {
    monitor,
    setsLr: true,
    onEpochEnd(logs, model) {
      const v = monitored("reduceOnPlateau", logs, monitor);
      if (improves(monitor, v, best, minDelta)) {
        best = v;
        wait = 0;
      } else if (++wait >= patience && model.optimizer) {
        model.optimizer.lr = Math.max(minLr, model.optimizer.lr * factor);
        wait = 0;
      }
    },
  };
}
