// A pool worker: instantiates the -mt build on the shared memory, then runs each generation that
// the pool posts to it exactly once (the protocol is written at the top of pool.ts).
// Runs as a Node worker_thread or a Web Worker (Deno, browsers).
import {
  CTL_STOP, KERNEL_NAMES, LINE_INTS, MAX_ARGS, SLOT_FLOATS, STATE_ALIVE, STATE_EXITED,
  W_DONE, W_FAIL, W_GEN, W_STATE, declareDead, word, writeErrorText,
} from "./pool-layout.js";

interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the control block (Int32Array) and of this worker's record (slot + error text). */
  ctl: number;
  record: number;
  index: number;
  /** How long to watch for the next call before sleeping, in ms. */
  spinMs: number;
}

type Port = { postMessage(m: unknown): void };

/** How long an idle worker sleeps in one Atomics.wait before it looks again (a stop also wakes it). */
const IDLE_WAIT_MS = 1000;

/** Kept for the worker's lifetime: the Node monitor watches the other end of this port. */
let monitorPort: unknown = null;

async function start(init: Init, port: Port): Promise<void> {
  monitorPort = (init as { monitorPort?: unknown }).monitorPort ?? null;
  const instance = await WebAssembly.instantiate(init.module, { env: { memory: init.memory } });
  const fns = KERNEL_NAMES.map((n) => instance.exports[n]);
  const ctl = new Int32Array(init.memory.buffer, init.ctl, (init.index + 1) * LINE_INTS); // below any growth: stays valid
  const GEN = word(init.index, W_GEN), DONE = word(init.index, W_DONE), FAIL = word(init.index, W_FAIL), STATE = word(init.index, W_STATE);
  // The generation already posted when this worker starts is not ours to run: read it before
  // saying ready, since the first call may be posted the moment the pool hears it.
  let seen = Atomics.load(ctl, GEN);
  Atomics.store(ctl, STATE, STATE_ALIVE);
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
      while (g === seen && !Atomics.load(ctl, CTL_STOP)) {
        Atomics.wait(ctl, GEN, seen, IDLE_WAIT_MS);
        g = Atomics.load(ctl, GEN);
      }
      if (Atomics.load(ctl, CTL_STOP)) break;
      seen = g;
      // 2. Run the slot's call (written before the generation was posted). The memory may have
      //    grown since the last call: views are made fresh.
      const slot = new Float64Array(init.memory.buffer, init.record, SLOT_FLOATS);
      const id = slot[0]!, n = Math.min(slot[1]!, MAX_ARGS);
      const args: number[] = [];
      for (let i = 0; i < n; i++) args.push(slot[2 + i]!);
      try {
        const f = fns[id];
        if (typeof f !== "function") throw new Error(`no kernel #${id}`);
        Reflect.apply(f, undefined, args);
      } catch (e) {
        writeErrorText(init.memory.buffer, init.record, `${KERNEL_NAMES[id] ?? `kernel #${id}`}: ${String(e)}`);
        Atomics.store(ctl, FAIL, g);
      }
      // 3. Acknowledge this generation, by number: a caller waits for DONE === its generation.
      Atomics.store(ctl, DONE, g);
      Atomics.notify(ctl, DONE);
    }
    // the last touch of the shared memory: after this the pool may give the control block away
    Atomics.store(ctl, STATE, STATE_EXITED);
  } catch (e) {
    // an exception outside a kernel: this worker is gone; say so where a blocked caller looks
    declareDead(init.memory.buffer, ctl, init.index, init.record, `died: ${String(e)}`);
    throw e;
  }
}

// Node worker_threads: the parent port comes from the module; elsewhere, the worker's global scope.
const g = globalThis as { process?: { versions?: { node?: string } }; onmessage?: unknown; postMessage?: (m: unknown) => void };
if (g.process?.versions?.node && !("Deno" in globalThis)) {
  const wtName = "node:worker_threads";
  const { parentPort, workerData } = (await import(wtName)) as { parentPort: Port; workerData: Init };
  await start(workerData, parentPort);
} else {
  g.onmessage = (e: { data: Init }) => {
    g.onmessage = null;
    void start(e.data, { postMessage: (m) => g.postMessage!(m) });
  };
}
