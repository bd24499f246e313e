// `npm run soak:memory`: memory stays flat under long use (not part of `npm test`;
// test/soak.test.ts runs the same loops, shorter, on the sources). Loops:
//   predict  10⁵ predict calls of LeNet-5 at batch 1 (the model built once, before the loop)
//   models   10³ cycles of create LeNet-5, compile, predict once, free
//   onnx     10³ cycles of importOnnx(test/fixtures/onnx/conv_bn_pool.onnx), predict once, free
//   fit      10³ cycles of create LeNet-5, compile (loss, Adam), fit 1 epoch on 8 examples with
//            validation data, free
//   pools    10² cycles of setThreads(threads + 1), setThreads(threads) (-mt builds only)
// For each loop it prints the wasm heap's inUseBytes before and after (they must be equal), the
// size of the wasm memory (memory.buffer.byteLength) after the first cycle and at the end (it
// must not grow after the first cycle), and the JS heap (process.memoryUsage().heapUsed after a
// forced GC) after the first cycle — code compiled and caches filled on first use are not
// counted — and at the end: it must not grow by more than --js-noise MiB.
// Options: --scale s (multiplies every loop's count, e.g. 0.01 for a quick run), --threads n
// (default: fovea's own choice), --js-noise MiB (default 2). Exits 1 if a loop fails a check.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** Cycles per loop in the full run. */
export const FULL_COUNTS = { predict: 1e5, models: 1e3, onnx: 1e3, fit: 1e3, pools: 1e2 };

/**
 * The loops on a fovea module (dist/ from the script, src/ from the test), initialised: each is
 * { name, n, cycle(ctx), setup?() → ctx, teardown?(ctx) }.
 */
export function memoryLoops(fovea, counts = FULL_COUNTS) {
  const onnxBytes = readFileSync(new URL("../test/fixtures/onnx/conv_bn_pool.onnx", import.meta.url));
  const onnxInput = new Float32Array(16 * 20 * 3).map((_, i) => Math.sin(i * 0.1));
  const digit = new Float32Array(28 * 28).map((_, i) => Math.sin(i * 0.37));
  const xs = new Float32Array(8 * 28 * 28).map((_, i) => Math.cos(i * 0.11));
  const ys = Int32Array.from({ length: 8 }, (_, i) => i % 10);
  const lenet = () => fovea.zoo.lenet5({ seed: 7 });
  const threads = fovea.backendInfo().threads;
  const loops = [
    { name: "predict", n: counts.predict, setup: () => lenet().compile({ batchSize: 1 }), cycle: (m) => void m.predict(digit), teardown: (m) => m.free() },
    {
      name: "models", n: counts.models,
      cycle: () => {
        const m = lenet().compile({ batchSize: 1 });
        m.predict(digit);
        m.free();
      },
    },
    {
      name: "onnx", n: counts.onnx,
      cycle: async () => {
        const m = await fovea.importOnnx(onnxBytes, { source: "conv_bn_pool.onnx" });
        m.predict(onnxInput);
        m.free();
      },
    },
    {
      name: "fit", n: counts.fit,
      cycle: () => {
        const m = lenet().compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam() });
        m.fit(xs, ys, { epochs: 1, validationData: [xs, ys] });
        m.free();
      },
    },
  ];
  if (fovea.getBackend().build.endsWith("-mt")) {
    loops.push({
      name: "pools", n: counts.pools,
      // a model stays alive, so its plans' scratch follows the thread count
      setup: () => lenet().compile({ batchSize: 1 }),
      cycle: async (m) => {
        await fovea.setThreads(threads + 1);
        m.predict(digit);
        await fovea.setThreads(threads);
        m.predict(digit);
      },
      teardown: (m) => m.free(),
    });
  }
  return loops;
}

/**
 * Runs one loop on backend `be` and measures around it; `jsHeap` (a function giving the JS heap
 * after a forced GC, or null) adds the JS heap check within `jsNoise` bytes.
 */
