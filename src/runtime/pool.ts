// The worker pool: threads-1 workers on the backend's shared memory, plus the calling thread.
// run(calls) gives call i to thread i (call 0 runs on the caller) and returns when all are done.
// Idle workers block in Atomics.wait; the caller blocks in Atomics.wait where it may (Node,
// Deno, workers) and otherwise spins only while its own call's siblings finish.
import { BackendError } from "../errors.js";
import type { Kernels, KernelName } from "./generated/kernels.js";
import { CTL_GEN, CTL_REMAINING, CTL_STOP, KERNEL_NAMES, MAX_ARGS, SLOT_FLOATS, SPIN_MS } from "./pool-layout.js";
import { runtimeName } from "./platform.js";

export interface Call {
  fn: KernelName;
  args: number[];
  /** Index of the argument that receives the running thread's scratch block (of scratchBytes). */
  scratchArg?: number;
  scratchBytes?: number;
}

interface WorkerLike {
  postMessage(m: unknown): void;
  terminate(): unknown;
  unref?(): void;
  on?(e: string, f: (m: unknown) => void): void;
  addEventListener?(e: string, f: (ev: { data: unknown; message?: string; preventDefault?(): void }) => void): void;
}

const CTL_BYTES = 32;

export class ThreadPool {
  readonly threads: number;
  private readonly ctl: number;
  private readonly slots: number[];
  private readonly workers: WorkerLike[] = [];
  private readonly canBlock: boolean;
  private stopped = false;
  private errors: string[] = [];

  private constructor(
    private readonly memory: WebAssembly.Memory,
    private readonly kernels: Kernels,
    threads: number,
    alloc: (bytes: number) => number,
  ) {
    this.threads = threads;
    this.ctl = alloc(CTL_BYTES);
    this.slots = Array.from({ length: threads }, () => alloc(SLOT_FLOATS * 8));
    // the browser main thread cannot Atomics.wait
    this.canBlock = runtimeName() !== "browser" || typeof (globalThis as { document?: unknown }).document === "undefined";
  }

  /** Starts threads - 1 workers on `module` / `memory` and waits until each is ready. */
  static async start(module: WebAssembly.Module, memory: WebAssembly.Memory, kernels: Kernels, threads: number, alloc: (bytes: number) => number): Promise<ThreadPool> {
    const pool = new ThreadPool(memory, kernels, threads, alloc);
    // dist/runtime/worker.js beside this module; from the TypeScript sources (tests), the built one
    const url = import.meta.url.endsWith(".ts") ? new URL("../../dist/runtime/worker.js", import.meta.url) : new URL("./worker.js", import.meta.url);
    const deno = (globalThis as { Deno?: { permissions?: { querySync?(d: object): { state: string } } } }).Deno;
    if (deno?.permissions?.querySync && url.protocol === "file:") {
      const path = decodeURIComponent(url.pathname);
      if (deno.permissions.querySync({ name: "read", path }).state !== "granted") {
        throw new BackendError(`Deno needs read access to ${path} for the worker script (--allow-read)`);
      }
    }
    const ready: Promise<void>[] = [];
    for (let i = 1; i < threads; i++) {
      const init = { module, memory, ctl: pool.ctl, slot: pool.slots[i]!, index: i };
      let w: WorkerLike;
      if (runtimeName() === "node") {
        const wtName = "node:worker_threads";
        const { Worker } = (await import(wtName)) as { Worker: new (u: URL, o: object) => WorkerLike };
        w = new Worker(url, { workerData: init });
      } else {
        const W = (globalThis as { Worker?: new (u: URL, o: object) => WorkerLike }).Worker;
        if (!W) throw new BackendError("this runtime has no Worker");
        w = new W(url, { type: "module" });
        w.postMessage(init);
      }
      ready.push(new Promise<void>((resolve, reject) => {
        const onMessage = (m: unknown) => {
          const d = m as { ready?: number; error?: string };
          if (d.ready !== undefined) resolve();
          if (d.error) pool.errors.push(`worker ${i}: ${d.error}`);
        };
        if (w.on) {
          w.on("message", onMessage);
          w.on("error", (e) => reject(new BackendError(`worker ${i} failed to start: ${String(e)}`)));
          w.on("exit", (code) => reject(new BackendError(`worker ${i} exited (code ${String(code)}) before it was ready`)));
        } else {
          w.addEventListener!("message", (ev) => onMessage(ev.data));
          w.addEventListener!("error", (ev) => {
            ev.preventDefault?.(); // handled here, not an uncaught error
            reject(new BackendError(`worker ${i} failed to start: ${ev.message ?? String(ev)}`));
          });
        }
      }));
      pool.workers.push(w);
    }
    try {
      await Promise.all(ready);
    } catch (e) {
      for (const w of pool.workers) w.terminate();
      throw e;
    }
    for (const w of pool.workers) w.unref?.(); // an idle pool never keeps a Node process alive
    return pool;
  }

  /** Runs calls[i] on thread i (0: this thread). At most `threads` calls. */
  run(calls: readonly Call[]): void {
    if (this.stopped) throw new BackendError("the thread pool was shut down");
    if (calls.length === 0) return;
    if (calls.length > this.threads) throw new BackendError(`pool: ${calls.length} calls for ${this.threads} threads`);
    const buf = this.memory.buffer;
    const ctl = new Int32Array(buf, this.ctl, 8);
    for (let i = 1; i < calls.length; i++) this.writeSlot(buf, this.slots[i]!, calls[i]!);
    for (let i = calls.length; i < this.threads; i++) new Float64Array(buf, this.slots[i]!, 2).set([-1, 0]);
    Atomics.store(ctl, CTL_REMAINING, this.threads - 1);
    Atomics.add(ctl, CTL_GEN, 1);
    Atomics.notify(ctl, CTL_GEN);
    const c = calls[0]!;
    (this.kernels[c.fn] as (...a: number[]) => unknown)(...c.args);
    const until = performance.now() + SPIN_MS;
    for (;;) {
      const left = Atomics.load(ctl, CTL_REMAINING);
      if (left === 0) break;
      if (this.canBlock && performance.now() > until) Atomics.wait(ctl, CTL_REMAINING, left, 1000);
    }
    if (this.errors.length) {
      const e = this.errors.join("; ");
      this.errors = [];
      throw new BackendError(`thread pool: ${e}`);
    }
  }

  private writeSlot(buf: ArrayBufferLike, at: number, c: Call): void {
    if (c.args.length > MAX_ARGS) throw new BackendError(`pool: ${c.fn} has ${c.args.length} arguments (max ${MAX_ARGS})`);
    const s = new Float64Array(buf, at, SLOT_FLOATS);
    s[0] = KERNEL_NAMES.indexOf(c.fn);
    s[1] = c.args.length;
    c.args.forEach((a, i) => (s[2 + i] = a));
  }

  /** Stops and terminates the workers. */
  shutdown(): void {
    if (this.stopped) return;
    this.stopped = true;
    const ctl = new Int32Array(this.memory.buffer, this.ctl, 8);
    Atomics.store(ctl, CTL_STOP, 1);
    Atomics.add(ctl, CTL_GEN, 1);
    Atomics.notify(ctl, CTL_GEN);
    for (const w of this.workers) w.terminate();
  }
}
