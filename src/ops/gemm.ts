// gemm: C = alpha·op(A)·op(B) + beta·C (+ bias per column, activation), on 2-D tensors.

import { ConfigError, ShapeError, checkOptionKeys } from "../errors.js";
import { Tensor, checkTensors, formatShape } from "../tensor.js";
import { ACT } from "../runtime/generated/layout.js";
import type { Backend } from "../runtime/backend.js";
import { call, type KernelCall } from "../runtime/calls.js";
import { splitRange, threadsFor } from "./split.js";

export type Activation = "none" | "relu" | "relu6";
export const ACT_CODES: Record<Activation, number> = { none: ACT.NONE, relu: ACT.RELU, relu6: ACT.RELU6 };

/**
 * The backward of a fused activation: from dy (w.r.t. the activated output y) to dyAct (w.r.t.
 * the pre-activation values), n values; no call for "none".
 */
export function fusedActivationBwd(act: number, y: number, dy: number, dyAct: number, n: number): KernelCall[] {
  if (act === ACT.RELU) return [call("f32_relu_bwd", y, dy, dyAct, n)];
  if (act === ACT.RELU6) return [call("f32_relu6_bwd", y, dy, dyAct, n)];
  return [];
}

export function actCode(act: string | undefined, where: string): number {
  const a = act ?? "none";
  if (!(a in ACT_CODES)) throw new ConfigError(`${where}: unknown fused activation "${a}" (none, relu, relu6)`);
  return ACT_CODES[a as Activation];
}

export interface GemmOptions {
  transA?: boolean;
  transB?: boolean;
  alpha?: number;
  /** With `c`: C = alpha·op(A)·op(B) + beta·C. Default 0. */
  beta?: number;
  /** Accumulate into / write to this [M, N] tensor instead of a new one. */
  c?: Tensor;
  /** Per-column bias, shape [N]. */
  bias?: Tensor;
  activation?: Activation;
  name?: string;
}
const GEMM_KEYS = ["transA", "transB", "alpha", "beta", "c", "bias", "activation", "name"] as const;

/** Matrix product of 2-D tensors; returns C (a new tensor unless `c` is given). */
export function gemm(a: Tensor, b: Tensor, options: GemmOptions = {}): Tensor {
  checkTensors("gemm", { a, b });
  checkOptionKeys("gemm", options, GEMM_KEYS);
  const where = `gemm${options.name ? ` "${options.name}"` : ""}`;
  if (a.rank !== 2 || b.rank !== 2) {
    throw new ShapeError(`${where}: A and B must be 2-D, got ${formatShape(a.shape)} and ${formatShape(b.shape)}`);
  }
  const [M, K] = options.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
  const [K2, N] = options.transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
  if (K !== K2) {
    throw new ShapeError(
      `${where}: op(A) is ${M}x${K} but op(B) is ${K2}x${N} (A ${formatShape(a.shape)}${options.transA ? "ᵀ" : ""}, ` +
        `B ${formatShape(b.shape)}${options.transB ? "ᵀ" : ""}): inner sizes ${K} and ${K2} differ`,
    );
  }
  if (options.bias && (options.bias.rank !== 1 || options.bias.shape[0] !== N)) {
    throw new ShapeError(`${where}: bias must have shape [${N}], got ${formatShape(options.bias.shape)}`);
  }
  if (options.c && (options.c.rank !== 2 || options.c.shape[0] !== M || options.c.shape[1] !== N)) {
    throw new ShapeError(`${where}: C must have shape [${M}, ${N}], got ${formatShape(options.c.shape)}`);
  }
  const beta = options.beta ?? 0;
  if (beta !== 0 && !options.c) throw new ConfigError(`${where}: beta = ${beta} needs a C tensor to accumulate into`);
  const act = actCode(options.activation, where);
  const be = a.backend;
  const c = options.c ?? Tensor.zeros([M, N], be);
  be.run(gemmCalls(be, options.transA ? 1 : 0, options.transB ? 1 : 0, M, N, K, options.alpha ?? 1,
    a.ptr, a.shape[1]!, b.ptr, b.shape[1]!, beta, c.ptr, N, options.bias ? options.bias.ptr : 0, act));
  return c;
}

