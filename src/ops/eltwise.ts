// Elementwise ops on tensors: add (residual), bias add and its gradient, activations forward and
// backward (backward from the forward OUTPUT y), row softmax / log-softmax forward and backward.

import { ConfigError, ShapeError } from "../errors.js";
import type { Kernels } from "../runtime/generated/kernels.js";
import { Tensor, formatShape } from "../tensor.js";

function sameShape(what: string, a: Tensor, b: Tensor): void {
  if (formatShape(a.shape) !== formatShape(b.shape)) {
    throw new ShapeError(`${what}: shapes ${formatShape(a.shape)} and ${formatShape(b.shape)} differ`);
  }
}

/** a + b, same shapes (residual add). Gradient: both inputs get dy. */
export function add(a: Tensor, b: Tensor): Tensor {
  sameShape("add", a, b);
  const y = Tensor.zeros(a.shape, a.backend);
  a.backend.kernels.f32_add_fwd(a.ptr, b.ptr, y.ptr, a.size);
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
  const [rows, cols] = rowsCols("biasAdd", x);
  if (bias.rank !== 1 || bias.shape[0] !== cols) {
    throw new ShapeError(`biasAdd: bias must have shape [${cols}] for input ${formatShape(x.shape)}, got ${formatShape(bias.shape)}`);
  }
  const y = Tensor.zeros(x.shape, x.backend);
  x.backend.kernels.f32_bias_add_fwd(x.ptr, bias.ptr, y.ptr, rows, cols);
  return y;
}

/** dbias = Σ of dy over every axis but the last. */
export function biasAddBackward(dy: Tensor): Tensor {
  const [rows, cols] = rowsCols("biasAdd", dy);
  const db = Tensor.zeros([cols], dy.backend);
  dy.backend.kernels.f32_bias_bwd(dy.ptr, rows, cols, db.ptr);
  return db;
}

export type ActivationName = "relu" | "relu6" | "leakyRelu" | "elu" | "sigmoid" | "tanh";

type UnaryKernel = (k: Kernels, x: number, y: number, n: number, alpha: number) => void;
type GradKernel = (k: Kernels, y: number, dy: number, dx: number, n: number, alpha: number) => void;

const ACTIVATIONS: Record<ActivationName, { fwd: UnaryKernel; bwd: GradKernel; alpha?: number }> = {
  relu: { fwd: (k, x, y, n) => k.f32_relu_fwd(x, y, n), bwd: (k, y, g, d, n) => k.f32_relu_bwd(y, g, d, n) },
  relu6: { fwd: (k, x, y, n) => k.f32_relu6_fwd(x, y, n), bwd: (k, y, g, d, n) => k.f32_relu6_bwd(y, g, d, n) },
  leakyRelu: {
    fwd: (k, x, y, n, a) => k.f32_leaky_relu_fwd(x, y, n, a),
    bwd: (k, y, g, d, n, a) => k.f32_leaky_relu_bwd(y, g, d, n, a),
    alpha: 0.01,
  },
  elu: {
    fwd: (k, x, y, n, a) => k.f32_elu_fwd(x, y, n, a),
    bwd: (k, y, g, d, n, a) => k.f32_elu_bwd(y, g, d, n, a),
    alpha: 1,
  },
  sigmoid: { fwd: (k, x, y, n) => k.f32_sigmoid_fwd(x, y, n), bwd: (k, y, g, d, n) => k.f32_sigmoid_bwd(y, g, d, n) },
  tanh: { fwd: (k, x, y, n) => k.f32_tanh_fwd(x, y, n), bwd: (k, y, g, d, n) => k.f32_tanh_bwd(y, g, d, n) },
};

function activationSpec(name: string, alpha: number | undefined) {
  const spec = ACTIVATIONS[name as ActivationName];
  if (!spec) throw new ConfigError(`activation: unknown activation "${name}" (${Object.keys(ACTIVATIONS).join(", ")})`);
  const a = alpha ?? spec.alpha ?? 0;
  if (spec.alpha === undefined && alpha !== undefined) throw new ConfigError(`activation "${name}" takes no alpha`);
  if (!(Number.isFinite(a) && a >= 0)) throw new ConfigError(`activation "${name}": alpha must be finite and >= 0, got ${alpha}`);
  return { spec, a };
}

/** y = f(x). leakyRelu's alpha defaults to 0.01, elu's to 1. */
export function activation(name: ActivationName, x: Tensor, alpha?: number): Tensor {
  const { spec, a } = activationSpec(name, alpha);
  const y = Tensor.zeros(x.shape, x.backend);
  spec.fwd(x.backend.kernels, x.ptr, y.ptr, x.size, a);
  return y;
}

/** dx from the forward output y and the incoming gradient dy. */
export function activationBackward(name: ActivationName, y: Tensor, dy: Tensor, alpha?: number): Tensor {
  const { spec, a } = activationSpec(name, alpha);
  sameShape(`${name} backward`, y, dy);
  const dx = Tensor.zeros(y.shape, y.backend);
  spec.bwd(y.backend.kernels, y.ptr, dy.ptr, dx.ptr, y.size, a);
  return dx;
}

type RowKernel = (k: Kernels, x: number, y: number, rows: number, cols: number) => void;
type RowGradKernel = (k: Kernels, y: number, dy: number, dx: number, rows: number, cols: number) => void;

function rowForward(what: string, x: Tensor, kernel: RowKernel): Tensor {
  const [rows, cols] = rowsCols(what, x);
  const y = Tensor.zeros(x.shape, x.backend);
  kernel(x.backend.kernels, x.ptr, y.ptr, rows, cols);
  return y;
}

function rowBackward(what: string, y: Tensor, dy: Tensor, kernel: RowGradKernel): Tensor {
  sameShape(`${what} backward`, y, dy);
  const [rows, cols] = rowsCols(what, y);
  const dx = Tensor.zeros(y.shape, y.backend);
  kernel(y.backend.kernels, y.ptr, dy.ptr, dx.ptr, rows, cols);
  return dx;
}

/** Softmax over the last axis. */
export function softmax(x: Tensor): Tensor {
  return rowForward("softmax", x, (k, a, b, r, c) => k.f32_softmax_fwd(a, b, r, c));
}

export function softmaxBackward(y: Tensor, dy: Tensor): Tensor {
  return rowBackward("softmax", y, dy, (k, a, g, d, r, c) => k.f32_softmax_bwd(a, g, d, r, c));
}

/** log(softmax(x)) over the last axis, computed stably. */
export function logSoftmax(x: Tensor): Tensor {
  return rowForward("logSoftmax", x, (k, a, b, r, c) => k.f32_log_softmax_fwd(a, b, r, c));
}

export function logSoftmaxBackward(y: Tensor, dy: Tensor): Tensor {
  return rowBackward("logSoftmax", y, dy, (k, a, g, d, r, c) => k.f32_log_softmax_bwd(a, g, d, r, c));
}
