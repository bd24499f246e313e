// Small models and data shared by the model tests.
import { Rng } from "../../src/index.js";

export function toyImages(n: number, [H, W, C]: [number, number, number], classes: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * H * W * C);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let j = 0; j < H * W * C; j++) x[i * H * W * C + j] = rng.normal() * 0.5 + (j % classes === y[i] ? 0.8 : 0);
  }
  return { x, y };
}
