// node scripts/check-onnx.mjs <dir>: imports every <name>.onnx in dir (written by
// `python3 scripts/make-onnx-fixtures.py --torchvision <dir>`) and compares fovea's output with
// PyTorch's (<name>.json), within 1e-3 relative (deep nets). Exit 1 on any mismatch.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as fovea from "../dist/index.js";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/check-onnx.mjs <dir>");
  process.exit(2);
}
await fovea.init();
let failed = 0;
for (const file of readdirSync(dir).filter((f) => f.endsWith(".onnx")).sort()) {
  const name = file.replace(/\.onnx$/, "");
  const fx = JSON.parse(readFileSync(join(dir, `${name}.json`), "utf8"));
  const t0 = performance.now();
  const m = await fovea.importOnnx(new Uint8Array(readFileSync(join(dir, file))), { source: file });
  const y = m.predict(Float32Array.from(fx.input));
  let worst = 0;
  const scale = Math.max(...fx.output.map(Math.abs));
  for (let i = 0; i < y.length; i++) worst = Math.max(worst, Math.abs(y[i] - fx.output[i]) / Math.max(Math.abs(fx.output[i]), 1e-3 * scale));
  const ok = worst <= 1e-3 && y.length === fx.output.length;
  if (!ok) failed++;
  console.log(`${ok ? "ok  " : "FAIL"} ${name.padEnd(14)} ${m.layers.length} layers, ${m.countParams().toLocaleString("en-US")} parameters, max relative error ${worst.toExponential(2)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  m.free();
}
process.exit(failed ? 1 : 0);
