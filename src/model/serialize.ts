// The native model format, versioned: a JSON topology (layer configs, connections, parameter
// table) and the parameters as little-endian float32, in one byte container:
//   "FOVEA\0\0\0" | u32 version | u32 JSON bytes | JSON (UTF-8) | zero padding to 4 | float32 weights
//   | u32 CRC-32 of every byte before it (version 2; version 1 ends with the weights)
// (Writing is save.ts.) Loading validates everything (magic, version, the CRC first, so a torn or
// bit-flipped file is a FormatError naming it, JSON, layer configs, sizes, finite weights) before a
// model exists; a bad file changes nothing.

import { BackendError, FormatError, FoveaError, checkOptionKeys, show, isRecord, checkBytes, htmlHint } from "../errors.js";
import { checkSeed } from "../rng.js";
import { createSavedLayer } from "../layers/index.js";
import { size } from "../layers/layer.js";
import { formatShape, readFloat32LE } from "../tensor.js";
import { markApart, Model } from "./model.js";
import type { Preset } from "./graph.js";
import { input, type SymbolicTensor } from "../layers/symbolic.js";
import type { NamedIO } from "./named.js";

import { FORMAT_VERSION, MAGIC, crc32, hex, foveaFileKind, type ModelJSON } from "./save.js";

function fail(what: string, source: string): never {
  throw new FormatError(`${source}: ${what}`);
}

/** Rebuilds a model from saveModel's bytes. `source` names the file in messages. */
export function loadModel(bytes: Uint8Array, options: { source?: string; seed?: number } = {}): Model {
  checkOptionKeys("loadModel", options, ["source", "seed"]);
  if (options.seed !== undefined) checkSeed("loadModel", options.seed);
  const src = options.source ?? "model";
  checkBytes(bytes, src, "the bytes of a fovea model");
  if (bytes.length < 16 || MAGIC.some((b, i) => bytes[i] !== b)) {
    // an ONNX ModelProto starts with its ir_version (field 1, a varint: byte 0x08)
    const hint = bytes[0] === 0x08 ? "; it looks like an ONNX model, which fovea.importOnnx reads" : foveaFileKind(bytes) === "checkpoint" ? "; it is a training checkpoint, which fovea.train.readCheckpoint reads" : htmlHint(bytes);
    fail(`not a fovea model (bad magic; expected "FOVEA")${hint}`, src);
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const version = dv.getUint32(8, true);
  if (!(version >= 1 && version <= FORMAT_VERSION)) fail(`format version ${version} is not supported (this fovea reads versions 1 to ${FORMAT_VERSION})`, src);
  // version 2's last 4 bytes are the CRC-32 of every byte before them
  const end = version === 1 ? bytes.length : bytes.length - 4;
  if (version !== 1) {
    if (end < 16) fail(`truncated: ${bytes.length} bytes, too short for the header and the CRC-32`, src);
    const stored = dv.getUint32(end, true), actual = crc32(bytes.subarray(0, end));
    if (stored !== actual) fail(`corrupt or truncated: CRC-32 ${hex(actual)} of ${end} bytes, the file says ${hex(stored)}`, src);
  }
  const jsonLen = dv.getUint32(12, true);
  if (16 + jsonLen > end) fail(`truncated: the topology claims ${jsonLen} bytes but the file has ${end - 16} after the header`, src);
  let topo: ModelJSON;
  try {
    topo = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(bytes.subarray(16, 16 + jsonLen))) as ModelJSON;
  } catch (e) {
    fail(`the topology is not valid JSON (${(e as Error).message})`, src);
  }
  checkTopology(topo, src, true);
  const wStart = 16 + jsonLen + ((4 - ((16 + jsonLen) % 4)) % 4);
  if ((end - wStart) / 4 !== topo.floats) fail(`truncated or padded: ${end - wStart} weight bytes, the topology needs ${topo.floats * 4}`, src);
  const floats = readFloat32LE(bytes.subarray(wStart, end));
  for (let i = 0; i < topo.floats; i++) {
    const v = floats[i]!;
    if (!Number.isFinite(v)) {
      const p = topo.params.find((q) => i >= q.offset && i < q.offset + size(q.shape));
      fail(`weight ${i} is ${v}${p ? ` (layer "${p.layer}", ${p.name}${formatShape(p.shape)})` : " (in no listed parameter)"}; weights must be finite`, src);
    }
  }
  // every parameter is read from the file below (or the model is freed): none is drawn first
  const m = buildFromTopology(topo, src, options.seed, () => true);
  // parameters: same table, same shapes
  const mine = m.nodes.flatMap((n) => n.params.map((p) => ({ layer: n.layer.name, p })));
  const mismatch = mine.length !== topo.params.length ? `${topo.params.length} parameters listed, the layers have ${mine.length}`
    : mine.map((q, i) => {
      const t = topo.params[i]!;
      return t.layer !== q.layer || t.name !== q.p.spec.name || formatShape(t.shape) !== formatShape(q.p.spec.shape)
        ? `parameter ${i} is ${t.layer}.${t.name}${formatShape(t.shape)}, the layers expect ${q.layer}.${q.p.spec.name}${formatShape(q.p.spec.shape)}` : "";
    }).find((s) => s !== "");
  if (mismatch) {
    m.free();
    fail(mismatch, src);
  }
  mine.forEach(({ p }, i) => {
    const off = topo.params[i]!.offset;
    m.backend.heap.f32(p.w, p.size).set(floats.subarray(off, off + p.size));
  });
  tieFromFile(m, topo, src, false);
  return m;
}

