// The ONNX protobuf messages fovea reads and writes, decoded and encoded here (no protobuf
// runtime). Field numbers and types are those of onnx.proto (IR version 8); one schema table
// drives both directions. Decoding is strict: a varint past 64 bits or past the end, a length
// beyond the bytes left, a wire type that does not fit its field, a group, an int32 out of range
// or a string that is not UTF-8 is a FormatError naming the file, the field path and the byte
// offset — and nothing is allocated from a declared length before it is checked against the bytes
// left. Fields fovea does not use (subgraphs, sparse tensors, training info, functions, …) are
// skipped after the same checks. Decoded messages look as protobufjs decoded them: every scalar
// field present with its default (0, "", empty bytes) except the members of a oneof, repeated
// fields as arrays, absent messages undefined; bytes are views into the input (no copy); an int64
// is a number when it is a safe integer and an exact bigint otherwise.
import { ConfigError, FormatError, checkBytes, htmlHint } from "../../errors.js";

/** An int64 field: a number when safe (|v| < 2^53), else the exact value as a bigint. */
export type Int64 = number | bigint;

export interface StringStringEntryProto { key: string; value: string }
export interface OperatorSetIdProto { domain: string; version: Int64 }
/** dimValue and dimParam are a oneof: the one not given is undefined. */
export interface TensorShapeDimension { dimValue?: Int64; dimParam?: string; denotation: string }
export interface TensorShapeProto { dim: TensorShapeDimension[] }
export interface TypeProtoTensor { elemType: number; shape?: TensorShapeProto }
export interface TypeProto { tensorType?: TypeProtoTensor; denotation: string }
export interface ValueInfoProto { name: string; type?: TypeProto; docString: string }
export interface TensorProto {
  dims: Int64[]; dataType: number; floatData: number[]; int32Data: number[]; stringData: Uint8Array[]; int64Data: Int64[];
  name: string; rawData: Uint8Array; doubleData: number[]; uint64Data: Int64[]; docString: string;
  externalData: StringStringEntryProto[]; dataLocation: number;
}
export interface AttributeProto {
  name: string; f: number; i: Int64; s: Uint8Array; t?: TensorProto; g?: GraphProto; floats: number[]; ints: Int64[]; strings: Uint8Array[];
  tensors: TensorProto[]; graphs: GraphProto[]; docString: string; type: number; refAttrName: string;
}
export interface NodeProto { input: string[]; output: string[]; name: string; opType: string; attribute: AttributeProto[]; docString: string; domain: string }
export interface GraphProto {
  node: NodeProto[]; name: string; initializer: TensorProto[]; docString: string; input: ValueInfoProto[]; output: ValueInfoProto[]; valueInfo: ValueInfoProto[];
}
export interface ModelProto {
  irVersion: Int64; producerName: string; producerVersion: string; domain: string; modelVersion: Int64; docString: string;
  graph?: GraphProto; opsetImport: OperatorSetIdProto[]; metadataProps: StringStringEntryProto[];
}

/** What encodeModel takes: any subset of the fields (a field is written when it is given). */
export type ProtoInit<T> = {
  [K in keyof T]?: T[K] extends Uint8Array ? Uint8Array
    : T[K] extends readonly (infer E)[] ? ([E] extends [Uint8Array] ? Uint8Array[] : [E] extends [object] ? ProtoInit<E>[] : E[])
    : T[K] extends object | undefined ? ProtoInit<NonNullable<T[K]>>
    : T[K];
};

// ---- the schema ----------------------------------------------------------------------------

type Scalar = "string" | "bytes" | "int64" | "int32" | "float" | "double" | "uint64";
interface Field { no: number; name: string; kind: Scalar | Message; repeated: boolean; oneof: boolean }
interface Message { name: string; fields: Field[]; byNo: Map<number, Field> }

const WIRE: Record<Scalar | "message", number> = { string: 2, bytes: 2, message: 2, int64: 0, int32: 0, uint64: 0, float: 5, double: 1 };
const wireOf = (f: Field) => WIRE[typeof f.kind === "string" ? f.kind : "message"];

