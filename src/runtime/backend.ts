// Loads and instantiates the fovea wasm build that fits this runtime, and owns its memory.

import { BackendError, ConfigError, checkOptionKeys } from "../errors.js";
import type { Kernels } from "./generated/kernels.js";
import { KERNEL_SIGNATURES } from "./generated/kernels.js";
import { detectFeatures, type Features } from "./features.js";
import { Heap, MAX_PAGES, type HeapStats } from "./memory.js";
import { base64ToBytes, readEnv, relaxedSimdHint, runtimeDescription } from "./platform.js";

/** Builds a user may choose. The -mt builds belong to the thread pool. */
export const BUILDS = ["simd", "relaxed", "debug"] as const;
export type BuildName = (typeof BUILDS)[number] | "simd-mt" | "relaxed-mt";
type UserBuild = (typeof BUILDS)[number];

/** Each build's bytes live in their own generated module, imported only when that build is chosen. */
const BYTES: Record<BuildName, () => Promise<{ WASM_BASE64: string }>> = {
  simd: () => import("./generated/wasm-simd.js"),
  relaxed: () => import("./generated/wasm-relaxed.js"),
  debug: () => import("./generated/wasm-debug.js"),
  "simd-mt": () => import("./generated/wasm-simd-mt.js"),
  "relaxed-mt": () => import("./generated/wasm-relaxed-mt.js"),
};

export interface InitOptions {
  /** Force a build: "simd", "relaxed" or "debug" (asserts on). Default: FOVEA_BUILD, else the best one. */
  build?: UserBuild;
  /** Initial linear memory in MiB (it grows on demand). Default 16. */
  initialMemoryMiB?: number;
}
const INIT_KEYS = ["build", "initialMemoryMiB"] as const;

export interface BackendInfo {
  /** The build running, e.g. "relaxed". */
  build: BuildName;
  /** Why that build: "auto", "option", or "FOVEA_BUILD". */
  chosenBy: "auto" | "option" | "FOVEA_BUILD";
  /** What the runtime supports (WebAssembly.validate probes). */
  features: Features;
  /** "node 20.20.2", "deno 2.9.6", or a browser user agent. */
  runtime: string;
  /** Size of the instantiated .wasm in bytes. */
  wasmBytes: number;
  /** Threads in use for kernels (1: the thread pool is not part of this build yet). */
  threads: number;
  /** Why the thread count is what it is. */
  threadsReason: string;
  /** Linear memory and allocator statistics. */
  memory: HeapStats;
}

/** One instantiated fovea module with its own memory and heap. */
export class Backend {
  private scratchPtr = 0;
  private scratchBytes = 0;

  constructor(
    readonly build: BuildName,
    readonly chosenBy: BackendInfo["chosenBy"],
    readonly kernels: Kernels,
    readonly memory: WebAssembly.Memory,
    readonly heap: Heap,
    readonly wasmBytes: number,
  ) {}

  /**
   * A scratch block of at least `bytes` bytes, shared by every kernel call of this backend (one
   * call at a time): kept and reused, reallocated only when a larger one is asked for.
   */
  scratch(bytes: number): number {
    if (bytes > this.scratchBytes) {
      if (this.scratchBytes > 0) this.heap.free(this.scratchPtr);
      this.scratchPtr = this.heap.alloc(bytes);
      this.scratchBytes = bytes;
    }
    return this.scratchPtr;
  }

  /** Writes an i32 geometry block (kernel parameters) into fresh memory; free it with heap.free. */
  geometry(fields: readonly number[]): number {
    const p = this.heap.alloc(fields.length * 4);
    this.heap.i32(p, fields.length).set(fields);
    return p;
  }

  info(): BackendInfo {
    return {
      build: this.build,
      chosenBy: this.chosenBy,
      features: detectFeatures(),
      runtime: runtimeDescription(),
      wasmBytes: this.wasmBytes,
      threads: 1,
      threadsReason: "single-threaded build",
      memory: this.heap.stats(),
    };
  }
}

