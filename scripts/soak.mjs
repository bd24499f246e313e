// `npm run soak`: the worker pool under a long load (not part of `npm test`).
//  1. Trains LeNet-5 and a small residual net (conv + batch norm + add) on 1, 2, 3 and 4 threads
//     from the same seed on the same batches. After one step each weight tensor must equal the
//     1-thread run's within STEP1_TOL of its scale (training runs the batch in slices, one per
//     thread, so every parameter gradient adds per-thread partial sums); after CHECK_STEPS steps,
//     within STEPN_TOL — or, where more, within twice the most that one thread's runs with each
//     batch's examples in another order (every rotation, and the reversal) differ by: the same
//     sums in another order, the rounding floor of that tensor. Measured on the residual net (batch
//     4, batch norms): the 23 other orders of its examples move a beta by 1.1e-5 to 2.6e-5 of its
//     scale after one step, and 21 of them by 4e-2 after twenty (the batches' own order runs close
//     to a discrete change — a ReLU or a pool's maximum — that almost any other rounding takes),
//     as 2, 3 and 4 threads do.
//  2. Keeps training until the pool has made --dispatches dispatches (default 1e6) per thread
//     count, the loss finite all along; prints dispatches per second.
//  3. Runs the main job (`npm start`) --main-runs times (default 3) in a row, each under a
//     timeout (--main-timeout seconds, default 600).
// Exits 1 on any difference past the tolerance, a non-finite loss, an error or a timeout.
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";

// the pool keeps its workers (no fallback to one thread): the soak counts their dispatches
process.env.FOVEA_POOL_FALLBACK ??= "0";

// the relaxed (FMA) build, as npm start runs it (Node 20: V8's flag set in this process)
const { enableRelaxedSimd } = await import("../dist/cli/relaxed.js");
await enableRelaxedSimd();

const { values: o } = parseArgs({
  options: {
    dispatches: { type: "string", default: "1e6" },
    threads: { type: "string", default: "1,2,3,4" },
    "main-runs": { type: "string", default: "3" },
    "main-timeout": { type: "string", default: "600" },
  },
});
const TARGET = Number(o.dispatches);
const THREADS = o.threads.split(",").map(Number);
const CHECK_STEPS = 20;
/** After one step: every tensor (its gradient a sum of per-thread partial sums) within this of its scale. */
const STEP1_TOL = 1e-5;
/** After CHECK_STEPS steps the rounding differences have gone through every layer and grown: within this of each tensor's scale. */
const STEPN_TOL = 1e-4;

const fovea = await import("../dist/index.js");
const { RELAXED_SIMD_PROBE } = await import("../dist/runtime/features.js");
const { layers: L } = fovea;
const build = WebAssembly.validate(RELAXED_SIMD_PROBE) ? "relaxed-mt" : "simd-mt";

function residualNet(seed) {
  const inp = fovea.input([16, 16, 3]);
  let x = L.relu().apply(L.batchNorm().apply(L.conv2d({ filters: 16, kernelSize: 3, padding: 1, useBias: false }).apply(inp)));
  for (let b = 0; b < 2; b++) {
    let y = L.relu().apply(L.batchNorm().apply(L.conv2d({ filters: 16, kernelSize: 3, padding: 1, useBias: false }).apply(x)));
    y = L.batchNorm().apply(L.conv2d({ filters: 16, kernelSize: 3, padding: 1, useBias: false }).apply(y));
    x = L.relu().apply(L.add().apply(x, y));
  }
  x = L.maxPool2d({ poolSize: 2 }).apply(x);
  let out = L.globalAvgPool2d().apply(x);
  out = L.dense({ units: 10 }).apply(out);
  return fovea.model({ inputs: inp, outputs: out, name: "residual", seed });
}

const MODELS = [
  { name: "LeNet-5", make: () => fovea.zoo.lenet5({ seed: 7, softmax: false }), shape: [28, 28, 1], batch: 8 },
  { name: "residual net", make: () => residualNet(7), shape: [16, 16, 3], batch: 4 },
];

function batches(shape, batch, count) {
  const n = shape.reduce((a, b) => a * b, 1) * batch;
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Array.from({ length: count }, () => ({ x: Float32Array.from({ length: n }, rnd), y: Int32Array.from({ length: batch }, () => Math.floor(((rnd() + 1) / 2) * 10)) }));
}

