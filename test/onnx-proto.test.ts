// src/io/onnx/proto.ts against onnx-proto (protobufjs, the decoder fovea used before): every field
// of the schema decodes and encodes as onnx-proto does; every ONNX fixture and every exported
// model decodes to the same values; exported bytes are the bytes onnx-proto writes; and bad
// bytes (lying lengths and varints, truncation, wrong wire types, groups, int32 out of range,
// non-UTF-8 names, ragged packed floats) are FormatErrors naming the file — never anything else.
import { readFileSync, readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { FormatError } from "../src/errors.js";
import { MESSAGES, decodeModel, encodeModel, type ModelProto, type ProtoInit } from "../src/io/onnx/proto.js";

const require = createRequire(import.meta.url);
type PbType = {
  decode(b: Uint8Array): object;
  encode(m: object): { finish(): Uint8Array };
  fromObject(o: object): object;
  toObject(m: object, o: object): Record<string, unknown>;
};
const { onnx } = require("onnx-proto") as { onnx: { ModelProto: PbType } };
const { layers: L } = fovea;

type Msg = (typeof MESSAGES)[string];
type Obj = Record<string, unknown>;

/** A decoded value in one comparable form: int64s as decimal strings, bytes as arrays, absent messages undefined. */
function norm(m: Msg, obj: Obj | null | undefined): unknown {
  if (obj === null || obj === undefined) return undefined;
  const out: Obj = {};
  for (const f of m.fields) {
    const one = (v: unknown): unknown => {
      if (typeof f.kind !== "string") return norm(f.kind, v as Obj);
      if (f.kind === "int64" || f.kind === "uint64") return BigInt(String(v)).toString();
      if (f.kind === "bytes") return Array.from(v as Uint8Array);
      return v;
    };
    const v = obj[f.name];
    out[f.name] = f.repeated ? (v as unknown[]).map(one) : f.oneof && (v === null || v === undefined) ? undefined : one(v);
  }
  return out;
}

/** A decoded object has its message's fields and no others, all the way down (absent messages: no key). */
function onlySchemaKeys(m: Msg, obj: Obj): void {
  const want = m.fields.filter((f) => f.repeated || (typeof f.kind === "string" && !f.oneof) || obj[f.name] !== undefined).map((f) => f.name);
  expect(Object.keys(obj).sort()).toEqual(want.sort());
  for (const f of m.fields) {
    if (typeof f.kind === "string") continue;
    const vs = f.repeated ? (obj[f.name] as Obj[]) : obj[f.name] === undefined ? [] : [obj[f.name] as Obj];
    for (const v of vs) onlySchemaKeys(f.kind, v);
  }
}

const pbDecode = (b: Uint8Array) => onnx.ModelProto.decode(b) as Obj;
const pbEncode = (o: object) => onnx.ModelProto.encode(onnx.ModelProto.fromObject(o)).finish();
const MODEL = MESSAGES["ModelProto"]!;

function sameAsOnnxProto(bytes: Uint8Array, source: string): ModelProto {
  const mine = decodeModel(bytes, source);
  onlySchemaKeys(MODEL, mine as unknown as Obj);
  expect(norm(MODEL, mine as unknown as Obj)).toEqual(norm(MODEL, pbDecode(bytes)));
  return mine;
}

// ---- every field of the schema ------------------------------------------------------------

/** Where each message sits under a ModelProto: wrap(x) puts x there. */
const PLACES: Record<string, (x: Obj) => Obj> = {
  ModelProto: (x) => x,
  GraphProto: (x) => ({ graph: x }),
  NodeProto: (x) => ({ graph: { node: [x] } }),
  AttributeProto: (x) => ({ graph: { node: [{ attribute: [x] }] } }),
  TensorProto: (x) => ({ graph: { initializer: [x] } }),
  ValueInfoProto: (x) => ({ graph: { input: [x] } }),
  TypeProto: (x) => ({ graph: { input: [{ type: x }] } }),
  "TypeProto.Tensor": (x) => ({ graph: { input: [{ type: { tensorType: x } }] } }),
  TensorShapeProto: (x) => ({ graph: { input: [{ type: { tensorType: { shape: x } } }] } }),
  "TensorShapeProto.Dimension": (x) => ({ graph: { input: [{ type: { tensorType: { shape: { dim: [x] } } } }] } }),
  OperatorSetIdProto: (x) => ({ opsetImport: [x] }),
  StringStringEntryProto: (x) => ({ metadataProps: [x] }),
};
/** The inverse: the message at its place in a decoded model. */
const at = (name: string, m: Obj): Obj => {
  const path: Record<string, (m: Obj) => unknown> = {
    ModelProto: (m) => m,
    GraphProto: (m) => m.graph,
    NodeProto: (m) => ((m.graph as Obj).node as Obj[])[0],
    AttributeProto: (m) => (((m.graph as Obj).node as Obj[])[0]!.attribute as Obj[])[0],
    TensorProto: (m) => ((m.graph as Obj).initializer as Obj[])[0],
    ValueInfoProto: (m) => ((m.graph as Obj).input as Obj[])[0],
    TypeProto: (m) => (((m.graph as Obj).input as Obj[])[0]!.type),
    "TypeProto.Tensor": (m) => ((((m.graph as Obj).input as Obj[])[0]!.type as Obj).tensorType),
    TensorShapeProto: (m) => ((((m.graph as Obj).input as Obj[])[0]!.type as Obj).tensorType as Obj).shape,
    "TensorShapeProto.Dimension": (m) => (((((((m.graph as Obj).input as Obj[])[0]!.type as Obj).tensorType as Obj).shape as Obj).dim as Obj[])[0]),
    OperatorSetIdProto: (m) => (m.opsetImport as Obj[])[0],
    StringStringEntryProto: (m) => (m.metadataProps as Obj[])[0],
  };
  return path[name]!(m) as Obj;
};

const INT64S = ["7", "-1", "9007199254740993", "-9007199254740993", "9223372036854775807", "-9223372036854775808"];
/** Fields whose onnx.proto type is an enum (an int32 on the wire; protobufjs drops unknown values). */
const ENUMS = new Set(["AttributeProto.type", "TensorProto.dataLocation"]);

/** Sample values of a kind, as onnx-proto's fromObject takes them and as proto.ts does. */
function samples(kind: string, field: string): { pb: unknown; mine: unknown }[] {
  if (ENUMS.has(field)) return [{ pb: 1, mine: 1 }];
  const int64 = (s: string) => ({ pb: s, mine: Number.isSafeInteger(Number(s)) ? Number(s) : BigInt(s) });
  switch (kind) {
    case "string": return [{ pb: "conv_1/wéight→", mine: "conv_1/wéight→" }, { pb: "", mine: "" }];
    case "bytes": return [{ pb: new Uint8Array([1, 0, 255]), mine: new Uint8Array([1, 0, 255]) }];
    case "int64": return INT64S.map(int64);
    case "uint64": return ["3", "18446744073709551615"].map(int64);
    case "int32": return [{ pb: -5, mine: -5 }, { pb: 2147483647, mine: 2147483647 }];
    case "float": return [{ pb: 1.5, mine: 1.5 }, { pb: -3.25e-7, mine: Math.fround(-3.25e-7) }];
    case "double": return [{ pb: 0.1, mine: 0.1 }];
    default: return [{ pb: {}, mine: {} }];
  }
}

describe("every field of the schema, as onnx-proto reads and writes it", () => {
  for (const m of Object.values(MESSAGES)) {
    for (const f of m.fields) {
      it(`${m.name}.${f.name} (field ${f.no}${f.repeated ? ", repeated" : ""})`, () => {
        const kind = typeof f.kind === "string" ? f.kind : "message";
        const vals = samples(kind, `${m.name}.${f.name}`);
        const pbValue = f.repeated ? vals.map((v) => v.pb) : vals[0]!.pb;
        const myValue = f.repeated ? vals.map((v) => v.mine) : vals[0]!.mine;
        // onnx-proto writes, proto.ts reads
        const pbBytes = pbEncode(PLACES[m.name]!({ [f.name]: pbValue }));
        const mine = decodeModel(pbBytes, "f.onnx") as unknown as Obj;
        expect(norm(MODEL, mine)).toEqual(norm(MODEL, pbDecode(pbBytes)));
        expect(norm(m, at(m.name, mine))).toEqual(norm(m, at(m.name, pbDecode(pbBytes))));
        // proto.ts writes the same bytes, and onnx-proto reads them back
        const myBytes = encodeModel(PLACES[m.name]!({ [f.name]: myValue }) as ProtoInit<ModelProto>);
        expect(Array.from(myBytes)).toEqual(Array.from(pbBytes));
        // the value itself survives (int64 exactly, beyond 2^53 too)
        if (kind !== "message") expect(at(m.name, mine)[f.name]).toEqual(myValue);
      });
    }
  }

  it("unpacked repeated numbers (as protobuf C++ writes AttributeProto.ints) decode too", () => {
    // AttributeProto { ints: 3, ints: -1 } unpacked: tag 8<<3|0 per value
    const attr = [0x40, 3, 0x40, ...[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01], 0x3d, ...new Uint8Array(Float32Array.of(2.5).buffer)];
    const node = [0x2a, attr.length, ...attr];
    const graph = [0x0a, node.length, ...node];
    const bytes = new Uint8Array([0x3a, graph.length, ...graph]);
    const m = decodeModel(bytes, "u.onnx");
    expect(m.graph!.node[0]!.attribute[0]!.ints).toEqual([3, -1]);
    expect(m.graph!.node[0]!.attribute[0]!.floats).toEqual([2.5]);
    expect(norm(MODEL, m as unknown as Obj)).toEqual(norm(MODEL, pbDecode(bytes)));
  });
});

// ---- whole files ---------------------------------------------------------------------------

const FIXTURES = readdirSync("test/fixtures/onnx").filter((f) => f.endsWith(".onnx")).sort();

describe("whole models decode to the values onnx-proto gives", () => {
  beforeAll(async () => {
    await fovea.init({ build: "simd", threads: 1 });
  });

  it.each(FIXTURES)("the PyTorch fixture %s", (name) => {
    const bytes = new Uint8Array(readFileSync(`test/fixtures/onnx/${name}`));
    const m = sameAsOnnxProto(bytes, name);
    expect(m.graph!.node.length).toBeGreaterThan(0);
  });

  // [name, model, whether fovea imports it back (maxout's ReduceMax does not import)]
  const models: [string, () => fovea.Model, boolean][] = [
    ["LeNet-5", () => fovea.zoo.lenet5({ seed: 2 }), true],
    ["NIN", () => fovea.zoo.nin({ seed: 1 }), true],
    ["a residual + inception block with batch norm, concat, global pooling", () => {
      const inp = fovea.input([12, 10, 3]);
      const a = L.conv2d({ filters: 8, kernelSize: 3, padding: "same", useBias: false }).apply(inp);
      const s = L.add().apply(L.conv2d({ filters: 8, kernelSize: 3, padding: 1 }).apply(L.relu().apply(L.batchNorm().apply(a))), a);
      const cat = L.concat().apply(L.depthwiseConv2d({ kernelSize: 3, padding: 1, activation: "relu6" }).apply(s), L.maxPool2d({ poolSize: 3, strides: 1, padding: 1 }).apply(s));
      const out = L.softmax().apply(L.dense({ units: 5 }).apply(L.globalAvgPool2d().apply(L.batchNorm().apply(cat))));
      return fovea.model({ inputs: inp, outputs: out, seed: 3 });
    }, true],
    ["strided convs, average pooling, LRN, leaky ReLU, ELU, maxout", () => fovea.sequential([
      L.conv2d({ filters: 6, kernelSize: 3, strides: 2, rounding: "ceil" }), L.leakyRelu({ alpha: 0.2 }), L.maxout({ pieces: 3 }),
      L.avgPool2d({ poolSize: 3, strides: 2, padding: 1, countIncludePad: true, rounding: "ceil" }), L.lrn({ size: 1 }), L.elu(),
      L.flatten(), L.dense({ units: 7 }), L.sigmoid(), L.dense({ units: 3 }), L.logSoftmax(),
    ], { inputShape: [23, 19, 6], seed: 4 }), false],
  ];
  it.each(models)("exportOnnx of %s: the values onnx-proto decodes, the bytes onnx-proto encodes", async (_, make, imports) => {
    const model = make();
    const bytes = await fovea.exportOnnx(model);
    const decoded = sameAsOnnxProto(bytes, "export.onnx");
    expect(decoded.producerName).toBe("fovea");
    // byte for byte what onnx-proto writes for the same message
    expect(Buffer.from(onnx.ModelProto.encode(onnx.ModelProto.decode(bytes)).finish()).equals(Buffer.from(bytes))).toBe(true);
    // what proto.ts decoded, encoded again (defaults now written out), decodes to the same values
    expect(norm(MODEL, decodeModel(encodeModel(decoded as ProtoInit<ModelProto>), "again.onnx") as unknown as Obj)).toEqual(norm(MODEL, decoded as unknown as Obj));
    if (imports) {
      // and imports back to the same predictions (the data in fovea's own NHWC layout)
      const back = await fovea.importOnnx(bytes, { inputLayout: "NHWC" });
      const x = Float32Array.from({ length: 2 * model.inputSize }, (_, i) => Math.sin(i * 0.7));
      const want = model.predict(x), got = back.predict(x);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThanOrEqual(1e-5 * Math.max(1, Math.abs(want[i]!)));
      back.free();
    }
    model.free();
  });
});

// ---- bad bytes -----------------------------------------------------------------------------

/** decodeModel's verdict: the model, or the FormatError's message; anything else fails the test. */
function verdict(bytes: Uint8Array, source = "bad.onnx"): string | ModelProto {
  try {
    return decodeModel(bytes, source);
  } catch (e) {
    expect(e).toBeInstanceOf(FormatError);
    const msg = (e as Error).message;
    expect(msg.startsWith(`${source}: not a readable ONNX model (`)).toBe(true);
    expect(msg).toMatch(/ at byte \d+ of \d+\)$/);
    return msg;
  }
}

