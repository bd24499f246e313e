// The demo's training worker: a small CNN trained on 1,500 MNIST digits (mnist-1500.png, loaded
// with fovea.data.loadImage: fetch + the browser's decoder), on fovea's thread pool: this
// worker is the pool's caller, so it may block while the pool's workers run their parts. Tells the
// page each batch's loss and, every few batches, the first layer's filters.
//
// In your project: import * as fovea from "fovea".
import * as fovea from "../../dist/index.js";

const TRAIN = 1300, PER_ROW = 50, S = 28;
let model = null;

const data = (async () => {
  await fovea.init();
  const labels = await (await fetch(new URL("./mnist-1500-labels.json", import.meta.url))).json();
  const rows = Math.ceil(labels.length / PER_ROW);
  const sheet = await fovea.data.loadImage(new URL("./mnist-1500.png", import.meta.url), [rows * S, PER_ROW * S, 1]);
  // the sheet's tiles, one digit each, as N×28×28×1
  const x = new Float32Array(labels.length * S * S);
  for (let i = 0; i < labels.length; i++) {
    const r = Math.floor(i / PER_ROW), c = i % PER_ROW;
    for (let y = 0; y < S; y++) {
      const from = (r * S + y) * PER_ROW * S + c * S;
      x.set(sheet.subarray(from, from + S), (i * S + y) * S);
    }
  }
  postMessage({ type: "ready", info: fovea.backendInfo(), examples: labels.length, train: TRAIN });
  return { x, y: Int32Array.from(labels) };
})();
data.catch((e) => postMessage({ type: "error", message: `loading the digits: ${e.name}: ${e.message}` }));

onmessage = ({ data: m }) => {
  if (m.type === "train") train(m.epochs).catch((e) => postMessage({ type: "error", message: `training: ${e.name}: ${e.message}` }));
  if (m.type === "guess" && model) postMessage({ type: "guess", id: m.id, probs: Array.from(model.predict(m.x)) });
};

function filters() {
  const w = model.getWeights().find((p) => p.layer === "conv1" && p.name === "kernel");
  return { shape: w.shape, values: w.values };
}

async function train(epochs) {
  const { x, y } = await data;
  model?.free();
  const L = fovea.layers;
  model = fovea.sequential([
    L.conv2d({ filters: 8, kernelSize: 5, padding: "same", activation: "relu", name: "conv1" }),
    L.maxPool2d({ poolSize: 2 }),
    L.conv2d({ filters: 16, kernelSize: 5, activation: "relu", name: "conv2" }),
    L.maxPool2d({ poolSize: 2 }),
    L.flatten(),
    L.dense({ units: 10 }),
    L.softmax(),
  ], { inputShape: [S, S, 1], seed: 7 });
  model.compile({ batchSize: 32, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam({ lr: 0.002 }) });
  postMessage({ type: "progress", epoch: 0, epochs, batch: 0, batches: 0, loss: model.evaluate(x.subarray(0, TRAIN * S * S), y.subarray(0, TRAIN)).loss, filters: filters() });
  const t0 = performance.now();
  // fitAsync: between batches this worker reads its messages (a digit to guess while it trains)
  await model.fitAsync(x.subarray(0, TRAIN * S * S), y.subarray(0, TRAIN), {
    epochs,
    validationData: [x.subarray(TRAIN * S * S), y.subarray(TRAIN)],
    onProgress(e) {
      if (e.type === "epoch") return postMessage({ type: "epoch", logs: e.logs });
      postMessage({ type: "progress", epoch: e.epoch, epochs: e.epochs, batch: e.batch, batches: e.batches, loss: e.loss, filters: e.batch % 5 === 0 || e.batch === e.batches ? filters() : null });
    },
  });
  postMessage({ type: "done", seconds: (performance.now() - t0) / 1000 });
}
