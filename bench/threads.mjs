// `npm run bench -- threads [--threads N]`: how much N threads (2 where --threads is not given or
// 1) speed fovea up over one, measured as paired rounds in one process. The one-thread side loads
// the single-threaded build (what a user without threads gets), the other the -mt build (but for
// the independent trainers: one or N workers, each on a single-threaded backend of its own; their
// N-thread time is the wall time per step of all N together). Each round times the same model on a one-thread
// backend and on an N-thread one, back to back in alternating order, and the suite reports each
// side's median and the median of the rounds' ratios (one-thread time / N-thread time) with its
// quartiles. The machine's speed drifts over seconds to minutes; separate runs on one and on N
// threads, minutes apart, gave ratios that moved by 10% and more, where pairs a fraction of a
// second apart share the drift. Cases: LeNet-5 and the ConvNetJS CIFAR-10 net training and
// inference at batch 64, N independent LeNet-5 trainers against one (workers that share nothing:
// what the machine gives a job of that size at that moment), the zoo's ResNet-18 and MobileNetV2 at 224²,
// batch 1, and any ONNX file in --onnx DIR (batch 1). Beside each case it prints the round trip of a value between two
// threads before and after its rounds (lib/pairing.mjs): on a shared or virtual machine it says how
// far apart the two cores were (docs/threads.md: the "slow pairing"). Each round is
// tagged by a round trip timed just before it, under 150 ns "fast", over 300 ns "slow", and the
// median ratio of each pairing's rounds is printed too (the machine switches between them for
// seconds to minutes, so one case's rounds may fall in both). Each ONNX file is also timed the same
// way on onnxruntime-node (native, 1 and N intra-op threads) right after fovea's rounds of it, when
// that peer is installed: how native code scales on the same cores in the same minutes.
import * as fovea from "../dist/index.js";
import { record, benchBackend } from "./lib/harness.mjs";
import { foveaRunner, loadOrtNode, ortRunner } from "./lib/engines.mjs";
import { NETS, batchData } from "./lib/nets.mjs";
import { pairingProbe } from "./lib/pairing.mjs";
import { Worker } from "node:worker_threads";

const med = (a) => [...a].sort((p, q) => p - q)[a.length >> 1];
const pause = () => new Promise((r) => setTimeout(r, 5)); // an N-thread run's workers stop watching for work before the next run
/** n calls of a runner (lib/engines.mjs): onnxruntime's run is a promise, awaited one at a time; `many(n)` takes all n at once (the independent trainers). */
const runs = async (s, n) => {
  if (s.many) await s.many(n);
  else if (s.async) for (let c = 0; c < n; c++) await s.run();
  else for (let c = 0; c < n; c++) s.run();
};

