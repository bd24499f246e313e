// Loads and instantiates the fovea wasm build that fits this runtime, and owns its memory.

import { BackendError, ConfigError, FoveaError, checkOptionKeys } from "../errors.js";
import type { Kernels } from "./generated/kernels.js";
import { KERNEL_SIGNATURES } from "./generated/kernels.js";
import { wasmBytes } from "./embedded.js";
import { detectFeatures, type Features } from "./features.js";
import { Heap, MAX_PAGES, type HeapStats } from "./memory.js";
import { cores, envHidden, readEnv, relaxedSimdHint, runtimeDescription, runtimeName } from "./platform.js";
import { ThreadPool } from "./pool.js";
import { isBalanced, measureSpeeds, placeCuts } from "./balance.js";
import { invoke, paramIndex, type KernelCall } from "./calls.js";
import { MIN_PARALLEL_FLOPS } from "./pool-layout.js";

/** Builds a user may choose. The -mt builds belong to the thread pool. */
export const BUILDS = ["simd", "relaxed", "debug"] as const;
export type BuildName = (typeof BUILDS)[number] | "simd-mt" | "relaxed-mt";
type UserBuild = (typeof BUILDS)[number];

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
  /** The same in words, e.g. "auto: simd, since Node 20.20.2 needs the flag --experimental-wasm-relaxed-simd (…)". */
  buildReason: string;
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

/**
 * One instantiated fovea module with its own memory and heap.
 *
 * Scratch: each thread has one block, shared by every kernel call that runs on it. A plan holds
 * the bytes its calls need (holdScratch) until it is freed; the blocks keep the largest need of the
 * live plans. A call that needs more (an eager op) grows its block, and the excess is returned
 * after that run() — so freeing every model returns every scratch byte too.
 *
 * The pool: setThreads calls apply one after another, in the order made; shutdown() stops the
 * pool at once and cancels the setThreads calls still under way. A stopped pool's memory is
 * returned once its threads have ended (shutdown()'s promise).
 */
export class Backend {
  private scratchPtr: number[] = [];
  private scratchBytes: number[] = [];
  /** Scratch bytes held by each live plan, and their maximum (what every thread's block keeps). */
  private readonly holds = new Map<object, number>();
  private held = 0;
  /** A block grew past `held` (an eager call): trimmed at the end of the run. */
  private scratchExcess = false;
  /** The worker pool, or null when kernels run on the calling thread only. */
  pool: ThreadPool | null = null;
  /** Why the thread count is what it is. */
  threadsReason = "one thread requested";
  /** The thread count asked for last (init or setThreads): what init() restarts after shutdown(). */
  requestedThreads = 1;
  /** shutdown() stopped the pool and no setThreads has started one since. */
  private wasShutDown = false;
  /** Bumped by shutdown(): a setThreads made before it gives way. */
  private poolEpoch = 0;
  /** The setThreads calls in order, and how many have not applied yet. */
  private threadChange: Promise<unknown> = Promise.resolve();
  private changesPending = 0;
  /** Resolves when every pool stopped so far has ended and returned its memory. */
  private poolsEnded: Promise<void> = Promise.resolve();
  /**
   * Kernels a warm-up (Model.warm) has run long enough for V8 to optimise them: a later model
   * whose kernels are all here needs one pass, not a warm-up. With `seen` set, every call run
   * adds its kernel's name there (the warm-up's first pass, to learn its kernels): run and
   * runPrograms note them before handing calls to the pool, runInTurn for what runs here.
   */
  readonly warmed = new Set<string>();
  seen: Set<string> | null = null;

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
   * `scratch` argument. Without a pool (or with one call) they run here in turn. A split with a
   * balance (balance.ts) is cut by the threads' speeds first, and their times in it measured after.
   */
  run(calls: readonly KernelCall[]): void {
    const pool = this.pool;
    if (calls.length < 2 || !pool) return this.runInTurn(calls);
    if (this.seen) for (const c of calls) this.seen.add(c.fn);
    const balance = pool.balances && isBalanced(calls) && calls.length <= pool.threads;
    if (balance) placeCuts(calls, pool.speeds);
    // more parts than threads (a plan laid out for more threads than the pool has now): in rounds
    for (let s = 0; s < calls.length; s += pool.threads) {
      const part = s === 0 && calls.length <= pool.threads ? calls : calls.slice(s, s + pool.threads);
      for (let t = 0; t < part.length; t++) this.giveScratch(part[t]!, t);
      pool.run(part);
    }
    if (balance) measureSpeeds(calls, pool.busy, pool.speeds);
    if (this.scratchExcess) this.trimScratch();
  }

