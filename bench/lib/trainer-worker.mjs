// A worker that trains its own LeNet-5 on a one-thread backend of its own (the threads suite's
// "independent trainers" case): each message n runs n training steps, batch 64, and is answered
// when they are done. It shares nothing with any other thread: no memory, no weights, no data.
import { parentPort, workerData } from "node:worker_threads";
import * as fovea from "../../dist/index.js";
import { benchBackend } from "./harness.mjs";
import { NETS, batchData } from "./nets.mjs";

const net = NETS[workerData.net];
const be = await benchBackend(workerData.build, 1, 64);
const m = fovea.withBackend(be, () => net.fovea(1));
m.compile({ batchSize: 64, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.01, momentum: 0.9 }) });
const { x, y } = batchData(64, net.inputShape);
// warmed here as the suite warms a fresh backend (2 s): a new worker compiles the wasm anew
const t0 = performance.now();
do m.trainOnBatch(x, y); while (performance.now() - t0 < 2000);
parentPort.on("message", (n) => {
  for (let i = 0; i < n; i++) m.trainOnBatch(x, y);
  parentPort.postMessage(n);
});
parentPort.postMessage("ready");