export async function runThreads({ quick, builds, threads, onnxDir, log }) {
  const N = threads > 1 ? threads : 2;
  const rounds = quick ? 7 : 21, roundMs = quick ? 60 : 150;
  const cases = [];
  for (const [name, net] of Object.entries(NETS)) {
    const { x, y } = batchData(64, net.inputShape);
    cases.push({
      kase: `train ${name}`, batch: 64,
      make: (be) => {
        const m = fovea.withBackend(be, () => net.fovea(1));
        m.compile({ batchSize: 64, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.01, momentum: 0.9 }) });
        return { run: () => m.trainOnBatch(x, y), async: false, dispose: async () => m.free() };
      },
    });
    cases.push({
      kase: `infer ${name}`, batch: 64,
      make: (be) => foveaRunner(fovea.withBackend(be, () => net.fovea(1)), x, 64),
    });
  }
  // What the machine gives a job that hands nothing over: N trainers that share nothing — each a worker training its
  // own LeNet-5 on a one-thread backend of its own, as in the case above — all at once, against one
  // of them alone. A round's steps are split evenly between the N, so the ratio is N trainers'
  // throughput over one's. The cases above hand weights, activations and gradients between their
  // threads; these hand nothing over, and what they fall short of N is the host's, for a job of
  // LeNet-5's size in those minutes (docs/threads.md).
  cases.push({
    kase: "train lenet5, independent trainers", batch: 64,
    make: async (_be, threads, build) => {
      // each worker answers its start ("ready") and then every request in turn: one waiter at a time
      const workers = Array.from({ length: threads }, () => {
        const w = new Worker(new URL("./lib/trainer-worker.mjs", import.meta.url), { workerData: { build, net: "lenet5" } });
        let waiter = null, failed = null;
        const fail = (e) => { failed = e; const p = waiter; waiter = null; p?.reject(e); };
        w.on("message", () => { const p = waiter; waiter = null; p?.resolve(); });
        w.on("error", fail);
        w.on("exit", (code) => fail(new Error(`bench: an independent trainer exited (code ${code})`)));
        const next = () => new Promise((resolve, reject) => { if (failed) reject(failed); else waiter = { resolve, reject }; });
        return { w, ready: next(), steps: (n) => { const p = next(); w.postMessage(n); return p; } };
      });
      await Promise.all(workers.map((k) => k.ready));
      return {
        many: async (n) => { await Promise.all(workers.map((k) => k.steps(Math.ceil(n / threads)))); },
        dispose: async () => { await Promise.all(workers.map((k) => k.w.terminate())); },
      };
    },
  });
  const ortn = onnxDir ? await loadOrtNode() : null;
  if (ortn?.error) log(`  (${ortn.error}: the ONNX files on fovea only)`);
  const big = [["resnet18 224²", (be) => fovea.withBackend(be, () => fovea.zoo.resnet18({ seed: 1 }))], ["mobilenetv2 224²", (be) => fovea.withBackend(be, () => fovea.zoo.mobilenetV2({ seed: 1 }))]];
  if (onnxDir) {
    const { readdirSync, readFileSync } = await import("node:fs");
    for (const file of readdirSync(onnxDir).filter((f) => f.endsWith(".onnx")).sort()) {
      const bytes = new Uint8Array(readFileSync(`${onnxDir}/${file}`));
      big.push([`onnx ${file}`, (be) => fovea.importOnnx(bytes, { source: file, backend: be }), bytes]);
    }
  }
  for (const [kase, load, bytes] of big) {
    cases.push({
      kase, batch: 1,
      make: async (be) => {
        const m = await load(be);
        return foveaRunner(m, batchData(1, [...m.inputShape]).x, 1);
      },
    });
    if (bytes && ortn && !ortn.error) {
      cases.push({
        kase, batch: 1, engine: "ort-node",
        // the file's own input shape (a symbolic batch as 1), on 1 or N intra-op threads
        make: async (_be, threads) => {
          const meta = await ortn.ort.InferenceSession.create(bytes);
          const dims = meta.inputMetadata[0].shape.map((d) => (typeof d === "number" ? d : 1));
          await meta.release?.();
          return ortRunner(ortn.ort, "ort-node", threads, bytes, batchData(1, dims.slice(1)).x, dims);
        },
      });
    }
  }
  const records = [];
  const probe = pairingProbe();
  try {
  for (const build of builds) {
    const backends = [await benchBackend(build, 1, 64), await benchBackend(build, N, 64)];
    if (backends[1].threads !== N) throw new Error(`bench: asked for ${N} threads, the ${build} backend has ${backends[1].threads}`);
    let fresh = true;
    for (const { kase, batch, make, engine = "fovea" } of cases) {
      // the native peer does not depend on fovea's build: timed with the first
      if (engine !== "fovea" && build !== builds[0]) continue;
      const sides = [];
      for (const be of backends) sides.push({ ...(await make(be, be.threads, build)), t: [] });
      // warm both (new backends for 2 s: with 150 ms, the first case's N-thread side ran 1.3x
      // slower over all its rounds), then calls per round: about roundMs on one thread
      for (const s of sides) {
        const t0 = performance.now();
        do await runs(s, 1); while (performance.now() - t0 < (fresh ? 2000 : roundMs));
      }
      fresh = false;
      const t0 = performance.now();
      await runs(sides[0], 1);
      // (the independent trainers split a round's calls evenly: a multiple of N for them)
      const per = sides[0].many ? N : 1;
      const calls = per * Math.max(1, Math.round(roundMs / (per * (performance.now() - t0))));
      await pause();
      const tripBefore = probe.roundTripNs();
      const ratios = [], byPairing = { fast: [], slow: [] };
      for (let r = 0; r < rounds; r++) {
        const trip = probe.roundTripNs(2);
        const v = [0, 0];
        for (const i of r % 2 ? [1, 0] : [0, 1]) {
          await pause();
          const s = sides[i], a = performance.now();
          await runs(s, calls);
          s.t.push((v[i] = (performance.now() - a) / calls));
        }
        ratios.push(v[0] / v[1]);
        if (trip < 150) byPairing.fast.push(v[0] / v[1]);
        else if (trip > 300) byPairing.slow.push(v[0] / v[1]);
      }
      const q = [...ratios].sort((p, r) => p - r), lo = q[rounds >> 2], hi = q[(3 * rounds) >> 2];
      await pause();
      const tripAfter = probe.roundTripNs();
      const pairings = Object.entries(byPairing).filter(([, q]) => q.length).map(([k, q]) => `${k} pairing ${med(q).toFixed(2)}x over ${q.length}`).join(", ");
      const note = `${N} threads over 1: ${med(ratios).toFixed(2)}x (quartiles ${lo.toFixed(2)}–${hi.toFixed(2)}, ${rounds} paired rounds; ${pairings || "no round in either pairing"}; threads' round trip ${tripBefore.toFixed(0)} ns before, ${tripAfter.toFixed(0)} after)`;
      const fov = engine === "fovea";
      sides.forEach((s, i) => records.push(record({ suite: "threads", kase: `${kase} ×${backends[i].threads}`, engine, build: fov ? build : "native", threads: backends[i].threads, batch, median_ms: med(s.t), images: batch, ...(i ? { note } : {}) })));
      log(`  ${kase} b${batch} ${fov ? `fovea-${build}` : engine}: 1 thread ${med(sides[0].t).toFixed(3)} ms, ${N} threads ${med(sides[1].t).toFixed(3)} ms; ${note}`);
      for (const s of sides) await s.dispose();
    }
  }
  } finally {
    probe.close();
  }
  return { records, peers: records.some((r) => r.engine === "ort-node") ? ["ort-node"] : [] };
}
