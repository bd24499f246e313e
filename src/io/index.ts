// Model exchange: ONNX import (more formats to come).
export { importOnnx } from "./onnx.js";
export { exportOnnx } from "./onnx-export.js";
export { importConvnetjs } from "./convnetjs.js";
export { importTfjs, loadTfjsModel } from "./tfjs.js";
export type { TfjsArtifacts } from "./tfjs.js";
export type { OnnxImportOptions } from "./onnx.js";
