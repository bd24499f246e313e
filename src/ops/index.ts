// The op families, as plain functions on tensors.
// Each family also exports its call builders (…Calls): the one place where geometry and buffers
// become kernel calls, split for the thread pool; layers, these functions and bench/ all use them.
export { gemm, PackedMatrix, gemmCalls, packBCall, gemmPackedBCall, denseCalls, fusedActivationBwd, ACT_CODES } from "./gemm.js";
export type { GemmOptions, Activation, DenseCalls } from "./gemm.js";
export { conv2d, conv2dBackward, conv2dGeometry, conv2dFlops, convBlock, convCalls, convPaths, implicitDataFits, directDataFits, winogradFits, winogradTiles, winogradPoolFits, poolFuses, pooledGradFits, runConvBackward } from "./conv.js";
export type { Conv2dOptions, ConvGeometry, Conv2dGradients, ConvBuffers, ConvCalls, ConvPaths } from "./conv.js";
export { conv2dTranspose, conv2dTransposeBackward, convTransposeGeometry, convTransposeOutShape, convTransposeCalls, runConvTranspose, runConvTransposeBackward } from "./conv.js";
export type { ConvTransposeOptions, ConvTransposeBuffers, ConvTransposeCalls } from "./conv.js";
export {
  maxPool2d, maxPool2dBackward, avgPool2d, avgPool2dBackward, globalAvgPool, globalAvgPoolBackward,
  globalMaxPool, globalMaxPoolBackward, pool2dGeometry, poolBlock, poolCalls, globalPoolCalls, maxPool2dIndices, checkIndices,
  maxPool3d, maxPool3dBackward, avgPool3d, avgPool3dBackward, pool3dGeometry,
} from "./pool.js";
export type { Pool2dOptions, Pool3dOptions, PoolGeometry, MaxPoolResult, PoolCalls } from "./pool.js";
export { conv3dTranspose, conv3dTransposeBackward, convTranspose3dGeometry, convTranspose3dBlock, convTranspose3dCalls } from "./conv3d.js";
export type { ConvTranspose3dOptions, ConvTranspose3dGeometry } from "./conv3d.js";
export { updateCalls, PARALLEL_UPDATE } from "./optim.js";
export { splitRange, withScratchAlloc } from "./split.js";
export {
  add, biasAdd, biasAddBackward, activation, activationBackward, softmax, softmaxBackward, logSoftmax, logSoftmaxBackward,
} from "./eltwise.js";
export type { ActivationName, BinaryOp } from "./eltwise.js";
export type { Padding, Rounding } from "./window.js";
export { floorRulePads } from "./window.js";
export { batchNormPartRows, batchNormScaleShift, batchNormTrainCalls, runSteps, channelAffine, foldCalls, lrnCalls } from "./norm.js";
export { lossCall } from "./loss.js";
export type { LossName } from "./loss.js";
export { warpAffineCall, warpAffineBatchCalls } from "./image.js";
export { activationCalls, maxoutCalls, addCalls, concatCalls, permuteCalls, copyCall, mulCall } from "./eltwise.js";
export { sgdUpdate, momentumUpdate, adamUpdate, adagradUpdate, rmspropUpdate, adadeltaUpdate, regularizeCall, sumSquaresCall, scaleCall } from "./optim.js";