export async function soak(be, loop, jsHeap = null, jsNoise = 0) {
  const ctx = loop.setup ? await loop.setup() : undefined;
  const inUseBefore = be.heap.stats().inUseBytes;
  await loop.cycle(ctx);
  const capFirst = be.memory.buffer.byteLength;
  const jsBefore = jsHeap ? jsHeap() : NaN;
  const t0 = performance.now();
  for (let i = 1; i < loop.n; i++) await loop.cycle(ctx);
  const seconds = (performance.now() - t0) / 1000;
  const jsAfter = jsHeap ? jsHeap() : NaN;
  const inUseAfter = be.heap.stats().inUseBytes;
  const capEnd = be.memory.buffer.byteLength;
  if (loop.teardown) await loop.teardown(ctx);
  const problems = [];
  if (inUseAfter !== inUseBefore) problems.push(`inUseBytes ${inUseBefore} → ${inUseAfter}`);
  if (capEnd !== capFirst) problems.push(`the wasm memory grew after the first cycle: ${capFirst} → ${capEnd} bytes`);
  if (jsAfter - jsBefore > jsNoise) problems.push(`the JS heap grew by ${((jsAfter - jsBefore) / 2 ** 20).toFixed(2)} MiB`);
  return { name: loop.name, n: loop.n, inUseBefore, inUseAfter, capFirst, capEnd, jsBefore, jsAfter, seconds, problems };
}

async function main() {
  if (typeof globalThis.gc !== "function") {
    // the JS heap is compared after a forced GC: run again with --expose-gc
    const r = spawnSync(process.execPath, ["--expose-gc", ...process.argv.slice(1)], { stdio: "inherit" });
    process.exit(r.status ?? 1);
  }
  const { values: o } = parseArgs({
    options: {
      scale: { type: "string", default: "1" },
      threads: { type: "string" },
      "js-noise": { type: "string", default: "2" },
    },
  });
  const scale = Number(o.scale);
  const jsNoise = Number(o["js-noise"]) * 2 ** 20;
  if (!(scale > 0) || !(jsNoise >= 0)) throw new Error("soak-memory: --scale must be > 0 and --js-noise >= 0");
  const counts = Object.fromEntries(Object.entries(FULL_COUNTS).map(([k, n]) => [k, Math.max(2, Math.round(n * scale))]));

  const fovea = await import("../dist/index.js");
  await fovea.init(o.threads ? { threads: Number(o.threads) } : {});
  const be = fovea.getBackend();
  const jsHeap = () => {
    globalThis.gc();
    globalThis.gc();
    return process.memoryUsage().heapUsed;
  };
  const results = [];
  for (const loop of memoryLoops(fovea, counts)) results.push(await soak(be, loop, jsHeap, jsNoise));

  const MiB = (b) => (b / 2 ** 20).toFixed(2);
  const rows = [
    ["loop", "cycles", "inUse before", "inUse after", "wasm mem after 1st", "wasm mem at end", "JS heap before MiB", "JS heap after MiB", "s", "ok"],
    ...results.map((r) => [r.name, String(r.n), String(r.inUseBefore), String(r.inUseAfter), String(r.capFirst), String(r.capEnd), MiB(r.jsBefore), MiB(r.jsAfter), r.seconds.toFixed(1), r.problems.length ? "FAIL" : "ok"]),
  ];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const info = fovea.backendInfo();
  console.log(`fovea soak:memory — ${info.build} build, ${info.threads} thread${info.threads > 1 ? "s" : ""}, ${info.runtime}`);
  for (const r of rows) console.log(r.map((v, c) => (c === 0 ? v.padEnd(widths[c]) : v.padStart(widths[c]))).join("  "));
  const failed = results.filter((r) => r.problems.length);
  for (const r of failed) console.log(`${r.name}: ${r.problems.join("; ")}`);
  await fovea.shutdown();
  process.exit(failed.length ? 1 : 0);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