let failed = false;
const reference = new Map();
/** The batch with its examples in the order `order` (example i of the result is example order[i]). */
const reordered = ({ x, y }, order) => {
  const per = x.length / y.length, rx = new Float32Array(x.length), ry = new Int32Array(y.length);
  order.forEach((o, i) => { rx.set(x.subarray(o * per, (o + 1) * per), i * per); ry[i] = y[o]; });
  return { x: rx, y: ry };
};
/** Every rotation of a batch of n, and its reversal. */
const orders = (n) => [
  ...Array.from({ length: n - 1 }, (_, r) => Array.from({ length: n }, (_, i) => (i + r + 1) % n)),
  Array.from({ length: n }, (_, i) => n - 1 - i),
];
/** Per tensor: the largest difference from ref relative to ref's scale. */
const diffs = (w, ref) => w.map((p, i) => {
  const r = ref[i].w;
  let scale = 1e-30, diff = 0;
  for (let j = 0; j < r.length; j++) { scale = Math.max(scale, Math.abs(r[j])); diff = Math.max(diff, Math.abs(p.w[j] - r[j])); }
  return diff / scale;
});
console.log(`soak: ${build}, ${TARGET.toExponential(0)} pool dispatches per thread count, threads ${THREADS.join(", ")}`);
for (const t of THREADS) {
  const be = await fovea.loadBackend(build, "option", 64, t);
  let dispatches = 0, steps = 0, seconds = 0;
  const notes = [];
  for (const [mi, spec] of MODELS.entries()) {
    const data = batches(spec.shape, spec.batch, 8);
    fovea.withBackend(be, () => {
      const compiled = () => {
        const model = spec.make();
        model.compile({ batchSize: spec.batch, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.01, momentum: 0.9 }) });
        return model;
      };
      const weightsOf = (model) => model.params.map((p) => ({ name: `${p.spec.name}`, w: be.heap.f32(p.w, p.size).slice() }));
      const m = compiled();
      // CHECK_STEPS steps of `model`, the weights kept after the first and the last
      const trainChecked = (model, batchOf) => {
        const out = [];
        for (let k = 0; k < CHECK_STEPS; k++) {
          const d = batchOf(data[k % data.length]);
          model.trainOnBatch(d.x, d.y);
          if (k === 0 || k === CHECK_STEPS - 1) out.push(weightsOf(model));
        }
        return out;
      };
      const [w1, wN] = trainChecked(m, (d) => d);
      if (t === 1) {
        // the rounding floor: twins from the same seed, each batch's examples in another order
        const floor = [w1.map(() => 0), wN.map(() => 0)];
        for (const order of orders(spec.batch)) {
          const twin = compiled();
          trainChecked(twin, (d) => reordered(d, order)).forEach((w, k) => diffs(w, k === 0 ? w1 : wN).forEach((v, i) => { floor[k][i] = Math.max(floor[k][i], v); }));
          twin.free();
        }
        reference.set(spec.name, { w: [w1, wN], floor });
        const worst = (f) => Math.max(...f).toExponential(1);
        notes.push(`${spec.name}: one thread, each batch's examples in ${spec.batch} other orders: after 1 step within ${worst(floor[0])} of scale, after ${CHECK_STEPS} within ${worst(floor[1])}`);
      } else {
        const ref = reference.get(spec.name);
        const judge = (w, k, tol) => {
          let identical = 0, worst = 0, worstName = "", over = [];
          diffs(w, ref.w[k]).forEach((d, i) => {
            if (d === 0) identical++;
            else if (d > worst) { worst = d; worstName = `#${i} ${w[i].name}`; }
            const limit = Math.max(tol, 2 * ref.floor[k][i]);
            if (d > limit) over.push(`#${i} ${w[i].name} ${d.toExponential(1)} > ${limit.toExponential(1)}`);
          });
          return { identical, worst, worstName, of: w.length, over };
        };
        const a = judge(w1, 0, STEP1_TOL), b = judge(wN, 1, STEPN_TOL);
        if (a.over.length || b.over.length) failed = true;
        notes.push(`${spec.name}: after 1 step ${a.identical}/${a.of} tensors bit-identical to 1 thread${a.worst ? `, the rest within ${a.worst.toExponential(1)} of scale (${a.worstName})` : ""}; ` +
          `after ${CHECK_STEPS} steps largest difference ${b.worst.toExponential(1)} of scale (${b.worstName || "none"})` +
          (a.over.length || b.over.length ? `; PAST THE LIMIT: ${[...a.over, ...b.over].join(", ")}` : ""));
      }
      // the soak: train on until this model's share of dispatches
      const goal = t === 1 ? 0 : ((mi + 1) * TARGET) / MODELS.length;
      const t0 = performance.now();
      while (be.pool && be.pool.dispatches < goal) {
        const d = data[steps % data.length];
        const loss = m.trainOnBatch(d.x, d.y);
        steps++;
        if (!Number.isFinite(loss)) { failed = true; notes.push(`${spec.name}: loss ${loss} at step ${steps}`); break; }
      }
      seconds += (performance.now() - t0) / 1000;
      m.free();
    });
  }
  dispatches = be.pool ? be.pool.dispatches : 0;
  be.shutdown();
  console.log(`${t} thread${t > 1 ? "s" : ""}: ${dispatches.toLocaleString("en")} dispatches in ${seconds.toFixed(1)} s (${Math.round(dispatches / Math.max(seconds, 1e-9)).toLocaleString("en")}/s, ${steps.toLocaleString("en")} training steps)`);
  for (const n of notes) console.log(`  ${n}`);
}

const runs = Number(o["main-runs"]), limit = Number(o["main-timeout"]);
for (let k = 1; k <= runs; k++) {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, ["scripts/start.mjs"], { encoding: "utf8", timeout: limit * 1000 });
  const s = ((performance.now() - t0) / 1000).toFixed(1);
  const last = r.stdout.trim().split("\n").filter((l) => /test error/i.test(l)).pop() ?? "";
  if (r.error || r.signal || r.status !== 0) {
    failed = true;
    console.log(`main job ${k}: FAILED after ${s} s (${r.signal ?? r.error?.message ?? `exit ${r.status}`})\n${r.stderr.slice(-2000)}`);
  } else console.log(`main job ${k}: finished in ${s} s wall. ${last.trim()}`);
}
console.log(failed ? "soak: FAILED" : "soak: passed");
process.exit(failed ? 1 : 0);
