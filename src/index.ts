// fovea's public API. Nothing but re-exports.
export { init, backendInfo, getBackend, loadBackend, chooseBuild, Backend, BUILDS } from "./runtime/backend.js";
export type { BackendInfo, BuildName, InitOptions } from "./runtime/backend.js";
export type { Features } from "./runtime/features.js";
export type { HeapStats } from "./runtime/memory.js";
export { Tensor, shapeSize, formatShape } from "./tensor.js";
export type { Shape, TensorData, NestedArray } from "./tensor.js";
export { FoveaError, ShapeError, ConfigError, FormatError, BackendError } from "./errors.js";
export * as ops from "./ops/index.js";
export type { Padding, Rounding } from "./ops/window.js";
