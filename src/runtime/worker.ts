// A pool worker: instantiates the -mt build on the shared memory, then runs each generation that
// the pool posts to it exactly once (the protocol is written at the top of pool.ts).
// Runs as a worker_threads worker (Node, Deno) or a Web Worker (browsers).
//
// Self-contained on purpose: this module imports nothing and has no top-level await, so a
// bundler may emit it as a chunk of its own (vite, webpack), copy it as it is (rolldown's
// resolveNewUrlToAsset, or by hand next to an esbuild bundle) or wrap it as a classic script,
// and it still runs. What it must know of the shared layout (word indices, states, the program and
// error areas, the kernel names) comes from the pool in its first message: pool-layout.ts's
// WORKER_LAYOUT, the one place those numbers are written.

/** pool-layout.ts's WorkerLayout: a type-only import, erased from the output (the worker imports nothing at run time). */
import type { WorkerLayout as Layout } from "./pool-layout.js";

interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the control block (Int32Array) and of this worker's record (program + error text). */
  ctl: number;
  record: number;
  index: number;
  /** How long to watch for the next call before sleeping, in ms. */
  spinMs: number;
  layout: Layout;
  /** Node: the end of a channel the monitor thread holds (see pool.ts). */
  monitorPort?: unknown;
}

type Port = { postMessage(m: unknown): void };

/** How long an idle worker sleeps in one Atomics.wait before it looks again (a stop also wakes it). */
const IDLE_WAIT_MS = 1000;

/** Kept for the worker's lifetime: the Node monitor watches the other end of this port. */
let monitorPort: unknown = null;

async function start(init: Init, port: Port): Promise<void> {
  monitorPort = init.monitorPort ?? null;
  const L = init.layout;
  const instance = await WebAssembly.instantiate(init.module, { env: { memory: init.memory } });
  const fns = L.kernels.map((n) => instance.exports[n]);
  const ctl = new Int32Array(init.memory.buffer, init.ctl, (init.index + 1) * L.line); // below any growth: stays valid
  const at = init.index * L.line;
  const GEN = at + L.gen, DONE = at + L.done, FAIL = at + L.fail, STATE = at + L.state, BUSY = at + L.busy, STOP = L.stop;
  /** UTF-8 of `text`, cut to fit, into this worker's error area (plain bytes: no encodeInto on shared memory). */
  const writeError = (text: string) => {
    const area = new Uint8Array(init.memory.buffer, init.record + L.programFloats * 8, L.errorBytes);
    area.fill(0);
    area.set(new TextEncoder().encode(text).subarray(0, L.errorBytes - 1));
  };
  // The generation already posted when this worker starts is not ours to run: read it before
  // saying ready, since the first call may be posted the moment the pool hears it.
  let seen = Atomics.load(ctl, GEN);
  Atomics.store(ctl, STATE, L.alive);
  port.postMessage({ ready: init.index });
  try {
    for (;;) {
      // 1. Wait until the posted generation differs from the one this worker ran last. Whatever
      //    returns from Atomics.wait (a notify for a generation already run, a spurious notify, a
      //    timeout) only leads back to this comparison: nothing runs unless the generation is new.
      const until = performance.now() + init.spinMs;
      let g = Atomics.load(ctl, GEN);
      while (g === seen && performance.now() < until) g = Atomics.load(ctl, GEN);
      // (a worker that started after the stop was posted sees no new generation: it looks at STOP)
      while (g === seen && !Atomics.load(ctl, STOP)) {
        Atomics.wait(ctl, GEN, seen, IDLE_WAIT_MS);
        g = Atomics.load(ctl, GEN);
      }
      if (Atomics.load(ctl, STOP)) break;
      seen = g;
      // 2. Run the posted program's calls in order (written before the generation was posted;
      //    a kernel that throws ends the program). The memory may have grown since the last
      //    program: views are made fresh.
      const prog = new Float64Array(init.memory.buffer, init.record, L.programFloats);
      const count = Math.min(prog[0]!, (L.programFloats - 1) / L.slotFloats);
      let id = -1;
      const began = performance.now();
      try {
        for (let c = 0; c < count; c++) {
          const entry = 1 + c * L.slotFloats;
          id = prog[entry]!;
          const n = Math.min(prog[entry + 1]!, L.maxArgs);
          const args: number[] = [];
          for (let i = 0; i < n; i++) args.push(prog[entry + 2 + i]!);
          const f = fns[id];
          if (typeof f !== "function") throw new Error(`no kernel #${id}`);
          Reflect.apply(f, undefined, args);
        }
      } catch (e) {
        writeError(`${L.kernels[id] ?? `kernel #${id}`}: ${String(e)}`);
        Atomics.store(ctl, FAIL, g);
      }
      // 3. Say how long it ran (µs: the pool balances its splits by it), then acknowledge this
      //    generation, by number: a caller waits for DONE === its generation.
      Atomics.store(ctl, BUSY, Math.min(Math.round((performance.now() - began) * 1000), 0x7fffffff));
      Atomics.store(ctl, DONE, g);
      Atomics.notify(ctl, DONE);
    }
    // the last touch of the shared memory: after this the pool may give the control block away
    Atomics.store(ctl, STATE, L.exited);
  } catch (e) {
    // an exception outside a kernel: this worker is gone; say so where a blocked caller looks
    // (pool-layout.ts's declareDead: text, STATE = DEAD, DONE = DONE_DEAD, notify)
    writeError(`died: ${String(e)}`);
    Atomics.store(ctl, STATE, L.dead);
    Atomics.store(ctl, DONE, L.doneDead);
    Atomics.notify(ctl, DONE);
    throw e;
  }
}

// A Web Worker has a WorkerGlobalScope and gets its start message on `onmessage` (set now, before
// the first message can arrive); a worker_threads worker (Node, Deno) reads its parent port and
// start data from node:worker_threads.
const g = globalThis as { WorkerGlobalScope?: unknown; onmessage?: unknown; postMessage?: (m: unknown) => void };
if (typeof g.WorkerGlobalScope === "function") {
  g.onmessage = (e: { data: Init }) => {
    g.onmessage = null;
    start(e.data, { postMessage: (m) => g.postMessage!(m) }).catch((err: unknown) => {
      // thrown from a task of its own: an uncaught exception, which the pool sees as an 'error'
      // event with this message (a rejected promise would not reach the parent)
      setTimeout(() => {
        throw err;
      });
    });
  };
} else {
  // through process.getBuiltinModule (Node 20.16+ or 22.3+, Deno 2): no import a bundler for the web would see
  const proc = (globalThis as { process?: { getBuiltinModule(n: string): unknown } }).process!;
  const { parentPort, workerData } = proc.getBuiltinModule("node:worker_threads") as { parentPort: Port; workerData: Init };
  void start(workerData, parentPort);
}
