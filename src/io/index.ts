// Model exchange: ONNX import and export (io/onnx/, one handler per op), tfjs-layers import, ConvNetJS import and export.
export { importOnnx } from "./onnx/import.js";
export { exportOnnx } from "./onnx/export.js";
export { importConvnetjs, exportConvnetjs } from "./convnetjs.js";
export type { ConvNetJSExportOptions, ConvNetJSLayerJSON } from "./convnetjs.js";
export { importTfjs, loadTfjsModel } from "./tfjs.js";
export type { TfjsArtifacts, TfjsWeightSpec } from "./tfjs.js";
export type { OnnxImportOptions } from "./onnx/import.js";
export type { ExternalData } from "./onnx/model.js";
