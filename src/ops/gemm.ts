// gemm: C = alpha·op(A)·op(B) + beta·C (+ bias per column, activation), on 2-D tensors.

import { ConfigError, ShapeError, checkOptionKeys } from "../errors.js";
import { Tensor, formatShape } from "../tensor.js";

export type Activation = "none" | "relu" | "relu6";
export const ACT_CODES: Record<Activation, number> = { none: 0, relu: 1, relu6: 2 };

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
  const scratch = be.scratch(be.kernels.f32_gemm_scratch_bytes());
  be.kernels.f32_gemm(
    options.transA ? 1 : 0, options.transB ? 1 : 0, M, N, K, options.alpha ?? 1,
    a.ptr, a.shape[1]!, b.ptr, b.shape[1]!, beta, c.ptr, N, options.bias ? options.bias.ptr : 0, act, scratch,
  );
  return c;
}

/** op(B) packed once into gemm panels, for repeated products with the same right-hand side. */
export class PackedMatrix {
  readonly ptr: number;
  private constructor(readonly source: Tensor, readonly K: number, readonly N: number, ptr: number) {
    this.ptr = ptr;
  }

  static pack(b: Tensor, transB = false): PackedMatrix {
    if (b.rank !== 2) throw new ShapeError(`gemm: B must be 2-D, got ${formatShape(b.shape)}`);
    const be = b.backend;
    const [K, N] = transB ? [b.shape[1]!, b.shape[0]!] : [b.shape[0]!, b.shape[1]!];
    const ptr = be.heap.alloc(be.kernels.f32_gemm_packed_b_floats(K, N) * 4);
    be.kernels.f32_gemm_pack_b(transB ? 1 : 0, K, N, b.ptr, b.shape[1]!, ptr);
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
    be.kernels.f32_gemm_packed_b(
      options.transA ? 1 : 0, M, this.N, K, 1, a.ptr, a.shape[1]!, this.ptr, 0, c.ptr, this.N,
      options.bias ? options.bias.ptr : 0, actCode(options.activation, "gemm"), be.scratch(be.kernels.f32_gemm_scratch_bytes()),
    );
    return c;
  }

  free(): void {
    this.source.backend.heap.free(this.ptr);
  }
}
