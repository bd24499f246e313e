// The tfjs peer of `fovea bench` (the same model and weights on TensorFlow.js ops, backend wasm)
// computes what fovea computes — otherwise its column in the benchmark would compare different work.
import { beforeAll, describe, expect, it } from "vitest";
import { tfjsPeer, type Tf } from "../bench/lib/tfjs-peer.mjs";
import * as fovea from "../src/index.js";

const { layers: L } = fovea;
let tf: Tf;

beforeAll(async () => {
  await fovea.init({ build: "simd", threads: 1 });
  tf = await import("@tensorflow/tfjs");
  await import("@tensorflow/tfjs-backend-wasm");
  await tf.setBackend("wasm");
  await tf.ready();
});

function trained(m: fovea.Model) {
  m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.01, momentum: 0.9 }) });
  const x = Float32Array.from({ length: 8 * m.inputSize }, (_, i) => Math.cos(i * 0.13));
  m.fit(x, Array.from({ length: 8 }, (_, i) => i % m.outputSize), { epochs: 2 }); // moving statistics move
  // and every bias, scale and shift away from its initial 0 / 1, so a wrong fold cannot hide
  m.setWeights(m.getWeights().map((w) => ({ ...w, values: w.values.map((v, i) => (w.name === "movingVariance" ? v + 0.5 + 0.4 * Math.sin(i) : v + 0.3 * Math.sin(i * 1.7 + w.name.length))) })));
  return m;
}

function compare(m: fovea.Model, n: number) {
  const x = Float32Array.from({ length: n * m.inputSize }, (_, i) => Math.sin(i * 0.31) + 0.2 * Math.cos(i * 0.07));
  m.compile({ batchSize: n });
  const want = m.predict(x);
  const peer = tfjsPeer(m, tf);
  const got = peer.run(x, n);
  peer.dispose();
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(Math.abs(want[i]!), 1e-3));
  expect(worst).toBeLessThanOrEqual(1e-4);
}

describe("tfjs peer (tfjs-backend-wasm) computes fovea's outputs", () => {
  it("a trained residual + inception block: batch norms folded, ReLU/ReLU6 fused, depthwise, grouped conv, concat", () => {
    const inp = fovea.input([11, 9, 4]);
    const a = L.conv2d({ filters: 8, kernelSize: 3, padding: "same", useBias: false }).apply(inp);
    const b = L.relu().apply(L.batchNorm().apply(a));
    const c = L.conv2d({ filters: 8, kernelSize: 3, padding: 1, groups: 2 }).apply(b);
    const s = L.add().apply(c, a);
    const d = L.depthwiseConv2d({ kernelSize: 3, padding: 1, depthMultiplier: 2, activation: "relu6" }).apply(s);
    const e = L.relu6().apply(L.batchNorm().apply(L.conv2d({ filters: 4, kernelSize: 1, strides: 2, rounding: "ceil" }).apply(s)));
    const p = L.maxPool2d({ poolSize: 3, strides: 2, padding: 1, rounding: "ceil" }).apply(s);
    const cat = L.concat().apply(L.maxPool2d({ poolSize: 2, rounding: "ceil" }).apply(d), e, p);
    const g = L.globalAvgPool2d().apply(L.batchNorm().apply(cat));
    const out = L.softmax().apply(L.dense({ units: 5 }).apply(L.dropout({ rate: 0.3 }).apply(g)));
    const m = trained(fovea.model({ inputs: inp, outputs: out, seed: 3 }));
    compare(m, 3);
    m.free();
  });

  it("strided/dilated convs, average pooling with padding counted, LRN, maxout, other activations, flatten before dense", () => {
    const m = trained(fovea.sequential([
      L.conv2d({ filters: 6, kernelSize: 3, strides: 2, activation: "none" }), L.leakyRelu({ alpha: 0.2 }),
      L.avgPool2d({ poolSize: 3, strides: 2, padding: 1, countIncludePad: true }), L.lrn({ size: 3 }),
      L.conv2d({ filters: 6, kernelSize: 2, dilation: 2, padding: [1, 0, 0, 1] }), L.elu({ alpha: 0.5 }), L.maxout({ pieces: 2 }),
      L.avgPool2d({ poolSize: 2, rounding: "floor" }), L.tanh(), L.flatten(), L.dense({ units: 8 }), L.batchNorm(), L.sigmoid(), L.dense({ units: 3 }), L.logSoftmax(),
    ], { inputShape: [23, 19, 2], seed: 4 }));
    compare(m, 2);
    m.free();
  });

  it("the zoo's MobileNetV2 (224², 10 classes)", () => {
    const m = fovea.zoo.mobilenetV2({ seed: 5, classes: 10 });
    compare(m, 1);
    m.free();
  });

  it("average pooling that excludes padding, with ceil rounding; what tfjs cannot express is a ConfigError naming the layer", () => {
    const m = fovea.sequential([L.avgPool2d({ poolSize: 3, strides: 2, padding: 1, rounding: "ceil" }), L.avgPool2d({ poolSize: 2, rounding: "ceil", countIncludePad: true })], { inputShape: [10, 8, 3] });
    compare(m, 2);
    m.free();
    const e = fovea.sequential([L.lrn({ size: 4, name: "n4" })], { inputShape: [3, 3, 6] });
    expect(() => tfjsPeer(e, tf)).toThrow('tfjs peer: layer lrn "n4": an even LRN window (size 4) has no tfjs equivalent');
    e.free();
  });
});
