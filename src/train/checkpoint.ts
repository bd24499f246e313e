// Training checkpoints: everything a run needs to continue bit-identically after it was stopped
// (killed, crashed, interrupted), in one versioned byte container:
//
//   "FOVEACKP" | u32 version | u32 JSON bytes | JSON (UTF-8) | zero padding to 4
//   | model: saveModel's bytes (model/save.ts) | zero padding to 4
//   | the epoch's example order: int32 LE | the optimiser's state: float32 LE
//   | u32 CRC-32 of every byte before it
//
// The JSON holds the run's configuration (what must match on a resume), the step count, the
// model RNG's state, the optimiser's kind / lr / iterations / settings (momentum, betas, …), and
// fit's progress (epoch, batch, running sums, the history so far); the sizes of the binary parts
// are in it too. Reading
// validates everything (the CRC first, so a torn or bit-flipped file is a FormatError naming
// the file) before it builds anything, and a file that fails changes nothing. Writing the bytes
// to disk atomically is data/files.ts's writeBytes(path, bytes, { atomic: true }).

import { ConfigError, FormatError, FoveaError, checkOptionKeys, show, checkModel, firstNonFinite, isRecord, checkBytes } from "../errors.js";
import type { Model } from "../model/model.js";
import { CHECKPOINT_MAGIC, crc32, hex, saveModel } from "../model/save.js";
import { loadModel } from "../model/serialize.js";
import { checkSeed, type RngState } from "../rng.js";
import { readFloat32LE, writeFloat32LE } from "../tensor.js";
import type { EpochLogs, FitProgress } from "./fit.js";
import { averages, stateFloats, stateNeeds, type OptimizerState } from "./optimizers.js";

export const CHECKPOINT_VERSION = 1;
export { CHECKPOINT_MAGIC };

/** The settings of a run that a resume must repeat (the CLI: dataset, model, batch, optimizer, lr, seed, ...). */
export type CheckpointConfig = Record<string, string | number | boolean>;

/** A checkpoint's contents, decoded. */
export interface Checkpoint {
  config: CheckpointConfig;
  /** Training steps taken (Model.step: the schedules' position). */
  step: number;
  /** The model RNG's state (Model.rng: shuffling, dropout, augmentation). */
  rng: RngState;
  optimizer: OptimizerState;
  progress: FitProgress;
  /** The model: saveModel's bytes. */
  model: Uint8Array;
}

interface Header {
  format: "fovea-checkpoint";
  version: number;
  config: CheckpointConfig;
  step: number;
  rng: RngState;
  optimizer: { name: string; lr: number; iterations: number; settings?: Record<string, number | boolean>; frozen?: number[]; slots: number; floats: number };
  progress: Omit<FitProgress, "order"> & { examples: number };
  modelBytes: number;
}

/** The checkpoint of a model under fit(): its weights, optimiser, RNG and step, with fit's progress. */
export function checkpointOf(model: Model, progress: FitProgress, config: CheckpointConfig): Checkpoint {
  checkModel(model, "checkpointOf");
  if (!model.optimizer) throw new ConfigError(`checkpoint: model "${model.name}" has no optimizer; compile({ loss, optimizer }) first`);
  if (!isRecord(progress) || !(progress.order instanceof Int32Array || Array.isArray(progress.order)) || !Array.isArray(progress.history)) {
    throw new ConfigError(`checkpointOf: progress must be fit's (FitProgress: a callback's onEpochEnd gets it as its third argument, onBatchEnd in its event), got ${show(progress)}`);
  }
  const c: Checkpoint = {
    config: { ...config }, step: model.step, rng: model.rng.state(), optimizer: model.optimizer.exportState(model.params),
    progress: { ...progress, order: Int32Array.from(progress.order), history: progress.history.map((e) => ({ ...e })) }, model: saveModel(model),
  };
  checkCheckpoint(c, "checkpointOf");
  return c;
}

/** The container's header of a checkpoint's contents. */
function headerOf(c: Checkpoint): Header {
  const { order, ...progress } = c.progress;
  return {
    format: "fovea-checkpoint", version: CHECKPOINT_VERSION, config: c.config, step: c.step, rng: c.rng,
    optimizer: {
      name: c.optimizer.name, lr: c.optimizer.lr, iterations: c.optimizer.iterations, settings: c.optimizer.settings,
      ...(c.optimizer.frozen !== undefined ? { frozen: c.optimizer.frozen } : {}), slots: c.optimizer.slots, floats: c.optimizer.values.length,
    },
    progress: { ...progress, examples: order.length }, modelBytes: c.model.length,
  };
}

