// A compile thread of build-wasm.mjs: compiles its targets (workerData.targets) of asconfig.json
// one after another with AssemblyScript; its exit code says whether every one compiled.
import { readFileSync, statSync } from "node:fs";
import { join, dirname } from "node:path";
import { fileURLToPath } from "node:url";
import { workerData } from "node:worker_threads";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const config = JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8"));
const asc = (await import("assemblyscript/asc")).default;
process.exitCode = 0;
for (const target of workerData.targets) {
  const t0 = performance.now();
  const { error } = await asc.main(["--config", join(root, "asconfig.json"), "--target", target], {
    stdout: process.stdout,
    stderr: process.stderr,
  });
  if (error) {
    console.error(`wasm: target ${target} failed: ${error.message}`);
    process.exitCode = 1;
    break;
  }
  const size = statSync(join(root, config.targets[target].outFile)).size;
  console.log(`wasm: ${target.padEnd(10)} ${String(size).padStart(7)} bytes  ${(performance.now() - t0).toFixed(0)} ms`);
}