/** A message from `[number, name, kind]` rows ("*name": repeated, "?name": in a oneof, no default), in field-number order. */
function message(name: string, rows: [number, string, Scalar | Message][]): Message {
  const fields = rows.map(([no, n, kind]) => ({ no, name: n.replace(/^[*?]/, ""), kind, repeated: n.startsWith("*"), oneof: n.startsWith("?") }));
  return { name, fields, byNo: new Map(fields.map((f) => [f.no, f])) };
}

const StringStringEntry = message("StringStringEntryProto", [[1, "key", "string"], [2, "value", "string"]]);
const OperatorSetId = message("OperatorSetIdProto", [[1, "domain", "string"], [2, "version", "int64"]]);
const Dimension = message("TensorShapeProto.Dimension", [[1, "?dimValue", "int64"], [2, "?dimParam", "string"], [3, "denotation", "string"]]);
const TensorShape = message("TensorShapeProto", [[1, "*dim", Dimension]]);
const TypeTensor = message("TypeProto.Tensor", [[1, "elemType", "int32"], [2, "shape", TensorShape]]);
const Type = message("TypeProto", [[1, "tensorType", TypeTensor], [6, "denotation", "string"]]);
const ValueInfo = message("ValueInfoProto", [[1, "name", "string"], [2, "type", Type], [3, "docString", "string"]]);
const Tensor = message("TensorProto", [
  [1, "*dims", "int64"], [2, "dataType", "int32"], [4, "*floatData", "float"], [5, "*int32Data", "int32"], [6, "*stringData", "bytes"],
  [7, "*int64Data", "int64"], [8, "name", "string"], [9, "rawData", "bytes"], [10, "*doubleData", "double"], [11, "*uint64Data", "uint64"],
  [12, "docString", "string"], [13, "*externalData", StringStringEntry], [14, "dataLocation", "int32"],
]);
const Attribute = message("AttributeProto", [
  [1, "name", "string"], [2, "f", "float"], [3, "i", "int64"], [4, "s", "bytes"], [5, "t", Tensor], [7, "*floats", "float"], [8, "*ints", "int64"],
  [9, "*strings", "bytes"], [10, "*tensors", Tensor], [13, "docString", "string"], [20, "type", "int32"], [21, "refAttrName", "string"],
]);
const Node = message("NodeProto", [
  [1, "*input", "string"], [2, "*output", "string"], [3, "name", "string"], [4, "opType", "string"], [5, "*attribute", Attribute],
  [6, "docString", "string"], [7, "domain", "string"],
]);
const Graph = message("GraphProto", [
  [1, "*node", Node], [2, "name", "string"], [5, "*initializer", Tensor], [10, "docString", "string"], [11, "*input", ValueInfo],
  [12, "*output", ValueInfo], [13, "*valueInfo", ValueInfo],
]);
// subgraphs (If / Loop branches): AttributeProto.g and .graphs hold GraphProtos, which hold nodes and
// their attributes — the one cycle of the schema, closed here, fields kept in field-number order
for (const [no, name, repeated] of [[6, "g", false], [11, "graphs", true]] as const) {
  const f: Field = { no, name, kind: Graph, repeated, oneof: false };
  Attribute.fields.push(f);
  Attribute.byNo.set(no, f);
}
Attribute.fields.sort((a, b) => a.no - b.no);
const Model = message("ModelProto", [
  [1, "irVersion", "int64"], [2, "producerName", "string"], [3, "producerVersion", "string"], [4, "domain", "string"], [5, "modelVersion", "int64"],
  [6, "docString", "string"], [7, "graph", Graph], [8, "*opsetImport", OperatorSetId], [14, "*metadataProps", StringStringEntry],
]);

/** Every message of the schema, by its onnx.proto name (for tests). */
export const MESSAGES: Record<string, Message> = Object.fromEntries(
  [StringStringEntry, OperatorSetId, Dimension, TensorShape, TypeTensor, Type, ValueInfo, Tensor, Attribute, Node, Graph, Model].map((m) => [m.name, m]),
);

const EMPTY = new Uint8Array(0);
const DEFAULTS: Record<Scalar, unknown> = { string: "", bytes: EMPTY, int64: 0, int32: 0, float: 0, double: 0, uint64: 0 };

// ---- decoding ------------------------------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true });
const TWO32 = 4294967296;

