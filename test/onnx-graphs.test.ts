// ONNX graphs without data inputs (every output a constant: model.io.inputs is empty, predict()
// takes no data) and outputs with no values (a zero dimension: an empty slice, an input whose file
// shape holds a zero). Hand-built graphs, references by the ops' definitions; exports run in
// onnxruntime-node.
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { ONNX_ATTRIBUTES } from "../src/io/onnx/attributes.js";
import { IMPORTERS } from "../src/io/onnx/registry.js";

const require = createRequire(import.meta.url);
const { onnx } = require("onnx-proto") as { onnx: { ModelProto: { create(o: object): object; encode(m: object): { finish(): Uint8Array } } } };
interface OrtTensor { data: Float32Array; dims: readonly number[] }
const ort = require("onnxruntime-node") as {
  InferenceSession: { create(b: Uint8Array): Promise<{ inputNames: readonly string[]; outputNames: readonly string[]; run(f: Record<string, unknown>): Promise<Record<string, OrtTensor>> }> };
  Tensor: new (t: string, d: Float32Array, dims: number[]) => unknown;
};

beforeAll(async () => {
  await fovea.init({ build: "simd", threads: 1 });
});

const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
const i64 = (name: string, dims: number[], v: number[]) => ({ name, dims, dataType: 7, int64Data: v });
const f32 = (dims: number[], v: number[]) => ({ dims, dataType: 1, floatData: v });
const graph = (nodes: object[], inits: object[], inputs: object[], outputs: object[]) => onnx.ModelProto.encode(onnx.ModelProto.create({
  irVersion: 7, opsetImport: [{ domain: "", version: 14 }],
  graph: { name: "g", node: nodes, initializer: inits, input: inputs, output: outputs },
})).finish();

