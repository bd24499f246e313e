// The decoded ONNX messages an import reads (proto.ts decodes them), the values an import tracks
// per graph edge, and tensor decoding.
import { FormatError, htmlHint, show } from "../../errors.js";
import { getLimits } from "../../runtime/limits.js";
import { formatShape, readFloat32LE } from "../../tensor.js";
import type { SymbolicTensor } from "../../layers/symbolic.js";
import type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto } from "./proto.js";

export type OnnxNode = NodeProto;
export type OnnxAttr = AttributeProto;
export type OnnxTensor = TensorProto;
/** A decoded ModelProto whose graph is there (import.ts checks it). */
export type OnnxModel = Omit<ModelProto, "graph"> & { graph: GraphProto };

/** A constant of the graph (an initializer, or shape arithmetic under folding). */
export interface ConstValue {
  kind: "const";
  dims: number[];
  data: number[] | Float32Array;
  /**
   * Computed from the batch size of a graph whose batch is symbolic (a Shape of the batch axis):
   * its values hold N, which stands for a size, not a number to compute with (ImportNode.outAt
   * marks it; ImportNode.value refuses it as data's operand).
   */
  batch?: true;
}

/**
 * A tensor the fovea model computes. Its data is either an image [C, H, W] held NHWC (rank 3,
 * not `plain`), or in ONNX's own order (`plain`, or rank other than 3); a plain value's symbolic
 * shape may differ from `onnx` (same values in the same order: a reshape costs nothing).
 */
export interface TensorValue {
  kind: "tensor";
  sym: SymbolicTensor;
  /** What ONNX sees per example: [C, H, W] for images (stored NHWC here), or any dims. */
  onnx: number[];
  /** Features that came from flattening a [C, H, W] image (stored HWC): the Gemm after must permute. */
  flatOf?: [number, number, number];
  /** Zero padding [top, bottom, left, right] of a Pad node, waiting to fold into the next conv / average pool. */
  pad?: [number, number, number, number];
  /** Output of a Relu: its input, so a following Clip(max 6) (opsets < 11 export relu6 so) becomes one ReLU6. */
  reluOf?: SymbolicTensor;
  /** The data is in ONNX's order (a rank-3 value is then not an image held NHWC). */
  plain?: true;
  /** The data is integer (a graph input the file declares of an integer or bool type, or computed from one: ImportNode.outAt); fovea holds its values in float32. */
  int?: true;
}

/** Whether t is an image [C, H, W] held NHWC. */
export const isImage = (t: TensorValue) => t.onnx.length === 3 && !t.plain;

export type Value = ConstValue | TensorValue;

/** The batch dimension in folded shapes. */
export const N = -2;

/** An int64 field → number (a bigint beyond 2^53 becomes the nearest double, which the range checks after refuse). */
export const num = (v: unknown) => (typeof v === "number" ? v : Number(v));

export const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/** The default-domain opset a model imports. */
export function opsetOf(m: OnnxModel): number {
  return Math.max(0, ...m.opsetImport.filter((o) => !o.domain).map((o) => num(o.version)));
}

/** ONNX TensorProto data types fovea reads: code → name, bytes per value in raw_data, and the typed field holding them otherwise. */
const DTYPES: Record<number, { name: string; width: number; field: "floatData" | "int32Data" | "int64Data" | "doubleData" | "uint64Data" }> = {
  1: { name: "float32", width: 4, field: "floatData" }, 2: { name: "uint8", width: 1, field: "int32Data" }, 3: { name: "int8", width: 1, field: "int32Data" },
  4: { name: "uint16", width: 2, field: "int32Data" }, 5: { name: "int16", width: 2, field: "int32Data" }, 6: { name: "int32", width: 4, field: "int32Data" },
  7: { name: "int64", width: 8, field: "int64Data" }, 9: { name: "bool", width: 1, field: "int32Data" }, 10: { name: "float16", width: 2, field: "int32Data" },
  11: { name: "float64", width: 8, field: "doubleData" }, 12: { name: "uint32", width: 4, field: "uint64Data" }, 13: { name: "uint64", width: 8, field: "uint64Data" },
  16: { name: "bfloat16", width: 2, field: "int32Data" },
};