/**
 * A checkpoint given as an object (one a program built or changed): its parts of the right kinds,
 * and (`values`, restoreCheckpoint and checkpointOf) every field checked as decodeCheckpoint
 * checks a file's; a ConfigError naming `where`. encodeCheckpoint writes what it is given (reading
 * the file back checks the values), so a test can write the bad files a reader must refuse.
 */
function checkCheckpoint(c: Checkpoint, where: string, values = true): Header {
  const fail = (what: string): never => {
    throw new ConfigError(`${where}: ${what}`);
  };
  const parts = ["config", "step", "rng", "optimizer", "progress", "model"];
  if (!isRecord(c) || parts.some((k) => !(k in c))) fail(`expected a checkpoint { ${parts.join(", ")} } (checkpointOf's or decodeCheckpoint's), got ${show(c)}`);
  if (!isRecord(c.progress) || !(c.progress.order instanceof Int32Array)) fail("the checkpoint's progress.order is not an Int32Array");
  if (!isRecord(c.optimizer) || !(c.optimizer.values instanceof Float32Array)) fail("the checkpoint's optimizer.values is not a Float32Array");
  if (!(c.model instanceof Uint8Array)) fail("the checkpoint's model is not saveModel's bytes (a Uint8Array)");
  const h = headerOf(c);
  if (!values) return h;
  // as the file will hold it: JSON writes a NaN or infinite validation loss as null, which reads back
  checkHeader(JSON.parse(JSON.stringify(h)) as Header, fail, "the checkpoint's");
  checkArrays(c.progress.order, c.optimizer.values, fail);
  return h;
}

/** The example order a permutation of 0…n−1, the optimiser's values finite; `fail` throws. */
function checkArrays(order: Int32Array, values: Float32Array, fail: (what: string) => never): void {
  const seen = new Uint8Array(order.length);
  for (let i = 0; i < order.length; i++) {
    const k = order[i]!;
    if (!(k >= 0 && k < order.length) || seen[k]) fail(`the example order is not a permutation of 0…${order.length - 1} (entry ${i} is ${k})`);
    seen[k] = 1;
  }
  const bad = firstNonFinite(values);
  if (bad >= 0) fail(`optimiser value ${bad} of ${values.length} is ${values[bad]}; the state must be finite`);
}

const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** The checkpoint as bytes (the layout at the top of this file). */
export function encodeCheckpoint(c: Checkpoint): Uint8Array<ArrayBuffer> {
  const header = checkCheckpoint(c, "encodeCheckpoint", false), order = c.progress.order;
  const json = new TextEncoder().encode(JSON.stringify(header));
  const modelAt = 16 + json.length + pad4(16 + json.length);
  const orderAt = modelAt + c.model.length + pad4(c.model.length);
  const optAt = orderAt + order.length * 4;
  const crcAt = optAt + c.optimizer.values.length * 4;
  const out = new Uint8Array(crcAt + 4);
  const dv = new DataView(out.buffer);
  out.set(CHECKPOINT_MAGIC, 0);
  dv.setUint32(8, CHECKPOINT_VERSION, true);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(c.model, modelAt);
  for (let i = 0; i < order.length; i++) dv.setInt32(orderAt + i * 4, order[i]!, true);
  writeFloat32LE(c.optimizer.values, out.subarray(optAt));
  dv.setUint32(crcAt, crc32(out.subarray(0, crcAt)), true);
  return out;
}

/**
 * Decodes and validates a checkpoint's container (CRC, header, sizes, the example order, finite
 * optimiser state); the model bytes are checked by readCheckpoint. `source` names the file.
 */