describe("a graph without data inputs", () => {
  // a = Constant [2, 3]; b = a + a; r = Range(1, 7, 2.5) (start, limit, delta as initializers); s = Shape(a)
  const bytes = graph([
    { opType: "Constant", name: "c", output: ["a"], attribute: [{ name: "value", type: 4, t: f32([2, 3], [1, -2, 3.5, 4, 5, -6]) }] },
    { opType: "Add", name: "add", input: ["a", "a"], output: ["b"] },
    { opType: "Range", name: "range", input: ["start", "limit", "delta"], output: ["r"] },
    { opType: "Shape", name: "shape", input: ["a"], output: ["s"] },
  ], [{ name: "start", dims: [], dataType: 1, floatData: [1] }, { name: "limit", dims: [], dataType: 1, floatData: [7] }, { name: "delta", dims: [], dataType: 1, floatData: [2.5] }],
  [], [vi("b", [2, 3]), vi("r", [3]), vi("s", [2])]);
  const want = { b: [2, -4, 7, 8, 10, -12], r: [1, 3.5, 6], s: [2, 3] };

  it("imports with no inputs: predict({}) gives the constants by name; data, or predict() of several outputs, is a ConfigError", async () => {
    const m = await fovea.importOnnx(bytes);
    expect(m.io).toEqual({ inputs: [], outputs: [{ name: "b", shape: [2, 3] }, { name: "r", shape: [3] }, { name: "s", shape: [2] }], whole: true });
    const y = m.predict({});
    expect(Object.fromEntries(Object.entries(y).map(([k, v]) => [k, Array.from(v)]))).toEqual(want);
    expect(() => m.predict(new Float32Array(1))).toThrow(fovea.ConfigError);
    expect(() => m.predict(new Float32Array(1))).toThrow('model "g".predict: this model has no inputs (its outputs are constants); call predict() or predict({}) without data');
    expect(() => m.predict({ x: [1] })).toThrow("this model has no inputs");
    expect(() => m.predict()).toThrow('this model has outputs "b", "r", "s"; call predict({}) for a record of them by name');
    expect(m.summary()).toContain("constant");
    m.free();
  });

  it("one output: predict() returns it; a scalar output is [1]", async () => {
    const one = graph([{ opType: "Constant", name: "c", output: ["k"], attribute: [{ name: "value", type: 4, t: f32([], [2.5]) }] }], [], [], [vi("k", [])]);
    const m = await fovea.importOnnx(one);
    expect(m.io!.outputs).toEqual([{ name: "k", shape: [1] }]);
    expect(Array.from(m.predict())).toEqual([2.5]);
    expect(Array.from(m.predict({}).k!)).toEqual([2.5]);
    m.free();
  });

  it("saves and loads with its inputs and outputs (model.io), and exports as Constant nodes onnxruntime-node runs", async () => {
    const m = await fovea.importOnnx(bytes);
    const back = fovea.loadModel(m.save());
    expect(back.io).toEqual(m.io);
    expect(Array.from(back.predict({}).r!)).toEqual(want.r);
    const sess = await ort.InferenceSession.create(await fovea.exportOnnx(back));
    const got = await sess.run({});
    for (const [k, v] of Object.entries(want)) expect(Array.from(got[k]!.data), k).toEqual(v);
    expect(Array.from(got.b!.dims)).toEqual([2, 3]);
    m.free();
    back.free();
  });

  it("a saved io that does not fit the model is a FormatError", async () => {
    const m = await fovea.importOnnx(bytes);
    const json = fovea.toJSON(m);
    json.io = { inputs: [], outputs: [{ name: "b", shape: [7] }] };
    expect(() => fovea.modelFromTopology(json)).toThrow(/io must name the model's inputs \(1 values\) and outputs \(11 values\)/);
    m.free();
  });
});

describe("outputs with no values", () => {
  it("an input whose file shape holds a zero is the empty tensor, a constant: Reshape (allowzero) and Split of it", async () => {
    const bytes = graph([
      { opType: "Reshape", name: "rs", input: ["x", "shape"], output: ["y"], attribute: [{ name: "allowzero", type: 2, i: 1 }] },
      { opType: "Split", name: "sp", input: ["x", "split"], output: ["p", "q"], attribute: [{ name: "axis", type: 2, i: 1 }] },
    ], [i64("shape", [3], [3, 4, 0]), i64("split", [2], [1, 2])], [vi("x", [0, 3, 4])], [vi("y", [3, 4, 0]), vi("p", [0, 1, 4]), vi("q", [0, 2, 4])]);
    const m = await fovea.importOnnx(bytes);
    expect(m.io!.inputs).toEqual([]);
    expect(m.io!.outputs.map((o) => o.shape)).toEqual([[3, 4, 0], [0, 1, 4], [0, 2, 4]]);
    const y = m.predict({});
    expect(Object.values(y).map((v) => v.length)).toEqual([0, 0, 0]);
    const got = await (await ort.InferenceSession.create(await fovea.exportOnnx(m))).run({});
    expect(Array.from(got.y!.dims)).toEqual([3, 4, 0]);
    const back = fovea.loadModel(m.save());
    expect(back.io).toEqual(m.io);
    expect(Object.values(back.predict({})).map((v) => v.length)).toEqual([0, 0, 0]);
    back.free();
    m.free();
  });

  it("an empty Slice of data is an output of no values for every example; a node that reads it is a FormatError", async () => {
    const slice = (after: object[], out: string) => graph([
      { opType: "Slice", name: "sl", input: ["x", "starts", "ends", "axes"], output: ["e"] },
      { opType: "Relu", name: "relu", input: ["x"], output: ["r"] },
      ...after,
    ], [i64("starts", [1], [10]), i64("ends", [1], [20]), i64("axes", [1], [1])], [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: "N" }, { dimValue: 4 }, { dimValue: 2 }] } } } }], [vi(out, [0, 0, 2]), vi("r", [0, 4, 2])]);
    const m = await fovea.importOnnx(slice([], "e"));
    expect(m.io!.whole).toBeUndefined();
    expect(m.io!.outputs).toEqual([{ name: "e", shape: [0, 2] }, { name: "r", shape: [4, 2] }]);
    const x = Float32Array.from({ length: 3 * 8 }, (_, i) => i - 11);
    const y = m.predict({ x });
    expect(y.e!.length).toBe(0);
    expect(Array.from(y.r!)).toEqual(Array.from(x, (v) => Math.max(v, 0)));
    m.free();
    // one output, empty: exported as the constant of no values expanded over the batch
    const one = await fovea.importOnnx(graph([{ opType: "Slice", name: "sl", input: ["x", "starts", "ends", "axes"], output: ["e"] }],
      [i64("starts", [1], [10]), i64("ends", [1], [20]), i64("axes", [1], [1])], [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: "N" }, { dimValue: 4 }, { dimValue: 2 }] } } } }], [vi("e", [0, 0, 2])]));
    expect(one.predict(x).length).toBe(0);
    // (exported with the file's input and output names)
    const got = await (await ort.InferenceSession.create(await fovea.exportOnnx(one))).run({ x: new ort.Tensor("float32", x, [3, 4, 2]) });
    expect(Array.from(got.e!.dims)).toEqual([3, 0, 2]);
    one.free();
    await expect(fovea.importOnnx(slice([{ opType: "Sigmoid", name: "sig", input: ["e"], output: ["z"] }], "z"), { source: "s.onnx" }))
      .rejects.toThrow(/s\.onnx: .*input 0 \[0, 2\] has no values; a tensor with a zero dimension cannot be computed on/);
  });
});

