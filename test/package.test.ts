// The npm package as a consumer gets it. scripts/build-package.mjs stages the release build in a
// temporary folder (the checkout's src/ and dist/ stay as they are), `npm pack` packs it, and then:
// what is in the tarball (no debug build, no source maps, no src/, no install-time scripts, the
// embedded wasm typed as a string), the budgets (packed, installed with the runtime dependencies,
// the largest wasm gzipped) — printed as measured — and the tarball installed in a consumer
// project: its types compile with TypeScript 5.9 and 5.7 (the oldest supported) and name every
// type a public function takes or returns; Node runs it (without onnx-proto); a browser bundle
// of it has no node: import, no warning and no CLI or codec code outside lazily loaded chunks.
import { spawnSync } from "node:child_process";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const root = resolve(".");
const KB = 1000, MB = 1000 * 1000;
// packed: 250 kB until the ONNX importer took the torchvision zoo's ops and the kernels their
// implicit / direct backward paths (273 kB on 2026-12-02); still under a third of the package before.
// Then 300 kB until Winograd convolution (forward and data gradient, three tile sizes), the fused conv
// epilogues and ONNX's layer norm, GELU, broadcasting binary ops, where and casts (307.5 kB on
// 2026-12-02, wasm 35.5 kB gzipped); 350 kB, then 375 kB when the batch-norm / max-pool fusion's
// kernels took it to 350.1 kB; 400 kB since the options' checks and the ONNX attribute table took
// it to 375.3 kB (2026-12-05); 450 kB since the permute of up to six axes, argMax, Tile, DepthToSpace,
// ONNX external data and the pool's fallback to one thread (kernels in five builds, and the README)
// took it to 426.0 kB (2026-12-07); 475 kB since the tfjs importer's quantized weights, shapes and
// layouts, ConvNetJS's LRN / volumes / dropout carriers, the resize as PIL's and the CLI's
// interruption took it to 450.1 kB (2026-12-07).
const BUDGET = { packed: 475 * KB, installed: 5 * MB, wasmGzip: 64 * KB };
/** The TypeScript versions the README promises: the project's own and the oldest supported. */
const TYPESCRIPTS = [["typescript", "5.9"], ["typescript-5-7", "5.7"]] as const;

interface PackResult { filename: string; size: number; unpackedSize: number; files: { path: string; size: number }[] }

let dir: string, pkg: string, pack: PackResult, consumer: string;
const run = (cmd: string, args: string[], cwd: string) => {
  const r = spawnSync(cmd, args, { cwd, encoding: "utf8", maxBuffer: 64 * MB });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed (${r.status}):\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
};
const du = (p: string): number => {
  const s = lstatSync(p);
  return s.isDirectory() ? readdirSync(p).reduce((a, n) => a + du(join(p, n)), 0) : s.isFile() ? s.size : 0;
};

