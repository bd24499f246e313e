// The worker pool: threads-1 workers on the backend's shared memory, plus the calling thread.
// run(calls) gives call i to thread i (call 0 runs on the caller) and returns when all are done;
// runPrograms(programs) gives thread i a list of calls to run in order (a program): one wake-up
// and one acknowledgement for many kernels (a training step's whole slice of the batch).
//
// ## Protocol and invariant
//
// Invariant: each worker runs each generation's call exactly once, whatever wakes it, and run()
// returns only when every worker given a call has finished *this* generation's call (or is known
// to be dead, which throws). No shared counter exists that a stray step could drive past zero:
// every signal carries the generation number it belongs to.
//
// Shared words per worker i (pool-layout.ts): GEN (the generation posted to i), DONE (the last
// generation i finished), FAIL (the generation whose kernel threw), STATE, BUSY (how long it ran
// that program, µs: written before DONE, read after it; a measurement, no part of the protocol).
// Each worker has its own generation counter on the caller's side: G_i counts up by one per call posted to worker i
// (wrapping, skipping the sentinels NONE and DONE_DEAD), so it always differs from the
// generation that worker ran last.
//
// Caller, run(calls):
//   1. for each worker i with a call, with G = the next G_i: clear DONE_i and FAIL_i to NONE (the
//      worker is idle: it acknowledged its last call before that run returned), write the call
//      (or program) into i's record, then Atomics.store(GEN_i, G),
//      then Atomics.notify(GEN_i). The record is written before GEN_i is published (a seq-cst
//      store), so a worker that reads GEN_i == G sees the whole program. The notify may come late (the caller
//      can be descheduled between the two steps) or never matter: a worker that is watching GEN_i
//      starts without it, and a late notify only wakes a worker that goes back to step (a).
//   2. run call 0 here.
//   3. for each worker i with a call: wait until DONE_i == G (watch briefly, then Atomics.wait on
//      DONE_i with the value just read, in slices of WAIT_SLICE_MS). Between slices and after every
//      wake it re-reads DONE_i and STATE_i: nothing but DONE_i == G counts as done. A slot is
//      rewritten only after its worker acknowledged the previous generation, so a worker never
//      reads a half-written call.
// Worker i (worker.ts), `seen` = the generation it ran last (at start: GEN_i as it was then):
//   a. read GEN_i; while it equals `seen`, Atomics.wait(GEN_i, seen). A return from the wait for
//      any reason (late or spurious notify, timeout) leads back to this comparison only.
//   b. GEN_i = g != seen: seen = g; run the record's program once, its calls in order (a kernel
//      that throws ends it: its text goes to the error area and FAIL_i = g).
//   c. Atomics.store(DONE_i, g), then Atomics.notify(DONE_i). The caller compares DONE_i with its
//      own G, so an acknowledgement can neither count twice nor stand for another generation.
// Death: a worker that throws outside a kernel writes its error, STATE_i = DEAD, DONE_i = DONE_DEAD
// and notifies DONE_i. One that dies without running JavaScript again (terminate(), out of memory,
// process.exit) is seen in Node by a monitor thread, whose MessagePort to the worker closes with
// it: it writes the same three words. A caller blocked in step 3 wakes (DONE_i changed, or at the
// latest after one slice), waits for the other workers of this generation, then throws a
// BackendError naming the worker; every later run() throws it too (setThreads() starts a new
// pool). Workers in Deno (worker_threads, whose ports do not close when a thread ends) and in
// browsers (Web Workers) report their own exceptions the same way; one that dies without running
// JavaScript is seen only between runs, through its 'exit' or 'error' event (no monitor: there is
// no portable signal for it while the caller is blocked). Shutdown sets STOP, then bumps
// and notifies every GEN_i: a worker leaves at step (a) whether watching, sleeping or about to,
// and writes STATE_i = EXITED as its last touch of the shared memory.
// Memory: the control block and the records are the pool's (allocated by start, returned through
// options.free). They are returned only once no thread can touch them again: in Node when every
// worker and the monitor have exited (terminate()'s promise); elsewhere when every worker wrote
// EXITED or DEAD (a worker that never does keeps them: a thread might still write there).
// Workers: worker_threads in Node and Deno, unref'd once ready (an idle pool never keeps the
// process alive), Web Workers in browsers. worker.ts imports nothing (it is told WORKER_LAYOUT),
// and the one `new Worker(new URL("./worker.js", import.meta.url), { type: "module" })` is
// written out in start(), so bundlers emit or copy the worker.
import { BackendError } from "../errors.js";
import type { Kernels } from "./generated/kernels.js";
import { invoke, type KernelCall } from "./calls.js";
import {
  CTL_STOP, DONE_DEAD, NONE, KERNEL_NAMES, LINE_INTS, MAX_ARGS, PROGRAM_CALLS, PROGRAM_FLOATS, RECORD_BYTES, SLOT_FLOATS, SPIN_MS, STATE_ALIVE, STATE_DEAD,
  STATE_EXITED, STATE_STOPPED, W_BUSY, W_DONE, W_FAIL, W_GEN, W_STATE, WAIT_SLICE_MS, WORKER_LAYOUT, declareDead, readErrorText, word,
} from "./pool-layout.js";
import { cores, nodeModule, runtimeName } from "./platform.js";

