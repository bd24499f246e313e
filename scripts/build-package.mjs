// The build `npm pack` / `npm publish` ship (the `prepack` script): the generated modules without
// the debug build (scripts/build-wasm.mjs --release), then dist/ from scratch with
// tsconfig.package.json — JavaScript without comments and without source maps (they would point
// at src/, which is not shipped), declarations with their doc comments, no files left over from
// earlier builds. `postpack` runs `npm run build` to put the checkout's own
// build (every wasm build, source maps) back.
//
//   node scripts/build-package.mjs              in place (prepack)
//   node scripts/build-package.mjs --out <dir>  a staged copy in <dir>/package (package.json,
//                                               README.md, dist/) built from <dir>/src; the
//                                               checkout's src/ and dist/ are not touched
//                                               (test/package.test.ts packs that)
import { spawnSync } from "node:child_process";
import { chmodSync, cpSync, existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const tsc = join(root, "node_modules/typescript/bin/tsc");

function run(args, what) {
  const r = spawnSync(process.execPath, args, { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error(`build-package: ${what} failed (exit ${r.status ?? r.signal})`);
    process.exit(1);
  }
}

/** Builds the package into `pkg` (its dist/), from the sources in `src`, with generated modules written in `gen`. */
function buildPackage({ src, gen, pkg, tsconfig }) {
  run([join(root, "scripts/build-wasm.mjs"), "--release", "--gen", gen], "the release wasm modules");
  rmSync(join(pkg, "dist"), { recursive: true, force: true });
  // the JavaScript without comments (the sources have them), the declarations with their doc comments
  run([tsc, "-p", tsconfig], `tsc -p ${tsconfig}`);
  run([tsc, "-p", tsconfig, "--emitDeclarationOnly", "--declaration", "--removeComments", "false"], `tsc -p ${tsconfig} --emitDeclarationOnly`);
  chmodSync(join(pkg, "dist/cli/bin.js"), 0o755); // the package's bin, as build.mjs leaves it
  console.log(`build-package: ${join(pkg, "dist")} built from ${src}`);
}

const outAt = process.argv.indexOf("--out");
if (outAt < 0) {
  buildPackage({ src: join(root, "src"), gen: join(root, "src/runtime/generated"), pkg: root, tsconfig: join(root, "tsconfig.package.json") });
} else {
  const dir = resolve(process.argv[outAt + 1] ?? "");
  const pkg = join(dir, "package");
  rmSync(join(dir, "src"), { recursive: true, force: true });
  cpSync(join(root, "src"), join(dir, "src"), { recursive: true });
  mkdirSync(pkg, { recursive: true });
  // the staged sources resolve their dependencies' types from the checkout's node_modules
  if (!existsSync(join(dir, "node_modules"))) symlinkSync(join(root, "node_modules"), join(dir, "node_modules"), "dir");
  // the package's own package.json above the staged sources: "type": "module" and its "imports"
  cpSync(join(root, "package.json"), join(dir, "package.json"));
  const tsconfig = join(dir, "tsconfig.json");
  writeFileSync(tsconfig, JSON.stringify({
    extends: join(root, "tsconfig.package.json"),
    compilerOptions: { rootDir: "src", outDir: "package/dist" },
    include: ["src"],
  }, null, 2));
  for (const f of ["package.json", "README.md", "LICENSE"]) if (existsSync(join(root, f))) cpSync(join(root, f), join(pkg, f));
  buildPackage({ src: join(dir, "src"), gen: join(dir, "src/runtime/generated"), pkg, tsconfig });
}
