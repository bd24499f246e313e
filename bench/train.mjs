// `npm run bench -- train`: training images/second (forward + backward + update, batch 64) of
// LeNet-5 and the ConvNetJS CIFAR-10 net: fovea against convnetjs (plain JS) and tfjs-layers on
// the cpu backend; tfjs-backend-wasm is tried too and its error recorded (it cannot train a CNN).
// `npm run bench -- pipeline`: the main job's pipeline, fit() with its distortions against bare
// trainOnBatch calls over the same MNIST images (lenet5-bn, batch 64), in alternating epochs of one
// process (a suite of its own: the train suite's peers take minutes).
import * as fovea from "../dist/index.js";
import { measure, record, benchBackend } from "./lib/harness.mjs";
import { NETS, batchData } from "./lib/nets.mjs";
import { loadConvnetjs, loadTfjs } from "./lib/peers.mjs";


export async function runTrain({ quick, builds, threads, log }) {
  const records = [];
  const batch = 64;
  const peers = [];
  const convnetjs = loadConvnetjs(log);
  if (convnetjs) peers.push("convnetjs");
  const tf = await loadTfjs(log);
  if (tf) peers.push("tfjs-cpu", "tfjs-wasm");
  for (const [name, net] of Object.entries(NETS)) {
    const kase = `train ${name}`;
    const { x, y, per } = batchData(batch, net.inputShape);
    for (const build of builds) {
      const be = await benchBackend(build, threads);
      // run the model on this build's backend
      const m = fovea.withBackend(be, () => net.fovea(1));
      m.compile({ batchSize: batch, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.01, momentum: 0.9 }) });
      const r = await measure(() => m.trainOnBatch(x, y), { quick });
      records.push(record({ suite: "train", kase, engine: "fovea", build, threads: be.threads, batch, median_ms: r.median_ms, images: batch }));
      log(`  ${kase} fovea-${build} ${(batch / r.median_ms * 1000).toFixed(0)} img/s`);
      m.free();
    }
    if (convnetjs) {
      const cn = new convnetjs.Net();
      cn.makeLayers(structuredClone(net.convnetjs));
      const trainer = new convnetjs.SGDTrainer(cn, { method: "sgd", learning_rate: 0.01, momentum: 0.9, batch_size: batch, l2_decay: 0 });
      const [H, W, C] = net.inputShape;
      const vols = Array.from({ length: batch }, (_, i) => {
        const v = new convnetjs.Vol(W, H, C, 0);
        v.w.set(x.subarray(i * per, (i + 1) * per)); // same values (convnetjs stores x-major, it does not matter for speed)
        return v;
      });
      const r = await measure(() => { for (let i = 0; i < batch; i++) trainer.train(vols[i], y[i]); }, { quick: true });
      records.push(record({ suite: "train", kase, engine: "convnetjs", build: "js", threads: 1, batch, median_ms: r.median_ms, images: batch }));
      log(`  ${kase} convnetjs ${(batch / r.median_ms * 1000).toFixed(0)} img/s`);
    }
    if (tf) {
      for (const backend of ["cpu", "wasm"]) {
        await tf.setBackend(backend);
        await tf.ready();
        const model = net.tfjs(tf);
        model.compile({ optimizer: tf.train.momentum(0.01, 0.9), loss: "sparseCategoricalCrossentropy" });
        const xs = tf.tensor4d(x, [batch, ...net.inputShape]), ys = tf.tensor1d(Float32Array.from(y));
        const engine = `tfjs-${backend}`;
        try {
          await model.trainOnBatch(xs, ys);
          const r = await measure(() => model.trainOnBatch(xs, ys), { quick: true, async: true });
          records.push(record({ suite: "train", kase, engine, build: backend, threads: 1, batch, median_ms: r.median_ms, images: batch }));
          log(`  ${kase} ${engine} ${(batch / r.median_ms * 1000).toFixed(1)} img/s`);
        } catch (e) {
          const note = `throws: ${e.message.split("\n")[0]}`;
          records.push(record({ suite: "train", kase, engine, build: backend, batch, note }));
          log(`  ${kase} ${engine} ${note}`);
        }
        xs.dispose();
        ys.dispose();
        model.dispose();
      }
    }
  }
  return { records, peers };
}

/**
 * What `npm start`'s pipeline adds to the bare training step: rounds of 20 batches (1,280 MNIST
 * images) through fit() with the main job's affine distortions (the batches gathered in shuffled
 * order, the warp, the step's bookkeeping) against trainOnBatch over the same images in order,
 * the two alternating, median of the paired ratios over 48 rounds (16 with --quick). The machine's speed drifts over
 * seconds: rounds this short pair well, where whole epochs did not (paired epochs of 12,800
 * images gave medians of 1.04–1.29 for one build within minutes).
 */
export async function runPipeline({ quick, builds, threads, log }) {
  const { RECIPES } = await import("../dist/cli/train.js");
  const full = await fovea.data.loadMnist(await fovea.data.mnistDataDir(), "train");
  const n = 1280, x = full.x.subarray(0, n * 784), y = full.y.subarray(0, n);
  const records = [];
  for (const build of builds) {
    const be = await benchBackend(build, threads);
    const m = fovea.withBackend(be, () => fovea.zoo.lenet5Bn({ seed: 1 }));
    m.compile({ batchSize: 64, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.05, momentum: 0.9 }), labelSmoothing: 0.1 });
    const aug = fovea.data.augmenter(be, full.shape, RECIPES.mnist.augment);
    const fit = () => m.fit(x, y, { epochs: 1, augment: aug });
    const bare = () => { for (let b = 0; b < n / 64; b++) m.trainOnBatch(x.subarray(b * 64 * 784, (b + 1) * 64 * 784), y.subarray(b * 64, (b + 1) * 64)); };
    const time = (f) => { const t0 = performance.now(); f(); return performance.now() - t0; };
    for (let k = 0; k < 3; k++) time(fit), time(bare);
    const t = [[], []], ratio = [];
    for (let k = 0; k < (quick ? 16 : 48); k++) {
      const v = [];
      for (const i of k % 2 ? [1, 0] : [0, 1]) t[i].push((v[i] = time(i ? bare : fit)));
      ratio.push(v[0] / v[1]);
    }
    const sorted = [...ratio].sort((p, q) => p - q), med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
    const note = `fit()/bare step time, median of ${ratio.length} paired rounds of ${n / 64} batches: ${med(ratio).toFixed(3)} (quartiles ${sorted[ratio.length >> 2].toFixed(2)}–${sorted[(3 * ratio.length) >> 2].toFixed(2)})`;
    records.push(record({ suite: "pipeline", kase: "pipeline lenet5-bn fit+distortions", engine: "fovea", build, threads: be.threads, batch: 64, median_ms: med(t[0]) / (n / 64), images: 64, note }));
    records.push(record({ suite: "pipeline", kase: "pipeline lenet5-bn bare trainOnBatch", engine: "fovea", build, threads: be.threads, batch: 64, median_ms: med(t[1]) / (n / 64), images: 64 }));
    log(`  pipeline lenet5-bn fovea-${build}: fit+distortions ${(n / (med(t[0]) / 1000)).toFixed(0)} img/s, bare ${(n / (med(t[1]) / 1000)).toFixed(0)} img/s; ${note}`);
    aug.free();
    m.free();
  }
  return { records, peers: [] };
}
