// The official ONNX backend node tests (Debian's libonnx-testdata, ONNX 1.12) for every op the
// README lists as supported: each test directory whose graph is one node of such an op. Its
// model.onnx and test_data_set_*/{input,output}_*.pb are decoded by fovea's own protobuf decoder
// (src/io/onnx/proto.ts), the model imported and run, and its outputs compared with ONNX's
// backend-test tolerances (|got − want| ≤ atol + rtol·|want|, rtol 1e-3, atol 1e-7; NaN = NaN, ∞ = ∞).
// Several inputs or outputs go through predict's records by name (model.io).
// test/onnx-node-expected.json lists every selected test: "pass", or the reason it does not
// (the error fovea gives, word for word). A test that passes while listed with a reason fails too:
// the list must be updated (FOVEA_ONNX_NODE_UPDATE=1 rewrites it; scripts/onnx-support-table.mjs
// then rewrites docs/onnx.md's table, which this test checks).
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { decodeModel, decodeTensor } from "../src/io/onnx/proto.js";
import { tensorValues, num } from "../src/io/onnx/model.js";

const DATA = "/usr/share/libonnx-testdata/data/node";
const LIST = "test/onnx-node-expected.json";
const RTOL = 1e-3, ATOL = 1e-7;

interface Expected { data: string; selection: string; bound: Record<string, number[]>; ops: Record<string, Record<string, string>> }
const expected = JSON.parse(readFileSync(LIST, "utf8")) as Expected;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

interface Case { op: string; dir: string }

/** Every test directory whose graph is a single node of a listed op. */
function select(): Case[] {
  const out: Case[] = [];
  for (const dir of readdirSync(DATA).sort()) {
    const bytes = new Uint8Array(readFileSync(join(DATA, dir, "model.onnx")));
    const g = decodeModel(bytes, dir).graph;
    if (g?.node.length === 1 && Object.hasOwn(expected.ops, g.node[0]!.opType)) out.push({ op: g.node[0]!.opType, dir });
  }
  return out;
}

const tensor = (path: string) => {
  const t = decodeTensor(new Uint8Array(readFileSync(path)), path);
  return { name: t.name, dims: t.dims.map(num), data: tensorValues(t, path) };
};

