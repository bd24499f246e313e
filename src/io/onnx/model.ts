// The decoded ONNX messages an import reads (proto.ts decodes them), the values an import tracks
// per graph edge, and tensor decoding.
import { FormatError, show } from "../../errors.js";
import { getLimits } from "../../runtime/limits.js";
import { formatShape } from "../../tensor.js";
import type { SymbolicTensor } from "../../layers/symbolic.js";
import type { AttributeProto, GraphProto, ModelProto, NodeProto, TensorProto } from "./proto.js";

export type OnnxNode = NodeProto;
export type OnnxAttr = AttributeProto;
export type OnnxTensor = TensorProto;
/** A decoded ModelProto whose graph is there (import.ts checks it). */
export type OnnxModel = Omit<ModelProto, "graph"> & { graph: GraphProto };

/** A constant of the graph (an initializer, or shape arithmetic under folding). */
export interface ConstValue { kind: "const"; dims: number[]; data: number[] | Float32Array }

/** A tensor the fovea model computes. */
export interface TensorValue {
  kind: "tensor";
  sym: SymbolicTensor;
  /** What ONNX sees: [C, H, W] for images (stored NHWC here) or [F] for features. */
  onnx: number[];
  /** Features that came from flattening a [C, H, W] image (stored HWC): the Gemm after must permute. */
  flatOf?: [number, number, number];
  /** Zero padding [top, bottom, left, right] of a Pad node, waiting to fold into the next conv / average pool. */
  pad?: [number, number, number, number];
  /** Output of a Relu: its input, so a following Clip(max 6) (opsets < 11 export relu6 so) becomes one ReLU6. */
  reluOf?: SymbolicTensor;
  /** ONNX holds this image transposed to NHWC (onnx is then [H, W, C]): only a flatten or the transpose back may follow. */
  nhwc?: true;
}

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

/** A TensorProto's values: float32, int32 or int64 (as numbers); sizes checked against dims before anything is made. */
export function tensorValues(t: OnnxTensor, where: string): number[] | Float32Array {
  const dims = (t.dims ?? []).map(num);
  if (!dims.every((d) => Number.isSafeInteger(d) && d >= 0)) throw new FormatError(`${where}: dims ${show(dims)} must be whole numbers >= 0`);
  const count = dims.reduce((a, b) => a * b, 1);
  if (t.dataLocation === 1) throw new FormatError(`${where}: the tensor's data is in an external file (${t.externalData.map((e) => `${e.key}=${e.value}`).join(", ")}); save the model with its data inside`);
  const width = t.dataType === 1 || t.dataType === 6 ? 4 : t.dataType === 7 ? 8 : 0;
  if (width === 0) throw new FormatError(`${where}: tensor data type ${t.dataType} is not supported (float32, int32, int64)`);
  const limit = getLimits().maxModelBytes;
  if (count * 4 > limit) throw new FormatError(`${where}: dims ${formatShape(dims)} make ${count} values (${count * 4} bytes), over the limit of ${limit} bytes (setLimits({ maxModelBytes }))`);
  if (t.rawData && t.rawData.length) {
    if (t.rawData.length !== count * width) throw new FormatError(`${where}: ${t.rawData.length} bytes of raw data for ${count} values of ${width} bytes (dims ${formatShape(dims)})`);
    const dv = new DataView(t.rawData.buffer, t.rawData.byteOffset, t.rawData.byteLength);
    if (t.dataType === 1) {
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = dv.getFloat32(i * 4, true);
      return out;
    }
    if (t.dataType === 7) return Array.from({ length: count }, (_, i) => Number(dv.getBigInt64(i * 8, true)));
    return Array.from({ length: count }, (_, i) => dv.getInt32(i * 4, true));
  }
  const data = t.dataType === 1 ? t.floatData : t.dataType === 7 ? t.int64Data : t.int32Data;
  const n = data?.length ?? 0;
  if (n !== count) throw new FormatError(`${where}: ${n} values for dims ${formatShape(dims)} (${count} values)`);
  if (t.dataType === 1) return Float32Array.from(t.floatData ?? []);
  if (t.dataType === 7) return (t.int64Data ?? []).map(num);
  return t.int32Data ?? [];
}