/** A kernel's index in the workers' table (KERNEL_NAMES), by name. */
const KERNEL_INDEX = new Map(KERNEL_NAMES.map((n, i) => [n, i]));

/** Kept as an alias: the pool runs typed kernel calls. */
export type Call = KernelCall;

interface WorkerLike {
  postMessage(m: unknown, transfer?: unknown[]): void;
  terminate(): unknown;
  unref?(): void;
  on?(e: string, f: (m: unknown) => void): void;
  addEventListener?(e: string, f: (ev: { data: unknown; message?: string; filename?: string; lineno?: number; preventDefault?(): void }) => void): void;
}

/** Options of ThreadPool.start (the backend passes `free`; the rest is for tests of the pool itself). */
export interface PoolStartOptions {
  /** Returns a block of `alloc` to the heap: the pool's blocks go back once its threads have ended. */
  free?: (ptr: number) => void;
  /** The worker script (default: worker.js beside this module). */
  workerUrl?: URL;
  /**
   * How long a worker (and the waiting caller) watches for the next event before blocking, in ms.
   * Default SPIN_MS when the pool has no more threads than the runtime reports cores, else 0:
   * a thread that watches on a shared core only takes time from the ones with work.
   */
  spinMs?: number;
  /** Node only: worker_threads resource limits (e.g. a small heap, to test a worker running out of memory). */
  resourceLimits?: { maxOldGenerationSizeMb?: number; maxYoungGenerationSizeMb?: number };
  /** ThreadPool.fallback (default false: the pool's own tests; the backend sets it, see there). */
  fallback?: boolean;
}

/** The fallback's window: runs are judged once the caller's parts, times the parts, add up to this (ms). */
const FALLBACK_WINDOW_MS = 100;
/** A window is lost when the postings took this much longer than their parts' sum (a calm pool: about 0.55–0.7; 1.2 fell back in noisy minutes where the pool still won). */
const FALLBACK_RATIO = 1.5;
/** The first stretch on the calling thread alone, in ms; it doubles while the pool keeps losing, up to FALLBACK_MAX_MS. */
const FALLBACK_MIN_MS = 200;
const FALLBACK_MAX_MS = 5000;

// The Node monitor: holds one MessagePort per worker; a port closes when its worker's thread
// ends for any reason, and the monitor then marks that worker dead in the shared control block
// (the words of pool-layout.ts's declareDead, at the places WORKER_LAYOUT names).
const MONITOR_SOURCE = `
const { parentPort } = require("node:worker_threads");
const ports = []; // held for the pool's lifetime: a port's close is the signal
parentPort.on("message", ({ port, memory, ctl, record, index, layout: L }) => {
  ports.push(port);
  const c = new Int32Array(memory.buffer, ctl, (index + 1) * L.line);
  const at = index * L.line;
  port.on("close", () => {
    if (Atomics.load(c, at + L.state) !== L.alive) return; // stopped, or reported its own death
    const area = new Uint8Array(memory.buffer, record + L.programFloats * 8, L.errorBytes);
    area.fill(0);
    area.set(new TextEncoder().encode("stopped running (terminated, out of memory or exited)"));
    Atomics.store(c, at + L.state, L.dead);
    Atomics.store(c, at + L.done, L.doneDead);
    Atomics.notify(c, at + L.done);
  });
  port.start();
});
`;

