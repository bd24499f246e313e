// The last step of every import: the converted weights go into the built model, or the model is
// freed and the file named in a FormatError (nothing half-built is left behind).
import { FormatError } from "../errors.js";
import type { Model } from "../model/model.js";

export function withWeights(model: Model, weights: { layer: string; name: string; values: ArrayLike<number> }[], src: string): Model {
  try {
    model.setWeights(weights);
    return model;
  } catch (e) {
    model.free();
    throw new FormatError(`${src}: ${(e as Error).message}`);
  }
}

