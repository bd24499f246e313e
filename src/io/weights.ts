// The last step of every import: the converted weights go into the built model, or the model is
// freed and the error names the file (nothing half-built is left behind).
import { naming } from "../errors.js";
import type { Model } from "../model/model.js";

export function withWeights(model: Model, weights: { layer: string; name: string; values: ArrayLike<number> }[], src: string): Model {
  try {
    naming(src, () => model.setWeights(weights));
    return model;
  } catch (e) {
    model.free();
    throw e;
  }
}
