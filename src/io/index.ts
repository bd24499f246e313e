// Model exchange: ONNX import (more formats to come).
export { importOnnx } from "./onnx.js";
export { exportOnnx } from "./onnx-export.js";
export { importConvnetjs } from "./convnetjs.js";
export type { OnnxImportOptions } from "./onnx.js";
