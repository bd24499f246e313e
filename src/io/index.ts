// Model exchange: ONNX import (more formats to come).
export { importOnnx } from "./onnx.js";
export type { OnnxImportOptions } from "./onnx.js";