/**
 * The topology's tied parameters and those held apart (version 3), checked, then tied (Model.tie:
 * each group takes its first's values, which is all a model drawn from a topology, `fresh`, needs;
 * a file's copies must be equal) and marked (markApart). A bad list, or unequal copies, is a
 * FormatError naming the file, and the model is freed.
 */
function tieFromFile(m: Model, topo: ModelJSON, src: string, fresh: boolean): void {
  if (topo.ties === undefined && topo.apart === undefined) return;
  try {
    if (topo.apart !== undefined) {
      if (!Array.isArray(topo.apart) || !topo.apart.every((e) => Array.isArray(e) && e.length === 3 && e.every((s) => typeof s === "string"))) throw new FormatError(`apart must be [layer, parameter, tensor] names, got ${show(topo.apart)}`);
      markApart(m, topo.apart);
    }
    if (topo.ties === undefined) return;
    const ok = Array.isArray(topo.ties) && topo.ties.every((g) => Array.isArray(g) && g.every((pair) => Array.isArray(pair) && pair.length === 2 && pair.every((s) => typeof s === "string")));
    if (!ok) throw new FormatError(`ties must be groups of [layer, parameter] names, got ${show(topo.ties)}`);
    if (!fresh) {
      const values = new Map(m.getWeights().map((w) => [`${w.layer}\u0000${w.name}`, w.values]));
      for (const g of topo.ties) {
        const [a, ...rest] = g.map(([l, p]) => values.get(`${l}\u0000${p}`));
        const b = rest.find((v) => a && v && (v.length !== a.length || v.some((x, i) => !Object.is(x, a[i]))));
        if (b) throw new FormatError(`ties: ${g.map(([l, p]) => `"${l}".${p}`).join(", ")} are tied (one tensor) but hold different values`);
      }
    }
    m.tie(topo.ties);
  } catch (e) {
    m.free();
    if (e instanceof FoveaError && !(e instanceof BackendError)) fail(e.message, src);
    throw e;
  }
}

/**
 * A freshly initialised model from a topology (the JSON part of the native format, e.g. a
 * model.json written by toJSON): same layers, new weights from `seed`.
 */
export function modelFromTopology(json: string | ModelJSON, options: { source?: string; seed?: number } = {}): Model {
  checkOptionKeys("modelFromTopology", options, ["source", "seed"]);
  if (options.seed !== undefined) checkSeed("modelFromTopology", options.seed);
  const src = options.source ?? "model.json";
  let topo: ModelJSON;
  try {
    topo = typeof json === "string" ? (JSON.parse(json) as ModelJSON) : json;
  } catch (e) {
    fail(`not valid JSON (${(e as Error).message})`, src);
  }
  checkTopology(topo, src, false);
  const m = buildFromTopology(topo, src, options.seed);
  tieFromFile(m, topo, src, true);
  return m;
}

