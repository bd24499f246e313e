// `npm run build`, and the build before `npm start`, `npm test`, `npm run bench` and the other
// scripts: the wasm builds and their generated modules (build-wasm.mjs, which skips what is up to
// date), then dist/ with `tsc -b` — run only when the TypeScript it compiles changed since the last
// build here. The check only reads files: an up-to-date checkout costs a fraction of a second
// instead of TypeScript's own start-up (about a second, and three npm processes, before every
// `npm start`).
//
// dist/ is judged by a stamp beside it (dist/.stamp): a hash of every file under src/ (paths and
// contents; build-wasm.mjs writes its generated modules there first), the tsconfig and the
// TypeScript version, written only after tsc -b succeeded. When it differs, tsc -b runs (and
// recompiles what it judges changed by the sources' times, as it always has); when a source's .js
// is missing, tsc -b --force rebuilds dist/ whole. `--force` rebuilds both.
import { chmodSync, existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { files, stampOf } from "./stamp.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const force = process.argv.includes("--force");
const require = createRequire(import.meta.url);

function run(args, what) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`build: ${what} failed${r.error ? ` (${r.error.message})` : r.status === null ? ` (signal ${r.signal})` : ` (exit code ${r.status})`}`);
    process.exit(r.status || 1);
  }
}

run([join(root, "scripts/build-wasm.mjs"), ...(force ? ["--force"] : [])], "the wasm build");

const sources = files(join(root, "src"));
const stamp = stampOf(root, [join(root, "tsconfig.json"), ...sources], "typescript");
const stampFile = join(root, "dist/.stamp");
const emitted = sources.filter((f) => f.endsWith(".ts") && !f.endsWith(".d.ts")).map((f) => join(root, "dist", relative(join(root, "src"), f)).replace(/\.ts$/, ".js"));
const missing = emitted.filter((f) => !existsSync(f));
if (!force && existsSync(stampFile) && readFileSync(stampFile, "utf8") === stamp && missing.length === 0) {
  console.log("dist: up to date");
} else {
  // the stamp goes first and comes back only once tsc succeeded: a build cut short leaves none
  rmSync(stampFile, { force: true });
  // tsc -b compares the sources' times with its build info: an output deleted behind its back is
  // not rebuilt unless forced
  run([require.resolve("typescript/bin/tsc"), "-b", "tsconfig.json", ...(force || missing.length ? ["--force"] : [])], "tsc -b");
  writeFileSync(stampFile, stamp);
  console.log("dist: built");
}
// the package's bin: npx runs it through its link, which needs it executable (npm sets the mode
// only when it links it; tsc writes 644, so a rebuilt dist/ was "Permission denied")
if (existsSync(join(root, "dist/cli/bin.js"))) chmodSync(join(root, "dist/cli/bin.js"), 0o755);