class Reader {
  pos = 0;
  /** The last varint's low and high 32 bits (unsigned). */
  lo = 0;
  hi = 0;
  private readonly path: (string | number)[] = [];
  private readonly view: DataView;
  constructor(readonly buf: Uint8Array, readonly src: string) {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  fail(why: string): never {
    const at = this.path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
    throw new FormatError(`${this.src}: not a readable ONNX model (${at ? `${at}: ` : ""}${why} at byte ${this.pos} of ${this.buf.length})${htmlHint(this.buf)}`);
  }

  enter(name: string, index: number): void {
    this.path.push(name);
    if (index >= 0) this.path.push(index);
  }

  leave(index: number): void {
    this.path.length -= index >= 0 ? 2 : 1;
  }

  /** A varint (at most 10 bytes, at most 64 bits, before `end`) into lo / hi. */
  varint(end: number): void {
    const b = this.buf;
    let lo = 0, hi = 0, p = this.pos;
    for (let i = 0; ; i++) {
      if (p >= end) this.fail("a varint runs past the end of its message");
      const v = b[p++]!;
      if (i < 4) lo |= (v & 0x7f) << (7 * i);
      else if (i === 4) {
        lo |= (v & 0x0f) << 28;
        hi = (v & 0x7f) >> 4;
      } else if (i < 9) hi |= (v & 0x7f) << (7 * i - 32);
      else if (v > 1) this.fail("a varint longer than 64 bits");
      else hi |= v << 31;
      if (v < 0x80) break;
    }
    this.pos = p;
    this.lo = lo >>> 0;
    this.hi = hi >>> 0;
  }

  /** The varint just read as a signed int64. */
  int64(): Int64 {
    const { lo, hi } = this;
    const n = hi >= 0x80000000 ? (hi - TWO32) * TWO32 + lo : hi * TWO32 + lo;
    return Number.isSafeInteger(n) ? n : BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo));
  }

  /** The varint just read as an unsigned uint64. */
  uint64(): Int64 {
    const n = this.hi * TWO32 + this.lo;
    return Number.isSafeInteger(n) ? n : (BigInt(this.hi) << 32n) | BigInt(this.lo);
  }

  /** The varint just read as an int32 (negative values take 10 bytes, sign-extended). */
  int32(): number {
    const v = this.int64();
    if (typeof v !== "number" || v < -0x80000000 || v > 0x7fffffff) this.fail(`int32 value ${v} is out of range`);
    return v;
  }

  /** A length prefix, checked against the bytes left before `end`. */
  length(end: number): number {
    const at = this.pos;
    this.varint(end);
    const n = this.hi * TWO32 + this.lo, left = end - this.pos;
    if (n > left) {
      this.pos = at;
      this.fail(`a length of ${n} bytes where ${left} are left`);
    }
    return n;
  }

  fixed(bytes: number, end: number): number {
    if (end - this.pos < bytes) this.fail(`a ${bytes}-byte value where ${end - this.pos} bytes are left`);
    const v = bytes === 4 ? this.view.getFloat32(this.pos, true) : this.view.getFloat64(this.pos, true);
    this.pos += bytes;
    return v;
  }

  /** Skips a field of an unused number. */
  skip(wire: number, end: number): void {
    if (wire === 0) this.varint(end);
    else if (wire === 1 || wire === 5) this.fixed(wire === 1 ? 8 : 4, end);
    else if (wire === 2) {
      // the length first: `this.pos += this.length(end)` would add it to the position before the length's own bytes
      const n = this.length(end);
      this.pos += n;
    }
    else this.fail(`wire type ${wire} (${wire === 3 || wire === 4 ? "groups are not used by ONNX" : "not a protobuf wire type"})`);
  }

  /** One value of a scalar kind (its wire type already checked). */
  scalar(kind: Scalar, end: number): unknown {
    switch (kind) {
      case "float": return this.fixed(4, end);
      case "double": return this.fixed(8, end);
      case "int64": this.varint(end); return this.int64();
      case "uint64": this.varint(end); return this.uint64();
      case "int32": this.varint(end); return this.int32();
      case "bytes": {
        const n = this.length(end), b = this.buf;
        // a plain view (not a Buffer's subarray), no copy
        const v = new Uint8Array(b.buffer, b.byteOffset + this.pos, n);
        this.pos += n;
        return v;
      }
      case "string": {
        const n = this.length(end), at = this.pos;
        this.pos += n;
        try {
          return utf8.decode(this.buf.subarray(at, this.pos));
        } catch {
          this.pos = at;
          return this.fail(`a string of ${n} bytes that is not UTF-8`);
        }
      }
    }
  }

  message(m: Message, end: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const f of m.fields) if (f.repeated) out[f.name] = [];
    else if (typeof f.kind === "string" && !f.oneof) out[f.name] = DEFAULTS[f.kind];
    while (this.pos < end) {
      const tagAt = this.pos;
      this.varint(end);
      const no = this.hi * 536870912 + (this.lo >>> 3), wire = this.lo & 7;
      if (no === 0 || no > 536870911) {
        this.pos = tagAt;
        this.fail(`field number ${no}`);
      }
      const f = m.byNo.get(no);
      if (!f) {
        this.skip(wire, end);
        continue;
      }
      const want = wireOf(f);
      if (typeof f.kind !== "string") {
        if (wire !== 2) this.wrongWire(f, m, wire, tagAt);
        const n = this.length(end);
        const list = f.repeated ? (out[f.name] as unknown[]) : null;
        this.enter(f.name, list ? list.length : -1);
        const v = this.message(f.kind, this.pos + n);
        this.leave(list ? list.length : -1);
        if (list) list.push(v);
        else out[f.name] = v;
      } else if (wire === want) {
        const v = this.scalar(f.kind, end);
        if (f.repeated) (out[f.name] as unknown[]).push(v);
        else out[f.name] = v;
      } else if (wire === 2 && f.repeated && want !== 2) {
        // packed repeated numbers
        const n = this.length(end), stop = this.pos + n, list = out[f.name] as unknown[];
        const width = want === 5 ? 4 : want === 1 ? 8 : 0;
        if (width && n % width) this.fail(`${m.name}.${f.name}: ${n} packed bytes are not a whole number of ${width}-byte values`);
        this.enter(f.name, -1);
        while (this.pos < stop) list.push(this.scalar(f.kind, stop));
        this.leave(-1);
      } else this.wrongWire(f, m, wire, tagAt);
    }
    return out;
  }

  private wrongWire(f: Field, m: Message, wire: number, at: number): never {
    this.pos = at;
    return this.fail(`${m.name}.${f.name} (field ${f.no}) has wire type ${wire}, not ${wireOf(f)}`);
  }
}

