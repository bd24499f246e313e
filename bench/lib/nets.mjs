// The benchmark nets, written once per engine: LeNet-5 (28×28×1) and the ConvNetJS CIFAR-10
// net (32×32×3). Same layers, same parameter counts in every engine.
import * as fovea from "../../dist/index.js";

export const NETS = {
  lenet5: {
    inputShape: [28, 28, 1],
    fovea: (seed) => fovea.zoo.lenet5({ seed }),
    convnetjs: [
      { type: "input", out_sx: 28, out_sy: 28, out_depth: 1 },
      { type: "conv", sx: 5, filters: 6, stride: 1, pad: 2, activation: "relu" },
      { type: "pool", sx: 2, stride: 2 },
      { type: "conv", sx: 5, filters: 16, stride: 1, pad: 0, activation: "relu" },
      { type: "pool", sx: 2, stride: 2 },
      { type: "fc", num_neurons: 120, activation: "relu" },
      { type: "fc", num_neurons: 84, activation: "relu" },
      { type: "softmax", num_classes: 10 },
    ],
    tfjs: (tf) => tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, padding: "same", activation: "relu" }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.conv2d({ filters: 16, kernelSize: 5, activation: "relu" }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 120, activation: "relu" }),
        tf.layers.dense({ units: 84, activation: "relu" }),
        tf.layers.dense({ units: 10, activation: "softmax" }),
      ],
    }),
  },
  "convnetjs-cifar10": {
    inputShape: [32, 32, 3],
    fovea: (seed) => fovea.zoo.convnetjsCifar10({ seed }),
    convnetjs: [
      { type: "input", out_sx: 32, out_sy: 32, out_depth: 3 },
      { type: "conv", sx: 5, filters: 16, stride: 1, pad: 2, activation: "relu" },
      { type: "pool", sx: 2, stride: 2 },
      { type: "conv", sx: 5, filters: 20, stride: 1, pad: 2, activation: "relu" },
      { type: "pool", sx: 2, stride: 2 },
      { type: "conv", sx: 5, filters: 20, stride: 1, pad: 2, activation: "relu" },
      { type: "pool", sx: 2, stride: 2 },
      { type: "softmax", num_classes: 10 },
    ],
    tfjs: (tf) => {
      const conv = (o) => tf.layers.conv2d({ kernelSize: 5, padding: "same", activation: "relu", ...o });
      return tf.sequential({
        layers: [
          conv({ inputShape: [32, 32, 3], filters: 16 }), tf.layers.maxPooling2d({ poolSize: 2 }),
          conv({ filters: 20 }), tf.layers.maxPooling2d({ poolSize: 2 }),
          conv({ filters: 20 }), tf.layers.maxPooling2d({ poolSize: 2 }),
          tf.layers.flatten(), tf.layers.dense({ units: 10, activation: "softmax" }),
        ],
      });
    },
  },
};

/** Deterministic pseudo-images and labels. */
export function batchData(n, shape, seed = 1) {
  const per = shape.reduce((a, b) => a * b, 1);
  const x = new Float32Array(n * per);
  let s = seed >>> 0;
  for (let i = 0; i < x.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 32;
  }
  const y = Int32Array.from({ length: n }, (_, i) => i % 10);
  return { x, y, per };
}
