import { describe, expect, it } from "vitest";
import { ConfigError, ShapeError, Tensor, ops } from "../src/index.js";
import { backendFor } from "./helpers/backends.js";
import { dot, expectClose, numericGrad, randomArray } from "./helpers/check.js";
import { Mem } from "./helpers/mem.js";
import { refGemm, type RefGemm } from "./ref/gemm.js";
import { ACT_CODES, denseCalls, gemmCalls, gemmPackedBCall, packBCall } from "../src/ops/gemm.js";
import { MIN_PARALLEL_FLOPS } from "../src/runtime/pool-layout.js";

// Tile sizes of assembly/gemm/gemm.ts: MR = 4, NR = 8, KC = 256, MC = 128, NC = 2048.
const BUILDS = ["simd", "relaxed"] as const;
const ACT = ACT_CODES;
// float32 sums of K products of values in [-1, 1]: error grows with K
const tol = (K: number) => ({ rtol: 1e-5, atol: 1e-6 * (K + 4) });

async function run(build: (typeof BUILDS)[number], p: RefGemm, opts: { bias?: boolean; cNaN?: boolean; packed?: boolean; pad?: number } = {}) {
  const be = await backendFor(build);
  const mem = new Mem(be);
  const pad = opts.pad ?? 0; // extra columns in every leading dimension
  const [ar, ac] = p.transA ? [p.K, p.M] : [p.M, p.K];
  const [br, bc] = p.transB ? [p.N, p.K] : [p.K, p.N];
  const lda = ac + pad, ldb = bc + pad, ldc = p.N + pad;
  const a = randomArray(ar * ac, p.M * 31 + p.K), b = randomArray(br * bc, p.N * 17 + p.K + 5);
  const c0 = opts.cNaN ? new Float32Array(p.M * p.N).fill(NaN) : randomArray(p.M * p.N, 99);
  const bias = opts.bias ? randomArray(p.N, 7) : null;
  const strided = (src: Float32Array, rows: number, cols: number, ld: number) => {
    const out = new Float32Array(Math.max(rows * ld, 1));
    for (let r = 0; r < rows; r++) out.set(src.subarray(r * cols, (r + 1) * cols), r * ld);
    return out;
  };
  const A = mem.f32(strided(a, ar, ac, lda)), B = mem.f32(strided(b, br, bc, ldb)), C = mem.f32(strided(c0, p.M, p.N, ldc));
  const BIAS = bias ? mem.f32(bias) : 0;
  // the calls the models run (ops/gemm builders; these backends have one thread)
  if (opts.packed) {
    const P = mem.f32(be.kernels.f32_gemm_packed_b_floats(p.K, p.N));
    be.run([packBCall(p.transB ? 1 : 0, p.K, p.N, B, ldb, P)]);
    be.run([gemmPackedBCall(be, p.transA ? 1 : 0, p.M, p.N, p.K, p.alpha, A, lda, P, p.beta, C, ldc, BIAS, ACT[p.act])]);
  } else {
    be.run(gemmCalls(be, p.transA ? 1 : 0, p.transB ? 1 : 0, p.M, p.N, p.K, p.alpha, A, lda, B, ldb, p.beta, C, ldc, BIAS, ACT[p.act]));
  }
  const full = mem.read(C, Math.max(p.M * ldc, 1));
  mem.freeAll();
  const got = new Float32Array(p.M * p.N);
  for (let r = 0; r < p.M; r++) got.set(full.subarray(r * ldc, r * ldc + p.N), r * p.N);
  // the padding columns of C must be untouched
  for (let r = 0; r < p.M; r++) for (let j = p.N; j < ldc; j++) expect(full[r * ldc + j]).toBe(0);
  return { got, want: refGemm(p, a, b, c0, bias) };
}

