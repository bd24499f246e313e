// Losses on the model output. Each writes d(mean loss)/d(output) and returns the mean loss.
import { ConfigError, ShapeError, show } from "../errors.js";
import type { Kernels } from "../runtime/generated/kernels.js";
import { invoke } from "../runtime/calls.js";
import { lossCall, type LossName } from "../ops/loss.js";

export type { LossName };
export const LOSSES: readonly LossName[] = ["softmaxCrossEntropy", "hinge", "mse", "sigmoidCrossEntropy", "selectedSquared", "selectedHuber"];

/** Class-index targets (softmaxCrossEntropy, hinge) or values of the output's shape (mse, sigmoidCrossEntropy). */
export function targetsAreLabels(loss: LossName): boolean {
  return loss === "softmaxCrossEntropy" || loss === "hinge";
}

/** Losses on one selected output per example (selectedSquared, selectedHuber): targets are (column, value) pairs. */
export function targetsAreSelections(loss: LossName): boolean {
  return loss === "selectedSquared" || loss === "selectedHuber";
}

/** Target values per example: a class index, a (column, value) pair, or one value per output. */
export function targetWidth(loss: LossName, outputSize: number): number {
  return targetsAreLabels(loss) ? 1 : targetsAreSelections(loss) ? 2 : outputSize;
}

export function checkLoss(loss: unknown): LossName {
  if (!LOSSES.includes(loss as LossName)) throw new ConfigError(`unknown loss ${show(loss)} (${LOSSES.join(", ")})`);
  return loss as LossName;
}

/**
 * Mean loss over the batch; writes the gradient (already divided by the batch) to `grad`.
 * out: rows × cols model outputs (logits for softmaxCrossEntropy and sigmoidCrossEntropy).
 * labelSmoothing: softmaxCrossEntropy's ε (compile({ labelSmoothing })).
 */
export function computeLoss(k: Kernels, loss: LossName, out: number, targets: number, rows: number, cols: number, grad: number, labelSmoothing = 0): number {
  const c = lossCall(loss, out, targets, rows, cols, grad, labelSmoothing);
  return invoke(k, c.call)! * c.factor;
}

/**
 * Validates (column, value) pairs — y[2i] a column in [0, cols), y[2i + 1] a finite target — for
 * the selected-output losses; returns them as the Float32Array the kernel reads.
 */
export function checkSelections(y: ArrayLike<number>, n: number, cols: number, where: string): Float32Array {
  if (y.length !== 2 * n) throw new ShapeError(`${where}: ${y.length} target values for ${n} examples (a selected-output loss takes a (column, value) pair per example: ${2 * n} values)`);
  for (let i = 0; i < n; i++) {
    const c = y[2 * i]!, v = y[2 * i + 1]!;
    if (!Number.isInteger(c) || c < 0 || c >= cols) throw new ShapeError(`${where}: example ${i} selects output ${c}; columns are whole numbers in [0, ${cols})`);
    if (!Number.isFinite(v)) throw new ShapeError(`${where}: example ${i} has target ${v}`);
  }
  return y instanceof Float32Array ? y : Float32Array.from(y);
}

/** Validates class labels against the number of classes; returns them as Int32Array. */
export function checkLabels(y: ArrayLike<number>, n: number, classes: number, where: string): Int32Array {
  if (y.length !== n) throw new ShapeError(`${where}: ${y.length} labels for ${n} examples`);
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = y[i]!;
    if (!Number.isInteger(v) || v < 0 || v >= classes) {
      throw new ShapeError(`${where}: label ${i} is ${show(v)}; labels are class indices in [0, ${classes})`);
    }
    out[i] = v;
  }
  return out;
}
