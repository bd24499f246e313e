// Model exchange: ONNX import (more formats to come).
export { importOnnx } from "./onnx.js";
export { exportOnnx } from "./onnx-export.js";
export type { OnnxImportOptions } from "./onnx.js";