describe.each(BUILDS)("f32_gemm on the %s build", (build) => {
  const Ms = [1, 3, 4, 5, 9, 129, 257];
  const Ns = [1, 7, 8, 9, 17];
  const Ks = [1, 255, 256, 257, 513];
  for (const transA of [false, true]) {
    for (const transB of [false, true]) {
      it(`edge-size sweep, transA=${transA} transB=${transB}`, async () => {
        for (const M of Ms) for (const N of Ns) for (const K of Ks) {
          const p: RefGemm = { M, N, K, transA, transB, alpha: 1, beta: 0, act: "none" };
          const { got, want } = await run(build, p);
          const t = tol(K);
          expectClose(got, want, t.rtol, t.atol, `${build} ${M}x${N}x${K} tA=${transA} tB=${transB}`);
        }
      });
    }
  }

  it("crosses the NC = 2048 column block and the MC = 128 row block", async () => {
    for (const [M, N, K] of [[5, 2047, 3], [5, 2048, 3], [3, 2049, 7], [2, 4097, 2], [127, 9, 5], [128, 9, 5], [129, 9, 5], [257, 9, 5]] as const) {
      const { got, want } = await run(build, { M, N, K, transA: false, transB: false, alpha: 1, beta: 0, act: "none" });
      expectClose(got, want, 1e-5, 1e-5, `${M}x${N}x${K}`);
    }
  });

  it("alpha, beta, bias, ReLU and ReLU6 epilogues, with K spanning two depth blocks", async () => {
    for (const act of ["none", "relu", "relu6"] as const) {
      for (const [alpha, beta] of [[1, 0], [0.5, 1], [-2, 0.25], [3, -1]] as const) {
        const p: RefGemm = { M: 13, N: 19, K: 300, transA: false, transB: true, alpha, beta, act };
        const { got, want } = await run(build, p, { bias: true });
        expectClose(got, want, 1e-5, 2e-3, `act=${act} alpha=${alpha} beta=${beta}`);
      }
    }
  });

  it("beta = 0 never reads C: NaN in C does not leak into the result", async () => {
    const { got, want } = await run(build, { M: 9, N: 11, K: 260, transA: false, transB: false, alpha: 1, beta: 0, act: "none" }, { cNaN: true });
    expect(got.some(Number.isNaN)).toBe(false);
    expectClose(got, want, 1e-5, 2e-3);
  });

  it("leading dimensions larger than the rows (sub-matrices) are honoured", async () => {
    for (const [transA, transB] of [[false, false], [true, true], [false, true], [true, false]] as const) {
      const { got, want } = await run(build, { M: 10, N: 13, K: 21, transA, transB, alpha: 1, beta: 0.5, act: "none" }, { pad: 3 });
      expectClose(got, want, 1e-5, 1e-4, `pad tA=${transA} tB=${transB}`);
    }
  });

  it("a pre-packed B gives the same result as packing on the fly", async () => {
    for (const [M, N, K, transB] of [[1, 1024, 1024, false], [2, 37, 301, false], [3, 41, 7, true], [7, 33, 300, true], [64, 500, 800, false]] as const) {
      const p: RefGemm = { M, N, K, transA: false, transB, alpha: 1, beta: 0, act: "relu" };
      const packed = await run(build, p, { packed: true, bias: true });
      const plain = await run(build, p, { bias: true });
      // same summation order from 4 rows up; fewer rows take the matrix-vector paths
      if (M >= 4) expect(Array.from(packed.got)).toEqual(Array.from(plain.got));
      expectClose(packed.got, packed.want, 1e-5, tol(K).atol);
      expectClose(plain.got, plain.want, 1e-5, tol(K).atol);
    }
  });

  it("K = 0 gives C = beta·C + bias", async () => {
    const { got, want } = await run(build, { M: 3, N: 5, K: 0, transA: false, transB: false, alpha: 1, beta: 0.5, act: "none" }, { bias: true });
    expectClose(got, want, 1e-6, 1e-6);
  });
});

describe("gemm gradients against central differences", () => {
  // L = Σ C ⊙ R with C = A·B: dA = R·Bᵀ and dB = Aᵀ·R, the same kernel with other transposes
  it.each(["simd", "relaxed"] as const)("dA and dB on the %s build", async (build) => {
    const be = await backendFor(build);
    const [M, N, K] = [5, 11, 9];
    const a = randomArray(M * K, 1), b = randomArray(K * N, 2), R = randomArray(M * N, 3);
    const p: RefGemm = { M, N, K, transA: false, transB: false, alpha: 1, beta: 0, act: "none" };
    const A = Tensor.from(a, [M, K], be), B = Tensor.from(b, [K, N], be), Rt = Tensor.from(R, [M, N], be);
    const dA = ops.gemm(Rt, B, { transB: true }).toArray();
    const dB = ops.gemm(A, Rt, { transA: true }).toArray();
    expectClose(dA, numericGrad((aa) => dot(refGemm(p, aa, b, null, null), R), a), 0, 1e-5, "dA");
    expectClose(dB, numericGrad((bb) => dot(refGemm(p, a, bb, null, null), R), b), 0, 1e-5, "dB");
  });
});