/** Picks the build from the option, then FOVEA_BUILD, then the features; throws if it cannot run here. */
export function chooseBuild(option?: string): { build: UserBuild; chosenBy: BackendInfo["chosenBy"] } {
  const env = readEnv("FOVEA_BUILD");
  const requested = option ?? (env === undefined || env === "" ? undefined : env);
  const chosenBy = option !== undefined ? "option" : requested !== undefined ? "FOVEA_BUILD" : "auto";
  const f = detectFeatures();
  if (!f.wasm) throw new BackendError("this runtime has no WebAssembly");
  if (!f.simd) throw new BackendError("this runtime's WebAssembly has no SIMD128, which every fovea build needs");
  if (requested === undefined) return { build: f.relaxedSimd ? "relaxed" : "simd", chosenBy };
  const where = chosenBy === "option" ? "init({ build })" : "FOVEA_BUILD";
  if (!(BUILDS as readonly string[]).includes(requested)) {
    throw new ConfigError(`${where}: unknown build "${requested}" (choose one of ${BUILDS.join(", ")})`);
  }
  if (requested === "relaxed" && !f.relaxedSimd) {
    throw new BackendError(`${where}=relaxed: the relaxed build cannot run here: ${relaxedSimdHint()}`);
  }
  return { build: requested as UserBuild, chosenBy };
}

/** Instantiates one build with a fresh memory. Most users want init(); tests compare builds with this. */
export async function loadBackend(
  build: BuildName,
  chosenBy: BackendInfo["chosenBy"] = "option",
  initialMemoryMiB = 16,
): Promise<Backend> {
  const { WASM_BASE64 } = await BYTES[build]();
  const bytes = base64ToBytes(WASM_BASE64);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (e) {
    throw new BackendError(`the ${build} build does not compile on ${runtimeDescription()}: ${(e as Error).message}`);
  }
  const shared = build.endsWith("-mt");
  const initial = Math.max(1, Math.ceil((initialMemoryMiB * 1024 * 1024) / 65536));
  const memory = new WebAssembly.Memory({ initial, maximum: MAX_PAGES, shared });
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const kernels = instance.exports;
  if (!hasAllKernels(kernels)) {
    const missing = Object.keys(KERNEL_SIGNATURES).filter((n) => typeof kernels[n] !== "function");
    throw new BackendError(`the ${build} build lacks the kernels ${missing.join(", ")}: rebuild with npm run build`);
  }
  const heap = new Heap(memory, kernels.heap_base() >>> 0);
  return new Backend(build, chosenBy, kernels, memory, heap, bytes.length);
}

/** True when every function of the generated kernel table is exported with its arity. */
export function hasAllKernels(exports: WebAssembly.Exports): exports is WebAssembly.Exports & Kernels {
  return Object.entries(KERNEL_SIGNATURES).every(([name, sig]) => {
    const f = exports[name];
    return typeof f === "function" && f.length === sig.params.length;
  });
}

let current: Backend | undefined;
let pending: Promise<Backend> | undefined;
let pendingBuild: string | undefined;

/**
 * Loads the best build for this runtime (or the one forced by `options.build` / FOVEA_BUILD).
 * Idempotent: later calls return the same backend; asking for a different build after the
 * first call is a ConfigError, since tensors already made live in the first one's memory.
 */
export function init(options: InitOptions = {}): Promise<Backend> {
  checkOptionKeys("init", options, INIT_KEYS);
  const mib = options.initialMemoryMiB ?? 16;
  if (!(Number.isFinite(mib) && mib > 0 && mib <= 4096)) {
    throw new ConfigError(`init: initialMemoryMiB must be in (0, 4096], got ${options.initialMemoryMiB}`);
  }
  if (pending) {
    if (options.build !== undefined && options.build !== pendingBuild) {
      throw new ConfigError(
        `init: fovea is already initialised with the ${pendingBuild} build; it cannot switch to "${options.build}"`,
      );
    }
    return pending;
  }
  const { build, chosenBy } = chooseBuild(options.build);
  pendingBuild = build;
  pending = loadBackend(build, chosenBy, mib).then((b) => (current = b));
  pending.catch(() => {
    pending = undefined;
    pendingBuild = undefined;
  });
  return pending;
}

let override: Backend | undefined;

/**
 * Runs `fn` with `backend` as the default backend: models and tensors created inside live in
 * its memory (e.g. the same model on the simd and the relaxed build, side by side).
 */
export function withBackend<T>(backend: Backend, fn: () => T): T {
  const prev = override;
  override = backend;
  try {
    return fn();
  } finally {
    override = prev;
  }
}

/** The initialised backend; throws a BackendError naming the fix if init() has not completed. */
export function getBackend(): Backend {
  if (override) return override;
  if (!current) throw new BackendError("fovea is not initialised: call `await fovea.init()` first");
  return current;
}

/** The truth about the running backend: build, features, wasm size, memory, threads. */
export function backendInfo(): BackendInfo {
  return getBackend().info();
}