/** The schema tables that decode to each top-level message type. */
interface Decoded { ModelProto: ModelProto; TensorProto: TensorProto }

function decode<K extends keyof Decoded>(kind: K, bytes: Uint8Array, source: string): Decoded[K] {
  checkBytes(bytes, source, `the bytes of an ONNX ${kind}`);
  const r = new Reader(bytes, source);
  // the schema tables are the messages field by field (test/onnx-proto.test.ts checks every field
  // against onnx-proto); the reader builds plain records from them, so the static type is asserted here, once
  return r.message(MESSAGES[kind]!, bytes.length) as unknown as Decoded[K];
}

/** Decodes a ModelProto; every flaw is a FormatError naming `source`. */
export function decodeModel(bytes: Uint8Array, source: string): ModelProto {
  return decode("ModelProto", bytes, source);
}

/** Decodes a TensorProto (a `.pb` file of the ONNX test data, for instance); every flaw is a FormatError naming `source`. */
export function decodeTensor(bytes: Uint8Array, source: string): TensorProto {
  return decode("TensorProto", bytes, source);
}

// ---- encoding ------------------------------------------------------------------------------

const utf8Encoder = new TextEncoder();

/** Bytes written as a list of parts: large byte fields are kept by reference, copied once at the end. */
class Sink {
  parts: Uint8Array[] = [];
  size = 0;
  private cur = new Uint8Array(1024);
  private n = 0;
  private readonly scratch = new DataView(new ArrayBuffer(8));

  private room(k: number): void {
    if (this.n + k <= this.cur.length) return;
    this.flush();
    if (k > this.cur.length) this.cur = new Uint8Array(k);
  }

  flush(): void {
    if (this.n) this.parts.push(this.cur.slice(0, this.n));
    this.n = 0;
  }

