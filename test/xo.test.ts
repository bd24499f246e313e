// The X/O toy ConvNet of Brandon Rohrer's lecture "How do Convolutional Neural Networks work?" (2016), its published tables: filter the 9x9 "X" with three
// 3x3 features ("multiply, add up, divide by the number of pixels"), ReLU, then 2x2 max pooling
// with stride 2 keeping the partial edge window. Every value is compared exactly in ninths.
import { describe, expect, it } from "vitest";
import { Tensor, ops } from "../src/index.js";
import { backendFor } from "./helpers/backends.js";

const X_IMAGE = [
  [-1, -1, -1, -1, -1, -1, -1, -1, -1],
  [-1, 1, -1, -1, -1, -1, -1, 1, -1],
  [-1, -1, 1, -1, -1, -1, 1, -1, -1],
  [-1, -1, -1, 1, -1, 1, -1, -1, -1],
  [-1, -1, -1, -1, 1, -1, -1, -1, -1],
  [-1, -1, -1, 1, -1, 1, -1, -1, -1],
  [-1, -1, 1, -1, -1, -1, 1, -1, -1],
  [-1, 1, -1, -1, -1, -1, -1, 1, -1],
  [-1, -1, -1, -1, -1, -1, -1, -1, -1],
];
const DIAGONAL = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]];
const X_FEATURE = [[1, -1, 1], [-1, 1, -1], [1, -1, 1]];
const ANTI_DIAGONAL = [[-1, -1, 1], [-1, 1, -1], [1, -1, -1]];

// The published 7x7 map of the diagonal feature (two decimals, truncated ninths).
const DIAGONAL_MAP = [
  [0.77, -0.11, 0.11, 0.33, 0.55, -0.11, 0.33],
  [-0.11, 1.0, -0.11, 0.33, -0.11, 0.11, -0.11],
  [0.11, -0.11, 1.0, -0.33, 0.11, -0.11, 0.55],
  [0.33, 0.33, -0.33, 0.55, -0.33, 0.33, 0.33],
  [0.55, -0.11, 0.11, -0.33, 1.0, -0.11, 0.11],
  [-0.11, 0.11, -0.11, 0.33, -0.11, 1.0, -0.11],
  [0.33, -0.11, 0.55, 0.33, 0.11, -0.11, 0.77],
];
// ...after ReLU and 2x2 max pooling, stride 2, ceil mode
const DIAGONAL_POOLED = [
  [1.0, 0.33, 0.55, 0.33],
  [0.33, 1.0, 0.33, 0.55],
  [0.55, 0.33, 1.0, 0.11],
  [0.33, 0.55, 0.11, 0.77],
];

/** A two-decimal table value as a whole number of ninths (0.77 → 7, -0.11 → -1, 1.00 → 9). */
const ninths = (v: number) => Math.round(v * 9);

function channel(y: Float32Array, C: number, c: number): number[] {
  return Array.from(y.filter((_, i) => i % C === c));
}

describe.each(["simd", "relaxed"] as const)("the X/O toy ConvNet on the %s build", (build) => {
  async function run(pool: "ceil" | "same") {
    const be = await backendFor(build);
    const x = Tensor.from(X_IMAGE.flat(), [1, 9, 9, 1], be);
    // HWIO weights [3, 3, 1, 3], each feature divided by the 9 pixels it covers
    const w = new Float32Array(27);
    [DIAGONAL, X_FEATURE, ANTI_DIAGONAL].forEach((f, o) => f.flat().forEach((v, k) => (w[k * 3 + o] = v / 9)));
    const maps = ops.conv2d(x, Tensor.from(w, [3, 3, 1, 3], be));
    const relu = ops.activation("relu", maps);
    const pooled = ops.maxPool2d(relu, pool === "ceil" ? { kernel: 2, strides: 2, rounding: "ceil" } : { kernel: 2, padding: "same" });
    return { maps: maps.toArray(), pooled: pooled.y.toArray(), shape: pooled.y.shape };
  }

  it("the diagonal feature gives the published 7x7 map, exactly in ninths", async () => {
    const { maps } = await run("ceil");
    const got = channel(maps, 3, 0);
    expect(got.map((v) => v * 9).every((v) => Math.abs(v - Math.round(v)) < 1e-5)).toBe(true);
    expect(got.map((v) => Math.round(v * 9))).toEqual(DIAGONAL_MAP.flat().map(ninths));
  });

  it("the X feature peaks at 1.00 in the centre with 0.33 in the corners", async () => {
    const { maps } = await run("ceil");
    const m = channel(maps, 3, 1).map((v) => Math.round(v * 9));
    expect(m[3 * 7 + 3]).toBe(9);
    expect([m[0], m[6], m[42], m[48]]).toEqual([3, 3, 3, 3]);
  });

  it("the anti-diagonal feature gives the mirror image of the diagonal map", async () => {
    const { maps } = await run("ceil");
    const anti = channel(maps, 3, 2).map((v) => Math.round(v * 9));
    const mirrored = DIAGONAL_MAP.map((row) => [...row].reverse()).flat().map(ninths);
    expect(anti).toEqual(mirrored);
  });

  it.each(["ceil", "same"] as const)("ReLU then 2x2 max pooling (%s) gives the published 4x4 map", async (mode) => {
    const { pooled, shape } = await run(mode);
    expect(shape).toEqual([1, 4, 4, 3]);
    expect(channel(pooled, 3, 0).map((v) => Math.round(v * 9))).toEqual(DIAGONAL_POOLED.flat().map(ninths));
  });
});
