// The transposed 3-D conv (conv3dTranspose): forward against the float64 scatter oracle at edge
// sizes (channels 1, 3, 4, 5, 9: the SIMD lanes and tails; strides, dilations, crops, output
// padding), its gradients against central differences of the oracle, and shape errors.
import { describe, expect, it } from "vitest";
import { ConfigError, ShapeError, Tensor, ops } from "../src/index.js";
import type { ConvTranspose3dOptions } from "../src/ops/conv3d.js";
import { backendFor } from "./helpers/backends.js";
import { dot, expectClose, numericGrad, randomArray } from "./helpers/check.js";
import { refConvTranspose3d } from "./ref/conv3d.js";

const CASES: { x: [number, number, number, number, number]; w: [number, number, number, number, number]; opts: ConvTranspose3dOptions }[] = [
  { x: [1, 3, 4, 5, 1], w: [3, 3, 3, 2, 1], opts: {} }, // ONNX's test_convtranspose_3d shape
  { x: [2, 2, 3, 3, 4], w: [2, 3, 2, 3, 4], opts: { strides: [2, 1, 2], padding: [1, 0, 0, 1, 1, 0], outputPadding: [1, 0, 1] } },
  { x: [1, 3, 2, 4, 5], w: [2, 2, 3, 5, 5], opts: { strides: 2, dilations: [1, 2, 1], padding: 1 } },
  { x: [2, 2, 2, 2, 9], w: [1, 2, 2, 4, 9], opts: { strides: [1, 3, 2], dilations: 2, outputPadding: [0, 2, 1] } },
  { x: [1, 2, 3, 2, 3], w: [3, 1, 2, 1, 3], opts: { padding: [1, 1, 0] } },
];
const names = CASES.map((c) => [`x=${c.x.join("x")} w=${c.w.join("x")} ${JSON.stringify(c.opts)}`, c] as const);

describe.each(["simd", "relaxed"] as const)("conv3dTranspose on the %s build", (build) => {
  it.each(names)("forward and backward: %s", async (_n, c) => {
    const be = await backendFor(build);
    const g = ops.convTranspose3dGeometry(c.x, c.w, c.opts);
    const xs = randomArray(c.x.reduce((a, b) => a * b), 1), ws = randomArray(c.w.reduce((a, b) => a * b), 2), bs = randomArray(g.F, 3);
    const x = Tensor.from(xs, c.x, be), w = Tensor.from(ws, c.w, be), b = Tensor.from(bs, [g.F], be);
    const y = ops.conv3dTranspose(x, w, b, c.opts);
    expect(y.shape).toEqual(g.outShape);
    expectClose(y.toArray(), refConvTranspose3d(g, xs, ws, bs), 1e-5, 1e-5, "fwd");
    const R = randomArray(y.size, 4);
    const { dx, dw, db } = ops.conv3dTransposeBackward(x, w, Tensor.from(R, g.outShape, be), c.opts);
    expectClose(dx.toArray(), numericGrad((xx) => dot(refConvTranspose3d(g, xx, ws, null), R), xs), 1e-5, 1e-5, "dx");
    expectClose(dw.toArray(), numericGrad((ww) => dot(refConvTranspose3d(g, xs, ww, null), R), ws), 1e-5, 1e-5, "dw");
    expectClose(db.toArray(), numericGrad((bb) => dot(refConvTranspose3d(g, xs, ws, bb), R), bs), 1e-5, 1e-5, "db");
    for (const t of [x, w, b, y, dx, dw, db]) t.free();
  });
});

describe("conv3dTranspose shapes and errors", () => {
  it("output = (in − 1)·stride + (k − 1)·dilation + 1 + outputPadding − crops; bad options name the numbers", () => {
    expect(ops.convTranspose3dGeometry([1, 3, 4, 5, 1], [3, 3, 3, 2, 1]).outShape).toEqual([1, 5, 6, 7, 2]);
    expect(ops.convTranspose3dGeometry([1, 3, 4, 5, 1], [3, 3, 3, 2, 1], { strides: [3, 2, 2], padding: [1, 1, 0, 0, 0, 1], outputPadding: [1, 1, 1] }).outShape).toEqual([1, 8, 10, 11, 2]);
    expect(() => ops.convTranspose3dGeometry([1, 3, 4, 5, 2], [3, 3, 3, 2, 1], { name: "t" })).toThrow(/conv3dTranspose "t": weights \[3, 3, 3, 2, 1\] take 1 input channels/);
    expect(() => ops.convTranspose3dGeometry([1, 3, 4, 5, 1], [3, 3, 3, 2, 1], { outputPadding: 1 })).toThrow(ConfigError);
    expect(() => ops.convTranspose3dGeometry([1, 1, 1, 1, 1], [1, 1, 1, 2, 1], { padding: 1 })).toThrow(ShapeError);
    expect(() => ops.convTranspose3dGeometry([1, 3, 4, 1], [3, 3, 3, 2, 1])).toThrow(/rank 5/);
  });
});