/** The runtime dependencies of a package folder, transitively, as installed in the checkout's node_modules. */
function runtimeDeps(pkgDir: string): Map<string, string> {
  const found = new Map<string, string>();
  // node's lookup: node_modules of the package's folder and each folder above it in the checkout
  const lookup = (from: string, name: string): string => {
    const dirs: string[] = [];
    for (let at = from; at.startsWith(root) && at !== dirname(at); at = dirname(at)) dirs.push(at);
    if (!dirs.includes(root)) dirs.push(root);
    for (const d of dirs) if (existsSync(join(d, "node_modules", name, "package.json"))) return join(d, "node_modules", name);
    throw new Error(`${name} (a dependency of ${from}) is not installed`);
  };
  const visit = (from: string) => {
    const deps = (JSON.parse(readFileSync(join(from, "package.json"), "utf8")) as { dependencies?: Record<string, string> }).dependencies ?? {};
    for (const name of Object.keys(deps)) {
      if (found.has(name)) continue;
      const where = lookup(from, name);
      found.set(name, where);
      visit(where);
    }
  };
  visit(pkgDir);
  return found;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "fovea-package-"));
  run(process.execPath, [join(root, "scripts/build-package.mjs"), "--out", dir], root);
  pkg = join(dir, "package");
  pack = (JSON.parse(run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", dir], pkg)) as PackResult[])[0]!;
  // a consumer project with the tarball installed and the runtime dependencies beside it (in a
  // folder of its own: the staging folder links the checkout's node_modules)
  consumer = mkdtempSync(join(tmpdir(), "fovea-consumer-"));
  mkdirSync(join(consumer, "node_modules", "fovea"), { recursive: true });
  run("tar", ["xzf", join(dir, pack.filename), "-C", join(consumer, "node_modules", "fovea"), "--strip-components=1"], dir);
  for (const [name, where] of runtimeDeps(join(consumer, "node_modules", "fovea"))) {
    mkdirSync(dirname(join(consumer, "node_modules", name)), { recursive: true });
    symlinkSync(where, join(consumer, "node_modules", name), "dir");
  }
  writeFileSync(join(consumer, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
}, 300_000);

afterAll(() => {
  for (const d of [dir, consumer]) if (d) rmSync(d, { recursive: true, force: true });
});

describe("the npm package", () => {
  it("ships dist/ and the README: no debug build, no source maps, no src/, no install-time scripts", () => {
    const paths = pack.files.map((f) => f.path);
    expect(paths).toContain("dist/index.js");
    expect(paths).toContain("dist/index.d.ts");
    expect(paths).toContain("README.md");
    expect(paths.filter((p) => !p.startsWith("dist/") && !["README.md", "package.json", "LICENSE"].includes(p))).toEqual([]);
    expect(paths.filter((p) => /debug/.test(p))).toEqual([]);
    expect(paths.filter((p) => p.endsWith(".map"))).toEqual([]);
    const sources = paths.filter((p) => p.endsWith(".js")).map((p) => readFileSync(join(pkg, p), "utf8"));
    expect(sources.filter((s) => s.includes("sourceMappingURL"))).toEqual([]);
    // webpack turns new URL(<not a string literal>, import.meta.url) into a request it cannot
    // resolve, which throws when it runs (the pool never started under webpack 5)
    const urls = sources.flatMap((s) => [...s.matchAll(/new URL\(([^()]*?),\s*import\.meta\.url\)/g)].map((m) => m[1]!.trim()));
    expect(urls.length).toBeGreaterThan(0);
    expect(urls.filter((u) => !/^"[^"]*"$/.test(u))).toEqual([]);
    const manifest = JSON.parse(readFileSync(join(consumer, "node_modules/fovea/package.json"), "utf8")) as { scripts: Record<string, string>; dependencies: Record<string, string> };
    for (const hook of ["preinstall", "install", "postinstall", "prepare"]) expect(manifest.scripts[hook], hook).toBeUndefined();
    expect(Object.keys(manifest.dependencies).sort()).toEqual(["@jsquash/jpeg", "cli-progress", "commander", "jpeg-js", "pngjs"]);
  });

  it("types the embedded wasm as a string, and no @types/node reaches a consumer", () => {
    const dts = pack.files.filter((f) => /^dist\/runtime\/generated\/wasm-.*\.d\.ts$/.test(f.path));
    expect(dts.length).toBeGreaterThan(0);
    for (const f of dts) {
      expect(f.size, f.path).toBeLessThan(500);
      expect(readFileSync(join(pkg, f.path), "utf8")).toMatch(/: string;/);
    }
    const declarations = pack.files.filter((f) => f.path.endsWith(".d.ts")).map((f) => readFileSync(join(pkg, f.path), "utf8"));
    expect(declarations.filter((s) => /reference types="node"|from "node:|import\("node:/.test(s))).toEqual([]);
    expect([...runtimeDeps(join(consumer, "node_modules/fovea")).keys()].filter((n) => n.startsWith("@types/"))).toEqual([]);
  });

  it("fits the budgets: packed, installed with its runtime dependencies, the largest wasm gzipped", () => {
    const deps = runtimeDeps(join(consumer, "node_modules/fovea"));
    const depBytes = [...deps.values()].reduce((a, p) => a + du(p), 0);
    const installed = pack.unpackedSize + depBytes;
    // the wasm builds shipped whole (the others are deltas against them, src/runtime/embedded.ts)
    const wasm = pack.files.filter((f) => /^dist\/runtime\/generated\/wasm-.*\.js$/.test(f.path)).map((f) => {
      const m = /WASM_BASE64 = "([^"]*)"/.exec(readFileSync(join(pkg, f.path), "utf8"));
      return { path: f.path, whole: m ? Buffer.from(m[1]!, "base64") : null };
    });
    const whole = wasm.filter((w) => w.whole);
    expect(whole.length).toBeGreaterThan(0);
    for (const w of whole) expect(w.whole!.subarray(0, 4).toString("latin1")).toBe("\0asm");
    const largestGzip = Math.max(...whole.map((w) => gzipSync(w.whole!, { level: 9 }).length));
    const largest = Math.max(...whole.map((w) => w.whole!.length));
    console.log(
      `npm pack: ${pack.files.length} files, ${(pack.size / KB).toFixed(1)} kB packed, ${(pack.unpackedSize / KB).toFixed(1)} kB unpacked; ` +
        `installed with ${deps.size} runtime dependencies (${[...deps.keys()].join(", ")}: ${(depBytes / KB).toFixed(1)} kB) ${(installed / MB).toFixed(2)} MB; ` +
        `wasm builds: ${whole.length} whole of ${wasm.length}, the largest ${(largest / KB).toFixed(1)} kB, ${(largestGzip / KB).toFixed(1)} kB gzipped`,
    );
    expect(pack.size).toBeLessThanOrEqual(BUDGET.packed);
    expect(installed).toBeLessThanOrEqual(BUDGET.installed);
    expect(largestGzip).toBeLessThanOrEqual(BUDGET.wasmGzip);
  });
});

describe("the package in a consumer project", () => {
  it.each(TYPESCRIPTS)("compiles against its types with %s (TypeScript %s), naming every type a public function takes or returns", (tsPackage, version) => {
    const names = publicTypeNames(join(consumer, "node_modules/fovea/dist/index.d.ts"));
    expect(names.missing, "types in public signatures that `import type { … } from \"fovea\"` cannot name").toEqual([]);
    expect(names.exported.length).toBeGreaterThan(50);
    writeFileSync(join(consumer, "consumer.ts"), [
      `import * as fovea from "fovea";`,
      `import type { ${names.exported.join(", ")} } from "fovea";`,
      `export type { ${names.exported.join(", ")} };`,
      `const log: Callback = { onEpochEnd: (logs: EpochLogs) => console.log(logs.loss) };`,
      `const lr: LearningRate = (step) => 0.01 / (1 + step);`,
      `export async function main(): Promise<History> {`,
      `  await fovea.init({ threads: 1 });`,
      `  const m: Model = fovea.zoo.lenet5({ seed: 1 });`,
      `  const opt: Optimizer = fovea.train.sgd({ lr: 0.01 });`,
      `  m.compile({ loss: "softmaxCrossEntropy", optimizer: opt });`,
      `  const data: Dataset = fovea.data.makeDataset(new Float32Array(2 * m.inputSize), Int32Array.from([0, 1]), [28, 28, 1]);`,
      `  const options: FitOptions = { epochs: 1, callbacks: [log], lr };`,
      `  const saved = new Blob([m.save()]);`,
      `  void saved;`,
      `  return m.fit(data.x, data.y, options);`,
      `}`,
    ].join("\n"));
    writeFileSync(join(consumer, "tsconfig.json"), JSON.stringify({
      compilerOptions: { target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", lib: ["ES2022", "DOM"], types: [], strict: true, skipLibCheck: false, noEmit: true },
      files: ["consumer.ts"],
    }));
    const tsc = join(root, "node_modules", tsPackage, "bin", "tsc");
    expect(run(process.execPath, [tsc, "--version"], consumer).trim()).toMatch(new RegExp(`^Version ${version.replace(".", "\\.")}\\.`));
    const r = spawnSync(process.execPath, [tsc, "-p", "tsconfig.json"], { cwd: consumer, encoding: "utf8" });
    expect(r.stdout + r.stderr).toBe("");
    expect(r.status).toBe(0);
  }, 120_000);

  it("runs in Node from the tarball: a kernel, an ONNX round trip without onnx-proto, and no debug build", () => {
    writeFileSync(join(consumer, "run.mjs"), `
      import * as fovea from "fovea";
      await fovea.init({ threads: 1 });
      const a = fovea.Tensor.from([1, 2, 3], [3]), b = fovea.Tensor.from([10, 20, 30], [3]), out = fovea.Tensor.zeros([3]);
      fovea.getBackend().kernels.f32_add_fwd(a.ptr, b.ptr, out.ptr, 3);
      const m = fovea.zoo.lenet5({ seed: 1 });
      const back = await fovea.importOnnx(await fovea.exportOnnx(m), { inputLayout: "NHWC" });
      const x = new Float32Array(m.inputSize).map((_, i) => Math.sin(i));
      const want = m.predict(x), got = back.predict(x);
      const same = want.length > 0 && Array.from(want).every((v, i) => Math.abs(v - got[i]) < 1e-5);
      let debug = null;
      try { await fovea.loadBackend("debug"); } catch (e) { debug = e.name + ": " + e.message; }
      let onnxProto = null;
      try { await import("onnx-proto"); onnxProto = "found"; } catch { onnxProto = "absent"; }
      console.log(JSON.stringify({ out: Array.from(out.toArray()), same, debug, onnxProto, build: fovea.backendInfo().build }));
    `);
    const r = JSON.parse(run(process.execPath, ["run.mjs"], consumer)) as { out: number[]; same: boolean; debug: string; onnxProto: string; build: string };
    expect(r.out).toEqual([11, 22, 33]);
    expect(r.same).toBe(true);
    expect(r.onnxProto).toBe("absent");
    expect(r.debug).toMatch(/^BackendError: the debug build is not part of this installation \(it has simd, relaxed, simd-mt, relaxed-mt\)/);
  });

  it("bundles for the browser with no node: import, no warning, and no CLI or image codec outside lazily loaded chunks", async () => {
    writeFileSync(join(consumer, "page.js"), `import { init, zoo, data } from "fovea";\nawait init();\nconsole.log(zoo.lenet5().inputShape, data.fromImageData);\n`);
    const { rolldown } = await import("rolldown");
    const logs: string[] = [];
    const bundle = await rolldown({ input: join(consumer, "page.js"), cwd: consumer, platform: "browser", onLog: (level, log) => void logs.push(`${level}: ${log.code}: ${log.message}`) });
    const { output } = await bundle.write({ dir: join(consumer, "out"), format: "esm" });
    expect(logs).toEqual([]);
    const chunks = output.filter((o) => o.type === "chunk");
    const entry = chunks.find((c) => c.isEntry)!;
    // nothing left for the page to import but the bundle's own chunks (no node: module, no bare name)
    for (const c of chunks) expect([...c.imports, ...c.dynamicImports].filter((i) => !chunks.some((o) => o.fileName === i)), c.fileName).toEqual([]);
    // commander and cli-progress are the CLI's: not in a page's bundle at all
    expect(chunks.filter((c) => Object.keys(c.modules).some((m) => /node_modules\/(commander|cli-progress)\//.test(m))).map((c) => c.fileName)).toEqual([]);
    // the codecs (pngjs in its browser build, jpeg-js) only in chunks loaded on first use
    const codecModules = (c: (typeof chunks)[number]) => Object.keys(c.modules).filter((m) => /node_modules\/(pngjs|jpeg-js)\//.test(m));
    expect(codecModules(entry)).toEqual([]);
    expect(chunks.flatMap(codecModules).filter((m) => m.includes("pngjs/lib/"))).toEqual([]);
  });
});

/**
 * The type names `fovea`'s index.d.ts exports, and the declared types reachable from its public
 * values, classes and namespaces (parameters, results, properties, type arguments, transitively)
 * that none of those names reaches.
 */
function publicTypeNames(entry: string): { exported: string[]; missing: string[] } {
  const program = ts.createProgram([entry], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022, lib: ["lib.es2022.d.ts", "lib.dom.d.ts"], types: [], strict: true });
  const checker = program.getTypeChecker();
  const pkgDir = resolve(entry, "..", "..");
  const real = (s: ts.Symbol) => (s.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(s) : s);
  const ours = (s: ts.Symbol) => (s.declarations ?? []).some((d) => d.getSourceFile().fileName.startsWith(pkgDir));
  const NAMED = ts.SymbolFlags.Interface | ts.SymbolFlags.Class | ts.SymbolFlags.Enum | ts.SymbolFlags.TypeAlias;
  const mod = checker.getSymbolAtLocation(program.getSourceFile(entry)!)!;
  const top = checker.getExportsOfModule(mod);
  const nameable = new Set(top.map(real));
  const needed = new Map<ts.Symbol, string>();
  const seenTypes = new Set<ts.Type>();
  const visitType = (t: ts.Type, where: string): void => {
    if (seenTypes.has(t)) return;
    seenTypes.add(t);
    if (t.aliasSymbol && ours(t.aliasSymbol)) {
      record(t.aliasSymbol, where);
      for (const a of t.aliasTypeArguments ?? []) visitType(a, where);
      return;
    }
    if (t.isUnionOrIntersection()) return t.types.forEach((x) => visitType(x, where));
    const s = t.getSymbol();
    if (s && ours(s) && s.flags & NAMED) record(s, where);
    if (t.flags & ts.TypeFlags.Object) {
      if ((t as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference) for (const a of checker.getTypeArguments(t as ts.TypeReference)) visitType(a, where);
      // the structure of anonymous types (object literals, function types) declared in the package
      if (s && ours(s) && s.flags & (ts.SymbolFlags.TypeLiteral | ts.SymbolFlags.ObjectLiteral | ts.SymbolFlags.Function | ts.SymbolFlags.Method)) members(t, where);
    }
  };
  const members = (t: ts.Type, where: string): void => {
    for (const sig of [...t.getCallSignatures(), ...t.getConstructSignatures()]) {
      for (const p of sig.getParameters()) visitType(checker.getTypeOfSymbol(p), `${where}(${p.name})`);
      visitType(sig.getReturnType(), `${where}()`);
    }
    for (const p of checker.getPropertiesOfType(t)) {
      const d = p.valueDeclaration ?? p.declarations?.[0];
      if (d && ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) continue;
      if (p.name.startsWith("#") || p.name.startsWith("__")) continue;
      visitType(checker.getTypeOfSymbol(p), `${where}.${p.name}`);
    }
    for (const i of [t.getNumberIndexType(), t.getStringIndexType()]) if (i) visitType(i, where);
  };
  const record = (sym: ts.Symbol, where: string): void => {
    const s = real(sym);
    if (needed.has(s)) return;
    needed.set(s, where);
    const t = checker.getDeclaredTypeOfSymbol(s);
    if (s.flags & ts.SymbolFlags.TypeAlias) {
      if (t.isUnionOrIntersection()) t.types.forEach((x) => visitType(x, s.name));
      else if (t.flags & ts.TypeFlags.Object) members(t, s.name);
    } else members(t, s.name);
    if (s.flags & ts.SymbolFlags.Class) members(checker.getTypeOfSymbol(s), s.name);
  };
  const visitExports = (m: ts.Symbol, prefix: string): void => {
    for (const e of checker.getExportsOfModule(m)) {
      const s = real(e);
      if (s.flags & ts.SymbolFlags.Module) visitExports(s, `${prefix}${e.name}.`);
      else if (s.flags & NAMED) record(s, prefix + e.name);
      else if (s.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) {
        const t = checker.getTypeOfSymbol(s);
        visitType(t, prefix + e.name);
        members(t, prefix + e.name);
      }
    }
  };
  visitExports(mod, "");
  const exported = top.filter((e) => real(e).flags & NAMED).map((e) => e.name).sort();
  const missing = [...needed].filter(([s]) => !nameable.has(s)).map(([s, where]) => `${s.name} (${where})`).sort();
  return { exported, missing };
}
