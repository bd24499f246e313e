// loss: the loss kernels as calls. Each writes d(mean loss)/d(output) to `grad` and returns a sum
// that `factor` turns into the mean loss over the batch.
import { call, type KernelCall } from "../runtime/calls.js";

export type LossName = "softmaxCrossEntropy" | "hinge" | "mse" | "sigmoidCrossEntropy" | "selectedSquared" | "selectedHuber";

/**
 * out: rows × cols model outputs (logits for softmaxCrossEntropy and sigmoidCrossEntropy);
 * targets: class indices (i32), values of the output's shape, or (column, value) pairs (f32) for
 * the selected-output losses. labelSmoothing (softmaxCrossEntropy only): ε of the smoothed targets.
 */
export function lossCall(loss: LossName, out: number, targets: number, rows: number, cols: number, grad: number, labelSmoothing = 0): { call: KernelCall; factor: number } {
  const scale = 1 / rows;
  switch (loss) {
    case "softmaxCrossEntropy": return { call: call("f32_softmax_xent", out, targets, rows, cols, scale, grad, 0, labelSmoothing), factor: scale };
    case "hinge": return { call: call("f32_hinge", out, targets, rows, cols, 1, scale, grad), factor: scale };
    // mean over the batch of the per-example sum, like ConvNetJS's regression layer (×2) and Keras' MSE (×cols)
    case "mse": return { call: call("f32_mse", out, targets, rows * cols, scale / cols, grad), factor: scale / cols };
    case "sigmoidCrossEntropy": return { call: call("f32_sigmoid_xent", out, targets, rows * cols, scale / cols, grad), factor: scale / cols };
    // one output per example against its target (Q-learning: the action taken); ½e², or Huber with δ = 1
    case "selectedSquared": return { call: call("f32_selected_huber", out, targets, rows, cols, Infinity, scale, grad), factor: scale };
    case "selectedHuber": return { call: call("f32_selected_huber", out, targets, rows, cols, 1, scale, grad), factor: scale };
  }
}