/** The topology's own structure, field by field, before anything is built (a FormatError names the field). */
function checkTopology(topo: ModelJSON, src: string, withParams: boolean): void {
  const obj = isRecord;
  const whole = (v: unknown, min = 0) => Number.isSafeInteger(v) && (v as number) >= min;
  const dims = (v: unknown, least = 1) => Array.isArray(v) && v.length > 0 && v.length <= 8 && v.every((d) => whole(d, least));
  if (!obj(topo) || topo.format !== "fovea-model") fail(`not a fovea model topology (format ${show((topo as { format?: unknown } | null)?.format)})`, src);
  if (topo.name !== undefined && typeof topo.name !== "string") fail(`name is ${show(topo.name)}; expected a string`, src);
  if (!dims(topo.inputShape)) fail(`inputShape is ${show(topo.inputShape)}; expected whole numbers >= 1`, src);
  if (!Array.isArray(topo.layers) || topo.layers.length === 0) fail("layers must be a non-empty list", src);
  topo.layers.forEach((l, i) => {
    if (!obj(l) || !obj(l.config) || !Array.isArray(l.inputs) || l.inputs.length === 0 || !l.inputs.every((x) => typeof x === "string")) {
      fail(`layers[${i}] must be { config: {...}, inputs: ["name", ...] }, got ${show(l)}`, src);
    }
  });
  if (!withParams) return;
  if (!whole(topo.floats)) fail(`floats is ${show(topo.floats)}; expected a whole number`, src);
  if (!Array.isArray(topo.params)) fail("params must be a list", src);
  topo.params.forEach((p, i) => {
    if (!obj(p) || typeof p.layer !== "string" || typeof p.name !== "string" || !dims(p.shape, 0) || !whole(p.offset)) {
      fail(`params[${i}] must be { layer, name, shape: [whole numbers >= 0], offset: whole number }, got ${show(p)}`, src);
    }
    if (p.offset + size(p.shape) > topo.floats) fail(`params[${i}] (${p.layer}.${p.name}${formatShape(p.shape)}) at offset ${p.offset} ends past the ${topo.floats} floats of the file`, src);
  });
}

function buildFromTopology(topo: ModelJSON, src: string, seed?: number, preset?: Preset): Model {
  // build the graph; any error (unknown layer, bad option, shape) becomes a FormatError
  let m: Model;
  try {
    const inp = input(topo.inputShape);
    const made = new Map<string, SymbolicTensor>([["@input", inp]]);
    let last: SymbolicTensor = inp;
    for (const l of topo.layers) {
      const layer = createSavedLayer(l.config as { type: string });
      const ins = l.inputs.map((n) => {
        const t = made.get(n);
        if (!t) throw new FormatError(`layer "${layer.name}" reads "${n}", which is not defined before it`);
        return t;
      });
      last = layer.apply(...ins);
      made.set(layer.name, last);
    }
    m = new Model({ inputs: inp, outputs: last, name: topo.name, seed, preset });
  } catch (e) {
    if (e instanceof FoveaError && !(e instanceof BackendError)) fail(`bad topology: ${e.message}`, src);
    if (e instanceof BackendError) throw new BackendError(`${src}: ${e.message}`);
    throw e;
  }
  if (topo.classes !== undefined) {
    if (!Array.isArray(topo.classes) || !topo.classes.every((c) => typeof c === "string") || topo.classes.length !== m.outputSize) {
      const got = Array.isArray(topo.classes) ? `${topo.classes.length} entries` : show(topo.classes), outputs = m.outputSize;
      m.free();
      fail(`classes must be a list of names, one per output: ${got} for ${outputs} outputs`, src);
    }
    m.classes = topo.classes;
  }
  if (topo.io !== undefined) {
    const io = topo.io as unknown, count = (s: number[]) => s.reduce((a, b) => a * b, 1);
    const list = (v: unknown) => Array.isArray(v) && v.every((e) => typeof e === "object" && e !== null && typeof (e as { name?: unknown }).name === "string"
      && Array.isArray((e as { shape?: unknown }).shape) && ((e as { shape: unknown[] }).shape).every((d) => Number.isSafeInteger(d) && (d as number) >= 0));
    const ok = typeof io === "object" && io !== null && list((io as NamedIO).inputs) && list((io as NamedIO).outputs) && [undefined, true].includes((io as NamedIO).whole);
    const t = ok ? (io as NamedIO) : null;
    // the names must cover the model's own input and output (no inputs: the placeholder input of one value)
    const ins = t ? t.inputs.reduce((a, i) => a + count(i.shape), 0) : 0, outs = t ? t.outputs.reduce((a, o) => a + count(o.shape), 0) : 0;
    if (!t || (t.inputs.length ? ins !== m.inputSize : m.inputSize !== 1) || outs !== m.outputSize) {
      const why = `io must name the model's inputs (${m.inputSize} values) and outputs (${m.outputSize} values) with their shapes, got ${show(io)}`;
      m.free();
      fail(why, src);
    }
    m.io = structuredClone(t);
  }
  return m;
}