export function decodeCheckpoint(bytes: Uint8Array, source = "checkpoint"): Checkpoint {
  const fail = (what: string): never => {
    throw new FormatError(`${source}: ${what}`);
  };
  checkBytes(bytes, source, "the bytes of a fovea checkpoint");
  if (bytes.length < 20 || CHECKPOINT_MAGIC.some((b, i) => bytes[i] !== b)) fail(`not a fovea checkpoint (bad magic or ${bytes.length} bytes; expected "FOVEACKP")`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (version !== CHECKPOINT_VERSION) fail(`checkpoint version ${version} is not supported (this fovea reads version ${CHECKPOINT_VERSION})`);
  const crcAt = bytes.length - 4;
  const stored = dv.getUint32(crcAt, true), actual = crc32(bytes.subarray(0, crcAt));
  if (stored !== actual) fail(`corrupt or truncated: CRC-32 ${hex(actual)} of ${crcAt} bytes, the file says ${hex(stored)}`);
  const jsonLen = dv.getUint32(12, true);
  if (16 + jsonLen > crcAt) fail(`truncated: the header claims ${jsonLen} bytes, ${crcAt - 16} are left`);
  let h: Header;
  try {
    h = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + jsonLen))) as Header;
  } catch (e) {
    return fail(`the header is not valid JSON (${(e as Error).message})`);
  }
  checkHeader(h, fail);
  const modelAt = 16 + jsonLen + pad4(16 + jsonLen);
  const orderAt = modelAt + h.modelBytes + pad4(h.modelBytes);
  const optAt = orderAt + h.progress.examples * 4;
  const end = optAt + h.optimizer.floats * 4;
  if (end !== crcAt) fail(`${crcAt} bytes before the CRC, the header's parts need ${end} (model ${h.modelBytes}, ${h.progress.examples} examples, ${h.optimizer.floats} optimiser values)`);
  const order = new Int32Array(h.progress.examples);
  for (let i = 0; i < order.length; i++) order[i] = dv.getInt32(orderAt + i * 4, true);
  const values = readFloat32LE(bytes.subarray(optAt, optAt + h.optimizer.floats * 4));
  checkArrays(order, values, fail);
  const { examples: _, ...progress } = h.progress;
  return {
    config: h.config, step: h.step, rng: h.rng, optimizer: { ...h.optimizer, values },
    progress: { ...progress, order }, model: new Uint8Array(bytes.subarray(modelAt, modelAt + h.modelBytes)),
  };
}