describe("Div of integer data", () => {
  // z = x / y and w = x / k (k an int32 initializer), x and y int32 [N, 6]
  const ivi = (name: string) => ({ name, type: { tensorType: { elemType: 6, shape: { dim: [{ dimParam: "N" }, { dimValue: 6 }] } } } });
  const bytes = graph([
    { opType: "Div", name: "dz", input: ["x", "y"], output: ["z"] },
    { opType: "Div", name: "dw", input: ["x", "k"], output: ["w"] },
  ], [{ name: "k", dims: [6], dataType: 6, int32Data: [3, -3, 7, 1, -1, 16777213] }], [ivi("x"), ivi("y")], [ivi("z"), ivi("w")]);
  const x = [7, -7, 7, -7, 16777215, -16777215, 16777214, 5, 0, -1, 1, 12345678];
  const y = [2, 2, -2, -2, 3, 16777213, 16777215, 0, 5, 0, 1, -16];
  // exact integer division toward zero (ONNX's Div of integers, as onnxruntime computes it), 0 by 0 as numpy's
  const exact = (p: number, q: number) => (q === 0 ? 0 : Number(BigInt(p) / BigInt(q)));
  const k = [3, -3, 7, 1, -1, 16777213];

  it("truncates toward zero, exactly up to 2^24, 0 for a divisor of 0; the same as onnxruntime-node's int32 Div", async () => {
    const m = await fovea.importOnnx(bytes);
    expect(m.layers.filter((l) => l.type === "binary").map((l) => (l as unknown as { op: string }).op)).toEqual(["idiv", "idiv"]);
    const r = m.predict({ x, y }, { batchSize: 2 });
    expect(Array.from(r.z!)).toEqual(x.map((p, i) => exact(p, y[i]!)));
    expect(Array.from(r.w!)).toEqual(x.map((p, i) => exact(p, k[i % 6]!)));
    // onnxruntime itself, where the divisor is not 0 (integer division by zero is undefined there)
    const sess = await ort.InferenceSession.create(bytes);
    const yy = y.map((v) => v || 1);
    const got = await sess.run({ x: new ort.Tensor("int32", Int32Array.from(x) as unknown as Float32Array, [2, 6]), y: new ort.Tensor("int32", Int32Array.from(yy) as unknown as Float32Array, [2, 6]) });
    expect(Array.from(m.predict({ x, y: yy }).z!)).toEqual(Array.from(got.z!.data, Number));
    expect(Array.from(r.w!)).toEqual(Array.from(got.w!.data, Number));
    m.free();
  });

  it("exports as int32 Div (0 where the divisor is 0) that onnxruntime-node runs with fovea's values", async () => {
    // one input: x / k + x / (x − c), c = 7 (x = 7 divides by 0)
    const one = graph([
      { opType: "Div", name: "dw", input: ["x", "k"], output: ["w"] },
      { opType: "Sub", name: "s", input: ["x", "c"], output: ["d"] },
      { opType: "Div", name: "dz", input: ["x", "d"], output: ["z"] },
      { opType: "Add", name: "a", input: ["w", "z"], output: ["o"] },
    ], [{ name: "k", dims: [6], dataType: 6, int32Data: k }, { name: "c", dims: [], dataType: 6, int32Data: [7] }], [ivi("x")], [ivi("o")]);
    const m = await fovea.importOnnx(one);
    const want = x.map((p, i) => exact(p, k[i % 6]!) + exact(p, p - 7));
    expect(Array.from(m.predict(x))).toEqual(want);
    const back = fovea.loadModel(m.save());
    const sess = await ort.InferenceSession.create(await fovea.exportOnnx(back));
    const out = (await sess.run({ [sess.inputNames[0]!]: new ort.Tensor("float32", Float32Array.from(x), [2, 6]) }))[sess.outputNames[0]!]!.data;
    expect(Array.from(out)).toEqual(want);
    m.free();
    back.free();
  });

  it("data computed from integers is integer (a Div after a Slice or Concat truncates); after a Cast to float, or of Where's float choices, it divides exactly", async () => {
    const bvi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 9, shape: { dim: [{ dimParam: "N" }, ...dims.map((d) => ({ dimValue: d }))] } } } });
    const fvi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimParam: "N" }, ...dims.map((d) => ({ dimValue: d }))] } } } });
    const m = await fovea.importOnnx(graph([
      { opType: "Slice", name: "sl", input: ["x", "s0", "s1", "ax"], output: ["xs"] },
      { opType: "Concat", name: "cc", input: ["xs", "xs"], output: ["xc"], attribute: [{ name: "axis", type: 2, i: 1 }] },
      { opType: "Div", name: "d1", input: ["xc", "k"], output: ["q"] },
      { opType: "Cast", name: "cf", input: ["xs"], output: ["xf"], attribute: [{ name: "to", type: 2, i: 1 }] },
      { opType: "Div", name: "d2", input: ["xf", "kf"], output: ["r"] },
      { opType: "Where", name: "wh", input: ["c", "f", "f"], output: ["w"] },
      { opType: "Div", name: "d3", input: ["w", "kf"], output: ["v"] },
    ], [i64("s0", [1], [0]), i64("s1", [1], [3]), i64("ax", [1], [1]), { name: "k", dims: [], dataType: 6, int32Data: [2] }, { name: "kf", dims: [], dataType: 1, floatData: [2] }],
    [ivi("x"), bvi("c", [3]), fvi("f", [3])], [ivi("q"), fvi("r", [3]), fvi("v", [3])]));
    const r = m.predict({ x: [7, -5, 3, 100, 9, 9], c: [1, 0, 1], f: [7, -5, 3] });
    expect(Array.from(r.q!)).toEqual([3, -2, 1, 3, -2, 1]);
    expect(Array.from(r.r!)).toEqual([3.5, -2.5, 1.5]);
    expect(Array.from(r.v!)).toEqual([3.5, -2.5, 1.5]);
    m.free();
  });

  it("a float Div (no integer input) still divides exactly", async () => {
    const fl = graph([{ opType: "Div", name: "d", input: ["x", "y"], output: ["z"] }], [], [vi("x", [2]), vi("y", [2])], [vi("z", [2])]);
    const m = await fovea.importOnnx(fl);
    expect(Array.from(m.predict({ x: [7, -7], y: [2, 2] }).z!)).toEqual([3.5, -3.5]);
    m.free();
  });
});