/** op(B) packed once into gemm panels, for repeated products with the same right-hand side. */
export class PackedMatrix {
  readonly ptr: number;
  private constructor(readonly source: Tensor, readonly K: number, readonly N: number, ptr: number) {
    this.ptr = ptr;
  }

  static pack(b: Tensor, transB = false): PackedMatrix {
    checkTensors("PackedMatrix.pack", { b });
    if (b.rank !== 2) throw new ShapeError(`gemm: B must be 2-D, got ${formatShape(b.shape)}`);
    const be = b.backend;
    const [K, N] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    const ptr = be.heap.alloc(be.kernels.f32_gemm_packed_b_floats(K, N) * 4);
    be.run([packBCall(transB ? 1 : 0, K, N, b.ptr, b.shape[1]!, ptr)]);
    return new PackedMatrix(b, K, N, ptr);
  }

  /** C[M×N] = op(A)·B (+ bias, activation). */
  multiply(a: Tensor, options: { transA?: boolean; bias?: Tensor; activation?: Activation } = {}): Tensor {
    const be = a.backend;
    const [M, K] = options.transA ? [a.shape[1]!, a.shape[0]!] : [a.shape[0]!, a.shape[1]!];
    if (a.rank !== 2 || K !== this.K) {
      throw new ShapeError(`gemm: A ${formatShape(a.shape)} does not fit a packed ${this.K}x${this.N} B`);
    }
    if (options.bias && (options.bias.rank !== 1 || options.bias.shape[0] !== this.N)) {
      throw new ShapeError(`gemm: bias must have shape [${this.N}], got ${formatShape(options.bias.shape)}`);
    }
    const c = Tensor.zeros([M, this.N], be);
    be.run([gemmPackedBCall(be, options.transA ? 1 : 0, M, this.N, K, 1, a.ptr, a.shape[1]!, this.ptr, 0, c.ptr, this.N,
      options.bias ? options.bias.ptr : 0, actCode(options.activation, "gemm"))]);
    return c;
  }

  free(): void {
    this.source.backend.heap.free(this.ptr);
  }
}

/**
 * gemm split across the pool by rows of C or by columns, whichever copies less: every part packs
 * the whole of the other operand, so rows where op(A) is the larger (M ≥ N), columns where op(B)
 * is (a batch of 64 through a 400 → 120 dense layer, and every product of fewer than 8 rows —
 * batch-1 dense layers — which rows split into parts of 4 cannot). Column parts start on
 * multiples of 8 (a packed panel), and a row of C is summed alike in a part of any number of
 * rows (fewer than 4: the matrix-vector path, which sums as the micro-kernel does), so every
 * output's sum runs as on one thread: the same bits either way.
 */
export function gemmCalls(be: Backend, transA: number, transB: number, M: number, N: number, K: number, alpha: number,
  A: number, lda: number, B: number, ldb: number, beta: number, C: number, ldc: number, bias: number, act: number, limit = be.threads): KernelCall[] {
  return gemmParts(be, M, N, K, limit).map((q) => gemmPart(be, transA, transB, K, alpha, A, lda, B, ldb, beta, C, ldc, bias, act, q));
}

/** The f32_gemm call of part [m0, m1, n0, n1] of a gemm (gemmParts). */
function gemmPart(be: Backend, transA: number, transB: number, K: number, alpha: number, A: number, lda: number, B: number, ldb: number,
  beta: number, C: number, ldc: number, bias: number, act: number, [m0, m1, n0, n1]: [number, number, number, number]): KernelCall {
  return {
    ...call("f32_gemm", transA, transB, m1 - m0, n1 - n0, K, alpha, A + 4 * (transA ? m0 : m0 * lda), lda,
      B + 4 * (transB ? n0 * ldb : n0), ldb, beta, C + 4 * (m0 * ldc + n0), ldc, bias ? bias + 4 * n0 : 0, act, 0),
    scratchBytes: be.kernels.f32_gemm_scratch_bytes(),
  };
}

