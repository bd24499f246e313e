// ONNX import against PyTorch: the fixtures (test/fixtures/onnx, written by
// scripts/make-onnx-fixtures.py with Debian's python3-torch; torch version and seed inside each
// .json) must give PyTorch's outputs within 1e-4 relative.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";

const require = createRequire(import.meta.url);
const { onnx } = require("onnx-proto") as { onnx: { ModelProto: { create(o: object): object; encode(m: object): { finish(): Uint8Array } } } };

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

const fixture = (name: string) => ({
  bytes: new Uint8Array(readFileSync(`test/fixtures/onnx/${name}.onnx`)),
  ...(JSON.parse(readFileSync(`test/fixtures/onnx/${name}.json`, "utf8")) as { input: number[]; inputShape: number[]; output: number[]; torch: string }),
});

function expectRel(got: ArrayLike<number>, want: ArrayLike<number>, rel: number) {
  expect(got.length).toBe(want.length);
  let worst = 0, at = -1;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 1e-3);
    if (e > worst) { worst = e; at = i; }
  }
  expect(worst, `worst relative error at ${at}: ${got[at]} vs ${want[at]}`).toBeLessThanOrEqual(rel);
}

describe("ONNX import matches PyTorch", () => {
  it.each(["conv_bn_pool", "branches", "consts"])("%s", async (name) => {
    const f = fixture(name);
    expect(f.torch).toMatch(/^1\.13/);
    const m = await fovea.importOnnx(f.bytes, { source: `${name}.onnx` });
    expectRel(m.predict(Float32Array.from(f.input)), f.output, 1e-4);
    m.free();
  });

  it("takes NHWC input when asked, with the same results", async () => {
    const f = fixture("conv_bn_pool");
    const m = await fovea.importOnnx(f.bytes, { inputLayout: "NHWC" });
    const [N, C, H, W] = f.inputShape as [number, number, number, number];
    const nhwc = new Float32Array(f.input.length);
    for (let n = 0; n < N; n++) for (let c = 0; c < C; c++) for (let h = 0; h < H; h++) for (let w = 0; w < W; w++) {
      nhwc[((n * H + h) * W + w) * C + c] = f.input[((n * C + c) * H + h) * W + w]!;
    }
    expect(m.inputShape).toEqual([H, W, C]);
    expectRel(m.predict(nhwc), f.output, 1e-4);
    m.free();
  });
});

describe("ONNX errors", () => {
  const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const graph = (nodes: object[]) => onnx.ModelProto.encode(onnx.ModelProto.create({
    irVersion: 7, opsetImport: [{ domain: "", version: 13 }],
    graph: { name: "g", node: nodes, input: [vi("x", [1, 2, 4, 4])], output: [vi("y", [1, 2, 4, 4])] },
  })).finish();

  it("lists every unsupported op with its node names, and builds nothing", async () => {
    const be = fovea.getBackend();
    const before = be.heap.stats().inUseBytes;
    const bytes = graph([
      { opType: "Relu", name: "r", input: ["x"], output: ["a"] },
      { opType: "LSTM", name: "l1", input: ["a"], output: ["b"] },
      { opType: "Einsum", name: "e", input: ["b"], output: ["c"] },
      { opType: "LSTM", name: "l2", input: ["c"], output: ["y"] },
    ]);
    await expect(fovea.importOnnx(bytes, { source: "m.onnx" })).rejects.toThrow('m.onnx: unsupported ONNX ops: LSTM ("l1", "l2"); Einsum ("e")');
    expect(be.heap.stats().inUseBytes).toBe(before);
  });

  it("corrupt and truncated files, unsupported patterns", async () => {
    const f = fixture("conv_bn_pool");
    await expect(fovea.importOnnx(f.bytes.subarray(0, 300), { source: "cut.onnx" })).rejects.toThrow(/cut\.onnx: not a readable ONNX model/);
    await expect(fovea.importOnnx(Uint8Array.from([1, 2, 3, 250, 251]), { source: "junk.onnx" })).rejects.toThrow(fovea.FormatError);
    const bytes = graph([{ opType: "Clip", name: "c", input: ["x", "lo", "hi"], output: ["y"] }, ]);
    await expect(fovea.importOnnx(bytes, { source: "m.onnx" })).rejects.toThrow(/node "c" \(Clip\): input "lo" is not defined/);
  });
});