/** The name of an ONNX data type code (for messages). */
export const dtypeName = (t: number) => DTYPES[t]?.name ?? `type ${t}`;

/** IEEE half-precision bits → number. */
function half(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, f = h & 0x3ff;
  return e === 0 ? s * f * 2 ** -24 : e === 31 ? (f ? NaN : s * Infinity) : s * (1 + f / 1024) * 2 ** (e - 15);
}

/** Where the external data of a file lives: the files by the location the file names, or a function that reads one. */
export type ExternalData = Record<string, Uint8Array> | ((location: string) => Uint8Array | ArrayBuffer | Promise<Uint8Array | ArrayBuffer>);

/** Every tensor of a model whose data is in an external file, with where it is (initializers, Constant nodes' values, in subgraphs too). */
export function externalTensors(m: ModelProto): { t: TensorProto; where: string }[] {
  const out: { t: TensorProto; where: string }[] = [];
  const walk = (g: GraphProto | undefined) => {
    if (!g) return;
    for (const t of g.initializer) if (t.dataLocation === 1) out.push({ t, where: `initializer "${t.name}"` });
    for (const n of g.node) {
      for (const a of n.attribute) {
        for (const t of [...(a.t ? [a.t] : []), ...a.tensors]) if (t.dataLocation === 1) out.push({ t, where: `node "${n.name || n.output[0]}" (${n.opType}): attribute "${a.name}"` });
        [a.g, ...a.graphs].forEach(walk);
      }
    }
  };
  walk(m.graph);
  return out;
}

/** An external tensor's file: its location, checked to lie in the model's folder (a relative path, no .., no scheme or drive). */
export function externalLocation(t: TensorProto, at: string): string {
  const location = t.externalData.find((e) => e.key === "location")?.value;
  if (!location) throw new FormatError(`${at}: its data is external but names no location (${t.externalData.map((e) => `${e.key}=${e.value}`).join(", ") || "no entries"})`);
  // absolute (/x, \x), a URL or a drive (file:, https:, C:), or climbing out through ..
  if (/^[\\/]/.test(location) || /^[a-zA-Z][\w+.-]*:/.test(location) || location.split(/[\\/]/).includes("..")) {
    throw new FormatError(`${at}: the external data's location "${location}" is outside the model's folder`);
  }
  return location;
}

/**
 * Every tensor of the model stored as external data (data_location EXTERNAL, as
 * onnx.save_model(save_as_external_data=True) and torch.onnx.export of models over 2 GB write it)
 * gets that data as its raw data: the bytes [offset, offset + length) of its `location`, a path
 * relative to the model's folder. Every location is checked before any file is read; each file is
 * read once. A location outside the folder (absolute, a URL or a drive, or through ..), a file not
 * given or that cannot be read, a range past its end are FormatErrors naming the tensor.
 */
export async function resolveExternalData(m: ModelProto, given: ExternalData | undefined, src: string): Promise<void> {
  const tensors = externalTensors(m).map(({ t, where }) => ({ t, at: `${src}: ${where}`, location: externalLocation(t, `${src}: ${where}`) }));
  if (tensors.length && !given) throw new FormatError(`${tensors[0]!.at}: its data is in the external file "${tensors[0]!.location}"; pass importOnnx's externalData (the files by location, or a function that reads one)`);
  const files = new Map<string, Promise<Uint8Array>>();
  const read = async (location: string, at: string): Promise<Uint8Array> => {
    if (typeof given !== "function") {
      // "./w.bin" and "w.bin" are one file, in the file's locations and in the record's keys
      const plain = (k: string) => k.replace(/^(\.[\\/])+/, "");
      const bytes = given![location] ?? Object.entries(given!).find(([k]) => plain(k) === plain(location))?.[1];
      if (!bytes) throw new FormatError(`${at}: its data is in the external file "${location}", which externalData does not have (it has ${Object.keys(given!).map((k) => `"${k}"`).join(", ") || "none"})`);
      return bytes;
    }
    let bytes: unknown;
    try {
      bytes = await given(location);
    } catch (e) {
      throw new FormatError(`${at}: its external file "${location}" could not be read: ${e instanceof Error ? e.message : String(e)}`);
    }
    // (fetch's arrayBuffer() too)
    if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
    if (!(bytes instanceof Uint8Array)) throw new FormatError(`${at}: externalData gave ${show(bytes)} for "${location}", not its bytes (a Uint8Array or an ArrayBuffer)`);
    return bytes;
  };
  for (const { t, at, location } of tensors) {
    let file = files.get(location);
    if (!file) files.set(location, (file = read(location, at)));
    const bytes = await file;
    const entry = Object.fromEntries(t.externalData.map((e) => [e.key, e.value]));
    const offset = entry.offset === undefined ? 0 : Number(entry.offset), length = entry.length === undefined ? bytes.length - offset : Number(entry.length);
    if (!(Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 0 && length >= 0 && offset + length <= bytes.length)) {
      throw new FormatError(`${at}: bytes [${entry.offset ?? 0}, +${entry.length ?? "the rest"}) of "${location}" are not within its ${bytes.length} bytes${htmlHint(bytes)}`);
    }
    t.rawData = bytes.subarray(offset, offset + length);
    t.dataLocation = 0;
    t.externalData = [];
  }
}

