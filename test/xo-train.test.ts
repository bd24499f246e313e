// The lecture's X/O problem as a learning task: a small ConvNet learns to tell X images from O
// images (shifted, scaled, rotated variants) and gets every held-out variant right.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";

const { layers: L, train: T } = fovea;
const S = 16;

/** One ±1 image of an X (two crossing strokes) or an O (a ring), transformed. */
function draw(kind: "X" | "O", rng: fovea.Rng): Float32Array {
  const img = new Float32Array(S * S).fill(-1);
  const scale = 0.7 + 0.4 * rng.uniform(), angle = ((rng.uniform() - 0.5) * 40 * Math.PI) / 180;
  const cx = S / 2 + (rng.uniform() - 0.5) * 4, cy = S / 2 + (rng.uniform() - 0.5) * 4;
  const r = 5.5 * scale, thick = 0.9;
  for (let i = 0; i < S; i++) for (let j = 0; j < S; j++) {
    // pixel centre in the shape's own frame
    const dx = j + 0.5 - cx, dy = i + 0.5 - cy;
    const u = Math.cos(angle) * dx + Math.sin(angle) * dy, v = -Math.sin(angle) * dx + Math.cos(angle) * dy;
    let on: boolean;
    if (kind === "O") on = Math.abs(Math.hypot(u, v) - r) < thick;
    else on = Math.max(Math.abs(u), Math.abs(v)) < r && (Math.abs(u - v) < thick * 1.4 || Math.abs(u + v) < thick * 1.4);
    if (on) img[i * S + j] = 1;
  }
  return img;
}

function dataset(n: number, seed: number) {
  const rng = new fovea.Rng(seed);
  const x = new Float32Array(n * S * S), y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % 2;
    x.set(draw(y[i] ? "O" : "X", rng), i * S * S);
  }
  return { x, y };
}

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

describe("X/O learning", () => {
  it("learns X vs O and classifies every held-out variant correctly", () => {
    const train = dataset(240, 1), test = dataset(120, 999);
    const m = fovea.sequential([
      L.conv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu" }), L.maxPool2d({ poolSize: 2 }),
      L.conv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu" }), L.maxPool2d({ poolSize: 2 }),
      L.flatten(), L.dense({ units: 2 }), L.softmax(),
    ], { inputShape: [S, S, 1], seed: 2 });
    m.compile({ batchSize: 16, loss: "softmaxCrossEntropy", optimizer: T.adam({ lr: 0.01 }) });
    m.fit(train.x, train.y, { epochs: 12 });
    const r = m.evaluate(test.x, test.y);
    expect(r.accuracy).toBe(1);
    m.free();
  });
});