  /**
   * Runs programs[i] — calls in order — on thread i: one wake-up and one acknowledgement per
   * worker for all of them. Without a pool they run here one program after another; programs
   * beyond the pool's threads (a plan laid out for more threads than it has now) run in rounds.
   * A call with scratchBytes gets the scratch block of the thread it runs on.
   */
  runPrograms(programs: readonly (readonly KernelCall[])[]): void {
    const pool = this.pool;
    if (!pool || programs.length < 2) {
      for (const p of programs) this.runInTurn(p);
      return;
    }
    if (this.seen) for (const p of programs) for (const c of p) this.seen.add(c.fn);
    for (let s = 0; s < programs.length; s += pool.threads) {
      const part = s === 0 && programs.length <= pool.threads ? programs : programs.slice(s, s + pool.threads);
      // each thread's block grown once, to its program's largest need, before any call is given
      // it: growing it between two calls would free the block the first call was given
      part.forEach((p, t) => {
        let most = 0;
        for (const c of p) most = Math.max(most, c.scratchBytes ?? 0);
        if (most > 0) this.scratchFor(t, most);
        for (const c of p) this.giveScratch(c, t);
      });
      pool.runPrograms(part);
    }
    if (this.scratchExcess) this.trimScratch();
  }

  /**
   * This backend as one thread sees it, for building and recording the calls of one slice of a
   * batch (Plan): call builders asking `threads` get 1, and run / runInTurn / runPrograms hand
   * their calls to `record` instead of running them. Everything else is this backend's own (the
   * view inherits from it and keeps no state of its own).
   */
  recorder(record: (calls: readonly KernelCall[]) => void): Backend {
    const take = (calls: readonly KernelCall[]) => record(calls);
    return Object.create(this, {
      threads: { value: 1 },
      run: { value: take },
      runInTurn: { value: take },
      runPrograms: { value: (programs: readonly (readonly KernelCall[])[]) => { for (const p of programs) record(p); } },
    }) as Backend;
  }

  /** Runs calls one after another on this thread (calls that must not run at the same time). */
  runInTurn(calls: readonly KernelCall[]): void {
    for (let t = 0; t < calls.length; t++) {
      const c = calls[t]!;
      this.seen?.add(c.fn);
      this.giveScratch(c, 0);
      invoke(this.kernels, c);
    }
    if (this.scratchExcess) this.trimScratch();
  }

  /** A call with scratchBytes gets thread t's scratch block as its `scratch` argument. */
  private giveScratch(c: KernelCall, t: number): void {
    if (c.scratchBytes === undefined) return;
    const at = paramIndex(c.fn, "scratch");
    if (at < 0 || "scratchArg" in c) throw new BackendError(`a call of ${c.fn} with scratchBytes: ${at < 0 ? "the kernel has no scratch parameter" : "scratchArg is no longer read (the scratch goes to the parameter named scratch)"}`);
    (c.args as number[])[at] = this.scratchFor(t, c.scratchBytes);
  }

  /** Per-thread scratch: thread t's block of at least `bytes` (grown on demand; see the class comment). */
  scratchFor(t: number, bytes: number): number {
    if (bytes > (this.scratchBytes[t] ?? 0)) {
      // the new block first: if memory runs out, the old one is still this thread's, still recorded
      const p = this.heap.alloc(bytes);
      if (this.scratchBytes[t]) this.heap.free(this.scratchPtr[t]!);
      this.scratchPtr[t] = p;
      this.scratchBytes[t] = bytes;
      if (bytes > this.held) this.scratchExcess = true;
    }
    return this.scratchPtr[t]!;
  }

  /**
   * A scratch block of at least `bytes` bytes on this thread, shared by every kernel call of this
   * backend: valid until the next run() (which may return it if no plan holds that many bytes).
   */
  scratch(bytes: number): number {
    return this.scratchFor(0, bytes);
  }

  /** `holder` (a plan) needs `bytes` of scratch on every thread until releaseScratch(holder): running it then allocates nothing. */
  holdScratch(holder: object, bytes: number): void {
    this.holds.set(holder, bytes);
    if (bytes > this.held) this.held = bytes;
    for (let t = 0; t < this.threads; t++) this.scratchFor(t, bytes);
  }