describe("attributes and domains", () => {
  // an attribute the op's schema does not have at the file's opset was ignored: a Conv's misspelt
  // "pad" computed without padding, a Relu's "alpha" as a plain ReLU; onnxruntime refuses them all
  const one = (node: object, inits: object[] = [], dims = [1, 4], opset = 14, extra: object[] = []) => onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 7, opsetImport: [{ domain: "", version: opset }, ...extra],
    graph: { name: "g", node: [node], initializer: inits, input: [vi("x", dims)], output: [vi("y", dims)] },
  })).finish();
  it("an attribute its op does not have at this opset, or one without a name, is a FormatError naming the node and the op's attributes; onnxruntime refuses each", async () => {
    const cases: [Uint8Array, string][] = [
      [one({ opType: "Conv", name: "c", input: ["x", "w"], output: ["y"], attribute: [{ name: "pad", type: 7, ints: [1, 1, 1, 1] }] }, [{ name: "w", dims: [1, 1, 3, 3], dataType: 1, floatData: Array(9).fill(0.1) }], [1, 1, 5, 5]),
        'c.onnx: node "c" (Conv): "pad" is not an attribute of Conv at opset 14 (auto_pad, dilations, group, kernel_shape, pads, strides)'],
      [one({ opType: "Relu", name: "r", input: ["x"], output: ["y"], attribute: [{ name: "alpha", type: 1, f: 0.5 }] }), 'c.onnx: node "r" (Relu): "alpha" is not an attribute of Relu at opset 14 (it has none)'],
      // Relu lost consumed_inputs at opset 6
      [one({ opType: "Relu", name: "r", input: ["x"], output: ["y"], attribute: [{ name: "consumed_inputs", type: 7, ints: [0] }] }), 'c.onnx: node "r" (Relu): "consumed_inputs" is not an attribute of Relu at opset 14 (it has none)'],
      [one({ opType: "Relu", name: "r", input: ["x"], output: ["y"], attribute: [{ name: "", type: 2, i: 1 }] }), 'c.onnx: node "r" (Relu) has an attribute without a name'],
      // a node of another domain is not ONNX's op of that name
      [one({ opType: "Relu", domain: "com.example", name: "r", input: ["x"], output: ["y"] }, [], [1, 4], 14, [{ domain: "com.example", version: 1 }]), 'c.onnx: unsupported ONNX ops: com.example:Relu ("r")'],
    ];
    for (const [bytes, msg] of cases) {
      await expect(fovea.importOnnx(bytes, { source: "c.onnx" })).rejects.toThrow(msg);
      await expect(fovea.importOnnx(bytes, { source: "c.onnx" })).rejects.toThrow(fovea.FormatError);
      await expect(ort.InferenceSession.create(bytes), msg).rejects.toThrow();
    }
    // the same attribute where the op has it: Relu's consumed_inputs at opset 5, Conv's pads
    const old = await fovea.importOnnx(one({ opType: "Relu", name: "r", input: ["x"], output: ["y"], attribute: [{ name: "consumed_inputs", type: 7, ints: [0] }] }, [], [1, 4], 5));
    expect(Array.from(old.predict(new Float32Array([-1, 2, -3, 4])) as Float32Array)).toEqual([0, 2, 0, 4]);
    old.free();
  });
  it("every op fovea imports has its attributes in the generated table (scripts/make-onnx-attributes.py)", () => {
    expect(Object.keys(IMPORTERS).filter((op) => !Object.hasOwn(ONNX_ATTRIBUTES, op))).toEqual([]);
  });
  it("opset 6's broadcasting from an axis (B [C] per channel of A [N, C, H, W]) is refused where numpy broadcasting would line B up otherwise", async () => {
    const add = (axis: number, b: number[]) => one({ opType: "Add", name: "a", input: ["x", "b"], output: ["y"], attribute: [{ name: "broadcast", type: 2, i: 1 }, { name: "axis", type: 2, i: axis }] },
      [{ name: "b", dims: b, dataType: 1, floatData: Array(b.reduce((p, q) => p * q, 1)).fill(1) }], [1, 3, 3, 3], 6);
    await expect(fovea.importOnnx(add(1, [3]), { source: "old.onnx" })).rejects.toThrow(
      'old.onnx: node "a" (Add): broadcast = 1 with axis 1 (opset 6) lines B [3] up with A [N, 3, 3, 3] from axis 1, not from the right as numpy broadcasting does; this legacy broadcasting is not supported (convert the model to opset 7 or later)');
    // B at the last axes: the same as numpy broadcasting
    const m = await fovea.importOnnx(add(3, [3]));
    const y = m.predict(new Float32Array(27)) as Float32Array;
    expect(Array.from(y).every((v) => v === 1)).toBe(true);
    m.free();
  });
});

