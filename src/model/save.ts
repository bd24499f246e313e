// Writing the native model format (see serialize.ts for the layout and for loading): a JSON
// topology and the parameters as little-endian float32, then a CRC-32 of every byte before it.
// Works on any ModelView, so model.ts can offer save() without this module importing it. The
// CRC-32 here is also the training checkpoint's (train/checkpoint.ts).
import { checkModel } from "../errors.js";
import type { ModelView } from "./view.js";
import type { NamedIO } from "./named.js";
import { writeFloat32LE } from "../tensor.js";

/**
 * The newest version this fovea reads. Version 2 ends with a CRC-32 of every byte before it;
 * version 1 (before 2026-12-07) has none, and still loads. Version 3 is version 2 with tied
 * parameters (`ties`, Model.tie) and those held apart (`apart`, ParamBuffer.apart), written only for
 * a model that has them, so that a fovea that knows neither refuses the file rather than training
 * copies apart; others are still version 2.
 */
export const FORMAT_VERSION = 3;
/** The version a model is written in (FORMAT_VERSION's note). */
const versionOf = (m: ModelView): number => (m.ties.length || m.apart.length ? 3 : 2);
export const MAGIC = [0x46, 0x4f, 0x56, 0x45, 0x41, 0, 0, 0]; // "FOVEA\0\0\0"
/** The first 8 bytes of a training checkpoint (train/checkpoint.ts). */
export const CHECKPOINT_MAGIC = [0x46, 0x4f, 0x56, 0x45, 0x41, 0x43, 0x4b, 0x50]; // "FOVEACKP"

/** Which of fovea's own files these bytes begin as, by their magic (for messages about a file given to the wrong reader). */
export function foveaFileKind(bytes: Uint8Array): "model" | "checkpoint" | null {
  const is = (magic: number[]) => bytes.length >= magic.length && magic.every((b, i) => bytes[i] === b);
  return is(MAGIC) ? "model" : is(CHECKPOINT_MAGIC) ? "checkpoint" : null;
}

export interface ModelJSON {
  format: "fovea-model";
  version: number;
  name: string;
  inputShape: number[];
  /** Topological order; inputs name producing layers, or "@input". */
  layers: { config: Record<string, unknown>; inputs: string[] }[];
  /** Parameters in the order of the weights: layer, name, shape, offset in floats. */
  params: { layer: string; name: string; shape: number[]; offset: number }[];
  floats: number;
  /** Class names, when the model knows them. */
  classes?: string[];
  /** The named inputs and outputs of an imported model (model.io). */
  io?: NamedIO;
  /** Tied parameters (Model.tie, version 3): groups of [layer, parameter] that are one tensor. */
  ties?: [string, string][][];
  /** Parameters held apart from others of one tensor of the source file (Model.apart, version 3): [layer, parameter, tensor]. */
  apart?: [string, string, string][];
}

export function toJSON(m: ModelView): ModelJSON {
  checkModel(m, "toJSON");
  const names = m.nodes.map((n) => n.layer.name);
  const params: ModelJSON["params"] = [];
  let offset = 0;
  for (const n of m.nodes) for (const p of n.params) {
    params.push({ layer: n.layer.name, name: p.spec.name, shape: [...p.spec.shape], offset });
    offset += p.size;
  }
  return {
    format: "fovea-model", version: versionOf(m), name: m.name, inputShape: [...m.inputShape],
    layers: m.nodes.map((n) => ({ config: n.layer.config(), inputs: n.inputs.map((i) => (i < 0 ? "@input" : names[i]!)) })),
    params, floats: offset,
    ...(m.classes ? { classes: [...m.classes] } : {}),
    ...(m.io ? { io: structuredClone(m.io) } : {}),
    ...(m.ties.length ? { ties: m.ties } : {}),
    ...(m.apart.length ? { apart: m.apart } : {}),
  };
}

/** The model as one byte container (topology + weights). */
export function saveModel(m: ModelView): Uint8Array<ArrayBuffer> {
  checkModel(m, "saveModel");
  const json = new TextEncoder().encode(JSON.stringify(toJSON(m)));
  const head = 16, pad = (4 - ((head + json.length) % 4)) % 4;
  const floats = m.params.reduce((a, p) => a + p.size, 0);
  const crcAt = head + json.length + pad + floats * 4;
  const out = new Uint8Array(crcAt + 4);
  out.set(MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, versionOf(m), true);
  dv.setUint32(12, json.length, true);
  out.set(json, head);
  let off = head + json.length + pad;
  for (const p of m.params) {
    writeFloat32LE(m.backend.heap.f32(p.w, p.size), out.subarray(off));
    off += p.size * 4;
  }
  dv.setUint32(crcAt, crc32(out.subarray(0, crcAt)), true);
  return out;
}

/** A CRC-32 as the messages print it: 8 hex digits. */
export const hex = (v: number): string => v.toString(16).padStart(8, "0");

// slicing by 8: eight tables, table k the CRC of a byte followed by k zero bytes (3x the speed of one
// table: 35 ms for ResNet-18's 47 MB here, against 107)
let crcTables: Int32Array | null = null;
/** CRC-32 (IEEE 802.3, as zlib and PNG), continuing from `crc`. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  const t = (crcTables ??= makeCrcTables());
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let c = ~crc, i = 0;
  for (; i + 8 <= bytes.length; i += 8) {
    const a = c ^ dv.getInt32(i, true), b = dv.getInt32(i + 4, true);
    c = t[1792 + (a & 0xff)]! ^ t[1536 + ((a >>> 8) & 0xff)]! ^ t[1280 + ((a >>> 16) & 0xff)]! ^ t[1024 + (a >>> 24)]! ^
      t[768 + (b & 0xff)]! ^ t[512 + ((b >>> 8) & 0xff)]! ^ t[256 + ((b >>> 16) & 0xff)]! ^ t[b >>> 24]!;
  }
  for (; i < bytes.length; i++) c = t[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return ~c >>> 0;
}

function makeCrcTables(): Int32Array {
  const t = new Int32Array(8 * 256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  for (let n = 0; n < 256; n++) for (let k = 1, c = t[n]!; k < 8; k++) t[k * 256 + n] = c = t[c & 0xff]! ^ (c >>> 8);
  return t;
}
