// npm run check:onnx -- --torchvision <dir> [model …] [--markdown] [--no-timing] [--quick]: imports
// every <name>.onnx in dir (written by `/usr/bin/python3 scripts/make-onnx-fixtures.py --torchvision
// <dir>`: torchvision's zoo with random weights, exported by torch.onnx.export at opsets 11, 13, 17)
// and compares fovea's outputs with PyTorch's (<name>.json) for the batch of 2 and for its first
// example alone (batch 1): the largest difference relative to the output's largest value must be
// within 1e-4. Also printed: the largest difference per element relative to max(|value|, 1e-3 · the
// largest value), and — where the file holds PyTorch's float64 outputs for the same weights
// (output64) — how far fovea and PyTorch's own float32 each are from them (the noise float32
// arithmetic makes). Then, unless --no-timing, each model's opset-13 file (or its last file where
// there is none) is timed at batch 1, one thread, on its first example, by fovea, onnxruntime-web,
// onnxruntime-node and tfjs-wasm, each engine in a process of its own (bench/lib/engines.mjs; --quick:
// fewer runs). With --export, each imported model is also exported back (exportOnnx) and run by
// onnxruntime-node on the same batch: its outputs must be within 1e-4 of fovea's. With --markdown,
// ends with the zoo table of docs/onnx.md (scripts/zoo-table.mjs). Exit 1 on any mismatch (an engine that
// cannot run a model is a note in the table, not a failure).
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ONNX_ENGINES, timeOnnxFiles } from "../bench/lib/engines.mjs";
import { zooTable } from "./zoo-table.mjs";

