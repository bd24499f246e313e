// The image family: the affine warp kernels against a float64 oracle, through the ops builders.
import { describe, expect, it } from "vitest";
import { warpAffineBatchCalls, warpAffineCall } from "../src/ops/image.js";
import { backendFor } from "./helpers/backends.js";
import { expectClose, randomArray } from "./helpers/check.js";
import { Mem } from "./helpers/mem.js";
import { refWarpAffine } from "./ref/image.js";

const CASES: { H: number; W: number; C: number; OH: number; OW: number; m: number[]; fill: number; flip: boolean }[] = [
  { H: 7, W: 5, C: 1, OH: 7, OW: 5, m: [1, 0, 0, 0, 1, 0], fill: 0, flip: false }, // identity
  { H: 9, W: 11, C: 3, OH: 9, OW: 11, m: [0.96, 0.21, -1.3, -0.2, 1.02, 0.7], fill: 0.5, flip: true }, // rotate, shear, shift
  { H: 28, W: 28, C: 1, OH: 28, OW: 28, m: [1.1, -0.1, -2.5, 0.12, 0.9, 3.1], fill: 0, flip: false },
  { H: 13, W: 6, C: 2, OH: 5, OW: 9, m: [0.6, 0, 0.2, 0, 2.5, -0.75], fill: -1, flip: true }, // resize to another shape
  { H: 1, W: 1, C: 4, OH: 3, OW: 2, m: [0.3, 0, -0.2, 0, 0.3, -0.1], fill: 2, flip: false }, // 1×1 source
];

describe.each(["simd", "relaxed"] as const)("affine warp on the %s build", (build) => {
  it.each(CASES.map((c, i) => [i, c] as const))("case %i against the float64 oracle", async (_, c) => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const src = randomArray(c.H * c.W * c.C, c.H * 7 + c.W);
    const S = mem.f32(src), M = mem.f32(c.m), D = mem.f32(c.OH * c.OW * c.C);
    be.run([warpAffineCall(S, c.H, c.W, c.C, M, c.fill, c.flip, D, c.OH, c.OW)]);
    // float32 coordinates: a sample can land a rounding step away from the float64 one
    expectClose(mem.read(D, c.OH * c.OW * c.C), refWarpAffine(src, c.H, c.W, c.C, Float32Array.from(c.m), c.fill, c.flip, c.OH, c.OW), 1e-4, 1e-4, "warp");
    mem.freeAll();
  });

  it("every output pixel is the one-pixel formula in float32, bit for bit: four at a time, the tail, the edges, mirrored", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    let seed = 11, cases = 0;
    for (const C of [1, 2, 3]) for (const [H, W] of [[1, 1], [1, 6], [5, 1], [6, 2], [7, 9], [28, 28]] as const) for (const [OH, OW] of [[3, 1], [4, 4], [5, 7], [9, 13]] as const) {
      for (const flip of [false, true]) {
        const rnd = () => Math.sin(seed++ * 12.9898) * 0.5;
        // rotations, scales and shifts that put taps inside, on the edges and far outside
        const a = rnd() * 2, s = 0.4 + Math.abs(rnd()) * 2;
        const mat = Float32Array.from([Math.cos(a) * s, Math.sin(a) * s + rnd(), rnd() * 2 * W, -Math.sin(a) * s, Math.cos(a) * s, rnd() * 2 * H]);
        const src = randomArray(H * W * C, seed++), fill = rnd();
        const S = mem.f32(src), M = mem.f32(mat), D = mem.f32(OH * OW * C);
        be.run([warpAffineCall(S, H, W, C, M, fill, flip, D, OH, OW)]);
        const want = refWarpAffine(src, H, W, C, mat, Math.fround(fill), flip, OH, OW, true);
        expect(Array.from(mem.read(D, OH * OW * C)), `C ${C} ${H}x${W} -> ${OH}x${OW} flip ${flip}`).toEqual(Array.from(Float32Array.from(want)));
        mem.freeAll();
        cases++;
      }
    }
    expect(cases).toBe(144);
    // coordinates past the integers (the conversion saturates; x0 + 1 wraps and reads fill), NaN
    // and infinite ones (NaN out, as the formula gives), and an empty source (fill everywhere)
    for (const [H, W, mat] of [[6, 7, [1, 0, 3e9, 0, 1, 0]], [6, 7, [1, 0, -3e9, 0, 1, 2]], [6, 7, [1, 0, 0, 0, 1, 2.1e9]], [6, 7, [1, 0, Number.NaN, 0, 1, 0]],
      [6, 7, [1, 0, Number.POSITIVE_INFINITY, 0, 1, 0]], [6, 7, [0, 0, -0.5, 0, 0, -1e-45]], [0, 7, [1, 0, 0, 0, 1, 0]], [6, 0, [1, 0, 0, 0, 1, 0]]] as const) {
      for (const C of [1, 2]) {
        const m32 = Float32Array.from(mat), src = randomArray(Math.max(1, H * W * C), seed++);
        const S = mem.f32(src), M = mem.f32(m32), D = mem.f32(5 * 9 * C);
        be.run([warpAffineCall(S, H, W, C, M, 0.75, false, D, 5, 9)]);
        const want = refWarpAffine(src, H, W, C, m32, 0.75, false, 5, 9, true);
        expect(Array.from(mem.read(D, 5 * 9 * C)), `${H}x${W}x${C} m ${mat.join(",")}`).toEqual(Array.from(Float32Array.from(want)));
        mem.freeAll();
      }
    }
  });

  it("the batched kernel equals one warp per image (own matrix and flip each), in any split", async () => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    const n = 5, H = 8, W = 6, C = 2, per = H * W * C;
    const src = randomArray(n * per, 3);
    const mats = CASES.slice(0, n).flatMap((c) => c.m);
    const S = mem.f32(src), M = mem.f32(mats), F = mem.i32(n), D = mem.f32(n * per);
    be.heap.i32(F, n).set([0, 1, 1, 0, 1]);
    be.run(warpAffineBatchCalls(be, n, H, W, C, S, M, F, 0.25, D, H, W));
    const got = mem.read(D, n * per);
    for (let i = 0; i < n; i++) {
      const want = refWarpAffine(src.subarray(i * per, (i + 1) * per), H, W, C, Float32Array.from(mats.slice(i * 6, i * 6 + 6)), 0.25, [0, 1, 1, 0, 1][i] === 1, H, W);
      expectClose(got.subarray(i * per, (i + 1) * per), want, 1e-4, 1e-4, `image ${i}`);
    }
    mem.freeAll();
  });
});

it("identity warps are exact", async () => {
  const be = await backendFor("simd");
  const mem = new Mem(be);
  const src = randomArray(7 * 5, 1);
  const S = mem.f32(src), M = mem.f32([1, 0, 0, 0, 1, 0]), D = mem.f32(35);
  be.run([warpAffineCall(S, 7, 5, 1, M, 0, false, D, 7, 5)]);
  expect(Array.from(mem.read(D, 35))).toEqual(Array.from(src));
  mem.freeAll();
});