export class ThreadPool {
  readonly threads: number;
  private readonly ctl: number;
  private readonly records: number[];
  private readonly workers: WorkerLike[] = [];
  private monitor: WorkerLike | null = null;
  private readonly canBlock: boolean;
  private stopped = false;
  /** The generation last posted to each worker (index 0 unused). */
  private readonly gens: number[];
  /** Set once a worker died: every later run() throws it. */
  private failure: BackendError | null = null;
  /** Set when the pool stops: resolves once its threads have ended and its blocks are returned. */
  private ended: Promise<void> | null = null;
  private readonly free: ((ptr: number) => void) | null;
  /** Dispatches so far: postings (one per run() or program piece) that woke at least one worker. */
  dispatches = 0;
  /**
   * How long each thread ran its piece of the last posting, in ms (0 for a worker given nothing):
   * the caller's own timing, the workers' as they report it (W_BUSY). Backend.run balances a
   * split's parts by it (balance.ts).
   */
  readonly busy: Float64Array;
  /** Each thread's speed as balanced splits measured it (balance.ts measureSpeeds; mean 1 over the threads a split used). */
  readonly speeds: number[];
  /**
   * Whether balanced splits follow the speeds: not with more threads than cores, where a thread's
   * time says more about when the system ran it than about its core (ResNet-18, 3 threads on 2
   * cores: 0.979 static / balanced).
   */
  balances = true;
  /**
   * Falls back to the calling thread where the pool makes runs slower than one thread would: with
   * another process busy on a core, the threads wait for their turns at every run, outside their
   * parts (ResNet-18 at batch 1: 59–95 ms on two threads against 38 on one; its 200 postings of 10
   * predicts took 800–920 ms where their parts ran 470–500 ms in all, calm 227–248 ms). Each
   * posting's wall time is set against the sum of its parts' times (what one thread would take,
   * each part as long as its thread took: a worker slow at its part, a core slower or code not yet
   * optimised, counts as its work, not as the pool's loss); over a window of FALLBACK_WINDOW_MS of
   * that sum (postings right after another: one after a pause woke a sleeping worker, whose latency
   * is no loss to judge), a pool that took FALLBACK_RATIO times longer twice in a row runs every program on the
   * calling thread, in turn (the same calls: the same bits), for FALLBACK_MIN_MS, then tries the
   * workers again, and doubles the stretch while they still lose. A calm pool takes 0.55–0.7 of
   * the sum (LeNet-5's training, whose first steps lose a few ms each to cold code, 0.66).
   */
  fallback = false;
  /** Postings run on the calling thread alone while fallen back (a measurement, as dispatches). */
  serialRuns = 0;
  private serialUntil = 0;
  private serialMs = FALLBACK_MIN_MS;
  private windowEstimate = 0;
  private windowTook = 0;
  private strikes = 0;
  /** When the last posting ended (performance.now()). */
  private lastPosted = -Infinity;

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly kernels: Kernels,
    threads: number,
    alloc: (bytes: number) => number,
    private readonly spinMs: number,
    free: ((ptr: number) => void) | undefined,
  ) {
    this.threads = threads;
    this.free = free ?? null;
    this.gens = new Array<number>(threads).fill(0);
    this.busy = new Float64Array(threads);
    this.speeds = new Array<number>(threads).fill(1);
    this.ctl = alloc(threads * LINE_INTS * 4);
    this.records = Array.from({ length: threads }, () => alloc(RECORD_BYTES));
    // the browser main thread cannot Atomics.wait
    this.canBlock = runtimeName() !== "browser" || typeof (globalThis as { document?: unknown }).document === "undefined";
  }

  /** The control block; it sits below any growth of the memory, so one view stays valid. */
  private get ctlView(): Int32Array {
    return new Int32Array(this.memory.buffer, this.ctl, this.threads * LINE_INTS);
  }

  /** Starts threads - 1 workers on `module` / `memory` and waits until each is ready. `alloc` must zero. */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, kernels: Kernels, threads: number, alloc: (bytes: number) => number, opts: PoolStartOptions = {}): Promise<ThreadPool> {
    const fits = threads <= (await cores());
    const spinMs = opts.spinMs ?? (fits ? SPIN_MS : 0);
    const pool = new ThreadPool(memory, kernels, threads, alloc, spinMs, opts.free);
    pool.balances = fits;
    pool.fallback = opts.fallback ?? false;
    const url = opts.workerUrl ?? workerScript();
    const deno = (globalThis as { Deno?: { permissions?: { querySync?(d: object): { state: string } } } }).Deno;
    if (deno?.permissions?.querySync && url.protocol === "file:") {
      const path = decodeURIComponent(url.pathname);
      if (deno.permissions.querySync({ name: "read", path }).state !== "granted") {
        throw new BackendError(`Deno needs read access to ${path} for the worker script (--allow-read)`);
      }
    }
    // worker_threads where the runtime has them (Node, Deno): those workers can be unref'd, so an
    // idle pool never keeps the process alive. Web Workers in browsers.
    const runtime = runtimeName();
    type NodeWT = {
      Worker: new (u: URL | string, o: object) => WorkerLike;
      MessageChannel: new () => { port1: unknown; port2: unknown };
    };
    const wt = runtime === "node" || runtime === "deno" ? nodeModule<NodeWT>("node:worker_threads") : null;
    // The monitor needs a port's 'close' when its worker's thread ends: Node gives it, Deno does not.
    if (wt && runtime === "node") {
      pool.monitor = new wt.Worker(MONITOR_SOURCE, { eval: true });
      // it only listens; should it fail, deaths outside JavaScript are seen between runs ('exit' events)
      pool.monitor.on!("error", () => undefined);
    }
    const ready: Promise<void>[] = [];
    for (let i = 1; i < threads; i++) {
      const init = { module, memory, ctl: pool.ctl, record: pool.records[i]!, index: i, spinMs, layout: WORKER_LAYOUT };
      let w: WorkerLike;
      if (wt) {
        let watched = {};
        if (pool.monitor) {
          const { port1, port2 } = new wt.MessageChannel();
          watched = { workerData: { ...init, monitorPort: port2 }, transferList: [port2] };
          pool.monitor.postMessage({ port: port1, memory, ctl: pool.ctl, record: pool.records[i]!, index: i, layout: WORKER_LAYOUT }, [port1]);
        }
        w = new wt.Worker(url, { workerData: init, ...watched, ...(opts.resourceLimits ? { resourceLimits: opts.resourceLimits } : {}) });
      } else {
        if (typeof Worker !== "function") throw new BackendError("this runtime has no Worker");
        // Written out in full, in this one place, so that bundlers recognise it: vite and webpack
        // emit worker.js as a chunk of its own and rewrite the URL (see worker.ts)
        const web = opts.workerUrl ? new Worker(opts.workerUrl, { type: "module" }) : new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
        // the DOM Worker seen through WorkerLike: its events are message or error events
        w = {
          postMessage: (m, transfer) => web.postMessage(m, (transfer ?? []) as Transferable[]),
          terminate: () => web.terminate(),
          addEventListener: (e, f) => web.addEventListener(e, (ev) => f(ev as MessageEvent & Partial<ErrorEvent>)),
        };
        w.postMessage(init);
      }
      let isReady = false;
      ready.push(new Promise<void>((resolve, reject) => {
        const lost = (why: string) => {
          if (!isReady) return reject(new BackendError(`worker ${i} failed to start: ${why}`));
          pool.markDead(i, why); // seen between two runs; during a run the monitor or the worker says it
        };
        const onMessage = (m: unknown) => {
          if ((m as { ready?: number }).ready !== undefined) {
            isReady = true;
            resolve();
          }
        };
        if (w.on) {
          w.on("message", onMessage);
          w.on("error", (e) => lost(String(e)));
          w.on("exit", (code) => lost(`exited (code ${String(code)})`));
        } else {
          w.addEventListener!("message", (ev) => onMessage(ev.data));
          w.addEventListener!("error", (ev) => {
            ev.preventDefault?.(); // handled here, not an uncaught error
            if (isReady || ev.message) lost(ev.message ? `${ev.message}${ev.filename ? ` (${ev.filename}:${ev.lineno ?? 0})` : ""}` : "an error event without a message");
            else void whyNotLoaded(url).then(lost);
          });
        }
      }));
      pool.workers.push(w);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      void pool.shutdown();
      throw e;
    }
    for (const w of pool.workers) w.unref?.(); // an idle pool never keeps a Node or Deno process alive
    pool.monitor?.unref?.();
    return pool;
  }

  /** Running, and every worker alive as far as the shared block says: a pool calls can use. */
  get healthy(): boolean {
    if (this.failure || this.stopped) return false;
    const ctl = this.ctlView;
    for (let i = 1; i < this.threads; i++) if (Atomics.load(ctl, word(i, W_STATE)) !== STATE_ALIVE) return false;
    return true;
  }

  /** Marks worker i dead in the shared block (from a parent-side event), unless it stopped. */
  private markDead(i: number, why: string): void {
    if (this.stopped) return;
    const ctl = this.ctlView;
    if (Atomics.load(ctl, word(i, W_STATE)) !== STATE_ALIVE) return;
    declareDead(this.memory.buffer, ctl, i, this.records[i]!, why);
  }

  /** Runs calls[i] on thread i (0: this thread). At most `threads` calls. */
  run(calls: readonly KernelCall[]): void {
    this.runPrograms(calls.map((c) => [c]));
  }

  /**
   * Program i (a list of calls, run in order) on thread i, program 0 here; returns when every
   * program is done. The protocol is run()'s: one generation per worker per posting. A program
   * longer than PROGRAM_CALLS is posted in pieces, one after another (each piece a generation).
   */
  runPrograms(programs: readonly (readonly KernelCall[])[]): void {
    if (this.failure) throw this.failure;
    if (this.stopped) throw new BackendError("the thread pool was shut down");
    if (programs.length === 0) return;
    if (programs.length > this.threads) throw new BackendError(`pool: ${programs.length} programs for ${this.threads} threads`);
    let longest = 0;
    for (const p of programs) {
      longest = Math.max(longest, p.length);
      for (const c of p) if (c.args.length > MAX_ARGS) throw new BackendError(`pool: ${c.fn} has ${c.args.length} arguments (max ${MAX_ARGS})`);
    }
    if (this.fallback && this.serialUntil > 0 && performance.now() < this.serialUntil) return this.runHere(programs);
    for (let from = 0; from < longest; from += PROGRAM_CALLS) {
      this.post(from === 0 && longest <= PROGRAM_CALLS ? programs : programs.map((p) => p.slice(from, from + PROGRAM_CALLS)));
    }
  }

  /** Every program on the calling thread, one after another (fallen back: see fallback); busy as the pool reports it. */
  private runHere(programs: readonly (readonly KernelCall[])[]): void {
    this.serialRuns++;
    this.busy.fill(0);
    programs.forEach((p, i) => {
      const began = performance.now();
      let fn = "";
      try {
        for (const c of p) {
          fn = c.fn;
          invoke(this.kernels, c);
        }
      } catch (e) {
        if (i === 0) throw e;
        throw new BackendError(`thread pool: worker ${i}'s part (run on the calling thread): ${fn}: ${String(e)}`);
      } finally {
        this.busy[i] = performance.now() - began;
      }
    });
  }

  /** Judges one posting for the fallback: it took `took` ms, its parts `parts` ms in all (as the threads timed them). */
  private judge(took: number, parts: number): void {
    this.windowEstimate += parts;
    this.windowTook += took;
    if (this.windowEstimate < FALLBACK_WINDOW_MS) return;
    const losing = this.windowTook > FALLBACK_RATIO * this.windowEstimate;
    this.windowEstimate = this.windowTook = 0;
    if (!losing) {
      this.strikes = 0;
      this.serialMs = FALLBACK_MIN_MS;
      return;
    }
    // two windows in a row (a calm pool's first runs, its code not yet optimised, can lose one),
    // or the first after a stretch on the calling thread
    if (++this.strikes < 2 && this.serialMs === FALLBACK_MIN_MS) return;
    this.strikes = 0;
    this.serialUntil = performance.now() + this.serialMs;
    this.serialMs = Math.min(2 * this.serialMs, FALLBACK_MAX_MS);
  }

  /** One generation: pieces[i] (at most PROGRAM_CALLS calls) on thread i. */
  private post(pieces: readonly (readonly KernelCall[])[]): void {
    const ctl = this.ctlView, posting = performance.now();
    let gone: number[] | null = null;
    for (let i = 1; i < this.threads; i++) if (Atomics.load(ctl, word(i, W_STATE)) === STATE_DEAD) (gone ??= []).push(i);
    if (gone) this.fail(gone);
    // a worker with an empty piece is not posted to (nothing to acknowledge)
    const posted = pieces.map((p, i) => i > 0 && p.length > 0);
    if (posted.some(Boolean)) this.dispatches++;
    // 1. publish: clear the worker's acknowledgement and failure words (it is idle: it acknowledged
    //    its last generation before that run returned), write the program, then the generation,
    //    then notify (which may come late). Each worker has its own counter, so the generation
    //    posted always differs from the one it ran last, whatever the wrap-around.
    for (let i = 1; i < pieces.length; i++) {
      if (!posted[i]) continue;
      let G = (this.gens[i]! + 1) | 0;
      while (G === DONE_DEAD || G === NONE) G = (G + 1) | 0;
      this.gens[i] = G;
      Atomics.store(ctl, word(i, W_DONE), NONE);
      Atomics.store(ctl, word(i, W_FAIL), NONE);
      this.writeProgram(this.records[i]!, pieces[i]!);
      Atomics.store(ctl, word(i, W_GEN), G);
      Atomics.notify(ctl, word(i, W_GEN));
    }
    // 2. piece 0 here; if it throws, the workers still finish this generation before we do
    let own: unknown = null;
    const began = performance.now();
    try {
      for (const c of pieces[0]!) invoke(this.kernels, c);
    } catch (e) {
      own = e;
    }
    this.busy[0] = performance.now() - began;
    // 3. every worker acknowledges its generation by number
    const dead: number[] = [];
    for (let i = 1; i < pieces.length; i++) if (posted[i] && !this.waitDone(ctl, i, this.gens[i]!)) dead.push(i);
    if (dead.length) this.fail(dead);
    for (let i = 1; i < this.threads; i++) this.busy[i] = posted[i] ? Atomics.load(ctl, word(i, W_BUSY)) / 1000 : 0;
    // a posting after a pause longer than the workers' watch (SPIN_MS, where they watch) woke them from
    // a sleep (up to a few ms on a VM): their latency, not another process on the cores, so it is not
    // judged (the threads' alternating rounds of the threads bench had fallen back, calm)
    const done = performance.now();
    if (this.fallback && posted.some(Boolean) && posting - this.lastPosted <= SPIN_MS) this.judge(done - posting, this.busy.reduce((a, b) => a + b, 0));
    this.lastPosted = done;
    if (own !== null) throw own;
    const failed: string[] = [];
    for (let i = 1; i < pieces.length; i++) {
      if (posted[i] && Atomics.load(ctl, word(i, W_FAIL)) === this.gens[i]!) failed.push(`worker ${i}: ${readErrorText(this.memory.buffer, this.records[i]!)}`);
    }
    if (failed.length) throw new BackendError(`thread pool: ${failed.join("; ")}`);
  }

  /**
   * Waits until worker i finished generation G (true) or is known dead (false). In Node a death
   * always becomes known (the worker's own report or the monitor); elsewhere a worker that dies
   * without running JavaScript again (terminate(), a crashed worker) is seen only between runs,
   * through its 'error' event.
   */
  private waitDone(ctl: Int32Array, i: number, G: number): boolean {
    const DONE = word(i, W_DONE), STATE = word(i, W_STATE);
    let watchUntil = -1;
    for (;;) {
      const d = Atomics.load(ctl, DONE);
      if (d === G) return true;
      if (d === DONE_DEAD || Atomics.load(ctl, STATE) === STATE_DEAD) return false;
      if (!this.canBlock) continue; // a browser page's main thread may only watch
      const now = performance.now();
      if (watchUntil < 0) watchUntil = now + this.spinMs;
      else if (now > watchUntil) Atomics.wait(ctl, DONE, d, WAIT_SLICE_MS);
    }
  }

  /** A worker is dead: the pool is unusable from now on; throws the error naming it. */
  private fail(dead: number[]): never {
    const why = dead.map((i) => `worker ${i} ${readErrorText(this.memory.buffer, this.records[i]!) || "died"}`).join("; ");
    this.failure = new BackendError(`thread pool: ${why}. The pool is stopped: call fovea.setThreads(n) to start a new one`);
    this.stopWorkers();
    throw this.failure;
  }

  private writeProgram(at: number, calls: readonly KernelCall[]): void {
    const s = new Float64Array(this.memory.buffer, at, PROGRAM_FLOATS);
    s[0] = calls.length;
    calls.forEach((c, k) => {
      const e = 1 + k * SLOT_FLOATS;
      s[e] = KERNEL_INDEX.get(c.fn)!;
      s[e + 1] = c.args.length;
      c.args.forEach((a, i) => (s[e + 2 + i] = a));
    });
  }

  /**
   * Stops and terminates the workers (at once: run() throws from now on). The promise resolves
   * once they have ended and the pool's memory is returned; it never rejects.
   */
  shutdown(): Promise<void> {
    if (!this.stopped) this.stopWorkers();
    return this.ended!;
  }

  private stopWorkers(): void {
    this.stopped = true;
    const ctl = this.ctlView;
    Atomics.store(ctl, CTL_STOP, 1);
    for (let i = 1; i < this.threads; i++) {
      if (Atomics.load(ctl, word(i, W_STATE)) === STATE_ALIVE) Atomics.store(ctl, word(i, W_STATE), STATE_STOPPED);
      Atomics.add(ctl, word(i, W_GEN), 1);
      Atomics.notify(ctl, word(i, W_GEN));
    }
    this.ended = this.endThreads();
  }

  /** Ends the threads; returns the control block and the records once none can touch them again. */
  private async endThreads(): Promise<void> {
    let gone: boolean;
    if (this.monitor) {
      // Node: terminate() resolves on the worker's 'exit': its thread no longer runs. The monitor
      // last, as it writes to the control block when a worker's port closes.
      await Promise.allSettled(this.workers.map((w) => w.terminate()));
      await Promise.allSettled([this.monitor?.terminate()]);
      gone = true;
    } else {
      gone = await this.waitExited();
      for (const w of this.workers) w.terminate();
    }
    if (!gone || !this.free) return;
    this.free(this.ctl);
    for (const r of this.records) this.free(r);
  }

  /** Deno, browsers: waits (without blocking) until every worker wrote EXITED or DEAD; false if one did not in time. */
  private async waitExited(): Promise<boolean> {
    const ctl = this.ctlView;
    const until = performance.now() + EXIT_WAIT_MS;
    for (;;) {
      let left = 0;
      for (let i = 1; i < this.threads; i++) {
        const st = Atomics.load(ctl, word(i, W_STATE));
        if (st !== STATE_EXITED && st !== STATE_DEAD) left++;
      }
      if (left === 0) return true;
      if (performance.now() > until) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
  }
}

