// Weight initialisers. Fans follow Keras: dense [in, out] → fanIn = in, fanOut = out;
// conv HWIO [KH, KW, Cin, Cout] → fanIn = KH·KW·Cin, fanOut = KH·KW·Cout.

import { ConfigError, show } from "../errors.js";
import type { Rng } from "../rng.js";

export type Initializer =
  | "heNormal" | "heUniform" | "glorotUniform" | "glorotNormal" | "lecunNormal" | "zeros" | "ones"
  | { type: "gaussian"; std: number; mean?: number }
  | { type: "uniform"; min: number; max: number }
  | { type: "constant"; value: number };

export function fans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  if (shape.length === 2) return { fanIn: shape[0]!, fanOut: shape[1]! };
  const receptive = shape.slice(0, -2).reduce((a, b) => a * b, 1);
  return { fanIn: receptive * shape[shape.length - 2]!, fanOut: receptive * shape[shape.length - 1]! };
}

export function checkInitializer(init: unknown, where: string): Initializer {
  const named = ["heNormal", "heUniform", "glorotUniform", "glorotNormal", "lecunNormal", "zeros", "ones"];
  if (typeof init === "string" && named.includes(init)) return init as Initializer;
  if (typeof init === "object" && init !== null && "type" in init) {
    const o = init as Record<string, unknown>;
    const num = (k: string) => typeof o[k] === "number" && Number.isFinite(o[k]);
    // only the type's own keys (a misspelt one, e.g. stdev, would be ignored), and values that draw something
    const keys = (...ks: string[]) => Object.keys(o).every((k) => k === "type" || ks.includes(k));
    if (o.type === "gaussian" && keys("std", "mean") && num("std") && (o.std as number) >= 0 && (o.mean === undefined || num("mean"))) return init as Initializer;
    if (o.type === "uniform" && keys("min", "max") && num("min") && num("max") && (o.min as number) <= (o.max as number)) return init as Initializer;
    if (o.type === "constant" && keys("value") && num("value")) return init as Initializer;
  }
  throw new ConfigError(`${where}: unknown initializer ${show(init)} (${named.join(", ")}, {type: "gaussian", std >= 0, mean?}, {type: "uniform", min <= max}, {type: "constant", value})`);
}

/** What an initialiser draws for a parameter of `shape`: normals, uniforms, or one value (no draws). */
type Draw = { normal: { mean: number; std: number } } | { uniform: { lo: number; hi: number } } | { value: number };

function drawOf(init: Initializer, shape: readonly number[]): Draw {
  const { fanIn, fanOut } = fans(shape);
  const normal = (std: number, mean = 0): Draw => ({ normal: { mean, std } });
  const uniform = (lo: number, hi: number): Draw => ({ uniform: { lo, hi } });
  if (typeof init === "string") {
    switch (init) {
      case "heNormal": return normal(Math.sqrt(2 / fanIn));
      case "heUniform": { const l = Math.sqrt(6 / fanIn); return uniform(-l, l); }
      case "glorotNormal": return normal(Math.sqrt(2 / (fanIn + fanOut)));
      case "glorotUniform": { const l = Math.sqrt(6 / (fanIn + fanOut)); return uniform(-l, l); }
      case "lecunNormal": return normal(Math.sqrt(1 / fanIn));
      case "zeros": return { value: 0 };
      case "ones": return { value: 1 };
    }
  }
  switch (init.type) {
    case "gaussian": return normal(init.std, init.mean ?? 0);
    case "uniform": return uniform(init.min, init.max);
    case "constant": return { value: init.value };
  }
}

/** Fills `out` (a parameter of `shape`) from the initialiser. */
export function initialize(init: Initializer, shape: readonly number[], out: Float32Array, rng: Rng): void {
  const d = drawOf(init, shape);
  if ("normal" in d) rng.fillNormal(out, d.normal.mean, d.normal.std);
  else if ("uniform" in d) {
    const { lo, hi } = d.uniform;
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * rng.uniform();
  } else out.fill(d.value);
}

/**
 * Moves `rng` on as initialize() of `count` values would, without their values: a parameter a
 * loader sets from a file (the draws after it stay those they always were).
 */
export function skipInitialize(init: Initializer, shape: readonly number[], count: number, rng: Rng): void {
  const d = drawOf(init, shape);
  if ("normal" in d) rng.skipNormal(count);
  else if ("uniform" in d) rng.skipUniform(count);
}