/** Every field of the header, with its type and range; `fail` throws the FormatError. */
function checkHeader(h: Header, fail: (what: string) => never, of = "the header's"): void {
  const obj = (v: unknown, what: string): Record<string, unknown> => {
    if (typeof v !== "object" || v === null || Array.isArray(v)) fail(`${of} ${what} is not an object`);
    return v as Record<string, unknown>;
  };
  const num = (v: unknown, what: string, o: { int?: boolean; min?: number; max?: number; nullable?: boolean } = {}) => {
    if (v === null && o.nullable) return;
    const ok = typeof v === "number" && Number.isFinite(v) && (!o.int || Number.isInteger(v)) && v >= (o.min ?? -Infinity) && v <= (o.max ?? Infinity);
    if (!ok) fail(`${of} ${what} is ${JSON.stringify(v)}; expected ${o.int ? "a whole number" : "a finite number"}${o.min !== undefined ? ` >= ${o.min}` : ""}${o.max !== undefined ? ` <= ${o.max}` : ""}${o.nullable ? " or null" : ""}`);
  };
  obj(h, "top level");
  if (h.format !== "fovea-checkpoint" || h.version !== CHECKPOINT_VERSION) fail(`the header says format ${JSON.stringify(h.format)} version ${JSON.stringify(h.version)}`);
  for (const [k, v] of Object.entries(obj(h.config, "config"))) {
    if (!["string", "number", "boolean"].includes(typeof v)) fail(`${of} config.${k} is ${JSON.stringify(v)}; expected a string, number or boolean`);
  }
  num(h.step, "step", { int: true, min: 0 });
  num(h.modelBytes, "modelBytes", { int: true, min: 16 });
  const rng = obj(h.rng, "rng");
  num(rng.s, "rng.s", { int: true, min: 0, max: 0xffffffff });
  num(rng.spare, "rng.spare", { nullable: true });
  const o = obj(h.optimizer, "optimizer");
  if (typeof o.name !== "string") fail(`${of} optimizer.name is ${JSON.stringify(o.name)}`);
  num(o.lr, "optimizer.lr", { min: Number.MIN_VALUE });
  num(o.iterations, "optimizer.iterations", { int: true, min: 0 });
  // absent in checkpoints written before the optimiser's settings were kept
  if (o.settings !== undefined) for (const [k, v] of Object.entries(obj(o.settings, "optimizer.settings"))) {
    if (typeof v !== "boolean") num(v, `optimizer.settings.${k}`);
  }
  // absent in checkpoints written before the frozen parameters were kept
  if (o.frozen !== undefined && !(Array.isArray(o.frozen) && o.frozen.every((v, i, a) => Number.isInteger(v) && v >= 0 && (i === 0 || v > (a[i - 1] as number))))) {
    fail(`${of} optimizer.frozen is not a list of increasing parameter indices: ${JSON.stringify(o.frozen).slice(0, 80)}`);
  }
  num(o.slots, "optimizer.slots", { int: true, min: 0 });
  num(o.floats, "optimizer.floats", { int: true, min: 0 });
  // with ema the averages of the parameters outside the slots follow them (readCheckpoint counts them against the model)
  const averaging = averages(o.settings as Record<string, unknown> | undefined);
  if (o.floats !== 0 && (o.slots === 0 || (!averaging && (o.floats as number) % (o.slots as number) !== 0))) fail(`${of} ${o.floats} optimiser values are not a whole number of its ${o.slots} slots`);
  const p = obj(h.progress, "progress");
  num(p.examples, "progress.examples", { int: true, min: 1 });
  num(p.batchSize, "progress.batchSize", { int: true, min: 1 });
  num(p.epoch, "progress.epoch", { int: true, min: 0 });
  num(p.batch, "progress.batch", { int: true, min: 0, max: Math.ceil((p.examples as number) / (p.batchSize as number)) });
  num(p.lossSum, "progress.lossSum");
  num(p.correct, "progress.correct", { int: true, min: 0, max: p.examples as number });
  num(p.seconds, "progress.seconds", { min: 0 });
  if (!Array.isArray(p.history) || p.history.length !== p.epoch) fail(`${of} progress.history is not a list of ${p.epoch} epochs`);
  (p.history as EpochLogs[]).forEach((e, i) => {
    obj(e, `progress.history[${i}]`);
    num(e.epoch, `progress.history[${i}].epoch`, { int: true, min: i, max: i });
    num(e.loss, `progress.history[${i}].loss`);
    for (const k of ["accuracy", "valLoss", "valAccuracy"] as const) num(e[k], `progress.history[${i}].${k}`, { nullable: true });
    for (const k of ["lr", "seconds", "imagesPerSecond"] as const) num(e[k], `progress.history[${i}].${k}`, { min: 0 });
  });
}

/**
 * Reads a checkpoint completely: the container (decodeCheckpoint) and its model (loadModel,
 * initialised from `seed` before the saved weights replace the initial ones), and checks that the
 * optimiser state fits the model's trainable parameters. A bad file is a FormatError naming
 * `source`; nothing is left allocated then. The caller frees the model.
 */
export function readCheckpoint(bytes: Uint8Array, options: { source?: string; seed?: number } = {}): { checkpoint: Checkpoint; model: Model } {
  checkOptionKeys("readCheckpoint", options, ["source", "seed"]);
  if (options.seed !== undefined) checkSeed("readCheckpoint", options.seed);
  const src = options.source ?? "checkpoint";
  const c = decodeCheckpoint(bytes, src);
  let model: Model;
  try {
    model = loadModel(c.model, { source: src, seed: options.seed });
  } catch (e) {
    // loadModel's own errors name `src`; anything untyped from bytes that passed the CRC is still this file's fault
    if (e instanceof FoveaError) throw e;
    throw new FormatError(`${src}: the model inside does not load (${e instanceof Error ? e.message : String(e)})`);
  }
  const averaged = averages(c.optimizer.settings);
  if (c.optimizer.values.length !== 0 && c.optimizer.values.length !== stateFloats(model.params, c.optimizer.slots, averaged)) {
    const needs = stateNeeds(model.params, c.optimizer.slots, averaged);
    model.free();
    throw new FormatError(`${src}: ${c.optimizer.values.length} optimiser values, the model's ${needs}`);
  }
  return { checkpoint: c, model };
}

/**
 * The differences between a checkpoint's configuration and this run's, as a ConfigError
 * naming the file and every setting that differs (nothing when they match).
 */