describe("a value defined twice", () => {
  // found by the fuzz campaign (a duplicated node): the later node silently won, and the import
  // failed later naming an internal layer, or succeeded; onnxruntime refuses such a graph too
  it("two nodes computing one value, or a node over a graph input or an initializer, is a FormatError naming the value and both sources", async () => {
    const twice = graph([
      { opType: "Relu", name: "first", input: ["x"], output: ["y"] },
      { opType: "Sigmoid", name: "second", input: ["x"], output: ["y"] },
    ], [], [vi("x", [1, 4])], [vi("y", [1, 4])]);
    await expect(fovea.importOnnx(twice, { source: "twice.onnx" })).rejects.toThrow(
      'twice.onnx: the value "y" comes from node 0 "first" (Relu) and again from node 1 "second" (Sigmoid); an ONNX graph defines each value once');
    await expect(ort.InferenceSession.create(twice)).rejects.toThrow();
    const overInput = graph([{ opType: "Relu", name: "r", input: ["x"], output: ["x"] }], [], [vi("x", [1, 4])], [vi("x", [1, 4])]);
    await expect(fovea.importOnnx(overInput, { source: "in.onnx" })).rejects.toThrow('in.onnx: the value "x" comes from the graph input "x" and again from node 0 "r" (Relu)');
    const overInit = graph([{ opType: "Add", name: "a", input: ["x", "w"], output: ["w"] }], [{ name: "w", dims: [4], dataType: 1, floatData: [1, 2, 3, 4] }], [vi("x", [1, 4])], [vi("w", [1, 4])]);
    await expect(fovea.importOnnx(overInit, { source: "init.onnx" })).rejects.toThrow(fovea.FormatError);
    // an optional output left out ("") is no value: two nodes may both leave theirs out
    const optional = graph([
      { opType: "Dropout", name: "d1", input: ["x"], output: ["h", ""] },
      { opType: "Dropout", name: "d2", input: ["h"], output: ["y", ""] },
    ], [], [vi("x", [1, 4])], [vi("y", [1, 4])]);
    const m = await fovea.importOnnx(optional);
    expect(Array.from(m.predict(Float32Array.from([1, -2, 3, -4])))).toEqual([1, -2, 3, -4]);
    m.free();
  });
});