describe("ops.gemm", async () => {
  const be = await backendFor("simd");
  it("multiplies tensors and fuses bias + ReLU", () => {
    const a = Tensor.from([[1, 2], [3, 4], [5, 6]], undefined, be);
    const b = Tensor.from([[1, -1, 0], [0, 1, -2]], undefined, be);
    const bias = Tensor.from([0, 0, 1], [3], be);
    const c = ops.gemm(a, b, { bias, activation: "relu" });
    expect(c.shape).toEqual([3, 3]);
    expect(Array.from(c.toArray())).toEqual([1, 1, 0, 3, 1, 0, 5, 1, 0]);
    const packed = ops.PackedMatrix.pack(b);
    expect(Array.from(packed.multiply(a, { bias, activation: "relu" }).toArray())).toEqual([1, 1, 0, 3, 1, 0, 5, 1, 0]);
  });

  it("inner sizes that differ are a ShapeError with both shapes", () => {
    const a = Tensor.zeros([3, 4], be), b = Tensor.zeros([5, 2], be);
    expect(() => ops.gemm(a, b, { name: "fc1" })).toThrow(ShapeError);
    expect(() => ops.gemm(a, b, { name: "fc1" })).toThrow(/gemm "fc1": op\(A\) is 3x4 but op\(B\) is 5x2 .*inner sizes 4 and 5 differ/);
    expect(() => ops.gemm(a, Tensor.zeros([4, 2], be), { bias: Tensor.zeros([3], be) })).toThrow("bias must have shape [2]");
    // @ts-expect-error: unknown option
    expect(() => ops.gemm(a, b, { tranA: true })).toThrow(ConfigError);
    expect(() => ops.gemm(a, Tensor.zeros([4, 2], be), { beta: 1 })).toThrow(/beta = 1 needs a C tensor/);
  });
});

// gemmCalls splits by rows where op(A) is the larger, else by columns in whole 8-column panels:
// every part computes its outputs' sums as the one-part call does
describe("gemm split across parts", () => {
  it.each([[1, 3001, 200], [3, 373, 600], [5, 3003, 40], [64, 120, 400], [64, 400, 120], [400, 120, 64], [9, 9, 9]])("M %i, N %i, K %i: 1 part and 2, 3 parts give the same bits (transposes, alpha, beta, bias, ReLU)", async (M, N, K) => {
    const be = await backendFor("relaxed");
    const mem = new Mem(be);
    for (const [tA, tB] of [[0, 0], [1, 0], [0, 1], [1, 1]] as const) {
      const a = randomArray(M * K, M + K), b = randomArray(K * N, N + K + 1), c0 = randomArray(M * N, 3), bias = randomArray(N, 4);
      const A = mem.f32(a), B = mem.f32(b), BIAS = mem.f32(bias);
      const outs = [1, 2, 3].map((parts) => {
        const C = mem.f32(c0);
        const calls = gemmCalls(be, tA, tB, M, N, K, 0.75, A, tA ? M : K, B, tB ? K : N, 0.3, C, N, BIAS, ACT.relu, parts);
        if (parts > 1 && 2 * M * N * K >= MIN_PARALLEL_FLOPS) expect(calls.length, `${parts} parts`).toBe(parts);
        be.run(calls);
        return mem.read(C, M * N);
      });
      const want = refGemm({ M, N, K, transA: tA === 1, transB: tB === 1, alpha: 0.75, beta: 0.3, act: "relu" }, a, b, c0, bias);
      const t = tol(K);
      expectClose(outs[0]!, want, t.rtol, t.atol, `tA=${tA} tB=${tB}`);
      expect(outs[1], `tA=${tA} tB=${tB} 2 parts`).toEqual(outs[0]);
      expect(outs[2], `tA=${tA} tB=${tB} 3 parts`).toEqual(outs[0]);
    }
    mem.freeAll();
  });
});

