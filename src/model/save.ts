// Writing the native model format (see serialize.ts for the layout and for loading): a JSON
// topology and the parameters as little-endian float32. Works on any ModelView, so model.ts can
// offer save() without this module importing it.
import { checkModel } from "../errors.js";
import type { ModelView } from "./view.js";
import type { NamedIO } from "./named.js";
import { writeFloat32LE } from "../tensor.js";

export const FORMAT_VERSION = 1;
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
    format: "fovea-model", version: FORMAT_VERSION, name: m.name, inputShape: [...m.inputShape],
    layers: m.nodes.map((n) => ({ config: n.layer.config(), inputs: n.inputs.map((i) => (i < 0 ? "@input" : names[i]!)) })),
    params, floats: offset,
    ...(m.classes ? { classes: [...m.classes] } : {}),
    ...(m.io ? { io: structuredClone(m.io) } : {}),
  };
}

/** The model as one byte container (topology + weights). */
export function saveModel(m: ModelView): Uint8Array<ArrayBuffer> {
  checkModel(m, "saveModel");
  const json = new TextEncoder().encode(JSON.stringify(toJSON(m)));
  const head = 16, pad = (4 - ((head + json.length) % 4)) % 4;
  const floats = m.params.reduce((a, p) => a + p.size, 0);
  const out = new Uint8Array(head + json.length + pad + floats * 4);
  out.set(MAGIC, 0);
  const dv = new DataView(out.buffer);
  dv.setUint32(8, FORMAT_VERSION, true);
  dv.setUint32(12, json.length, true);
  out.set(json, head);
  let off = head + json.length + pad;
  for (const p of m.params) {
    writeFloat32LE(m.backend.heap.f32(p.w, p.size), out.subarray(off));
    off += p.size * 4;
  }
  return out;
}

