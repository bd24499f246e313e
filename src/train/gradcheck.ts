// gradCheck: analytic gradients of a whole model against central differences of its loss.
import { ConfigError, checkOptionKeys, checkModel } from "../errors.js";
import type { ExampleData, Model } from "../model/model.js";
import { counted, updated } from "../layers/layer.js";

export interface GradCheckResult {
  /** Per parameter: layer, name, relative error ‖g − n‖₂ / (‖g‖₂ + ‖n‖₂) over the checked entries. */
  params: { layer: string; param: string; relError: number; absError: number; checked: number }[];
  /** The worst relative error. */
  maxRelError: number;
}

/**
 * Compares the backward pass with central differences (step h) of the model's mean loss on
 * (x, y), for up to `samples` entries of every trainable parameter. Use smooth activations
 * and inputs away from kinks for tight results; float32 forward passes limit the agreement
 * to about 1e-3 relative with h = 1e-2. Every loss it evaluates draws the same dropout masks (the
 * model's RNG is rewound to where it was before each), and it leaves the RNG as one step would.
 */
export function gradCheck(model: Model, x: ExampleData, y: ArrayLike<number>, options: { h?: number; samples?: number; seed?: number } = {}): GradCheckResult {
  checkModel(model, "gradCheck");
  checkOptionKeys("gradCheck", options, ["h", "samples", "seed"]);
  const h = options.h ?? 1e-2, samples = options.samples ?? 20;
  if (!model.loss) throw new ConfigError("gradCheck: compile({ loss }) first");
  if (!model.params.some(updated)) throw new ConfigError(`gradCheck: model "${model.name}" has no parameter that learns (every trainable one is frozen, or there are none): nothing to check`);
  const { data, n } = model.examples(x, "gradCheck");
  const t = model.targets(y, n, "gradCheck");
  const heap = model.backend.heap;
  // one set of dropout masks for every evaluation: otherwise the differences compare two networks
  const draws = model.rng.state();
  const loss = () => {
    model.rng.setState(draws);
    return model.computeGradients(data, t, 0, n);
  };
  loss();
  const analytic = model.params.map((p) => heap.f32(p.g, p.size).slice());
  const pick = (size: number, seed: number) => {
    const idx: number[] = [];
    for (let i = 0; i < Math.min(samples, size); i++) idx.push(size <= samples ? i : Math.floor(((i * 2654435761 + seed) >>> 0) % size));
    return idx;
  };
  const result: GradCheckResult = { params: [], maxRelError: 0 };
  let pi = 0;
  for (const node of model.nodes) {
    for (const p of node.params) {
      const g = analytic[pi++]!;
      if (!updated(p)) continue; // (a frozen parameter gets no gradient: the plan's backward skips what only it would need)
      if (!counted(p)) continue; // a tied group is one tensor: checked once, at its first copy, every copy moved
      let diff = 0, gn = 0, nn = 0;
      const idx = pick(p.size, options.seed ?? 7);
      const set = (i: number, v: number) => { for (const q of p.tied ?? [p]) heap.f32(q.w, q.size)[i] = v; };
      for (const i of idx) {
        const orig = heap.f32(p.w, p.size)[i]!;
        set(i, orig + h);
        const lp = loss();
        set(i, orig - h);
        const lm = loss();
        set(i, orig);
        const num = (lp - lm) / (2 * h);
        diff += (num - g[i]!) ** 2;
        gn += g[i]! ** 2;
        nn += num ** 2;
      }
      const rel = Math.sqrt(diff) / Math.max(Math.sqrt(gn) + Math.sqrt(nn), 1e-12);
      // a gradient that is truly zero (a bias feeding batch norm) has no meaningful relative error
      result.params.push({ layer: node.layer.name, param: p.spec.name, relError: rel, absError: Math.sqrt(diff / idx.length), checked: idx.length });
      result.maxRelError = Math.max(result.maxRelError, rel);
    }
  }
  loss(); // leave the true gradients in place
  return result;
}