// a row of C is summed the same way whatever M: fewer than MR rows take gemvRow (B streamed in
// place), which sums by the micro-kernel's depth blocks and madds — so a dense layer's predictions
// do not depend on the batch size (they did for K > 256, and on the relaxed build at N % 4 != 0)
describe("rows of C whatever the number of rows", () => {
  it.each(BUILDS)("%s build: each row of a 9-row product, computed alone and in threes, has the same bits, B as it is or packed once (K across depth blocks, N with tails, alpha, beta, bias, ReLU)", async (build) => {
    const be = await backendFor(build);
    const mem = new Mem(be);
    for (const [K, N] of [[255, 7], [256, 10], [257, 12], [600, 10], [513, 1000], [40, 3]] as const) {
      for (const tB of [0, 1] as const) {
        const M = 9, a = randomArray(M * K, K + N), b = randomArray(K * N, K * 3 + N), c0 = randomArray(M * N, 5), bias = randomArray(N, 6);
        const A = mem.f32(a), B = mem.f32(b), BIAS = mem.f32(bias);
        const PACKED = mem.f32(be.kernels.f32_gemm_packed_b_floats(K, N));
        be.run([packBCall(tB, K, N, B, tB ? K : N, PACKED)]);
        // rows [m0, m1) of C, with B as it is or packed once (f32_gemm_packed_b)
        const rows = (m0: number, m1: number, packed = false) => {
          const C = mem.f32(c0.subarray(m0 * N, m1 * N));
          be.run(packed ? [gemmPackedBCall(be, 0, m1 - m0, N, K, 0.75, A + 4 * m0 * K, K, PACKED, 0.3, C, N, BIAS, ACT.relu)]
            : gemmCalls(be, 0, tB, m1 - m0, N, K, 0.75, A + 4 * m0 * K, K, B, tB ? K : N, 0.3, C, N, BIAS, ACT.relu));
          return mem.read(C, (m1 - m0) * N);
        };
        const all = rows(0, M);
        const want = refGemm({ M, N, K, transA: false, transB: tB === 1, alpha: 0.75, beta: 0.3, act: "relu" }, a, b, c0, bias);
        const t = tol(K);
        expectClose(all, want, t.rtol, t.atol, `K ${K} N ${N} tB ${tB}`);
        const firstDiff = (x: Float32Array) => x.findIndex((v, i) => !Object.is(v, all[i]));
        for (const packed of [false, true]) {
          const alone = new Float32Array(M * N), threes = new Float32Array(M * N);
          for (let i = 0; i < M; i++) alone.set(rows(i, i + 1, packed), i * N);
          for (let i = 0; i < M; i += 3) threes.set(rows(i, i + 3, packed), i * N);
          const how = `K ${K} N ${N} tB ${tB}${packed ? ", B packed" : ""}`;
          expect(firstDiff(alone), `${how}: rows alone`).toBe(-1);
          expect(firstDiff(threes), `${how}: rows in threes`).toBe(-1);
          if (packed) expect(firstDiff(rows(0, M, true)), `${how}: all rows`).toBe(-1);
        }
        mem.freeAll();
      }
    }
  });
});

describe("a dense layer's weights packed once", () => {
  it.each([[1, 400, 120], [3, 400, 120], [4, 400, 120], [9, 84, 10], [64, 400, 120], [64, 600, 37]])("B %i, K %i, N %i: the same bits as packing every call, on 1 and 3 parts (a part under 4 rows keeps f32_gemm)", async (B, K, N) => {
    const be = await backendFor("relaxed");
    const mem = new Mem(be);
    const x = mem.f32(randomArray(B * K, 5)), w = mem.f32(randomArray(K * N, 6)), bias = mem.f32(randomArray(N, 7));
    const packed = mem.f32(new Float32Array(be.kernels.f32_gemm_packed_b_floats(K, N)));
    const run = (withPack: boolean, threads: number) => {
      const y = mem.f32(new Float32Array(B * N));
      const prev = be.threads;
      const c = denseCalls({ ...be, threads } as typeof be, { B, K, N, x, w, bias, act: ACT_CODES.relu, y, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0, packed: withPack ? packed : 0 });
      expect(be.threads).toBe(prev);
      be.run(c.pack);
      be.runInTurn(c.fwd);
      return { y: mem.read(y, B * N), fns: c.fwd.map((k) => k.fn) };
    };
    const want = run(false, 1).y;
    for (const threads of [1, 3]) {
      const got = run(true, threads);
      expect(got.y, `${threads} parts`).toEqual(want);
      if (B < 4) expect(got.fns.every((f) => f === "f32_gemm")).toBe(true);
    }
    mem.freeAll();
  });
});