/** Runs one test directory; "pass" or the reason it does not. */
async function run(c: Case): Promise<string> {
  const bytes = new Uint8Array(readFileSync(join(DATA, c.dir, "model.onnx")));
  const g = decodeModel(bytes, c.dir).graph!;
  const sets = readdirSync(join(DATA, c.dir)).filter((d) => d.startsWith("test_data_set_")).sort();
  const node = g.node[0]!;
  // inputs the op takes as parameters (weights, bounds, shapes, axes, pads, indices) are fixed at
  // import, as they are in a model's initializers; the others are data
  if (g.input.some((i) => !i.type?.tensorType) || g.output.some((o) => !o.type?.tensorType)) {
    if (g.output.some((o) => !o.type?.tensorType) && g.input.every((i) => i.type?.tensorType)) return `an output is not a tensor (a sequence, map or optional): ${g.output.filter((o) => !o.type?.tensorType).map((o) => `"${o.name}"`).join(", ")}`;
    // a sequence or optional input: the importer's own answer, before any data is read
    try {
      (await fovea.importOnnx(bytes, { source: c.dir })).free();
      return "imported a graph with a non-tensor input";
    } catch (e) {
      return e instanceof fovea.FoveaError ? e.message.replace(`${c.dir}: `, "") : `crash: ${String(e)}`;
    }
  }
  // per op, or per test where the op's usual parameter is data there (a batched MatMul's second matrix)
  const boundAt = expected.bound[c.dir] ?? expected.bound[c.op] ?? [];
  const bound = new Set(node.input.filter((n, i) => n && boundAt.includes(i)));
  for (const set of sets) {
    const dir = join(DATA, c.dir, set);
    const files = readdirSync(dir);
    let ins: ReturnType<typeof tensor>[], outs: ReturnType<typeof tensor>[];
    try {
      // bfloat16 inputs are stored as their uint16 bits (as ONNX's own runner reads them)
      ins = g.input.map((vi, i) => {
        const t = tensor(join(dir, `input_${i}.pb`));
        return vi.type?.tensorType?.elemType === 16 && !(t.data instanceof Float32Array)
          ? { ...t, data: Float32Array.from(t.data, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!) } : t;
      });
      // likewise bfloat16 outputs stored as uint16 bits
      outs = files.filter((f) => f.startsWith("output_")).sort().map((f, k) => {
        const t = tensor(join(dir, f));
        return g.output[k]?.type?.tensorType?.elemType === 16 && !(t.data instanceof Float32Array)
          ? { ...t, data: Float32Array.from(t.data, (b) => new Float32Array(new Uint32Array([b << 16]).buffer)[0]!) } : t;
      });
    } catch (e) {
      return e instanceof fovea.FoveaError ? `test data: ${e.message.replace(/^.*\/(?=input_|output_)/, "")}` : `crash: ${String(e)}`;
    }
    const constants = Object.fromEntries(g.input.map((vi, i) => [vi.name, ins[i]!] as const).filter(([n]) => bound.has(n)).map(([n, t]) => [n, { dims: t.dims, data: t.data }]));
    const data = g.input.map((vi, i) => ({ ...ins[i]!, name: vi.name })).filter((t) => !bound.has(t.name));
    let m: fovea.Model;
    try {
      m = await fovea.importOnnx(bytes, { source: c.dir, constants });
    } catch (e) {
      return e instanceof fovea.FoveaError ? e.message.replace(`${c.dir}: `, "") : `crash: ${String(e)}`;
    }
    try {
      // the inputs the model asks for (model.io; an input no node reads is not asked for)
      const io = m.io!, fed = data.filter((d) => io.inputs.some((i) => i.name === d.name));
      // a graph that mixes its axis 0 takes each input whole, as one example (model.io.whole)
      const batchSize = io.whole ? 1 : Math.max(1, fed[0]!.dims[0] ?? 1);
      // one input and one output: plain arrays; several: records by name
      const ys: Float32Array[] = fed.length === 1 && outs.length === 1
        ? [m.predict(Float32Array.from(fed[0]!.data), { batchSize })]
        : ((r) => g.output.map((o) => r[o.name]!))(m.predict(Object.fromEntries(fed.map((d) => [d.name, Float32Array.from(d.data)])), { batchSize }));
      const shapes = io.outputs.map((o) => o.shape);
      for (let k = 0; k < outs.length; k++) {
      const want = outs[k]!, y = ys[k]!;
      // one number per example ([N]) is fovea's per-example shape [1]; a whole output is one example
      const per = io.whole ? want.dims : want.dims.slice(1);
      if (shapes[k]!.join() !== (per.length === 0 ? "1" : per.join())) return `output ${k} shape [${io.whole ? "" : "N, "}${shapes[k]!.join(", ")}], expected [${want.dims.join(", ")}]`;
      if (y.length !== want.data.length) return `${y.length} output values, expected ${want.data.length}`;
      for (let i = 0; i < y.length; i++) {
        const w = want.data[i]!;
        // NaN matches NaN and an infinity itself, as numpy's assert_allclose (ONNX's runner) has it
        if (!(Math.abs(y[i]! - w) <= ATOL + RTOL * Math.abs(w)) && !(Number.isNaN(w) && Number.isNaN(y[i]!)) && y[i] !== w) return `${set}: output ${k} [${i}] = ${y[i]}, expected ${w}`;
      }
      }
    } catch (e) {
      return e instanceof fovea.FoveaError ? e.message : `crash: ${String(e)}`;
    } finally {
      m.free();
    }
  }
  return "pass";
}

describe("ONNX backend node tests (libonnx-testdata)", () => {
  it("the test data is installed", () => {
    expect(existsSync(DATA), `${DATA} is missing: install Debian's libonnx-testdata (apt-get install libonnx-testdata; .ci/run does)`).toBe(true);
  });

  it("every selected test passes or fails for its listed reason", async () => {
    expect(existsSync(DATA), `${DATA} is missing: install Debian's libonnx-testdata`).toBe(true);
    const cases = select();
    const got: Record<string, Record<string, string>> = Object.fromEntries(Object.keys(expected.ops).map((op) => [op, {}]));
    for (const c of cases) got[c.op]![c.dir] = await run(c);
    if (process.env.FOVEA_ONNX_NODE_UPDATE) {
      writeFileSync(LIST, JSON.stringify({ ...expected, ops: got }, null, 2) + "\n");
      execFileSync("node", ["scripts/onnx-support-table.mjs"]);
    }
    const passed = cases.filter((c) => got[c.op]![c.dir] === "pass").length;
    console.log(`ONNX node tests: ${passed} of ${cases.length} pass`);
    expect(got).toEqual(expected.ops);
  }, 300_000);

  it("docs/onnx.md's support table is generated from the list", () => {
    const out = execFileSync("node", ["scripts/onnx-support-table.mjs", "--check"], { encoding: "utf8" });
    expect(out).toContain("up to date");
  });
});
