// Model exchange: ONNX import and export (io/onnx/, one handler per op), tfjs-layers and ConvNetJS import.
export { importOnnx } from "./onnx/import.js";
export { exportOnnx } from "./onnx/export.js";
export { importConvnetjs } from "./convnetjs.js";
export { importTfjs, loadTfjsModel } from "./tfjs.js";
export type { TfjsArtifacts } from "./tfjs.js";
export type { OnnxImportOptions } from "./onnx/import.js";
