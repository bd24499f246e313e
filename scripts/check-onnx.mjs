// npm run check:onnx -- --torchvision <dir> [model …]: imports every <name>.onnx in dir (written by
// `/usr/bin/python3 scripts/make-onnx-fixtures.py --torchvision <dir>`: torchvision's zoo with
// random weights, exported by torch.onnx.export at opsets 11, 13, 17) and compares fovea's outputs
// with PyTorch's (<name>.json) for the batch of 2 and for its first example alone (batch 1): the
// largest difference relative to the output's largest value must be within 1e-4. Also printed: the
// largest difference per element relative to max(|value|, 1e-3 · the largest value), and — where the
// file holds PyTorch's float64 outputs for the same weights (output64) — how far fovea and PyTorch's
// own float32 each are from them (the noise float32 arithmetic makes). With --markdown, ends with
// the README's zoo table (one row per model, its opsets). Exit 1 on any failure.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as fovea from "../dist/index.js";

const args = process.argv.slice(2);
const at = args.indexOf("--torchvision");
const dir = at >= 0 ? args[at + 1] : args[0];
const markdown = args.includes("--markdown");
const only = args.filter((a, i) => a !== "--torchvision" && a !== "--markdown" && i !== at + 1 && (at >= 0 || i > 0));
/** Per model: opset → { ok, worst, f64 } or the import error. */
const rows = new Map();
const record = (name, r) => {
  const [model, opset] = name.includes("_opset") ? [name.replace(/_opset\d+$/, ""), name.replace(/^.*_opset/, "")] : [name, "?"];
  if (!rows.has(model)) rows.set(model, new Map());
  rows.get(model).set(opset, r);
};
if (!dir) {
  console.error("usage: npm run check:onnx -- --torchvision <dir> [model …]");
  process.exit(2);
}
const BOUND = 1e-4;
await fovea.init({ threads: 1 });
let failed = 0, passed = 0;
const files = readdirSync(dir).filter((f) => f.endsWith(".onnx") && (!only.length || only.some((o) => f.startsWith(`${o}_opset`) || f === `${o}.onnx`))).sort();
for (const file of files) {
  const name = file.replace(/\.onnx$/, "");
  const fx = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
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
  const y2 = m.predict(input, { batchSize: n });
  const [s2, e2] = err(y2, fx.output);
  const [s1, e1] = err(m.predict(input.subarray(0, per), { batchSize: 1 }), fx.output.slice(0, outPer));
  const worst = Math.max(s1, s2), ok = worst <= BOUND;
  if (ok) passed++;
  else failed++;
  const d64 = fx.output64 ? [err(y2, fx.output64)[0], err(fx.output, fx.output64)[0]] : null;
  const f64 = d64 ? `; vs float64: fovea ${d64[0].toExponential(2)}, PyTorch float32 ${d64[1].toExponential(2)}` : "";
  record(name, { ok, worst, d64, layers: m.layers.length, params: m.countParams() });
  console.log(`${ok ? "ok  " : "FAIL"} ${name.padEnd(34)} ${m.layers.length} layers, ${m.countParams().toLocaleString("en-US")} parameters; max |Δ| / max |y| ${worst.toExponential(2)} (batch 1 ${s1.toExponential(2)}, batch ${n} ${s2.toExponential(2)}); per element ${Math.max(e1, e2).toExponential(2)}${f64} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  m.free();
}
console.log(`${passed} of ${passed + failed} match PyTorch within ${BOUND} relative`);
if (markdown) {
  const e = (v) => v.toExponential(1);
  console.log("\n| model | opsets matching | max \\|Δ\\| / max \\|y\\| (batch 1 and 2) | from float64: fovea / PyTorch float32 | not matching, and why |");
  console.log("| --- | --- | ---: | ---: | --- |");
  for (const [model, byOpset] of rows) {
    const rs = [...byOpset.entries()], good = rs.filter(([, r]) => r.ok);
    const worst = good.length ? e(Math.max(...good.map(([, r]) => r.worst))) : "";
    const d = good.filter(([, r]) => r.d64).map(([, r]) => r.d64);
    const f = d.length ? `${e(Math.max(...d.map((v) => v[0])))} / ${e(Math.max(...d.map((v) => v[1])))}` : "";
    const bad = rs.filter(([, r]) => !r.ok).map(([o, r]) => `${o}: ${(r.error ?? `max |Δ| / max |y| ${e(r.worst)}`).slice(0, 160).replace(/\|/g, "\\|")}`).join("; ");
    console.log(`| ${model} | ${good.map(([o]) => o).join(", ") || "none"} | ${worst} | ${f} | ${bad} |`);
  }
}
process.exit(failed ? 1 : 0);
