// The peer engines a user would pick instead, loaded only when present (devDependencies).
// Each loader returns null with a reason when the peer is missing, so a bench still runs.
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

/** convnetjs (plain JS), or null after logging why. */
export function loadConvnetjs(log) {
  try {
    return require("convnetjs");
  } catch (e) {
    log(`  convnetjs unavailable: ${e.message}`);
    return null;
  }
}

/** tfjs (union package: layers and gradients) with the wasm backend registered, or null after logging why. */
export async function loadTfjs(log) {
  try {
    const tf = await import("@tensorflow/tfjs");
    await import("@tensorflow/tfjs-backend-wasm");
    return tf;
  } catch (e) {
    log(`  tfjs unavailable: ${e.message}`);
    return null;
  }
}

export async function loadTfjsWasm() {
  try {
    // the union package registers the gradient functions (tf.grad), which tfjs-core alone does not
    const tf = await import("@tensorflow/tfjs");
    await import("@tensorflow/tfjs-backend-wasm");
    await tf.setBackend("wasm");
    await tf.ready();
    return { tf, version: tf.version.tfjs };
  } catch (e) {
    return { error: `tfjs-backend-wasm unavailable: ${e.message}` };
  }
}

export async function loadOrtWeb(threads) {
  try {
    const ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = threads;
    ort.env.logLevel = "error";
    const { default: onnxProto } = await import("onnx-proto");
    return { ort, onnx: onnxProto.onnx, version: ort.env.versions?.web ?? "?" };
  } catch (e) {
    return { error: `onnxruntime-web unavailable: ${e.message}` };
  }
}

const FLOAT = 1;

function valueInfo(name, dims) {
  return { name, type: { tensorType: { elemType: FLOAT, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } };
}

function ints(onnx, name, values) {
  return { name, type: onnx.AttributeProto.AttributeType.INTS, ints: values };
}

function initializer(name, dims, data) {
  return { name, dims, dataType: FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A one-node ONNX model (opset 13) as bytes. */
function model(onnx, node, inputs, outputs, inits = []) {
  const m = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: "", version: 13 }],
    graph: { name: "bench", node: [node], initializer: inits, input: inputs, output: outputs },
  });
  return onnx.ModelProto.encode(m).finish();
}

/** Y[M×N] = A[M×K] · B[K×N], both inputs (no constant to pre-pack, like fovea's f32_gemm). */
export function ortMatMulModel(onnx, M, N, K) {
  return model(onnx, { opType: "MatMul", input: ["a", "b"], output: ["y"] },
    [valueInfo("a", [M, K]), valueInfo("b", [K, N])], [valueInfo("y", [M, N])]);
}

/** NCHW Conv with constant OIHW weights; pads [top, left, bottom, right] as ONNX orders them. */
export function ortConvModel(onnx, { N, C, H, W, OC, KH, KW, stride, pads, group, OH, OW, weights }) {
  return model(onnx, {
    opType: "Conv", input: ["x", "w"], output: ["y"],
    attribute: [ints(onnx, "pads", pads), ints(onnx, "strides", [stride, stride]), ints(onnx, "kernel_shape", [KH, KW]),
      { name: "group", type: onnx.AttributeProto.AttributeType.INT, i: group }],
  }, [valueInfo("x", [N, C, H, W])], [valueInfo("y", [N, OC, OH, OW])], [initializer("w", [OC, C / group, KH, KW], weights)]);
}
