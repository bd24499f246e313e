// Loads and instantiates the fovea wasm build that fits this runtime, and owns its memory.

import { BackendError, ConfigError, checkOptionKeys } from "../errors.js";
import type { Kernels } from "./generated/kernels.js";
import { KERNEL_SIGNATURES } from "./generated/kernels.js";
import { detectFeatures, type Features } from "./features.js";
import { Heap, MAX_PAGES, type HeapStats } from "./memory.js";
import { base64ToBytes, cores, readEnv, relaxedSimdHint, runtimeDescription, runtimeName } from "./platform.js";
import { ThreadPool } from "./pool.js";
import { invoke, paramIndex, type KernelCall } from "./calls.js";
import { MIN_PARALLEL_FLOPS } from "./pool-layout.js";

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
  /** Threads for kernels (the caller plus a worker pool). Default: FOVEA_THREADS, else the cores the runtime reports. 1: no pool. */
  threads?: number;
}
const INIT_KEYS = ["build", "initialMemoryMiB", "threads"] as const;

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

/** The most threads a pool may have (a sanity bound on requests, not a default). */
export const MAX_THREADS = 256;

/** One instantiated fovea module with its own memory and heap. */
export class Backend {
  private scratchPtr: number[] = [];
  private scratchBytes: number[] = [];
  /** The worker pool, or null when kernels run on the calling thread only. */
  pool: ThreadPool | null = null;
  /** Why the thread count is what it is. */
  threadsReason = "one thread requested";

  constructor(
    readonly build: BuildName,
    readonly chosenBy: BackendInfo["chosenBy"],
    readonly kernels: Kernels,
    readonly memory: WebAssembly.Memory,
    readonly heap: Heap,
    readonly wasmBytes: number,
    readonly module: WebAssembly.Module | null = null,
  ) {}

  /** Threads kernels run on (1 without a pool). */
  get threads(): number {
    return this.pool ? this.pool.threads : 1;
  }

  /**
   * Runs calls[i] on thread i; a call with scratchBytes gets its thread's own scratch block as its
   * `scratch` argument. Without a pool (or with one call) they run here in turn.
   */
  run(calls: readonly KernelCall[]): void {
    const pool = this.pool;
    if (calls.length < 2 || !pool) return this.runInTurn(calls);
    // more parts than threads (a plan laid out before setThreads lowered the count): in rounds
    if (calls.length > pool.threads) {
      for (let s = 0; s < calls.length; s += pool.threads) this.run(calls.slice(s, s + pool.threads));
      return;
    }
    for (let t = 0; t < calls.length; t++) this.giveScratch(calls[t]!, t);
    pool.run(calls);
  }

  /** Runs calls one after another on this thread (calls that must not run at the same time). */
  runInTurn(calls: readonly KernelCall[]): void {
    for (let t = 0; t < calls.length; t++) {
      const c = calls[t]!;
      this.giveScratch(c, 0);
      invoke(this.kernels, c);
    }
  }

  /** A call with scratchBytes gets thread t's scratch block as its `scratch` argument. */
  private giveScratch(c: KernelCall, t: number): void {
    if (c.scratchBytes === undefined) return;
    const at = paramIndex(c.fn, "scratch");
    if (at < 0 || "scratchArg" in c) throw new BackendError(`a call of ${c.fn} with scratchBytes: ${at < 0 ? "the kernel has no scratch parameter" : "scratchArg is no longer read (the scratch goes to the parameter named scratch)"}`);
    (c.args as number[])[at] = this.scratchFor(t, c.scratchBytes);
  }

  /** Per-thread scratch: thread t's block of at least `bytes` (kept, grown on demand). */
  scratchFor(t: number, bytes: number): number {
    if (bytes > (this.scratchBytes[t] ?? 0)) {
      if (this.scratchBytes[t]) this.heap.free(this.scratchPtr[t]!);
      this.scratchPtr[t] = this.heap.alloc(bytes);
      this.scratchBytes[t] = bytes;
    }
    return this.scratchPtr[t]!;
  }

  /** Stops the worker pool (workers are unref'd, so this is only needed to free them early). */
  shutdown(): void {
    this.pool?.shutdown();
    this.pool = null;
    this.threadsReason = "the pool was shut down";
  }