const usage = "usage: npm run check:onnx -- --torchvision <dir> [model …] [--markdown] [--no-timing] [--quick] [--export]";
let opts;
try {
  opts = parseArgs({ allowPositionals: true, options: { torchvision: { type: "string" }, markdown: { type: "boolean" }, "no-timing": { type: "boolean" }, quick: { type: "boolean" }, export: { type: "boolean" }, help: { type: "boolean", short: "h" } } });
} catch (e) {
  console.error(`check:onnx: ${e.message}\n${usage}`);
  process.exit(2);
}
const { values, positionals } = opts;
if (values.help) {
  console.log(usage);
  process.exit(0);
}
/** A usage mistake: its message and the usage line, exit 2, before anything runs. */
const refuse = (why) => {
  console.error(`check:onnx: ${why}\n${usage}`);
  process.exit(2);
};
const dir = values.torchvision ?? positionals[0];
const only = values.torchvision ? positionals : positionals.slice(1);
const markdown = values.markdown === true;
// Node 20 runs the relaxed build only with a V8 flag: set in this process as the CLI and the bench do
const { enableRelaxedSimd } = await import("../dist/cli/relaxed.js");
await enableRelaxedSimd();
const fovea = await import("../dist/index.js");
/** Per model: opset → { ok, worst, f64 } or the import error. */
const rows = new Map();
/** The model and opset a file (or its name without .onnx) is of: resnet18_opset13 → resnet18, "13" ("?" without one). */
const modelOf = (name) => name.replace(/\.onnx$/, "").replace(/_opset\d+$/, "");
const opsetOf = (name) => (/_opset(\d+)(\.onnx)?$/.exec(name)?.[1] ?? "?");
const record = (name, r) => {
  const [model, opset] = [modelOf(name), opsetOf(name)];
  if (!rows.has(model)) rows.set(model, new Map());
  rows.get(model).set(opset, r);
};
if (!dir) refuse("give the folder of .onnx files and their PyTorch references (scripts/make-onnx-fixtures.py --torchvision DIR writes them)");
const BOUND = 1e-4;
await fovea.init({ threads: 1 });
let failed = 0, passed = 0, exported = 0, exportFailed = 0;
const ort = values.export ? await import("onnxruntime-node") : null;
let all;
try {
  all = (await fovea.data.listDir(dir)).filter((e) => !e.dir && e.name.endsWith(".onnx")).map((e) => e.name);
} catch (e) {
  refuse(e.message); // fovea's NotFoundError: "<dir>: no such folder" and the like
}
const missing = only.filter((o) => !all.some((f) => modelOf(f) === o || f === `${o}.onnx`));
if (missing.length) refuse(`no file for ${missing.join(", ")} in ${dir} (its models: ${[...new Set(all.map(modelOf))].sort().join(", ") || "none"})`);
const files = all.filter((f) => !only.length || only.some((o) => modelOf(f) === o || f === `${o}.onnx`)).sort();
if (!files.length) refuse(`${dir} has no .onnx files (scripts/make-onnx-fixtures.py --torchvision ${dir} writes them, each with its .json of PyTorch's input and output)`);
// every file's PyTorch reference first: a missing or partial one is named before anything runs
const fixtures = new Map();
for (const file of files) {
  const name = file.replace(/\.onnx$/, ""), ref = join(dir, `${name}.json`);
  let fx;
  try {
    fx = JSON.parse(new TextDecoder().decode(await fovea.data.readBytes(ref)));
  } catch (e) {
    // fovea's NotFoundError ("<ref>: no such file"), or JSON's own message
    refuse(e instanceof fovea.NotFoundError ? `${e.message}${e.reason === "missing" ? " (each .onnx needs its .json of PyTorch's input and output)" : ""}` : `${ref}: ${e.message}`);
  }
  const lacks = ["inputShape", "output"].filter((k) => !Array.isArray(fx?.[k]));
  if (!existsSync(join(dir, `${name}.input.f32`)) && !Array.isArray(fx?.input)) lacks.unshift("input (or a .input.f32 beside it)");
  if (lacks.length) refuse(`${ref}: no ${lacks.join(", ")}: not a PyTorch reference of scripts/make-onnx-fixtures.py`);
  fixtures.set(file, fx);
}
for (const file of files) {
  const name = file.replace(/\.onnx$/, "");
  const fx = fixtures.get(file);
  const bin = join(dir, `${name}.input.f32`);
  const input = existsSync(bin) ? new Float32Array(new Uint8Array(readFileSync(bin)).buffer) : Float32Array.from(fx.input);
  const t0 = performance.now();
  let m;
  try {
    m = await fovea.importOnnx(new Uint8Array(readFileSync(join(dir, file))), { source: file });
  } catch (e) {
    failed++;
    console.log(`FAIL ${name.padEnd(34)} ${e.message}`);
    // an unsupported-op list names every node: the table keeps the op types
    const msg = e.message.replace(/^[^:]*: /, "");
    record(name, { ok: false, error: msg.startsWith("unsupported ONNX ops:") ? `unsupported ops ${[...msg.matchAll(/(?:: |; )([A-Za-z]+) \(/g)].map((m) => m[1]).join(", ")}` : msg });
    continue;
  }
  const scale = fx.output.reduce((a, v) => Math.max(a, Math.abs(v)), 0); // no spread: a segmentation output has millions of values
  /** [largest |Δ| / largest |want|, largest |Δ| / max(|want|, 1e-3 · largest |want|)] */
  const err = (y, want) => {
    if (y.length !== want.length) return [Infinity, Infinity];
    let d = 0, e = 0;
    for (let i = 0; i < want.length; i++) {
      const a = Math.abs(y[i] - want[i]);
      d = Math.max(d, a);
      e = Math.max(e, a / Math.max(Math.abs(want[i]), 1e-3 * scale));
    }
    return [d / scale, e];
  };
  const n = fx.inputShape[0], per = input.length / n, outPer = fx.output.length / n;
  let y2, s2, e2, s1, e1;
  try {
    y2 = m.predict(input, { batchSize: n });
    [s2, e2] = err(y2, fx.output);
    [s1, e1] = err(m.predict(input.subarray(0, per), { batchSize: 1 }), fx.output.slice(0, outPer));
  } catch (e) {
    // imported but not run: a FAIL line like an import's, and the other files go on
    failed++;
    console.log(`FAIL ${name.padEnd(34)} predict: ${e.message}`);
    record(name, { ok: false, error: `predict: ${e.message}` });
    m.free();
    continue;
  }
  const worst = Math.max(s1, s2), ok = worst <= BOUND;
  if (ok) passed++;
  else failed++;
  const d64 = fx.output64 ? [err(y2, fx.output64)[0], err(fx.output, fx.output64)[0]] : null;
  const f64 = d64 ? `; vs float64: fovea ${d64[0].toExponential(2)}, PyTorch float32 ${d64[1].toExponential(2)}` : "";
  record(name, { ok, worst, d64, layers: m.layers.length, params: m.countParams() });
  console.log(`${ok ? "ok  " : "FAIL"} ${name.padEnd(34)} ${m.layers.length} layers, ${m.countParams().toLocaleString("en-US")} parameters; max |Δ| / max |y| ${worst.toExponential(2)} (batch 1 ${s1.toExponential(2)}, batch ${n} ${s2.toExponential(2)}); per element ${Math.max(e1, e2).toExponential(2)}${f64} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  if (ort) {
    // exported back and run by onnxruntime-node on the same batch: fovea's outputs, within BOUND of their scale
    try {
      const s = await ort.InferenceSession.create(await fovea.exportOnnx(m));
      const got = (await s.run({ [s.inputNames[0]]: new ort.Tensor("float32", input, fx.inputShape) }))[s.outputNames[0]].data;
      const mine = y2.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
      let d = got.length === y2.length ? 0 : Infinity;
      for (let i = 0; d < Infinity && i < y2.length; i++) d = Math.max(d, Math.abs(got[i] - y2[i]));
      const good = d / mine <= BOUND;
      if (good) exported++;
      else exportFailed++;
      console.log(`${good ? "ok  " : "FAIL"} ${name.padEnd(34)} exported: onnxruntime-node max |Δ| / max |y| ${(d / mine).toExponential(2)}`);
    } catch (e) {
      exportFailed++;
      console.log(`FAIL ${name.padEnd(34)} exported: ${e.message}`);
    }
  }
  m.free();
}
console.log(`${passed} of ${passed + failed} match PyTorch within ${BOUND} relative`);
if (ort) console.log(`${exported} of ${exported + exportFailed} export and run in onnxruntime-node within ${BOUND} of fovea's outputs`);
let times = null;
if (!values["no-timing"]) {
  // per model: its opset-13 file, or its last one (files are sorted) where it has none
  const timed = new Map();
  for (const file of files) {
    const model = modelOf(file), opset = opsetOf(file);
    if (timed.get(model)?.opset !== "13") timed.set(model, { file: join(dir, file), opset });
  }
  console.log(`\ntiming ${timed.size} files at batch 1, one thread, engines ${ONNX_ENGINES.join(", ")} (one process each)${values.quick ? ", quick" : ""}`);
  const t0 = performance.now();
  const byEngine = await timeOnnxFiles([...timed.values()].map((t) => t.file), {
    quick: values.quick,
    log: (engine, file, r) => console.log(`time ${engine.padEnd(9)} ${file.replace(/^.*\//, "").padEnd(34)} ${r.error === undefined ? `${r.median_ms.toFixed(2)} ms (median of ${r.samples}; ${r.version})` : `— ${r.error}`}`),
  });
  times = { engines: ONNX_ENGINES, files: timed, byEngine };
  const ok = [...byEngine.values()].flatMap((m) => [...m.values()]).filter((r) => r.error === undefined);
  const versions = ONNX_ENGINES.map((g) => `${g} ${[...byEngine.get(g).values()].find((r) => r.version)?.version ?? "(did not run)"}`);
  const commit = (() => {
    try {
      return execFileSync("git", ["describe", "--always", "--dirty"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return "(not a git checkout)";
    }
  })();
  const cpu = cpus();
  console.log(`timed in ${((performance.now() - t0) / 1000).toFixed(0)} s: ${ok.length ? `medians of ${Math.min(...ok.map((r) => r.samples))} to ${Math.max(...ok.map((r) => r.samples))} runs after warm-up` : "no engine ran"}; ` +
    `commit ${commit}, Node ${process.versions.node}, ${cpu.length} × ${cpu[0]?.model ?? "?"}; ${versions.join(", ")}`);
}
if (markdown) console.log(["", ...zooTable(rows, times)].join("\n"));
process.exit(failed || exportFailed ? 1 : 0);
