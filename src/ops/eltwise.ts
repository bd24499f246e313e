// Elementwise ops on tensors: add (residual), bias add and its gradient, activations forward and
// backward (backward from the forward OUTPUT y), row softmax / log-softmax forward and backward.

import { ConfigError, ShapeError } from "../errors.js";
import { call, type KernelCall } from "../runtime/calls.js";
import { Tensor, checkTensors, formatShape } from "../tensor.js";
import type { Backend } from "../runtime/backend.js";
import { splitRange, threadsForMemory } from "./split.js";

function sameShape(what: string, a: Tensor, b: Tensor): void {
  if (formatShape(a.shape) !== formatShape(b.shape)) {
    throw new ShapeError(`${what}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
  }
}

/** a + b, same shapes (residual add). Gradient: both inputs get dy. */
export function add(a: Tensor, b: Tensor): Tensor {
  checkTensors("add", { a, b });
  sameShape("add", a, b);
  const y = Tensor.zeros(a.shape, a.backend);
  a.backend.runInTurn(addCalls(a.size, [a.ptr, b.ptr], y.ptr, 0, []).fwd);
  return y;
}

/** The last axis as columns: rows × cols. */
function rowsCols(what: string, x: Tensor): [number, number] {
  if (x.rank < 1) throw new ShapeError(`${what}: needs at least one axis, got a scalar`);
  const cols = x.shape[x.rank - 1]!;
  return [cols === 0 ? 0 : x.size / cols, cols];
}

/** x + bias along the last axis (channels in NHWC). */
export function biasAdd(x: Tensor, bias: Tensor): Tensor {
  checkTensors("biasAdd", { x, bias });
  const [rows, cols] = rowsCols("biasAdd", x);
  if (bias.rank !== 1 || bias.shape[0] !== cols) {
    throw new ShapeError(`biasAdd: bias must have shape [${cols}] for input ${formatShape(x.shape)}, got ${formatShape(bias.shape)}`);
  }
  const y = Tensor.zeros(x.shape, x.backend);
  x.backend.run([call("f32_bias_add_fwd", x.ptr, bias.ptr, y.ptr, rows, cols)]);
  return y;
}

/** dbias = Σ of dy over every axis but the last. */
export function biasAddBackward(dy: Tensor): Tensor {
  checkTensors("biasAddBackward", { dy });
  const [rows, cols] = rowsCols("biasAdd", dy);
  const db = Tensor.zeros([cols], dy.backend);
  dy.backend.run([call("f32_bias_bwd", dy.ptr, rows, cols, db.ptr)]);
  return db;
}

export type ActivationName = "relu" | "relu6" | "leakyRelu" | "elu" | "sigmoid" | "tanh";

/** Activations that act on each value, and the row-wise ones over the last axis. */
export type UnaryActivation = ActivationName | "softmax" | "logSoftmax" | "gelu" | "erf" | "sqrt" | "softplus" | "softsign" | "exp" | "log" | "floor" | "ceil" | "round" | "sign" | "toFloat16" | "toBfloat16";

/** alpha defaults (and which activations take one). */
const ALPHA: Partial<Record<ActivationName, number>> = { leakyRelu: 0.01, elu: 1 };

/**
 * The calls of an activation over n values (rows of `cols` for softmax / logSoftmax): forward
 * x → y, and backward from the forward output y (the forward input x for gelu, erf, softplus, softsign and log) and dy to dx
 * (none when dx is 0).
 */
export function activationCalls(name: UnaryActivation, alpha: number, n: number, cols: number, p: { x: number; y: number; dy: number; dx: number }): { fwd: KernelCall[]; bwd: KernelCall[] } {
  const { x, y, dy, dx } = p;
  const rows = cols === 0 ? 0 : n / cols;
  const [f, b] = ((): [KernelCall, KernelCall] => {
    switch (name) {
      case "relu": return [call("f32_relu_fwd", x, y, n), call("f32_relu_bwd", y, dy, dx, n)];
      case "relu6": return [call("f32_relu6_fwd", x, y, n), call("f32_relu6_bwd", y, dy, dx, n)];
      case "leakyRelu": return [call("f32_leaky_relu_fwd", x, y, n, alpha), call("f32_leaky_relu_bwd", y, dy, dx, n, alpha)];
      case "elu": return [call("f32_elu_fwd", x, y, n, alpha), call("f32_elu_bwd", y, dy, dx, n, alpha)];
      case "sigmoid": return [call("f32_sigmoid_fwd", x, y, n), call("f32_sigmoid_bwd", y, dy, dx, n)];
      case "tanh": return [call("f32_tanh_fwd", x, y, n), call("f32_tanh_bwd", y, dy, dx, n)];
      case "softmax": return [call("f32_softmax_fwd", x, y, rows, cols), call("f32_softmax_bwd", y, dy, dx, rows, cols)];
      case "logSoftmax": return [call("f32_log_softmax_fwd", x, y, rows, cols), call("f32_log_softmax_bwd", y, dy, dx, rows, cols)];
      case "gelu": return [call("f32_gelu_fwd", x, y, n), call("f32_gelu_bwd", x, dy, dx, n)];
      case "erf": return [call("f32_erf_fwd", x, y, n), call("f32_erf_bwd", x, dy, dx, n)];
      case "sqrt": return [call("f32_sqrt_fwd", x, y, n), call("f32_sqrt_bwd", y, dy, dx, n)];
      case "softplus": return [call("f32_softplus_fwd", x, y, n), call("f32_softplus_bwd", x, dy, dx, n)];
      case "softsign": return [call("f32_softsign_fwd", x, y, n), call("f32_softsign_bwd", x, dy, dx, n)];
      case "exp": return [call("f32_exp_fwd", x, y, n), call("f32_exp_bwd", y, dy, dx, n)];
      case "log": return [call("f32_log_fwd", x, y, n), call("f32_log_bwd", x, dy, dx, n)];
      // steps: the gradient is zero
      case "floor": case "ceil": case "round": case "sign": return [call(`f32_${name}_fwd`, x, y, n), call("f32_axpby", n, 0, dy, 0, dx)];
      // a cast's gradient passes straight through (PyTorch's)
      case "toFloat16": return [call("f32_cast_f16_fwd", x, y, n), copyCall(n, dy, dx)];
      case "toBfloat16": return [call("f32_cast_bf16_fwd", x, y, n), copyCall(n, dy, dx)];
    }
  })();
  return { fwd: [f], bwd: dx ? [b] : [] };
}

/** Maxout over groups of `k` channels: rows × (out·k) → rows × out, argmax for the backward. */
export function maxoutCalls(rows: number, out: number, k: number, p: { x: number; y: number; argmax: number; dy: number; dx: number }): { fwd: KernelCall[]; bwd: KernelCall[] } {
  return { fwd: [call("f32_maxout_fwd", p.x, rows, out, k, p.y, p.argmax)], bwd: p.dx ? [call("f32_maxout_bwd", p.dy, p.argmax, rows, out, k, p.dx)] : [] };
}

function activationSpec(name: string, alpha: number | undefined) {
  if (!["relu", "relu6", "leakyRelu", "elu", "sigmoid", "tanh"].includes(name)) {
    throw new ConfigError(`activation: unknown activation "${name}" (relu, relu6, leakyRelu, elu, sigmoid, tanh)`);
  }
  const dflt = ALPHA[name as ActivationName];
  const a = alpha ?? dflt ?? 0;
  if (dflt === undefined && alpha !== undefined) throw new ConfigError(`activation "${name}" takes no alpha`);
  if (!(Number.isFinite(a) && a >= 0)) throw new ConfigError(`activation "${name}": alpha must be finite and >= 0, got ${alpha}`);
  return a;
}

/** y = f(x) through activationCalls (cols: the row length of softmax / logSoftmax). */
function unaryForward(name: UnaryActivation, alpha: number, x: Tensor, cols: number): Tensor {
  const y = Tensor.zeros(x.shape, x.backend);
  x.backend.run(activationCalls(name, alpha, x.size, cols, { x: x.ptr, y: y.ptr, dy: 0, dx: 0 }).fwd);
  return y;
}

/** dx from the forward output y and dy, through activationCalls. */
function unaryBackward(name: UnaryActivation, alpha: number, y: Tensor, dy: Tensor, cols: number): Tensor {
  sameShape(`${name} backward`, y, dy);
  const dx = Tensor.zeros(y.shape, y.backend);
  y.backend.run(activationCalls(name, alpha, y.size, cols, { x: 0, y: y.ptr, dy: dy.ptr, dx: dx.ptr }).bwd);
  return dx;
}

/** y = f(x). leakyRelu's alpha defaults to 0.01, elu's to 1. */
export function activation(name: ActivationName, x: Tensor, alpha?: number): Tensor {
  return unaryForward(name, activationSpec(name, alpha), x, 0);
}

/** dx from the forward output y and the incoming gradient dy. */
export function activationBackward(name: ActivationName, y: Tensor, dy: Tensor, alpha?: number): Tensor {
  return unaryBackward(name, activationSpec(name, alpha), y, dy, 0);
}

const rowForward = (what: "softmax" | "logSoftmax", x: Tensor) => unaryForward(what, 0, x, rowsCols(what, x)[1]);
const rowBackward = (what: "softmax" | "logSoftmax", y: Tensor, dy: Tensor) => unaryBackward(what, 0, y, dy, rowsCols(what, y)[1]);

/** Softmax over the last axis. */
export function softmax(x: Tensor): Tensor {
  checkTensors("softmax", { x });
  return rowForward("softmax", x);
}

export function softmaxBackward(y: Tensor, dy: Tensor): Tensor {
  checkTensors("softmaxBackward", { y, dy });
  return rowBackward("softmax", y, dy);
}

/** log(softmax(x)) over the last axis, computed stably. */
export function logSoftmax(x: Tensor): Tensor {
  checkTensors("logSoftmax", { x });
  return rowForward("logSoftmax", x);
}

export function logSoftmaxBackward(y: Tensor, dy: Tensor): Tensor {
  checkTensors("logSoftmaxBackward", { y, dy });
  return rowBackward("logSoftmax", y, dy);
}

/** dst = src (n values). */
export const copyCall = (n: number, src: number, dst: number) => call("f32_axpby", n, 1, src, 0, dst);

/** out = a ⊙ b (n values). */
export const mulCall = (a: number, b: number, out: number, n: number) => call("f32_mul_fwd", a, b, out, n);

/** y = Σ xs (n values each); every input's gradient is dy. The calls run in turn (y accumulates). */
export function addCalls(n: number, xs: number[], y: number, dy: number, dxs: number[]): { fwd: KernelCall[]; bwd: KernelCall[]; inTurn: true } {
  return {
    inTurn: true,
    fwd: [call("f32_add_fwd", xs[0]!, xs[1]!, y, n), ...xs.slice(2).map((x) => call("f32_add_fwd", y, x, y, n))],
    bwd: dxs.filter((dx) => dx !== 0).map((dx) => copyCall(n, dy, dx)),
  };
}

/**
 * Joins rows × widths[i] inputs along the last axis into rows × Σ widths; the backward splits dy.
 * One program per part, a range of rows: each input's rows copied into their columns (pure
 * copies, so any split gives the same bits).
 */
export function concatCalls(be: Backend, rows: number, widths: number[], xs: number[], y: number, dy: number, dxs: number[]): { fwd: KernelCall[][]; bwd: KernelCall[][]; programs: true } {
  const out = widths.reduce((a, b) => a + b, 0);
  const parts = splitRange(rows, threadsForMemory(be, 2 * rows * out, rows)); // every value read once and written once
  const program = (back: boolean) => ([a, b]: [number, number]): KernelCall[] => {
    const calls: KernelCall[] = [];
    let off = 0;
    widths.forEach((c, i) => {
      if (!back) calls.push(call("f32_copy_rows", xs[i]! + 4 * a * c, c, y + 4 * (a * out + off), out, b - a, c, 0));
      else if (dxs[i]) calls.push(call("f32_copy_rows", dy + 4 * (a * out + off), out, dxs[i]! + 4 * a * c, c, b - a, c, 0));
      off += c;
    });
    return calls;
  };
  return { fwd: parts.map(program(false)), bwd: dy ? parts.map(program(true)) : [], programs: true };
}

/**
 * A permute's axes of one value dropped and the axes that stay next to each other merged: the same
 * reordering of the values in the fewest axes (at least one). [g, C/g, H, W] by [1, 0, 2, 3] (a
 * channel shuffle) is [g, C/g, H·W] by [1, 0, 2].
 */
export function simplifyPermute(dims: readonly number[], perm: readonly number[]): { dims: number[]; perm: number[] } {
  const kept = dims.map((_, a) => a).filter((a) => dims[a]! > 1);
  const at = new Map(kept.map((a, i) => [a, i]));
  const runs: number[][] = [];
  for (const a of perm) {
    if (!at.has(a)) continue;
    const last = runs[runs.length - 1];
    if (last && at.get(last[last.length - 1]!)! + 1 === at.get(a)) last.push(a);
    else runs.push([a]);
  }
  if (!runs.length) return { dims: [1], perm: [0] };
  const byInput = [...runs].sort((r, q) => r[0]! - q[0]!);
  return { dims: byInput.map((r) => r.reduce((n, a) => n * dims[a]!, 1)), perm: runs.map((r) => byInput.indexOf(r)) };
}

/**
 * Each of `batch` examples [d0, …] (at most six axes) → its axes in order `perm`; the backward
 * applies the inverse. Parts: ranges of examples, or with fewer examples than threads ranges of the
 * output's first axis (an image's NCHW → NHWC by bands of rows; past three axes, once merged, of
 * the output's first four flattened).
 */
export function permuteCalls(be: Backend, batch: number, dims: readonly number[], perm: readonly number[], p: { x: number; y: number; dy: number; dx: number }): { fwd: KernelCall[]; bwd: KernelCall[] } {
  const inv = perm.map(() => 0);
  perm.forEach((a, k) => (inv[a] = k));
  const out = perm.map((a) => dims[a]!);
  const n = dims.reduce((a, b) => a * b, 1);
  const parts = (from: number, to: number, sh: readonly number[], q: readonly number[]): KernelCall[] => {
    let { dims: d, perm: r } = sh.length === 3 ? { dims: [...sh], perm: [...q] } : simplifyPermute(sh, q);
    // one axis: rows of one value (split by them); two: [a, 1, b] by (2, 0, 1) (split by the output's rows)
    if (d.length === 1) [d, r] = [[d[0]!, 1, 1], [0, 1, 2]];
    else if (d.length === 2) [d, r] = r[0] === 0 ? [[d[0]!, d[1]!, 1], [0, 1, 2]] : [[d[0]!, 1, d[1]!], [2, 0, 1]];
    if (d.length === 3) {
      const T = threadsForMemory(be, 2 * batch * n, Math.max(batch, d[r[0]!]!)); // every value read once and written once
      const c3 = (x: number, y: number, b: number, a0: number, a1: number) => call("f32_permute3", x, b, d[0]!, d[1]!, d[2]!, r[0]!, r[1]!, r[2]!, y, a0, a1);
      return batch >= T
        ? splitRange(batch, T).map(([a, b]) => c3(from + 4 * a * n, to + 4 * a * n, b - a, 0, d[r[0]!]!))
        : splitRange(d[r[0]!]!, T).map(([a, b]) => c3(from, to, batch, a, b));
    }
    // four to six axes: f32_permute6 over [1, …, d] (the leading axes of one value in place)
    const lead = 6 - d.length, d6 = [...Array<number>(lead).fill(1), ...d], r6 = [...Array.from({ length: lead }, (_, i) => i), ...r.map((a) => a + lead)];
    const code = r6.reduce((c, a, k) => c + (a << (3 * k)), 0), outer = r6.slice(0, 4).reduce((m, a) => m * d6[a]!, 1);
    const T = threadsForMemory(be, 2 * batch * n, Math.max(batch, outer));
    const c6 = (x: number, y: number, b: number, a0: number, a1: number) => call("f32_permute6", x, b, d6[0]!, d6[1]!, d6[2]!, d6[3]!, d6[4]!, d6[5]!, code, y, a0, a1);
    return batch >= T
      ? splitRange(batch, T).map(([a, b]) => c6(from + 4 * a * n, to + 4 * a * n, b - a, 0, outer))
      : splitRange(outer, T).map(([a, b]) => c6(from, to, batch, a, b));
  };
  return { fwd: parts(p.x, p.y, dims, perm), bwd: p.dx ? parts(p.dy, p.dx, out, inv) : [] };
}

/**
 * The index of each row's largest value (`rows` rows of `cols`; the last of equal ones with `last`),
 * as a float, in parts of rows; the backward is a zero gradient (the outputs are piecewise constant).
 */
export function argMaxCalls(be: Backend, rows: number, cols: number, last: boolean, p: { x: number; y: number; dx: number }): { fwd: KernelCall[]; bwd: KernelCall[] } {
  const T = threadsForMemory(be, rows * cols, rows);
  return {
    fwd: splitRange(rows, T).map(([a, b]) => call("f32_argmax_fwd", p.x + 4 * a * cols, b - a, cols, last ? 1 : 0, p.y + 4 * a)),
    bwd: p.dx ? [call("f32_zero", p.dx, rows * cols)] : [],
  };
}

/**
 * Each of `rows` rows of `width` values → its values [begin, begin + size). The backward writes dy
 * into that range of dx and zeros (from `zeros`, `width` zero floats) elsewhere. In turn.
 */
export function sliceCalls(rows: number, width: number, begin: number, size: number, zeros: number, p: { x: number; y: number; dy: number; dx: number }): { fwd: KernelCall[]; bwd: KernelCall[]; inTurn: true } {
  return {
    inTurn: true,
    fwd: [call("f32_copy_rows", p.x + begin * 4, width, p.y, size, rows, size, 0)],
    bwd: p.dx ? [call("f32_copy_rows", zeros, 0, p.dx, width, rows, width, 0), call("f32_copy_rows", p.dy, size, p.dx + begin * 4, width, rows, size, 0)] : [],
  };
}

/**
 * y = a ⊙ b for `batch` examples of rows × C values: b the same size as a, or one value per
 * channel (C values per example, broadcast over the rows). Backward: da = dy ⊙ b; db = dy ⊙ a,
 * summed over the rows when broadcast (through `tmp`, batch·rows·C floats). `zeros`: C zero floats.
 * In turn.
 */
export function multiplyCalls(batch: number, rows: number, C: number, broadcast: boolean, zeros: number, tmp: number,
  p: { a: number; b: number; y: number; dy: number; da: number; db: number }): { fwd: KernelCall[]; bwd: KernelCall[]; inTurn: true } {
  const n = rows * C;
  if (!broadcast) {
    return {
      inTurn: true, fwd: [mulCall(p.a, p.b, p.y, batch * n)],
      bwd: [...(p.da ? [mulCall(p.dy, p.b, p.da, batch * n)] : []), ...(p.db ? [mulCall(p.dy, p.a, p.db, batch * n)] : [])],
    };
  }
  const fwd: KernelCall[] = [], bwd: KernelCall[] = [];
  for (let e = 0; e < batch; e++) {
    const a = p.a + e * n * 4, b = p.b + e * C * 4, dy = p.dy + e * n * 4;
    fwd.push(call("f32_channel_affine", a, rows, C, b, zeros, p.y + e * n * 4));
    if (p.db) {
      const t = tmp + e * n * 4, db = p.db + e * C * 4;
      bwd.push(mulCall(dy, a, t, n), call("f32_copy_rows", t, C, db, 0, 1, C, 0));
      if (rows > 1) bwd.push(call("f32_copy_rows", t + C * 4, C, db, 0, rows - 1, C, 1));
    }
    if (p.da) bwd.push(call("f32_channel_affine", dy, rows, C, b, zeros, p.da + e * n * 4));
  }
  return { fwd, bwd, inTurn: true };
}

/**
 * idiv: integer division, trunc(a / b) (0 where b = 0), with a zero gradient. mod: Python's %, the
 * remainder of floor(a / b) with b's sign (0 where b = 0, as numpy's integer %); fmod: C's fmod, the
 * remainder of trunc(a / b) with a's sign (NaN where b = 0); their gradients PyTorch's remainder's
 * and fmod's: dy and −dy·floor(a / b) (trunc for fmod).
 */
export type BinaryOp = "add" | "sub" | "mul" | "div" | "pow" | "equal" | "max" | "min" | "less" | "greater" | "lessOrEqual" | "greaterOrEqual" | "idiv" | "mod" | "fmod";

/** Strides of `shape` read as `out` (numpy broadcasting: aligned from the right, 0 along an axis of 1 or a missing one). */
export function broadcastStrides(shape: readonly number[], out: readonly number[]): number[] {
  const r = out.length, s = new Array<number>(r).fill(0);
  let stride = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    const k = r - shape.length + i;
    if (shape[i] !== 1) s[k] = stride;
    stride *= shape[i]!;
  }
  return s;
}

/** The shape a and b broadcast to (numpy's rule), or null. */
export function broadcastShape(a: readonly number[], b: readonly number[]): number[] | null {
  const r = Math.max(a.length, b.length), out: number[] = [];
  for (let i = 0; i < r; i++) {
    const p = a[a.length - r + i] ?? 1, q = b[b.length - r + i] ?? 1;
    if (p !== q && p !== 1 && q !== 1) return null;
    out.push(p === 1 ? q : p);
  }
  return out;
}

/**
 * The axes of `dims` (dense output) with each operand's strides, axes of 1 dropped and neighbours
 * that stay contiguous in every operand merged; at least three axes (leading 1s) so a kernel call
 * covers the last three and the calls loop over the rest.
 */
function collapse(dims: number[], strides: number[][]): { dims: number[]; strides: number[][] } {
  const d: number[] = [], s: number[][] = strides.map(() => []);
  dims.forEach((n, i) => {
    if (n === 1) return;
    const k = d.length - 1;
    if (k >= 0 && strides.every((st, j) => s[j]![k] === st[i]! * n)) {
      d[k] = d[k]! * n;
      strides.forEach((st, j) => (s[j]![k] = st[i]!));
    } else {
      d.push(n);
      strides.forEach((st, j) => s[j]!.push(st[i]!));
    }
  });
  while (d.length < 3) {
    d.unshift(1);
    s.forEach((st) => st.unshift(0));
  }
  return { dims: d, strides: s };
}

/** Every index of the axes before the last three, with its offset in each operand (in elements). */
function outer(dims: number[], strides: number[][]): number[][] {
  const lead = dims.slice(0, -3), offs: number[][] = [];
  const n = lead.reduce((p, q) => p * q, 1);
  for (let o = 0; o < n; o++) {
    let rest = o;
    const off = strides.map(() => 0);
    for (let i = lead.length - 1; i >= 0; i--) {
      const k = rest % lead[i]!;
      rest = Math.floor(rest / lead[i]!);
      strides.forEach((st, j) => (off[j] = off[j]! + k * st[i]!));
    }
    offs.push(off);
  }
  return offs;
}

/**
 * y = a op b with numpy broadcasting, for `batch` examples: a and b per example of shapes aShape and
 * bShape (an operand with `aBatch` / `bBatch` false is one tensor for the whole batch: a constant),
 * y dense of shape out = broadcast(aShape, bShape). Backward: the elementwise gradients, summed over
 * the axes an operand was broadcast along (through ta / tb, batch·size(out) floats each, where it
 * was; straight into da / db where it was not). 0 for da / db: not wanted. In turn.
 */
export function binaryCalls(op: BinaryOp, batch: number, aShape: readonly number[], bShape: readonly number[], aBatch: boolean, bBatch: boolean,
  p: { a: number; b: number; y: number; dy: number; da: number; db: number; ta: number; tb: number }): { fwd: KernelCall[]; bwd: KernelCall[]; inTurn: true } {
  const out = broadcastShape(aShape, bShape);
  if (!out) throw new ShapeError(`${op}: shapes ${formatShape([...aShape])} and ${formatShape([...bShape])} do not broadcast`);
  const n = out.reduce((u, v) => u * v, 1), dims = [batch, ...out];
  const size = (s: readonly number[]) => s.reduce((u, v) => u * v, 1);
  const sa = [aBatch ? size(aShape) : 0, ...broadcastStrides(aShape, out)], sb = [bBatch ? size(bShape) : 0, ...broadcastStrides(bShape, out)];
  const ys = [0, ...broadcastStrides(out, out)];
  ys[0] = n;
  const c = collapse(dims, [sa, sb, ys]);
  const [A, B, Y] = c.strides as [number[], number[], number[]];
  const [n0, n1, n2] = c.dims.slice(-3) as [number, number, number];
  const tail = (st: number[]) => st.slice(-3) as [number, number, number];
  const fwd: KernelCall[] = [], bwd: KernelCall[] = [];
  const fname = `f32_binary_fwd_${op}` as const, bname = `f32_binary_bwd_${op}` as const;
  // an operand read whole (no broadcast, every example its own) gets its gradient in place
  const direct = (st: number[], has: boolean) => has && st.every((v, i) => v === Y[i]);
  const ga = p.da ? (direct(A, aBatch) ? p.da : p.ta) : 0, gb = p.db ? (direct(B, bBatch) ? p.db : p.tb) : 0;
  for (const [oa, ob, oy] of outer(c.dims, [A, B, Y]) as [number, number, number][]) {
    fwd.push(call(fname, p.a + 4 * oa, p.b + 4 * ob, p.y + 4 * oy, n0, n1, n2, ...tail(A), ...tail(B)));
    if (ga || gb) bwd.push(call(bname, p.a + 4 * oa, p.b + 4 * ob, p.y + 4 * oy, p.dy + 4 * oy, ga && ga + 4 * oy, gb && gb + 4 * oy, n0, n1, n2, ...tail(A), ...tail(B)));
  }
  // the sums back to a broadcast operand's shape
  const reduce = (g: number, d: number, st: number[], count: number) => {
    outer(c.dims, [Y, st]).forEach(([oy, od], i) => bwd.push(call("f32_sum_strided", g + 4 * oy!, n0, n1, n2, d + 4 * od!, ...tail(st), i === 0 ? count : 0)));
  };
  if (p.da && ga !== p.da) reduce(ga, p.da, A, (aBatch ? batch : 1) * size(aShape));
  if (p.db && gb !== p.db) reduce(gb, p.db, B, (bBatch ? batch : 1) * size(bShape));
  return { fwd, bwd, inTurn: true };
}

/**
 * y = c ≠ 0 ? a : b with numpy broadcasting of the three per-example shapes to out, for `batch`
 * examples (every operand has its own examples). Backward: dy to a where c ≠ 0, to b elsewhere,
 * summed over the axes an operand was broadcast along (through ta / tb, batch·size(out) floats
 * each, where it was). In turn.
 */
export function whereCalls(batch: number, cShape: readonly number[], aShape: readonly number[], bShape: readonly number[],
  p: { c: number; a: number; b: number; y: number; dy: number; da: number; db: number; ta: number; tb: number }): { fwd: KernelCall[]; bwd: KernelCall[]; inTurn: true } {
  const ab = broadcastShape(aShape, bShape), out = ab && broadcastShape(cShape, ab);
  if (!out) throw new ShapeError(`where: shapes ${formatShape([...cShape])}, ${formatShape([...aShape])} and ${formatShape([...bShape])} do not broadcast`);
  const size = (s: readonly number[]) => s.reduce((u, v) => u * v, 1), n = size(out);
  const st = (s: readonly number[]) => [size(s), ...broadcastStrides(s, out)];
  const ys = [n, ...broadcastStrides(out, out)];
  const col = collapse([batch, ...out], [st(cShape), st(aShape), st(bShape), ys]);
  const [C, A, B, Y] = col.strides as [number[], number[], number[], number[]];
  const [n0, n1, n2] = col.dims.slice(-3) as [number, number, number];
  const tail = (s: number[]) => s.slice(-3) as [number, number, number];
  const direct = (s: number[]) => s.every((v, i) => v === Y[i]);
  const ga = p.da ? (direct(A) ? p.da : p.ta) : 0, gb = p.db ? (direct(B) ? p.db : p.tb) : 0;
  const fwd: KernelCall[] = [], bwd: KernelCall[] = [];
  for (const [oc, oa, ob, oy] of outer(col.dims, [C, A, B, Y]) as [number, number, number, number][]) {
    fwd.push(call("f32_where_fwd", p.c + 4 * oc, p.a + 4 * oa, p.b + 4 * ob, p.y + 4 * oy, n0, n1, n2, ...tail(C), ...tail(A), ...tail(B)));
    if (ga || gb) bwd.push(call("f32_where_bwd", p.c + 4 * oc, p.dy + 4 * oy, ga && ga + 4 * oy, gb && gb + 4 * oy, n0, n1, n2, ...tail(C)));
  }
  const reduce = (g: number, d: number, s: number[], count: number) => {
    outer(col.dims, [Y, s]).forEach(([oy, od], i) => bwd.push(call("f32_sum_strided", g + 4 * oy!, n0, n1, n2, d + 4 * od!, ...tail(s), i === 0 ? count : 0)));
  };
  if (p.da && ga !== p.da) reduce(ga, p.da, A, batch * size(aShape));
  if (p.db && gb !== p.db) reduce(gb, p.db, B, batch * size(bShape));
  return { fwd, bwd, inTurn: true };
}