  byte(b: number): void {
    this.room(1);
    this.cur[this.n++] = b;
    this.size++;
  }

  /** Unsigned varint of lo + hi·2^32. */
  varint(lo: number, hi: number): void {
    this.room(10);
    while (hi !== 0 || lo > 0x7f) {
      this.cur[this.n++] = (lo & 0x7f) | 0x80;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
      this.size++;
    }
    this.cur[this.n++] = lo;
    this.size++;
  }

  uint(v: number): void {
    this.varint(v % TWO32 >>> 0, Math.floor(v / TWO32));
  }

  int64(v: Int64, where: string): void {
    if (typeof v === "number" && !Number.isSafeInteger(v)) throw new ConfigError(`ONNX encoding: ${where} must be a whole number, got ${v}`);
    if (typeof v === "number" && v >= 0) return this.uint(v);
    const b = BigInt.asUintN(64, BigInt(v));
    this.varint(Number(b & 0xffffffffn), Number(b >> 32n));
  }

  tag(no: number, wire: number): void {
    this.uint(no * 8 + wire);
  }

  fixed(v: number, bytes: 4 | 8): void {
    if (bytes === 4) this.scratch.setFloat32(0, v, true);
    else this.scratch.setFloat64(0, v, true);
    this.bytes(new Uint8Array(this.scratch.buffer, 0, bytes), true);
  }

  bytes(b: Uint8Array, copy = false): void {
    if (b.length <= 256 || copy) {
      this.room(b.length);
      this.cur.set(b, this.n);
      this.n += b.length;
    } else {
      this.flush();
      this.parts.push(b);
    }
    this.size += b.length;
  }

  append(s: Sink): void {
    this.flush();
    for (const p of s.parts) this.parts.push(p);
    this.size += s.size;
  }
}

function encodeScalar(s: Sink, kind: Scalar, v: unknown, where: string): void {
  switch (kind) {
    case "float": return s.fixed(v as number, 4);
    case "double": return s.fixed(v as number, 8);
    case "int64": case "uint64": return s.int64(v as Int64, where);
    case "int32": return s.int64(v as number, where);
    case "bytes": s.uint((v as Uint8Array).length); return s.bytes(v as Uint8Array);
    case "string": {
      const b = utf8Encoder.encode(v as string);
      s.uint(b.length);
      return s.bytes(b);
    }
  }
}

function encodeMessage(s: Sink, m: Message, obj: Record<string, unknown>, where: string): void {
  for (const f of m.fields) {
    const v = obj[f.name];
    if (v === undefined || v === null) continue;
    const at = `${where}.${f.name}`;
    if (f.repeated) {
      const list = v as unknown[];
      if (!list.length) continue;
      if (typeof f.kind !== "string") {
        for (const e of list) encodeChild(s, f.no, f.kind, e as Record<string, unknown>, at);
      } else if (wireOf(f) !== 2) {
        // numbers packed, as protobufjs writes them
        const inner = new Sink();
        for (const e of list) encodeScalar(inner, f.kind, e, at);
        inner.flush();
        s.tag(f.no, 2);
        s.uint(inner.size);
        s.append(inner);
      } else for (const e of list) {
        s.tag(f.no, 2);
        encodeScalar(s, f.kind, e, at);
      }
    } else if (typeof f.kind !== "string") encodeChild(s, f.no, f.kind, v as Record<string, unknown>, at);
    else {
      s.tag(f.no, wireOf(f));
      encodeScalar(s, f.kind, v, at);
    }
  }
}

function encodeChild(s: Sink, no: number, m: Message, obj: Record<string, unknown>, where: string): void {
  const inner = new Sink();
  encodeMessage(inner, m, obj, where);
  inner.flush();
  s.tag(no, 2);
  s.uint(inner.size);
  s.append(inner);
}

/** Encodes a ModelProto (fields in field-number order, repeated numbers packed). */
export function encodeModel(model: ProtoInit<ModelProto>): Uint8Array {
  const s = new Sink();
  encodeMessage(s, Model, model as Record<string, unknown>, "ModelProto");
  s.flush();
  const out = new Uint8Array(s.size);
  let at = 0;
  for (const p of s.parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