const v = (...bytes: number[]) => new Uint8Array(bytes);
const lenVarint = (n: number) => {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  return [...out, n];
};

describe("bad bytes are FormatErrors naming the file, the field and the byte", () => {
  it("a length beyond the bytes left is refused before anything is allocated for it", () => {
    // ModelProto.graph with a length of 2^32 - 1 and 3 bytes after it
    expect(verdict(v(0x3a, ...lenVarint(2 ** 32 - 1), 1, 2, 3))).toMatch(/a length of 4294967295 bytes where 3 are left at byte 1 of 9/);
    // a packed float field (TensorProto.float_data) claiming 2^31 bytes inside an initializer
    const t = [0x22, ...lenVarint(2 ** 31), 0, 0, 0, 0];
    const g = [0x2a, t.length, ...t];
    expect(verdict(v(0x3a, g.length, ...g))).toMatch(/^bad\.onnx: not a readable ONNX model \(graph\.initializer\[0\]: a length of 2147483648 bytes where 4 are left/);
    // a nested length that fits the file but not its own message
    expect(verdict(v(0x3a, 2, 0x12, 5, 0x61, 0x62, 0x63))).toMatch(/graph: a length of 5 bytes where 0 are left/);
  });

  it("varints: past the end, longer than 64 bits", () => {
    expect(verdict(v(0x08, 0x80, 0x80))).toMatch(/a varint runs past the end of its message at byte 1 of 3/);
    expect(verdict(v(0x08, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x02))).toMatch(/a varint longer than 64 bits/);
    expect(verdict(v(0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x81, 0x01))).toMatch(/a varint longer than 64 bits/);
  });

  it("wrong wire types, groups, field number 0, int32 out of range, ragged packed floats, non-UTF-8 strings", () => {
    expect(verdict(v(0x38, 0x01))).toMatch(/ModelProto\.graph \(field 7\) has wire type 0, not 2 at byte 0/);
    expect(verdict(v(0x0a, 0x01, 0x00))).toMatch(/ModelProto\.irVersion \(field 1\) has wire type 2, not 0/);
    expect(verdict(v(0x7b, 0x7c))).toMatch(/wire type 3 \(groups are not used by ONNX\)/);
    expect(verdict(v(0x7e, 0x00))).toMatch(/wire type 6 \(not a protobuf wire type\)/);
    expect(verdict(v(0x00, 0x00))).toMatch(/field number 0 at byte 0/);
    // TensorProto.data_type = 2^40
    const t = [0x10, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20];
    expect(verdict(v(0x3a, t.length + 2, 0x2a, t.length, ...t))).toMatch(/graph\.initializer\[0\]: int32 value 1099511627776 is out of range/);
    // TensorProto.float_data packed with 5 bytes
    const f = [0x22, 5, 0, 0, 0x80, 0x3f, 0];
    expect(verdict(v(0x3a, f.length + 2, 0x2a, f.length, ...f))).toMatch(/TensorProto\.floatData: 5 packed bytes are not a whole number of 4-byte values/);
    // NodeProto.op_type = 0xff 0xfe
    const n = [0x22, 2, 0xff, 0xfe];
    expect(verdict(v(0x3a, n.length + 2, 0x0a, n.length, ...n))).toMatch(/graph\.node\[0\]: a string of 2 bytes that is not UTF-8 at byte 6/);
  });

  it("int64 values beyond 2^53 stay exact, and an import of INT64_MAX pads is still refused", async () => {
    const bytes = encodeModel({
      irVersion: 7, opsetImport: [{ version: 13 }],
      graph: {
        name: "g", node: [{ opType: "Conv", name: "c", input: ["x", "w"], output: ["y"], attribute: [{ name: "pads", type: 7, ints: [2n ** 63n - 1n, 0, 0, 0] }] }],
        initializer: [{ name: "w", dims: [1, 1, 3, 3], dataType: 1, floatData: new Array<number>(9).fill(1) }],
        input: [{ name: "x", type: { tensorType: { elemType: 1, shape: { dim: [1, 1, 4, 4].map((d) => ({ dimValue: d })) } } } }],
        output: [{ name: "y" }],
      },
    });
    expect(decodeModel(bytes, "m.onnx").graph!.node[0]!.attribute[0]!.ints).toEqual([2n ** 63n - 1n, 0, 0, 0]);
    await fovea.init({ build: "simd", threads: 1 });
    await expect(fovea.importOnnx(bytes, { source: "m.onnx" })).rejects.toThrow(/^m\.onnx: .*must stay within 16777216/);
  });

  it("every prefix of a fixture, and thousands of byte mutations, decode or are FormatErrors", () => {
    const bytes = new Uint8Array(readFileSync("test/fixtures/onnx/misc.onnx"));
    let refused = 0;
    for (let n = 0; n < bytes.length; n++) if (typeof verdict(bytes.subarray(0, n), "cut.onnx") === "string") refused++;
    expect(refused).toBeGreaterThan(bytes.length / 2);
    let seed = 12345;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let k = 0; k < 3000; k++) {
      const b = bytes.slice();
      for (let j = 0, flips = 1 + Math.floor(rand() * 4); j < flips; j++) {
        const i = Math.floor(rand() * b.length);
        b[i] = rand() < 0.3 ? 0xff : rand() < 0.5 ? b[i]! ^ (1 << Math.floor(rand() * 8)) : Math.floor(rand() * 256);
      }
      verdict(b, "mut.onnx");
    }
  });

  it("a model with no graph, and bytes that are not a Uint8Array, are refused by importOnnx naming the file", async () => {
    await fovea.init({ build: "simd", threads: 1 });
    await expect(fovea.importOnnx(encodeModel({ irVersion: 7 }), { source: "empty.onnx" })).rejects.toThrow("empty.onnx: the ONNX model has no graph");
    await expect(fovea.importOnnx([1, 2] as unknown as Uint8Array, { source: "arr.onnx" })).rejects.toThrow(FormatError);
    // a path where the bytes go, and the ArrayBuffer a fetch gives: the error says what to do
    await expect(fovea.importOnnx("nets/a.onnx" as unknown as Uint8Array)).rejects.toThrow('model.onnx: expected the bytes of an ONNX ModelProto (a Uint8Array), got the string "nets/a.onnx"; a path or URL is read first: await fovea.data.readBytes("nets/a.onnx")');
    await expect(fovea.importOnnx(new ArrayBuffer(8) as unknown as Uint8Array)).rejects.toThrow("got ArrayBuffer(8); wrap it: new Uint8Array(buffer)");
  });
});
