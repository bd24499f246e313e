// The op families, as plain functions on tensors.
export { gemm, PackedMatrix } from "./gemm.js";
export type { GemmOptions, Activation } from "./gemm.js";
export { conv2d, conv2dBackward, conv2dGeometry, conv2dFlops } from "./conv.js";
export type { Conv2dOptions, ConvGeometry, Conv2dGradients } from "./conv.js";
export {
  maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, globalAvgPool, globalAvgPoolBackward,
  globalMaxPool, globalMaxPoolBackward, pool2dGeometry,
} from "./pool.js";
export type { Pool2dOptions, PoolGeometry, MaxPoolResult } from "./pool.js";
export {
  add, biasAdd, biasAddBackward, activation, activationBackward, softmax, softmaxBackward, logSoftmax, logSoftmaxBackward,
} from "./eltwise.js";
export type { ActivationName } from "./eltwise.js";
export type { Padding, Rounding } from "./window.js";
