// The last step of every import: the model is built with the file's parameters left as zeros (not
// drawn from its generator only to be overwritten; the generator moves on past them all the same),
// the converted weights go in, or the model is freed and the error names the file (nothing
// half-built is left behind).
import { naming } from "../errors.js";
import type { Model } from "../model/model.js";
import type { Preset } from "../model/graph.js";

type Weights = { layer: string; name: string; values: ArrayLike<number> }[];

/** The loader's weights as a `preset` for the Model constructor: the parameters they set. */
function presetOf(weights: Weights): Preset {
  const set = new Set(weights.map((w) => `${w.layer}\u0000${w.name}`));
  return (layer, param) => set.has(`${layer}\u0000${param}`);
}

/** build(preset) makes the model; then `weights` go in (setWeights checks names, sizes and values). */
export function withWeights(build: (preset: Preset) => Model, weights: Weights, src: string): Model {
  const model = build(presetOf(weights));
  try {
    naming(src, () => model.setWeights(weights));
    return model;
  } catch (e) {
    model.free();
    throw e;
  }
}