/**
 * worker.js beside this module: what worker_threads load (Node, Deno) and what messages name.
 * Not written as `new URL("./worker.js", import.meta.url)`: a bundler for the web would emit a
 * second copy for that. From the TypeScript sources (tests), the built one.
 */
function workerScript(): URL {
  const here = import.meta.url; // (through a variable: webpack reads new URL(<not a string>, import.meta.url) as a request it cannot resolve, and throws)
  return new URL(here.endsWith(".ts") ? "../../dist/runtime/worker.js" : "./worker.js", here);
}

/**
 * Why a Web Worker's script did not run, when its 'error' event says nothing (a script that did
 * not load is a plain Event): asks the server for the same URL and reports the answer.
 */
async function whyNotLoaded(url: URL): Promise<string> {
  let status: string;
  try {
    const r = await fetch(url, { method: "GET", cache: "no-store" });
    if (!r.ok) return `its script ${url.href} answered HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ""} (a bundler that does not emit worker.js: copy fovea's dist/runtime/worker.js there)`;
    status = `HTTP ${r.status}, ${r.headers.get("content-type") ?? "no content-type"}`;
  } catch (e) {
    return `its script ${url.href} could not be fetched (${(e as Error).message})`;
  }
  return `its script ${url.href} loads (${status}) but did not run, and the browser gave no message (a module that does not parse, a content-type that is not JavaScript, or a policy such as CSP worker-src)`;
}

/** How long a stopped pool waits for its Web Workers to leave (an idle one looks at STOP every second). */
const EXIT_WAIT_MS = 5000;