/** How an M×N×K gemm splits across threads: [m0, m1, n0, n1] a part, by rows (4 at a time) or by 8-column panels. */
function gemmParts(be: Backend, M: number, N: number, K: number, limit: number): [number, number, number, number][] {
  const byRows = M >= N && M >= 8;
  const T = threadsFor(be, 2 * M * N * K, byRows ? Math.floor(M / 4) : Math.floor(N / 8), limit);
  return byRows ? splitRange(M, T, 4).map(([m0, m1]) => [m0, m1, 0, N]) : splitRange(N, T, 8).map(([n0, n1]) => [0, M, n0, n1]);
}

/**
 * How a product over pre-packed B panels splits across threads: by rows of C, parts starting on
 * multiples of 4, from 8 rows (a last part of 1-3 rows takes f32_gemm's row path in denseCalls:
 * the same bits); else as gemmCalls. With B packed, a row part packs only its own
 * rows of A, and each thread reads and writes only its examples' rows — what the layers before and
 * after it keep on that thread (Plan). A column split had each thread read every row and write
 * part of every row (LeNet-5 at batch 64, two threads against one, one process, the machine's
 * slow pairing: 1.35 -> 1.45x; with activation blocks reused only at their own size, 1.50x).
 */
function packedParts(be: Backend, M: number, N: number, K: number): [number, number, number, number][] {
  if (M < 8) return gemmParts(be, M, N, K, be.threads);
  const T = threadsFor(be, 2 * M * N * K, Math.floor(M / 4));
  return splitRange(M, T, 4).map(([m0, m1]) => [m0, m1, 0, N]);
}

/** Packs op(B) (K×N) into gemm panels at `packed` (f32_gemm_packed_b_floats(K, N) floats). */
export const packBCall = (transB: number, K: number, N: number, B: number, ldb: number, packed: number) =>
  call("f32_gemm_pack_b", transB, K, N, B, ldb, packed);

/** C = alpha·op(A)·B + beta·C (+ bias, activation) with B packed by packBCall. */
export function gemmPackedBCall(be: Backend, transA: number, M: number, N: number, K: number, alpha: number, A: number, lda: number,
  packed: number, beta: number, C: number, ldc: number, bias: number, act: number): KernelCall {
  return { ...call("f32_gemm_packed_b", transA, M, N, K, alpha, A, lda, packed, beta, C, ldc, bias, act, 0), scratchBytes: be.kernels.f32_gemm_scratch_bytes() };
}

/**
 * Every kernel call of a dense layer y = act(x·W + b) over a batch of B rows of K → N. `pack`:
 * W into gemm panels at `packed` (f32_gemm_packed_b_floats(K, N) floats; an inference plan runs it
 * once per weight version), which the forward then reads instead of packing W every call.
 */
export interface DenseCalls { pack: KernelCall[]; fwd: KernelCall[]; actBwd: KernelCall[]; dW: KernelCall[]; dX: KernelCall[]; db: KernelCall[] }