/** bfloat16 bits (the high half of a float32) → number. */
const bfloat = (b: number) => new Float32Array(new Uint32Array([(b & 0xffff) << 16]).buffer)[0]!;

/**
 * A TensorProto's values as float32 (float types) or numbers (integer and bool types; int64 beyond
 * 2^53 as the nearest double); sizes checked against dims before anything is made.
 */
export function tensorValues(t: OnnxTensor, where: string): number[] | Float32Array {
  const dims = (t.dims ?? []).map(num);
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new FormatError(`${where}: dims ${show(dims)} must be whole numbers >= 0`);
  const count = dims.reduce((a, b) => a * b, 1);
  const ty = DTYPES[t.dataType];
  if (!ty) throw new FormatError(`${where}: tensor data type ${t.dataType}${t.dataType === 8 ? " (string)" : ""} is not supported (${Object.values(DTYPES).map((d) => d.name).join(", ")})`);
  const limit = getLimits().maxModelBytes;
  if (count * 4 > limit) throw new FormatError(`${where}: dims ${formatShape(dims)} make ${count} values (${count * 4} bytes), over the limit of ${limit} bytes (setLimits({ maxModelBytes }))`);
  const float = t.dataType === 1 || t.dataType === 10 || t.dataType === 11 || t.dataType === 16;
  if (t.rawData && t.rawData.length) {
    const w = ty.width;
    if (t.rawData.length !== count * w) throw new FormatError(`${where}: ${t.rawData.length} bytes of raw data for ${count} values of ${w} bytes (dims ${formatShape(dims)})`);
    if (t.dataType === 1) return readFloat32LE(t.rawData);
    const dv = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    const read: (o: number) => number = {
      2: (o: number) => dv.getUint8(o), 3: (o: number) => dv.getInt8(o), 4: (o: number) => dv.getUint16(o, true),
      5: (o: number) => dv.getInt16(o, true), 6: (o: number) => dv.getInt32(o, true), 7: (o: number) => Number(dv.getBigInt64(o, true)), 9: (o: number) => dv.getUint8(o),
      10: (o: number) => half(dv.getUint16(o, true)), 11: (o: number) => dv.getFloat64(o, true), 12: (o: number) => dv.getUint32(o, true),
      13: (o: number) => Number(dv.getBigUint64(o, true)), 16: (o: number) => bfloat(dv.getUint16(o, true)),
    }[t.dataType]!;
    const out = float ? new Float32Array(count) : new Array<number>(count);
    for (let i = 0; i < count; i++) out[i] = read(i * w);
    return out;
  }
  const data: ArrayLike<unknown> = t[ty.field] ?? [];
  if (data.length !== count) throw new FormatError(`${where}: ${data.length} values for dims ${formatShape(dims)} (${count} values)`);
  if (t.dataType === 10) return Float32Array.from(data as number[], (v) => half(v));
  if (t.dataType === 16) return Float32Array.from(data as number[], (v) => bfloat(v));
  if (float) return Float32Array.from(data as number[]);
  return Array.from(data, num);
}
