// npm run bench -- [suite ...] [--quick] [--json FILE] [--build simd|relaxed|both] [--threads N] [--only TEXT]
// Suites: kernels, train, pipeline, models, and threads when named. Prints medians, GFLOP/s and speedups against the peers measured in the same
// run, and writes the records ({ suite, case, engine, build, threads, batch, median_ms, gflops,
// img_per_s }) to --json FILE (default bench/results.json).
import { writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { printTable } from "./lib/harness.mjs";
import { runKernels } from "./kernels.mjs";
import { runModels } from "./models.mjs";
import { runThreads } from "./threads.mjs";
import { runPipeline, runTrain } from "./train.mjs";

const SUITES = { kernels: runKernels, train: runTrain, pipeline: runPipeline, models: runModels, threads: runThreads };

let args;
try {
  args = parseArgs({
    allowPositionals: true,
    options: {
      quick: { type: "boolean", default: false },
      json: { type: "string", default: "bench/results.json" },
      build: { type: "string", default: "both" },
      threads: { type: "string", default: "1" },
      onnx: { type: "string" },
      only: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
} catch (e) {
  console.error(`bench: ${e.message}`);
  process.exit(2);
}
const { values, positionals } = args;
if (values.help) {
  console.log("usage: npm run bench -- [kernels] [train] [pipeline] [models] [threads] [--quick] [--json FILE] [--build simd|relaxed|both] [--threads N] [--onnx DIR] [--only TEXT]\n  --only TEXT: the kernels suite's layers whose name contains TEXT, any case (\"gemm 64\", \"lenet\", \"(a\", \"ResNet-18 56\"), with all their passes\n  threads: N threads (--threads, 2 when not given) against one, in paired rounds in one process");
  process.exit(0);
}
// --only picks kernels cases: alone, it means the kernels suite
// (the threads suite only when named: it needs a pool, which a machine or build may not give)
const suites = positionals.length ? positionals : values.only !== undefined ? ["kernels"] : Object.keys(SUITES).filter((s) => s !== "threads");
for (const s of suites) {
  if (!(s in SUITES)) {
    console.error(`bench: unknown suite "${s}" (suites: ${Object.keys(SUITES).join(", ")})`);
    process.exit(2);
  }
}
if (values.only !== undefined && (values.only === "" || suites.some((s) => s !== "kernels"))) {
  console.error(values.only === "" ? "bench: --only needs a text to look for in the kernels suite's case names" : `bench: --only picks cases of the kernels suite; run it alone (npm run bench -- kernels --only ${JSON.stringify(values.only)}), not with ${suites.filter((s) => s !== "kernels").join(", ")}`);
  process.exit(2);
}
if (!["simd", "relaxed", "both"].includes(values.build)) {
  console.error(`bench: --build must be simd, relaxed or both, got "${values.build}"`);
  process.exit(2);
}
// --onnx DIR: the models and threads suites time its .onnx files; checked before anything runs
if (values.onnx !== undefined) {
  const takers = suites.filter((s) => s === "models" || s === "threads");
  if (!takers.length) {
    console.error(`bench: --onnx is for the models and threads suites, not ${suites.join(", ")}`);
    process.exit(2);
  }
  const { data } = await import("../dist/index.js");
  let files;
  try {
    files = (await data.listDir(values.onnx)).filter((e) => !e.dir && e.name.endsWith(".onnx"));
  } catch (e) {
    console.error(`bench: --onnx ${e.message}`); // fovea's NotFoundError: "<dir>: no such folder" and the like
    process.exit(2);
  }
  if (!files.length) {
    console.error(`bench: --onnx ${values.onnx}: no .onnx files there`);
    process.exit(2);
  }
}
const threads = Number(values.threads);
if (!Number.isInteger(threads) || threads < 1 || threads > 16) {
  console.error(`bench: --threads must be a whole number in [1, 16], got "${values.threads}"`);
  process.exit(2);
}

// Node 20 runs the relaxed build only with a V8 flag: set in this process (dist/cli/relaxed.js)
const { enableRelaxedSimd } = await import("../dist/cli/relaxed.js");
if (!(await enableRelaxedSimd()) && values.build !== "simd") {
  console.error("bench: this Node cannot run the relaxed build even with --experimental-wasm-relaxed-simd; use --build simd");
  process.exit(2);
}

const builds = values.build === "both" ? ["simd", "relaxed"] : [values.build];
// (the threads suite times N threads against one, N = --threads or 2: its own line says so)
const others = suites.filter((s) => s !== "threads");
console.log(`fovea bench: ${suites.join(", ")}${values.quick ? " (quick)" : ""} — node ${process.versions.node}` +
  `, fovea builds ${builds.join(" + ")}` + (others.length ? `, ${threads} thread${threads > 1 ? "s" : ""}` : "") +
  (others.length < suites.length ? `${others.length ? "; " : ", "}threads: ${threads > 1 ? threads : 2} against 1` : ""));
const all = [];
const t0 = performance.now();
for (const s of suites) {
  console.log(`\n[${s}]`);
  let result;
  try {
    result = await SUITES[s]({ quick: values.quick, builds, threads, onnxDir: values.onnx, only: values.only, log: (m) => console.log(m) });
  } catch (e) {
    // a usage error a suite finds (e.g. --only matching no case): its message, no stack
    if (!String(e?.message).startsWith("bench: ")) throw e;
    console.error(e.message);
    process.exit(2);
  }
  const { records, peers } = result;
  console.log("");
  printTable(records, peers);
  all.push(...records);
}
writeFileSync(values.json, JSON.stringify(all, null, 1) + "\n");
console.log(`\n${all.length} records written to ${values.json} in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
