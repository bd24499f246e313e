// Symbolic tensors of the functional API: a per-example shape and the layer that produced it.
import { ShapeError } from "../errors.js";
import type { Layer } from "../layers/layer.js";
import { checkShape, formatShape, type Shape } from "../tensor.js";

export class SymbolicTensor {
  constructor(
    readonly shape: Shape,
    /** The layer that produced this tensor; null for a model input. */
    readonly layer: Layer | null,
    readonly inputs: readonly SymbolicTensor[],
    readonly name: string,
  ) {}

  toString(): string {
    return `${this.name} ${formatShape(this.shape)}`;
  }
}

let inputCount = 0;

/** A model input of the given per-example shape ([H, W, C] for images, [F] for features). */
export function input(shape: number[], options: { name?: string } = {}): SymbolicTensor {
  checkShape(shape, "input");
  if (shape.length === 0 || shape.some((d) => d < 1)) throw new ShapeError(`input: shape ${formatShape(shape)} must have dimensions >= 1`);
  return new SymbolicTensor(Object.freeze([...shape]), null, [], options.name ?? `input_${++inputCount}`);
}
