// fovea in Deno: train a small CNN, save it, load it back, predict — and exit on its own (the
// thread pool's idle workers never keep the process alive; no fovea.shutdown() needed).
//
//   npm run build                                        (once: the package's dist/)
//   node_modules/deno/deno run --allow-read examples/deno/main.js
//
// --allow-read lets the thread pool load its worker script; without it fovea runs on one thread
// and backendInfo().threadsReason says so. The wasm needs no permission (it is embedded).
// "fovea" resolves through package.json (this repository is the package; in your project, its
// dependency, installed from this repository or its npm pack tarball: it is not on the npm
// registry), as "npm:fovea" does there.
import * as fovea from "fovea";

await fovea.init();
const info = fovea.backendInfo();
console.log(`fovea: ${info.build} build, ${info.threads} thread${info.threads > 1 ? "s" : ""} (${info.runtime})`);

// 1. data: 16×16 grey images of one bar, horizontal (class 0), vertical (1) or diagonal (2), with noise
const S = 16, N = 600;
const rng = new fovea.Rng(42);
const x = new Float32Array(N * S * S), y = new Int32Array(N);
for (let i = 0; i < N; i++) {
  const k = (y[i] = i % 3), at = 3 + Math.floor(rng.uniform() * (S - 6)), from = Math.floor(rng.uniform() * 4), to = S - Math.floor(rng.uniform() * 4);
  const img = x.subarray(i * S * S, (i + 1) * S * S);
  for (let p = 0; p < S * S; p++) img[p] = 0.15 * rng.uniform();
  for (let t = from; t < to; t++) {
    const [r, c] = k === 0 ? [at, t] : k === 1 ? [t, at] : [t, t];
    img[r * S + c] = 1;
  }
}
const TRAIN = 480;

// 2. a small CNN, trained
const L = fovea.layers;
const model = fovea.sequential([
  L.conv2d({ filters: 8, kernelSize: 3, padding: "same", activation: "relu" }),
  L.maxPool2d({ poolSize: 2 }),
  L.conv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu" }),
  L.globalMaxPool2d(),
  L.dense({ units: 3 }),
  L.softmax(),
], { inputShape: [S, S, 1], name: "bars", seed: 3 });
model.compile({ batchSize: 32, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam({ lr: 0.01 }) });
const test = [x.subarray(TRAIN * S * S), y.subarray(TRAIN)];
model.fit(x.subarray(0, TRAIN * S * S), y.subarray(0, TRAIN), { epochs: 4, validationData: test, verbose: true });

// 3. save (bytes of the native format; fovea.data.writeBytes writes a file, with --allow-write), load, predict
const bytes = model.save();
const loaded = fovea.loadModel(bytes);
const before = model.predictClasses(test[0]), after = loaded.predictClasses(test[0]);
let same = 0, right = 0;
for (let i = 0; i < after.length; i++) {
  if (before[i] === after[i]) same++;
  if (after[i] === test[1][i]) right++;
}
console.log(`${bytes.length} bytes saved; the loaded model agrees on ${same}/${after.length} test images and gets ${right} right`);
console.log(JSON.stringify({ runtime: info.runtime, threads: info.threads, threadsReason: info.threadsReason, accuracy: right / after.length, agree: same / after.length }));
// no fovea.shutdown(): the process ends here by itself