export function checkConfig(saved: CheckpointConfig, current: CheckpointConfig, source = "checkpoint"): void {
  const settings = (c: unknown) => isRecord(c) && Object.values(c).every((v) => ["string", "number", "boolean"].includes(typeof v));
  if (!settings(saved) || !settings(current)) throw new ConfigError(`checkConfig (${source}): both configurations must be records of string, number or boolean settings, got ${show(saved)} and ${show(current)}`);
  const keys = [...new Set([...Object.keys(saved), ...Object.keys(current)])];
  const setting = (v: string | number | boolean | undefined) => (v === undefined ? "(not set)" : typeof v === "string" ? `"${v}"` : String(v));
  const diff = keys.filter((k) => saved[k] !== current[k]).map((k) => `${k} ${setting(saved[k])} there, ${setting(current[k])} here`);
  if (diff.length > 0) throw new ConfigError(`${source}: the checkpoint is of a run with other settings: ${diff.join("; ")} (resume with the settings it was written with)`);
}

/**
 * Puts a checkpoint's step count, RNG state and optimiser state into `model` (readCheckpoint's
 * model, compiled with an optimiser of the checkpoint's kind); fit({ resume: c.progress }) then
 * continues the run.
 */
export function restoreCheckpoint(model: Model, c: Checkpoint, source = "checkpoint"): void {
  checkModel(model, `restoreCheckpoint (${source})`);
  checkCheckpoint(c, source);
  const opt = model.optimizer;
  if (!opt) throw new ConfigError(`${source}: model "${model.name}" has no optimizer; compile({ loss, optimizer }) before restoring a checkpoint`);
  // a resume must freeze what the run froze: the state of a parameter frozen all along is the
  // zeros a fresh optimiser starts from, which would go on to train it
  if (c.optimizer.frozen !== undefined) {
    const was = new Set(c.optimizer.frozen);
    const trainable = model.nodes.flatMap((n) => n.params.filter((p) => p.spec.trainable).map((p) => ({ p, name: `${n.layer.label}'s ${p.spec.name}` })));
    const thawed = trainable.filter(({ p }, i) => was.has(i) && !p.frozen).map((t) => t.name);
    const frozen = trainable.filter(({ p }, i) => !was.has(i) && p.frozen).map((t) => t.name);
    if (thawed.length || frozen.length || c.optimizer.frozen.some((i) => i >= trainable.length)) {
      throw new ConfigError(`${source}: the run froze other parameters than model "${model.name}" does (${[
        ...(thawed.length ? [`frozen there, trainable here: ${thawed.join(", ")}`] : []),
        ...(frozen.length ? [`trainable there, frozen here: ${frozen.join(", ")}`] : []),
      ].join("; ") || `parameter indices ${c.optimizer.frozen.join(", ")} for ${trainable.length} trainable parameters`}); freeze the layers the run froze (model.freeze) before restoring`);
    }
  }
  try {
    opt.importState(model.backend, model.params, c.optimizer);
  } catch (e) {
    if (e instanceof ConfigError) throw new ConfigError(`${source}: ${e.message}`);
    throw e;
  }
  model.rng.setState(c.rng);
  model.step = c.step;
}

/**
 * A fingerprint of a data set (CRC-32 of the labels and of values sampled evenly from the
 * examples, at most 2^20 of them), so a resume can tell that the data or its split changed.
 */
export function dataFingerprint(...parts: (Float32Array | Int32Array)[]): string {
  parts.forEach((a, i) => {
    if (!(a instanceof Float32Array || a instanceof Int32Array)) throw new ConfigError(`dataFingerprint: part ${i} must be a Float32Array or Int32Array, got ${show(a)}`);
  });
  let crc = 0;
  for (const a of parts) {
    const stride = a instanceof Int32Array ? 1 : Math.max(1, Math.floor(a.length / (1 << 20)));
    // every stride-th value (a plain loop: Float32Array.from with a map function took 220 ms on MNIST)
    let sample = a;
    if (stride > 1) {
      sample = new Float32Array(Math.ceil(a.length / stride));
      for (let i = 0; i < sample.length; i++) sample[i] = a[i * stride]!;
    }
    crc = crc32(new Uint8Array(sample.buffer, sample.byteOffset, sample.byteLength), crc);
  }
  return hex(crc);
}