  /**
   * A scratch block of at least `bytes` bytes, shared by every kernel call of this backend (one
   * call at a time): kept and reused, reallocated only when a larger one is asked for.
   */
  scratch(bytes: number): number {
    return this.scratchFor(0, bytes);
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
      threads: this.threads,
      threadsReason: this.threadsReason,
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
  threads = 1,
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
  const be = new Backend(build, chosenBy, kernels, memory, heap, bytes.length, module);
  if (threads > 1) {
    if (!shared) throw new BackendError(`${threads} threads need a -mt build, not ${build}`);
    try {
      be.pool = await ThreadPool.start(module, memory, kernels, threads, (n) => heap.alloc(n, true));
      be.threadsReason = poolReason(threads, "requested");
    } catch (e) {
      // e.g. Deno without --allow-read, a bundle that did not ship worker.js: run here, and say so
      be.threadsReason = `single thread: the worker pool did not start (${(e as Error).message})`;
    }
  } else be.threadsReason = shared ? "one thread requested" : "single-threaded build";
  return be;
}

/** What backendInfo() says of a running pool of n threads, chosen for `why`. */
function poolReason(n: number, why: string): string {
  return `${n} threads (${why}): the caller and ${n - 1} worker${n > 2 ? "s" : ""}; ops under ${MIN_PARALLEL_FLOPS / 1e6} MFLOP stay on the caller, and an op splits into at most as many parts as it has units (images, rows)`;
}


/** Threads to use and why: the request (option, FOVEA_THREADS, or the cores the runtime reports) within what the runtime allows. */
export async function chooseThreads(requested?: number): Promise<{ threads: number; reason: string }> {
  const env = readEnv("FOVEA_THREADS");
  let want = requested;
  if (want === undefined && env) {
    want = Number(env);
    if (!Number.isInteger(want) || want < 1) throw new ConfigError(`FOVEA_THREADS must be a whole number >= 1, got "${env}"`);
  }
  if (want !== undefined && (!Number.isInteger(want) || want < 1 || want > MAX_THREADS)) throw new ConfigError(`init: threads must be a whole number in [1, ${MAX_THREADS}], got ${want}`);
  const auto = want === undefined;
  const n = auto ? await cores() : 0;
  if (auto) want = Math.max(1, Math.min(n, MAX_THREADS));
  if (want === 1) return { threads: 1, reason: auto ? "one core" : "one thread requested" };
  const f = detectFeatures();
  if (!f.threadsOpcodes) return { threads: 1, reason: "single thread: this WebAssembly has no threads (atomics / shared memory)" };
  if (f.crossOriginIsolated === false) return { threads: 1, reason: "single thread: the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp)" };
  if (!f.sharedArrayBuffer) return { threads: 1, reason: "single thread: SharedArrayBuffer is unavailable" };
  const why = auto ? `${n} core${n > 1 ? "s" : ""} reported by the runtime${n > MAX_THREADS ? `, at most ${MAX_THREADS}` : ""}` : env && requested === undefined ? "FOVEA_THREADS" : "requested";
  return { threads: want!, reason: why };
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
  pending = chooseThreads(options.threads).then(async ({ threads, reason }) => {
    const b = await loadBackend(threads > 1 && build !== "debug" ? (`${build}-mt` as BuildName) : build, chosenBy, mib, build === "debug" ? 1 : threads);
    if (b.pool) b.threadsReason = poolReason(threads, reason);
    else if (threads === 1) b.threadsReason = reason;
    else if (build === "debug") b.threadsReason = "the debug build runs on one thread";
    return (current = b);
  });
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

/**
 * Changes the thread count of the default backend: stops its pool and starts one of n threads
 * (n = 1: no pool). The backend must run an -mt build (init() picks one when threads are
 * possible; otherwise this is a BackendError naming the reason).
 */
export async function setThreads(n: number): Promise<BackendInfo> {
  const be = getBackend();
  if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) throw new ConfigError(`setThreads: n must be a whole number in [1, ${MAX_THREADS}], got ${n}`);
  if (!be.build.endsWith("-mt") || !be.module) {
    throw new BackendError(`setThreads(${n}): fovea runs the single-threaded ${be.build} build (${be.threadsReason}); threads cannot start here`);
  }
  be.shutdown();
  if (n > 1) {
    be.pool = await ThreadPool.start(be.module, be.memory, be.kernels, n, (b) => be.heap.alloc(b, true));
    be.threadsReason = poolReason(n, "setThreads");
  } else be.threadsReason = "one thread requested";
  return be.info();
}

/** Stops the default backend's worker pool (optional: idle workers never keep a process alive). */
export function shutdown(): void {
  current?.shutdown();
}

/** The truth about the running backend: build, features, wasm size, memory, threads. */
export function backendInfo(): BackendInfo {
  return getBackend().info();
}
