// Losses on the model output. Each writes d(mean loss)/d(output) and returns the mean loss.
import { ConfigError, ShapeError, show } from "../errors.js";
import type { Kernels } from "../runtime/generated/kernels.js";
import { invoke } from "../runtime/calls.js";
import { lossCall, type LossName } from "../ops/loss.js";

export type { LossName };
export const LOSSES: readonly LossName[] = ["softmaxCrossEntropy", "hinge", "mse", "sigmoidCrossEntropy"];

/** Class-index targets (softmaxCrossEntropy, hinge) or values of the output's shape (mse, sigmoidCrossEntropy). */
export function targetsAreLabels(loss: LossName): boolean {
  return loss === "softmaxCrossEntropy" || loss === "hinge";
}

export function checkLoss(loss: unknown): LossName {
  if (!LOSSES.includes(loss as LossName)) throw new ConfigError(`unknown loss ${show(loss)} (${LOSSES.join(", ")})`);
  return loss as LossName;
}

/**
 * Mean loss over the batch; writes the gradient (already divided by the batch) to `grad`.
 * out: rows × cols model outputs (logits for softmaxCrossEntropy and sigmoidCrossEntropy).
 */
export function computeLoss(k: Kernels, loss: LossName, out: number, targets: number, rows: number, cols: number, grad: number): number {
  const c = lossCall(loss, out, targets, rows, cols, grad);
  return invoke(k, c.call)! * c.factor;
}

/** Validates class labels against the number of classes; returns them as Int32Array. */
export function checkLabels(y: ArrayLike<number>, n: number, classes: number, where: string): Int32Array {
  if (y.length !== n) throw new ShapeError(`${where}: ${y.length} labels for ${n} examples`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = y[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new ShapeError(`${where}: label ${i} is ${v}; labels are class indices in [0, ${classes})`);
    }
    out[i] = v;
  }
  return out;
}
