// Several named inputs and outputs on a model whose graph has one input and one output: each
// example holds the inputs' values one after another (the graph slices them apart) and the output
// the outputs' values one after another. predict takes and returns records keyed by the names.
import { ConfigError, ShapeError, show } from "../errors.js";
import { Tensor, formatShape } from "../tensor.js";

/** A named input or output and its per-example shape. */
export interface NamedShape {
  name: string;
  shape: number[];
  /**
   * A rank-3 output held as an image, [H, W, C] (importOnnx's outputLayout "NHWC"): exportOnnx
   * writes it NCHW. Without it an imported output's values are in its shape's own order (the file's).
   */
  image?: true;
  /**
   * An image input the file itself takes NHWC, [H, W, C] (a channels-last file, which transposes
   * it to NCHW: tf2onnx, Keras), held so: exportOnnx declares it NHWC and transposes it first, as the file did.
   */
  nhwc?: true;
}
/** The named inputs and outputs of a model (in the order they are packed; an imported model has them even when there is one). */
export interface NamedIO {
  inputs: NamedShape[];
  outputs: NamedShape[];
  /**
   * An imported graph that mixes its axis 0 (a concat or softmax across it, …): each input's whole
   * shape in the file is one example, and each output's whole shape too (shapes here are those).
   */
  whole?: true;
}

type Data = Float32Array | readonly number[] | Tensor;
const count = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Whether x is a record of named examples (not a Float32Array, array or Tensor). */
export function isRecord(x: unknown): x is Readonly<Record<string, Data>> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x) && !(x instanceof Tensor);
}

/** The inputs of a record, packed example by example; every name given, each a whole number of the same count of examples. */
export function packInputs(io: NamedIO, x: Readonly<Record<string, Data>>, where: string): { data: Float32Array; n: number } {
  const names = io.inputs.map((i) => i.name);
  for (const k of Object.keys(x)) if (!names.includes(k)) throw new ConfigError(`${where}: no input named "${k}" (inputs: ${names.map((s) => `"${s}"`).join(", ")})`);
  let n = -1;
  const parts = io.inputs.map((inp) => {
    const v = x[inp.name];
    if (v === undefined) throw new ConfigError(`${where}: input "${inp.name}" is missing (inputs: ${names.map((s) => `"${s}"`).join(", ")})`);
    const d = v instanceof Tensor ? v.toArray() : v instanceof Float32Array ? v : Array.isArray(v) || ArrayBuffer.isView(v) ? Float32Array.from(v as ArrayLike<number>) : null;
    if (!d) throw new ConfigError(`${where}: input "${inp.name}" must be a Float32Array, an array of numbers or a Tensor, got ${show(v)}`);
    const per = count(inp.shape);
    if (d.length === 0 || d.length % per) throw new ShapeError(`${where}: input "${inp.name}": ${d.length} values are not a whole number of ${formatShape(inp.shape)} examples (${per} values each)`);
    if (n >= 0 && d.length / per !== n) throw new ShapeError(`${where}: input "${inp.name}" holds ${d.length / per} examples, the others ${n}`);
    n = d.length / per;
    return { d, per };
  });
  const total = parts.reduce((a, p) => a + p.per, 0), data = new Float32Array(n * total);
  for (let e = 0; e < n; e++) {
    let off = e * total;
    for (const p of parts) {
      data.set(p.d.subarray(e * p.per, (e + 1) * p.per), off);
      off += p.per;
    }
  }
  return { data, n };
}

/** The packed outputs of n examples, by name. */
export function unpackOutputs(io: NamedIO, y: Float32Array, n: number): Record<string, Float32Array> {
  const total = io.outputs.reduce((a, o) => a + count(o.shape), 0);
  const out: Record<string, Float32Array> = {};
  let off = 0;
  for (const o of io.outputs) {
    const per = count(o.shape), v = new Float32Array(n * per);
    for (let e = 0; e < n; e++) v.set(y.subarray(e * total + off, e * total + off + per), e * per);
    out[o.name] = v;
    off += per;
  }
  return out;
}