export function denseCalls(be: Backend, p: {
  B: number; K: number; N: number; x: number; w: number; bias: number; act: number; y: number;
  training: boolean; dy: number; dyAct: number; dx: number; dw: number; db: number; packed?: number;
}): DenseCalls {
  const { B, K, N } = p;
  const packed = p.packed ?? 0;
  // with the panels packed: the gemm's parts (rows, or 8-column panels: panel n0/8 is K·n0 floats in) over them;
  // a part of fewer than 4 rows keeps f32_gemm, whose row path streams W as it is (f32_gemm_packed_b's
  // over the panels ran 1.04-1.11x its time for one row; both sum in the micro-kernel's order)
  const fwd = (packed ? packedParts(be, B, N, K) : gemmParts(be, B, N, K, be.threads)).map((q) => {
    const [m0, m1, n0, n1] = q;
    return packed && m1 - m0 >= 4
      ? gemmPackedBCall(be, 0, m1 - m0, n1 - n0, K, 1, p.x + 4 * m0 * K, K, packed + 4 * n0 * K, 0, p.y + 4 * (m0 * N + n0), N, p.bias ? p.bias + 4 * n0 : 0, p.act)
      : gemmPart(be, 0, 0, K, 1, p.x, K, p.w, N, 0, p.y, N, p.bias, p.act, q);
  });
  const pack = packed ? [packBCall(0, K, N, p.w, N, packed)] : [];
  if (!p.training) return { pack, fwd, actBwd: [], dW: [], dX: [], db: [] };
  const actBwd = fusedActivationBwd(p.act, p.y, p.dy, p.dyAct, B * N);
  const dy = actBwd.length ? p.dyAct : p.dy;
  // dW[K×N] = xᵀ·dy, dx[B×K] = dy·Wᵀ, db = Σ dy
  return {
    pack, fwd, actBwd,
    dW: p.dw ? denseKernelGrad(be, B, K, N, p.x, dy, p.dw) : [],
    dX: p.dx ? gemmCalls(be, 0, 1, B, K, N, 1, dy, N, p.w, N, 0, p.dx, K, 0, 0) : [],
    db: p.db ? [call("f32_bias_bwd", dy, B, N, p.db)] : [],
  };
}

/**
 * A dense layer's kernel gradient dW[K×N] = xᵀ·dy over B examples (x [B×K], dy [B×N]), split
 * across the pool; or `rows` [r0, r1) of it (any rows: a row's bits do not depend on the others) summed
 * over the example ranges `slices` one after another — a gemm each, the first writing and the
 * others adding (beta = 1: C + Σ, rounded once) — the same bits as each slice's product over all
 * rows added in that order (a sliced plan's gradient sum) for slices of up to KC = 256 examples;
 * a longer one adds each 256-example block of its sum into C in turn (C + s0 + s1, not C + (s0 +
 * s1): a last-bit difference; one slice, the whole batch, is one product either way).
 */
export function denseKernelGrad(be: Backend, B: number, K: number, N: number, x: number, dy: number, dw: number, rows?: readonly [number, number], slices: readonly (readonly [number, number])[] = [[0, B]]): KernelCall[] {
  if (!rows) return gemmCalls(be, 1, 0, K, N, B, 1, x, K, dy, N, 0, dw, N, 0, 0);
  return slices.map(([a, b], i) => gemmPart(be, 1, 0, b - a, 1, x + 4 * a * K, K, dy + 4 * a * N, N, i ? 1 : 0, dw, N, 0, 0, [rows[0], rows[1], 0, N]));
}

/**
 * y_i = a_i · b_i for `count` pairs of matrices a_i [M, K], b_i [K, N] one after another (a batched
 * matmul of two computed tensors); backward da_i = dy_i · b_iᵀ, db_i = a_iᵀ · dy_i. One gemm each.
 */
export function batchedMatmulCalls(be: Backend, count: number, M: number, K: number, N: number,
  p: { a: number; b: number; y: number; dy: number; da: number; db: number }): { fwd: KernelCall[]; bwd: KernelCall[] } {
  const sb = be.kernels.f32_gemm_scratch_bytes();
  const g = (tA: number, tB: number, m: number, n: number, k: number, A: number, lda: number, B: number, ldb: number, C: number): KernelCall =>
    ({ ...call("f32_gemm", tA, tB, m, n, k, 1, A, lda, B, ldb, 0, C, n, 0, 0, 0), scratchBytes: sb });
  const fwd: KernelCall[] = [], bwd: KernelCall[] = [];
  for (let i = 0; i < count; i++) {
    const a = p.a + i * M * K * 4, b = p.b + i * K * N * 4, y = p.y + i * M * N * 4, dy = p.dy + i * M * N * 4;
    fwd.push(g(0, 0, M, N, K, a, K, b, N, y));
    if (p.da) bwd.push(g(0, 1, M, K, N, dy, N, b, N, p.da + i * M * K * 4));
    if (p.db) bwd.push(g(1, 0, K, N, M, a, K, dy, N, p.db + i * K * N * 4));
  }
  return { fwd, bwd };
}
