import { afterEach, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { BackendError, ConfigError, chooseBuild, loadBackend } from "../src/index.js";
import { detectFeatures } from "../src/runtime/features.js";
import { backendFor, runnableBuilds } from "./helpers/backends.js";

const savedEnv = process.env.FOVEA_BUILD;
afterEach(() => {
  if (savedEnv === undefined) delete process.env.FOVEA_BUILD;
  else process.env.FOVEA_BUILD = savedEnv;
});

describe("feature detection", () => {
  it("finds SIMD, threads opcodes and (with the vitest V8 flag) relaxed SIMD on Node", () => {
    const f = detectFeatures();
    expect(f.wasm).toBe(true);
    expect(f.simd).toBe(true);
    expect(f.threadsOpcodes).toBe(true);
    expect(f.sharedArrayBuffer).toBe(true);
    expect(f.crossOriginIsolated).toBe(null);
    expect(f.threads).toBe(true);
    expect(f.relaxedSimd).toBe(true); // vitest.config.ts passes --experimental-wasm-relaxed-simd on Node 20
  });

  it("reports relaxed SIMD absent on Node 20 without the flag, and auto picks simd there", () => {
    const major = Number(process.versions.node.split(".")[0]);
    const script = `import('./dist/index.js').then(async f => { await f.init(); const i = f.backendInfo(); console.log(JSON.stringify([i.build, i.chosenBy, i.features.relaxedSimd, i.buildReason])); })`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", env: { ...process.env, FOVEA_BUILD: "" } });
    expect(r.stderr).toBe("");
    const [build, chosenBy, relaxed, reason] = JSON.parse(r.stdout);
    expect(chosenBy).toBe("auto");
    if (major < 22) {
      expect(relaxed).toBe(false);
      expect(build).toMatch(/^simd(-mt)?$/);
      expect(reason).toBe(`auto: simd, since Node ${process.versions.node} needs the flag --experimental-wasm-relaxed-simd (Node 22+ has it on by default)`);
    } else {
      expect(build).toMatch(/^relaxed(-mt)?$/);
      expect(reason).toBe("auto: relaxed, the runtime accepts relaxed SIMD");
    }
    // forced builds say what forced them
    const forced = (env: Record<string, string>, init: string) => {
      const f = spawnSync(process.execPath, ["-e", `import('./dist/index.js').then(async f => { await f.init(${init}); console.log(JSON.stringify(f.backendInfo().buildReason)); })`], { encoding: "utf8", env: { ...process.env, ...env } });
      expect(f.stderr).toBe("");
      expect(f.status).toBe(0);
      return JSON.parse(f.stdout);
    };
    expect(forced({ FOVEA_BUILD: "simd" }, "")).toBe("FOVEA_BUILD=simd");
    expect(forced({ FOVEA_BUILD: "" }, "{ build: 'simd', threads: 2 }")).toBe('asked for by name: "simd" (init({ build }) or loadBackend)');
  });
});

describe("build choice", () => {
  it("auto picks relaxed where the runtime accepts it", () => {
    delete process.env.FOVEA_BUILD;
    expect(chooseBuild()).toEqual({ build: "relaxed", chosenBy: "auto" });
  });

  it("FOVEA_BUILD forces a build; an option beats the variable", () => {
    process.env.FOVEA_BUILD = "simd";
    expect(chooseBuild()).toEqual({ build: "simd", chosenBy: "FOVEA_BUILD" });
    expect(chooseBuild("relaxed")).toEqual({ build: "relaxed", chosenBy: "option" });
  });

  it("an unknown build is a ConfigError naming the choices", () => {
    process.env.FOVEA_BUILD = "avx512";
    expect(() => chooseBuild()).toThrow(ConfigError);
    expect(() => chooseBuild()).toThrow(/FOVEA_BUILD: unknown build "avx512" \(choose one of simd, relaxed, debug\)/);
  });

  it("forcing relaxed where it cannot run is a clear BackendError (Node 20 without the flag)", () => {
    const major = Number(process.versions.node.split(".")[0]);
    if (major >= 22) return; // relaxed runs everywhere the flag is not needed
    const script = `import('./dist/index.js').then(f => f.init()).then(() => console.log('loaded'), e => console.log(e.name + ': ' + e.message))`;
    const r = spawnSync(process.execPath, ["-e", script], { encoding: "utf8", env: { ...process.env, FOVEA_BUILD: "relaxed" } });
    expect(r.stdout.trim()).toBe(
      `BackendError: FOVEA_BUILD=relaxed: the relaxed build cannot run here: Node ${process.versions.node} needs the flag --experimental-wasm-relaxed-simd (Node 22+ has it on by default)`,
    );
  });
});

describe("every build", () => {
  const builds = runnableBuilds();

  it("this process can run all five builds", () => {
    expect(builds).toEqual(["simd", "relaxed", "debug", "simd-mt", "relaxed-mt"]);
  });

  it.each(builds)("%s reports its own build flags", async (build) => {
    const b = await backendFor(build);
    const flags = b.kernels.build_flags();
    expect(Boolean(flags & 1)).toBe(build.startsWith("relaxed"));
    expect(Boolean(flags & 2)).toBe(build.endsWith("-mt"));
    expect(Boolean(flags & 4)).toBe(build === "debug");
  });

  it.each(builds)("%s runs the smoke kernel and agrees with float64", async (build) => {
    const b = await backendFor(build);
    const n = 37; // not a multiple of 4: exercises the SIMD body and the scalar tail
    const a = b.heap.alloc(n * 4), c = b.heap.alloc(n * 4), out = b.heap.alloc(n * 4);
    const av = b.heap.f32(a, n), cv = b.heap.f32(c, n);
    for (let i = 0; i < n; i++) {
      av[i] = Math.fround(Math.sin(i) * 3);
      cv[i] = Math.fround(i / 7);
    }
    b.kernels.f32_add_fwd(a, c, out, n);
    const o = b.heap.f32(out, n);
    for (let i = 0; i < n; i++) expect(o[i]).toBe(Math.fround(av[i]! + cv[i]!));
    [a, c, out].forEach((p) => b.heap.free(p));
  });

  it("the -mt builds run on a shared memory", async () => {
    for (const build of builds.filter((x) => x.endsWith("-mt"))) {
      const b = await backendFor(build);
      expect(b.memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    }
    expect((await backendFor("simd")).memory.buffer).toBeInstanceOf(ArrayBuffer);
  });
});

describe("the debug build", () => {
  it("traps on a violated kernel precondition that the release builds do not check", async () => {
    const bad = (k: { f32_gemm: (...a: number[]) => void }, scratch: number, p: number) =>
      k.f32_gemm(0, 0, 2, 8, 2, 1, p, 2, p, 8, 0, p, 4 /* ldc < N */, 0, 0, scratch);
    const debug = await backendFor("debug");
    const ds = debug.heap.alloc(debug.kernels.f32_gemm_scratch_bytes()), dp = debug.heap.alloc(256, true);
    expect(() => bad(debug.kernels, ds, dp)).toThrow(WebAssembly.RuntimeError);
    const simd = await backendFor("simd");
    const ss = simd.heap.alloc(simd.kernels.f32_gemm_scratch_bytes()), sp = simd.heap.alloc(256, true);
    expect(() => bad(simd.kernels, ss, sp)).not.toThrow();
  });
});

describe("backendInfo", () => {
  it("tells the truth about the build, wasm size and memory", async () => {
    const b = await loadBackend("simd", "option");
    const info = b.info();
    expect(info.build).toBe("simd");
    expect(info.chosenBy).toBe("option");
    expect(info.runtime).toBe(`node ${process.versions.node}`);
    expect(info.threads).toBe(1);
    const { statSync } = await import("node:fs");
    expect(info.wasmBytes).toBe(statSync("build/fovea.simd.wasm").size);
    const p = b.heap.alloc(1000);
    expect(b.info().memory.inUseBytes).toBe(1008);
    expect(b.info().memory.capacityBytes).toBe(b.memory.buffer.byteLength);
    b.heap.free(p);
  });

  it("before init it is a BackendError that says what to call", async () => {
    const { getBackend } = await import("../src/runtime/backend.js");
    expect(() => getBackend()).toThrow(BackendError);
    expect(() => getBackend()).toThrow(/await fovea\.init\(\)/);
  });

  it("init rejects unknown options and bad sizes", async () => {
    const { init } = await import("../src/index.js");
    // @ts-expect-error: not an option
    expect(() => init({ bild: "simd" })).toThrow(/init: unknown option "bild" \(known: build, initialMemoryMiB, threads\)/);
    expect(() => init({ initialMemoryMiB: -1 })).toThrow(ConfigError);
  });
});
