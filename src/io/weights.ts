// The last step of every import: the converted weights go into the built model, or the model is
// freed and the file named in a FormatError (nothing half-built is left behind).
import { FormatError, FoveaError } from "../errors.js";
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

/**
 * Runs an import step so that every FoveaError it throws names the file (a layer's ConfigError
 * or ShapeError about a value read from it becomes a FormatError "<file>: …").
 */
export function inFile<T>(src: string, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (e instanceof FoveaError && !e.message.startsWith(`${src}:`)) throw new FormatError(`${src}: ${e.message}`);
    throw e;
  }
}
