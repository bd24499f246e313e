// `npm run bench -- models`: inference images/second of whole models at batch 1 and 64:
// fovea against tfjs-layers on tfjs-backend-wasm (XNNPACK), onnxruntime-web/-node and convnetjs,
// same architectures.
import * as fovea from "../dist/index.js";
import { measure, record, benchBackend } from "./lib/harness.mjs";
import { NETS, batchData } from "./lib/nets.mjs";
import { onnxNet } from "./lib/onnx-nets.mjs";
import { loadOrtNode, ortRunner, tfjsRunner } from "./lib/engines.mjs";
import { loadConvnetjs, loadOrtWeb, loadTfjs } from "./lib/peers.mjs";

export async function runModels({ quick, builds, threads, onnxDir, log }) {
  const records = [];
  const peers = [];
  const convnetjs = loadConvnetjs(log);
  if (convnetjs) peers.push("convnetjs");
  const tf = await loadTfjs(log);
  if (tf) {
    await tf.setBackend("wasm");
    await tf.ready();
    peers.unshift("tfjs-wasm");
  }
  const ortw = await loadOrtWeb(threads);
  if (!ortw.error) peers.push("ort-web");
  const ortn = await loadOrtNode();
  const ortNode = ortn.error ? null : ortn.ort;
  if (ortNode) peers.push("ort-node");
  else log(`  ${ortn.error}`);
  for (const [name, net] of Object.entries(NETS)) {
    const onnxModel = ortw.error ? null : onnxNet(ortw.onnx, name);
    for (const batch of [1, 64]) {
      const kase = `infer ${name}`;
      const { x, per } = batchData(batch, net.inputShape);
      for (const build of builds) {
        const be = await benchBackend(build, threads);
        const m = fovea.withBackend(be, () => net.fovea(1));
        m.compile({ batchSize: batch });
        const r = await measure(() => m.predict(x), { quick });
        records.push(record({ suite: "models", kase, engine: "fovea", build, threads: be.threads, batch, median_ms: r.median_ms, images: batch }));
        log(`  ${kase} b${batch} fovea-${build} ${(batch / r.median_ms * 1000).toFixed(0)} img/s`);
        m.free();
      }
      if (tf) {
        const model = net.tfjs(tf);
        const xs = tf.tensor4d(x, [batch, ...net.inputShape]);
        // predict + dataSync: the output copied out, as fovea's predict returns it
        const r = await measure(() => { const y = model.predict(xs); y.dataSync(); y.dispose(); }, { quick });
        records.push(record({ suite: "models", kase, engine: "tfjs-wasm", build: "wasm", threads: 1, batch, median_ms: r.median_ms, images: batch }));
        xs.dispose();
        model.dispose();
      }
      if (onnxModel) {
        const xs = new Float32Array(batch * per); // NCHW: same values, the layout does not change the speed
        xs.set(x);
        for (const [engine, ort] of [["ort-web", ortw.ort], ["ort-node", ortNode]]) {
          if (!ort) continue;
          const run = await ortRunner(ort, engine, threads, onnxModel.bytes, xs, [batch, ...onnxModel.inShape]);
          const r = await measure(run.run, { quick, async: true });
          records.push(record({ suite: "models", kase, engine, build: engine === "ort-web" ? "wasm" : "native", threads, batch, median_ms: r.median_ms, images: batch }));
          await run.dispose();
        }
      }
      if (convnetjs) {
        const cn = new convnetjs.Net();
        cn.makeLayers(structuredClone(net.convnetjs));
        const [H, W, C] = net.inputShape;
        const vols = Array.from({ length: batch }, (_, i) => {
          const v = new convnetjs.Vol(W, H, C, 0);
          v.w.set(x.subarray(i * per, (i + 1) * per));
          return v;
        });
        const r = await measure(() => { for (const v of vols) cn.forward(v, false); }, { quick: true });
        records.push(record({ suite: "models", kase, engine: "convnetjs", build: "js", threads: 1, batch, median_ms: r.median_ms, images: batch }));
      }
    }
  }
  // Whole ImageNet models at 224², batch 1: the zoo's ResNet-18 and MobileNetV2 (torchvision definitions; the
  // peers get fovea's ONNX export and the same layers on tfjs ops, same weights), and any ONNX files in
  // onnxDir (e.g. torchvision's from scripts/make-onnx-fixtures.py --torchvision DIR), which fovea imports
  // and onnxruntime runs as they are.
  const big = [["resnet18 224²", (be) => fovea.withBackend(be, () => fovea.zoo.resnet18({ seed: 1 })), null, 2 * 1.814e9],
    ["mobilenetv2 224²", (be) => fovea.withBackend(be, () => fovea.zoo.mobilenetV2({ seed: 1 })), null, 2 * 0.3e9]];
  if (onnxDir) {
    const { readdirSync, readFileSync } = await import("node:fs");
    for (const file of readdirSync(onnxDir).filter((f) => f.endsWith(".onnx")).sort()) {
      const bytes = new Uint8Array(readFileSync(`${onnxDir}/${file}`));
      big.push([`onnx ${file}`, (be) => fovea.importOnnx(bytes, { source: file, backend: be }), bytes, undefined]);
    }
  }
  for (const [kase, make, file, flops] of big) {
    let m = null;
    for (const build of builds) {
      const be = await benchBackend(build, threads, 64);
      m?.free();
      m = await make(be);
      m.compile({ batchSize: 1 });
      const x = batchData(1, [...m.inputShape]).x;
      const r = await measure(() => m.predict(x), { quick: true });
      records.push(record({ suite: "models", kase, engine: "fovea", build, threads: be.threads, batch: 1, median_ms: r.median_ms, flops, images: 1 }));
      log(`  ${kase} fovea-${build} ×${be.threads} ${r.median_ms.toFixed(1)} ms`);
    }
    const x = batchData(1, [...m.inputShape]).x;
    if (tf) {
      let run = null;
      try {
        run = tfjsRunner(tf, m, x, 1);
      } catch (e) {
        // the tfjs peer has no equivalent of some layer (an imported file's): a note in the table, not a crash
        records.push(record({ suite: "models", kase, engine: "tfjs-wasm", build: "wasm", threads: 1, batch: 1, note: e.message.replace(/ "[^"]*"/g, "") }));
        log(`  ${kase} tfjs-wasm — ${e.message}`);
      }
      if (run) {
        const r = await measure(run.run, { quick: true });
        records.push(record({ suite: "models", kase, engine: "tfjs-wasm", build: "wasm", threads: 1, batch: 1, median_ms: r.median_ms, flops, images: 1 }));
        log(`  ${kase} tfjs-wasm ${r.median_ms.toFixed(1)} ms`);
        await run.dispose();
      }
    }
    const bytes = file ?? await fovea.exportOnnx(m);
    for (const [engine, ort] of [["ort-web", ortw.error ? null : ortw.ort], ["ort-node", ortNode]]) {
      if (!ort) continue;
      const run = await ortRunner(ort, engine, threads, bytes, batchData(1, [3, 224, 224]).x, [1, 3, 224, 224]);
      const r = await measure(run.run, { quick: true, async: true });
      records.push(record({ suite: "models", kase, engine, build: engine === "ort-web" ? "wasm" : "native", threads, batch: 1, median_ms: r.median_ms, flops, images: 1 }));
      log(`  ${kase} ${engine} ${r.median_ms.toFixed(1)} ms`);
      await run.dispose();
    }
    m.free();
  }
  return { records, peers };
}
