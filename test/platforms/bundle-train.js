// Entry for the bundler test: named imports only, so the bundler tree-shakes what it can; the
// training methods that train/ adds to Model must survive it (package.json "sideEffects").
import { init, layers, sequential, train } from "../../dist/index.js";
await init({ threads: 1 });
const m = sequential([layers.dense({ units: 2 })], { inputShape: [3], seed: 1 });
m.compile({ batchSize: 2, loss: "softmaxCrossEntropy", optimizer: train.sgd({ lr: 0.1 }) });
const x = Float32Array.from([1, 0, 0, 0, 1, 0]);
const before = m.evaluate(x, [0, 1]).loss;
const h = m.fit(x, [0, 1], { epochs: 3 });
console.log(JSON.stringify({ epochs: h.epochs.length, step: m.step, before, after: m.evaluate(x, [0, 1]).loss }));