  /** `holder` no longer needs its scratch: the blocks shrink to what the other holders need. */
  releaseScratch(holder: object): void {
    if (!this.holds.delete(holder)) return;
    let max = 0;
    for (const b of this.holds.values()) if (b > max) max = b;
    this.held = max;
    this.trimScratch();
  }

  /** Returns scratch beyond what live plans hold, and the blocks of threads the pool no longer has. */
  private trimScratch(): void {
    this.scratchExcess = false;
    for (let t = 0; t < this.scratchBytes.length; t++) {
      const keep = t < this.threads ? this.held : 0;
      if ((this.scratchBytes[t] ?? 0) <= keep) continue;
      const p = keep ? this.heap.alloc(keep) : 0;
      this.heap.free(this.scratchPtr[t]!);
      this.scratchPtr[t] = p;
      this.scratchBytes[t] = keep;
    }
  }

  /**
   * Stops the worker pool at once (workers are unref'd, so this is only needed to free them
   * early): kernels run on the calling thread from now on — a plan split for more threads runs its
   * parts in turn, with the same results — until setThreads or init() starts a pool again. A
   * setThreads still under way gives way. The promise resolves once the workers have ended and the
   * pool's memory is back (awaiting it is optional; it never rejects).
   */
  shutdown(): Promise<void> {
    this.poolEpoch++;
    if (this.pool || this.changesPending) this.wasShutDown = true;
    this.stopPool("the pool was shut down");
    return this.poolsEnded;
  }

  /** Stops the pool (if any): the one place a pool is let go. */
  private stopPool(reason: string): void {
    const pool = this.pool;
    if (!pool) return;
    this.pool = null;
    this.threadsReason = reason;
    this.poolsEnded = Promise.all([this.poolsEnded, pool.shutdown()]).then(() => undefined);
    this.trimScratch(); // the blocks of the threads gone
  }

  /**
   * Runs kernels on n threads (n = 1: no pool), after the setThreads calls made before this one;
   * resolves once the new pool runs and the old one has ended. Made before a shutdown(), it gives
   * way and resolves with the backend as shutdown() left it.
   */
  setThreads(n: number, why = "setThreads"): Promise<BackendInfo> {
    if (!Number.isInteger(n) || n < 1 || n > MAX_THREADS) return Promise.reject(new ConfigError(`setThreads: n must be a whole number in [1, ${MAX_THREADS}], got ${n}`));
    if (!this.build.endsWith("-mt") || !this.module) {
      // a build's memory is made when it loads: the models on the single-threaded one cannot move to a shared memory
      const first = runtimeName() === "browser" ? `page's first init: fovea.init({ threads: ${n} }) there (on a cross-origin isolated page)`
        : `process's first init: fovea.init({ threads: ${n} }) there, or FOVEA_THREADS=${n} when it starts (where the runtime has shared memory)`;
      return Promise.reject(new BackendError(`setThreads(${n}): fovea runs the single-threaded ${this.build} build (${this.threadsReason}), whose memory no thread can share and whose models cannot move to another; threads are chosen when the build loads, at the ${first}`));
    }
    const epoch = this.poolEpoch;
    this.changesPending++;
    const next = this.threadChange.then(() => this.applyThreads(n, epoch, why)).finally(() => this.changesPending--);
    this.threadChange = next.catch(() => undefined);
    return next;
  }

  private async applyThreads(n: number, epoch: number, why: string): Promise<BackendInfo> {
    if (epoch !== this.poolEpoch) return this.info(); // shutdown() came after this call
    // the pool it asks for, running and healthy: kept (a new one would only cost its start)
    if (n > 1 && this.pool?.threads === n && this.pool.healthy) {
      this.requestedThreads = n;
      return this.info();
    }
    this.stopPool(n > 1 ? `starting a pool of ${n} threads` : "one thread requested");
    await this.poolsEnded;
    if (n > 1) {
      let pool: ThreadPool;
      try {
        pool = await ThreadPool.start(this.module!, this.memory, this.kernels, n, (b) => this.heap.alloc(b, true), { free: (p) => this.heap.free(p), fallback: poolFallback() });
      } catch (e) {
        this.threadsReason = `single thread: the worker pool did not start (${(e as Error).message})`;
        throw e instanceof FoveaError ? e : new BackendError(`the worker pool did not start: ${(e as Error).message}`);
      }
      if (epoch !== this.poolEpoch) {
        await pool.shutdown();
        return this.info();
      }
      this.pool = pool;
      this.threadsReason = poolReason(n, why);
      if (this.held) for (let t = 0; t < n; t++) this.scratchFor(t, this.held); // live plans run without allocating
    } else this.threadsReason = "one thread requested";
    this.requestedThreads = n;
    this.wasShutDown = false;
    return this.info();
  }

