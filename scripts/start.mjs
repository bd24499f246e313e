// `npm start`: the main job. Until the MNIST LeNet-5 job lands, it loads fovea and prints
// what it runs on (the build it chose and why, detected features, wasm size, memory).
import * as fovea from "../dist/index.js";

await fovea.init();
const info = fovea.backendInfo();
console.log("fovea backend");
console.log(`  runtime   ${info.runtime}`);
console.log(`  build     ${info.build} (chosen by ${info.chosenBy})`);
console.log(`  wasm      ${info.wasmBytes} bytes`);
console.log(`  threads   ${info.threads} (${info.threadsReason})`);
console.log(`  features  ${Object.entries(info.features).map(([k, v]) => `${k}=${v}`).join(" ")}`);
console.log(`  memory    ${(info.memory.capacityBytes / 2 ** 20).toFixed(0)} MiB linear memory, ${info.memory.inUseBytes} bytes in use`);
if (info.build === "simd" && !info.features.relaxedSimd) {
  console.log("  note      relaxed SIMD (fused multiply-add) is off in this runtime; on Node 20 run with");
  console.log("            node --experimental-wasm-relaxed-simd, or use Node 22+ / Deno / Chromium");
}
