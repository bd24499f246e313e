// Builds every wasm target of asconfig.json (in compile-wasm.mjs threads, one per core), then generates from the compiler's output:
//   src/runtime/generated/kernels.ts   the typed kernel table (from `--bindings raw` .d.ts)
//   src/runtime/generated/layout.ts    the geometry-block field indices and fused-activation codes,
//                                      read from assembly/common/geometry.ts (declared once there)
//   src/runtime/generated/wasm-<t>.ts  each build's bytes, base64, so every runtime and bundler
//                                      gets them through a plain ES import (no paths, no fetch).
//   src/runtime/generated/builds.ts    the builds there are: name → import() of its bytes.
// Skips the compile when assembly/ and asconfig.json are unchanged since the last build, and the
// generation too when the modules in the output folder were generated from that build (the
// up-to-date check reads files only: `npm start` and `npm test` run it before every run).
//
//   --release      generate for the npm package: without the builds in DEV_ONLY (the debug build)
//   --gen <dir>    write the generated modules there instead (scripts/build-package.mjs's staging)
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from "node:fs";
import { join, dirname, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { layoutModule } from "./layout.mjs";
import { files, stampOf } from "./stamp.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const config = JSON.parse(readFileSync(join(root, "asconfig.json"), "utf8"));

const targets = Object.keys(config.targets);
/** Builds for development only: compiled and loadable in a checkout, not shipped in the package. */
const DEV_ONLY = ["debug"];
const release = process.argv.includes("--release");
const genAt = process.argv.indexOf("--gen");
const genDir = genAt > 0 ? resolve(process.argv[genAt + 1]) : join(root, "src/runtime/generated");
const stampFile = join(root, "build/.stamp");

const stamp = stampOf(root, [join(root, "asconfig.json"), join(root, "scripts/build-wasm.mjs"), join(root, "scripts/compile-wasm.mjs"), join(root, "scripts/layout.mjs"), ...files(join(root, "assembly"))], "assemblyscript");
const force = process.argv.includes("--force");
const outputs = targets.map((t) => join(root, config.targets[t].outFile));
const upToDate = !force && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp && outputs.every(existsSync);
const shipped = targets.filter((t) => !(release && DEV_ONLY.includes(t)));
// what the generated modules were made from, kept beside them
const genStampFile = join(genDir, ".stamp"), genStamp = `${stamp} ${release ? "release" : "checkout"} ${shipped.join(",")}`;
const genFiles = ["kernels.ts", "layout.ts", "builds.ts", ...shipped.map((t) => `wasm-${t}.ts`)];
if (upToDate && existsSync(genStampFile) && readFileSync(genStampFile, "utf8") === genStamp && genFiles.every((f) => existsSync(join(genDir, f)))) {
  console.log(`wasm: up to date; generated modules in ${relative(root, genDir)} up to date`);
  process.exit(0);
}
if (upToDate) console.log("wasm: up to date");

// the stamps go first and come back only when everything they vouch for is written: a compile
// or a generation cut short leaves no stamp, so the next run redoes it
if (!upToDate) rmSync(stampFile, { force: true });
rmSync(genStampFile, { force: true });
// the targets compile in threads, as many as there are cores (one compile uses one core: Binaryen's
// passes dominate), the targets dealt out in turn; a failed target fails the build
if (!upToDate) {
  const t0 = performance.now();
  const lanes = Math.max(1, Math.min(availableParallelism(), targets.length));
  const codes = await Promise.all(Array.from({ length: lanes }, (_, i) => new Promise((done, fail) => {
    const w = new Worker(new URL("./compile-wasm.mjs", import.meta.url), { workerData: { targets: targets.filter((_, k) => k % lanes === i) } });
    w.on("error", fail);
    w.on("exit", done);
  })));
  if (codes.some((c) => c !== 0)) process.exit(1);
  console.log(`wasm: ${targets.length} targets in ${lanes} threads, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

// ---- kernel table from the static bindings' .d.ts --------------------------------------
function parseBindings(dts) {
  const fns = new Map();
  const re = /export function (\w+)\(([^)]*)\): (\w+);/g;
  for (const m of dts.matchAll(re)) {
    const params = m[2].trim() === "" ? [] : m[2].split(",").map((p) => p.trim().split(":")[0].trim());
    fns.set(m[1], { params, result: m[3] });
  }
  return fns;
}
const tables = targets.map((t) => {
  const dts = readFileSync(join(root, config.targets[t].outFile.replace(/\.wasm$/, ".d.ts")), "utf8");
  return [t, parseBindings(dts)];
});
const [refTarget, ref] = tables[0];
for (const [t, table] of tables.slice(1)) {
  const a = JSON.stringify([...ref]), b = JSON.stringify([...table]);
  if (a !== b) {
    console.error(`wasm: build ${t} exports differ from ${refTarget}; every build must export the same kernels`);
    process.exit(1);
  }
}
mkdirSync(genDir, { recursive: true });
/** Writes a generated module unless it already holds exactly that text (whole or not at all: a temporary file renamed). */
const write = (file, text) => {
  const p = join(genDir, file);
  if (existsSync(p) && readFileSync(p, "utf8") === text) return;
  writeFileSync(p + ".tmp", text);
  renameSync(p + ".tmp", p);
};
const names = [...ref.keys()].sort();
let out = "// GENERATED by scripts/build-wasm.mjs from the compiler's --bindings raw output. Do not edit.\n\n";
out += "/** Every function the fovea wasm module exports, with its parameter names. */\n";
out += "export const KERNEL_SIGNATURES = {\n";
for (const n of names) {
  const { params, result } = ref.get(n);
  out += `  ${n}: { params: ${JSON.stringify(params)}, result: ${JSON.stringify(result)} },\n`;
}
out += "} as const;\n\n";
out += "/** The typed kernel table: the raw wasm exports. Pointers are byte addresses (u32). */\n";
out += "export interface Kernels {\n";
for (const n of names) {
  const { params, result } = ref.get(n);
  out += `  ${n}(${params.map((p) => `${p}: number`).join(", ")}): ${result === "void" ? "void" : "number"};\n`;
}
out += "}\n\nexport type KernelName = keyof Kernels;\n";
write("kernels.ts", out);

// ---- layouts: `export const <GROUP>_<FIELD>: i32 = <n>;` in assembly/common/geometry.ts ----------
write("layout.ts", layoutModule(readFileSync(join(root, "assembly/common/geometry.ts"), "utf8")));

// ---- embedded bytes, and the table of builds --------------------------------------------------
// The first target is stored whole; another is stored as a delta against it when that is under a
// quarter of its size (src/runtime/embedded.ts reads both and describes the delta format).

/** A delta that rebuilds `target` from `base`: greedy copies of >= 8 matching bytes, the rest inserted. */
function delta(base, target) {
  const K = 8, index = new Map();
  const key = (b, i) => b.toString("latin1", i, i + K);
  for (let i = 0; i + K <= base.length; i++) {
    const k = key(base, i), at = index.get(k);
    if (!at) index.set(k, [i]);
    else if (at.length < 64) at.push(i);
  }
  const out = [];
  const varint = (v) => {
    for (; v >= 0x80; v = Math.floor(v / 128)) out.push((v % 128) | 0x80);
    out.push(v);
  };
  let pending = 0; // literal bytes waiting to be inserted, ending at t
  const flush = (t) => {
    if (!pending) return;
    varint(pending * 2 + 1);
    for (const b of target.subarray(t - pending, t)) out.push(b);
    pending = 0;
  };
  for (let t = 0; t < target.length;) {
    let best = 0, from = 0;
    for (const c of t + K <= target.length ? index.get(key(target, t)) ?? [] : []) {
      let n = 0;
      while (t + n < target.length && c + n < base.length && base[c + n] === target[t + n]) n++;
      if (n > best) [best, from] = [n, c];
    }
    if (best >= K) {
      flush(t);
      varint(best * 2);
      varint(from);
      t += best;
    } else {
      pending++;
      t++;
    }
  }
  flush(target.length);
  return Buffer.from(out);
}

const [baseTarget] = targets;
const bytesOf = (t) => readFileSync(join(root, config.targets[t].outFile));
const fileOf = (t) => config.targets[t].outFile.split("/").pop();
for (const t of shipped) {
  const bytes = bytesOf(t);
  const d = t === baseTarget ? null : delta(bytesOf(baseTarget), bytes);
  write(`wasm-${t}.ts`, "// GENERATED by scripts/build-wasm.mjs. Do not edit.\n" + (d && d.length < bytes.length / 4
    ? `/** build/${fileOf(t)} (${bytes.length} bytes) as a ${d.length}-byte delta against the ${baseTarget} build (src/runtime/embedded.ts). */\n` +
      `export const WASM_BASE = ${JSON.stringify(baseTarget)};\n` +
      `export const WASM_SIZE = ${bytes.length};\n` +
      `export const WASM_DELTA: string = ${JSON.stringify(d.toString("base64"))};\n`
    : `/** build/${fileOf(t)}, base64 (${bytes.length} bytes). */\n` +
      `export const WASM_BASE64: string = ${JSON.stringify(bytes.toString("base64"))};\n`));
}
for (const t of targets.filter((t) => !shipped.includes(t))) rmSync(join(genDir, `wasm-${t}.ts`), { force: true });
write("builds.ts",
  "// GENERATED by scripts/build-wasm.mjs. Do not edit.\n" +
  `/** The builds ${release ? "the npm package ships (the debug build comes with a build from the repository)" : "of this checkout"}; each one's bytes are imported only when it is chosen. */\n` +
  "export const WASM_BUILDS = {\n" +
  shipped.map((t) => `  ${JSON.stringify(t)}: () => import("./wasm-${t}.js"),\n`).join("") +
  "};\n");
if (!upToDate) writeFileSync(stampFile, stamp);
writeFileSync(genStampFile, genStamp);
console.log(`wasm: ${names.length} exports; generated modules in ${relative(root, genDir)}${release ? ` (release: ${shipped.join(", ")})` : ""}`);
