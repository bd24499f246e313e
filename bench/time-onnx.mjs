// node bench/time-onnx.mjs ENGINE [--quick] FILE.onnx …: each file on one engine (fovea, ort-web,
// ort-node or tfjs-wasm; bench/lib/engines.mjs) in this process alone, batch 1, one thread. The
// input is the first example of the file's fixture (<name>.input.f32, or "input" in <name>.json,
// NCHW as the file takes it; scripts/make-onnx-fixtures.py writes both). Median ms per run after
// warm-up, by the bench's harness (Benchmark.js). Prints one line per file,
// `@time {"file", "median_ms", "samples"}` or `@time {"file", "error"}`. Run by timeOnnxFiles
// (npm run check:onnx), one process per engine so that no engine's heap or threads touch another's.
import { existsSync, readFileSync } from "node:fs";
import { measure } from "./lib/harness.mjs";
import { onnxEngine } from "./lib/engines.mjs";

const [engine, ...rest] = process.argv.slice(2);
const quick = rest.includes("--quick");
const files = rest.filter((a) => a !== "--quick");
const say = (o) => process.stdout.write(`@time ${JSON.stringify(o)}\n`);

// Node 20 runs the relaxed build only with a V8 flag: set here as the CLI and the bench set it, so
// fovea is timed on the build `fovea` and `npm run bench` choose
const { enableRelaxedSimd } = await import("../dist/cli/relaxed.js");
await enableRelaxedSimd();
const fovea = await import("../dist/index.js");
await fovea.init({ threads: 1 });

const eng = await onnxEngine(engine, fovea, 1);
for (const file of files) {
  if (eng.error) {
    say({ file, error: eng.error });
    continue;
  }
  let r = null;
  try {
    const base = file.replace(/\.onnx$/, "");
    const fx = JSON.parse(readFileSync(`${base}.json`, "utf8"));
    const dims = [1, ...fx.inputShape.slice(1)];
    const per = dims.reduce((a, b) => a * b, 1);
    const x = existsSync(`${base}.input.f32`)
      ? new Float32Array(new Uint8Array(readFileSync(`${base}.input.f32`)).buffer, 0, per)
      : Float32Array.from(fx.input.slice(0, per));
    r = await eng.open(new Uint8Array(readFileSync(file)), file.replace(/^.*\//, ""), x, dims);
    const t = await measure(r.run, { quick, async: r.async });
    say({ file, median_ms: t.median_ms, samples: t.samples, version: eng.version });
  } catch (e) {
    say({ file, error: e.message.split("\n")[0] });
  } finally {
    await r?.dispose();
  }
}