  /**
   * After shutdown(): starts the pool again with the thread count asked for last (init() calls
   * this). A pool that does not start leaves one thread, with the reason in threadsReason, as at init.
   */
  async restart(): Promise<void> {
    if (!this.wasShutDown || this.requestedThreads < 2) return;
    await this.setThreads(this.requestedThreads, "requested").catch(() => undefined);
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
      buildReason: buildReason(this.build, this.chosenBy),
      features: detectFeatures(),
      runtime: runtimeDescription(),
      wasmBytes: this.wasmBytes,
      threads: this.threads,
      threadsReason: this.threadsReason,
      memory: this.heap.stats(),
    };
  }
}

/** Why `build` runs, in words: the option or variable that forced it, or what auto found (relaxed SIMD, or why not). */
function buildReason(build: BuildName, chosenBy: BackendInfo["chosenBy"]): string {
  const user = build.replace(/-mt$/, "");
  if (chosenBy === "option") return `asked for by name: "${user}" (init({ build }) or loadBackend)`;
  if (chosenBy === "FOVEA_BUILD") return `FOVEA_BUILD=${user}`;
  return detectFeatures().relaxedSimd ? `auto: ${user}, the runtime accepts relaxed SIMD` : `auto: ${user}, since ${relaxedSimdHint()}`;
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
  // each build's bytes are in their own generated module, imported only when that build is chosen
  const bytes = await wasmBytes(build);
  let module: WebAssembly.Module;
  try {
    module = await WebAssembly.compile(bytes);
  } catch (e) {
    const csp = /Content Security Policy/i.test((e as Error).message) ? " (the page's Content-Security-Policy must allow 'wasm-unsafe-eval' in script-src)" : "";
    throw new BackendError(`the ${build} build does not compile on ${runtimeDescription()}: ${(e as Error).message}${csp}`);
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
  be.requestedThreads = threads;
  if (threads > 1) {
    if (!shared) throw new BackendError(`${threads} threads need a -mt build, not ${build}`);
    try {
      be.pool = await ThreadPool.start(module, memory, kernels, threads, (n) => heap.alloc(n, true), { free: (p) => heap.free(p), fallback: poolFallback() });
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


/**
 * Whether the pool falls back to the calling thread where it makes runs slower than one thread
 * (ThreadPool.fallback): yes, unless FOVEA_POOL_FALLBACK=0 (the pool's own tests and soak, which
 * count its dispatches on a machine their other processes keep busy).
 */
function poolFallback(): boolean {
  const env = readEnv("FOVEA_POOL_FALLBACK");
  if (env !== undefined && env !== "" && env !== "0" && env !== "1") throw new ConfigError(`FOVEA_POOL_FALLBACK must be 0 or 1, got "${env}"`);
  return env !== "0";
}

/** Threads to use and why: the request (option, FOVEA_THREADS, or the cores the runtime reports) within what the runtime allows. */
export async function chooseThreads(requested?: number): Promise<{ threads: number; reason: string }> {
  const env = readEnv("FOVEA_THREADS");
  let want = requested;
  if (want === undefined && env) {
    want = Number(env);
    if (!Number.isInteger(want) || want < 1 || want > MAX_THREADS) throw new ConfigError(`FOVEA_THREADS must be a whole number in [1, ${MAX_THREADS}], got "${env}"`);
  }
  if (want !== undefined && (!Number.isInteger(want) || want < 1 || want > MAX_THREADS)) throw new ConfigError(`init: threads must be a whole number in [1, ${MAX_THREADS}], got ${want}`);
  const auto = want === undefined;
  const n = auto ? await cores() : 0;
  if (auto) want = Math.max(1, Math.min(n, MAX_THREADS));
  if (want === 1) return { threads: 1, reason: auto ? "one core" : "one thread requested" };
  const f = detectFeatures();
  // (a request the runtime cannot grant runs one thread and says so, naming what was asked)
  const single = (why: string) => ({ threads: 1, reason: `single thread${auto ? "" : ` (${want} asked for)`}: ${why}` });
  if (!f.threadsOpcodes) return single("this WebAssembly has no threads (atomics / shared memory)");
  if (f.crossOriginIsolated === false) return single("the page is not cross-origin isolated (serve it with COOP: same-origin and COEP: require-corp)");
  if (!f.sharedArrayBuffer) return single("SharedArrayBuffer is unavailable");
  const hidden = auto && envHidden("FOVEA_THREADS") ? " (FOVEA_THREADS not read: Deno needs --allow-env for it)" : "";
  const why = auto ? `${n} core${n > 1 ? "s" : ""} reported by the runtime${n > MAX_THREADS ? `, at most ${MAX_THREADS}` : ""}${hidden}` : env && requested === undefined ? "FOVEA_THREADS" : "requested";
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
/** What the first init() settled on: its build, initial memory, and the thread count it asked for and got. */
let first: { build: string; mib: number; asked: number | undefined; chosen: number } | undefined;

/**
 * Loads the best build for this runtime (or the one forced by `options.build` / FOVEA_BUILD).
 * Idempotent: later calls (also at the same time) return the same backend, and after shutdown()
 * start its pool again. Asking for another build, initial memory or thread count after the first
 * call is a ConfigError (models and tensors live in the first one's memory; setThreads changes
 * the thread count).
 */
export function init(options: InitOptions = {}): Promise<Backend> {
  checkOptionKeys("init", options, INIT_KEYS);
  const mib = options.initialMemoryMiB ?? 16;
  if (!(Number.isFinite(mib) && mib > 0 && mib <= 4096)) {
    throw new ConfigError(`init: initialMemoryMiB must be in (0, 4096], got ${options.initialMemoryMiB}`);
  }
  if (options.threads !== undefined && !(Number.isInteger(options.threads) && options.threads >= 1 && options.threads <= MAX_THREADS)) {
    throw new ConfigError(`init: threads must be a whole number in [1, ${MAX_THREADS}], got ${options.threads}`);
  }
  if (pending && first) {
    const was = first;
    if (options.build !== undefined && options.build !== was.build) {
      throw new ConfigError(`init: fovea is already initialised with the ${was.build} build; it cannot switch to "${options.build}"`);
    }
    if (options.initialMemoryMiB !== undefined && options.initialMemoryMiB !== was.mib) {
      throw new ConfigError(`init: fovea is already initialised with ${was.mib} MiB of initial memory; initialMemoryMiB: ${options.initialMemoryMiB} cannot apply (the memory grows on demand)`);
    }
    return pending.then(async (b) => {
      // the thread count asked for last; until a setThreads, also what the first init() asked for
      const want = options.threads;
      const same = want === b.requestedThreads || (b.requestedThreads === was.chosen && want === was.asked);
      if (want !== undefined && !same) {
        throw new ConfigError(`init: fovea is initialised with ${b.requestedThreads} thread${b.requestedThreads > 1 ? "s" : ""}; threads: ${want} needs setThreads(${want})`);
      }
      await b.restart();
      return b;
    });
  }
  const { build, chosenBy } = chooseBuild(options.build);
  const settled = (first = { build, mib, asked: options.threads, chosen: 1 });
  pending = chooseThreads(options.threads).then(async ({ threads, reason }) => {
    settled.chosen = build === "debug" ? 1 : threads;
    const b = await loadBackend(threads > 1 && build !== "debug" ? (`${build}-mt` as BuildName) : build, chosenBy, mib, build === "debug" ? 1 : threads);
    if (b.pool) b.threadsReason = poolReason(threads, reason);
    else if (threads === 1) b.threadsReason = reason;
    else if (build === "debug") b.threadsReason = "the debug build runs on one thread";
    return (current = b);
  });
  pending.catch(() => {
    pending = undefined;
    first = undefined;
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
 * (n = 1: no pool), after the setThreads calls made before (Backend.setThreads). The backend
 * must run an -mt build (init() picks one when threads are possible; otherwise this is a
 * BackendError naming the reason).
 */
export async function setThreads(n: number): Promise<BackendInfo> {
  return getBackend().setThreads(n);
}

/**
 * Stops the default backend's worker pool (optional: idle workers never keep a process alive);
 * see Backend.shutdown. Called while init() is under way, it stops the pool init() starts.
 */
export function shutdown(): Promise<void> {
  if (current) return current.shutdown();
  return pending ? pending.then((b) => b.shutdown(), () => undefined) : Promise.resolve();
}

/** The truth about the running backend: build, features, wasm size, memory, threads. */
export function backendInfo(): BackendInfo {
  return getBackend().info();
}
