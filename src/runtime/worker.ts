// A pool worker: instantiates the -mt build on the shared memory, then waits (Atomics.wait,
// no spinning) for a new generation in the control block, runs its call, and reports done.
// Runs as a Node worker_thread or a Web Worker (Deno, browsers).
import { CTL_GEN, CTL_REMAINING, CTL_STOP, SLOT_FLOATS, MAX_ARGS, KERNEL_NAMES, SPIN_MS } from "./pool-layout.js";

interface Init {
  module: WebAssembly.Module;
  memory: WebAssembly.Memory;
  /** Byte offset of the control block (Int32Array) and of this worker's call slot (Float64Array). */
  ctl: number;
  slot: number;
  index: number;
}

type Port = { postMessage(m: unknown): void; on?(e: string, f: (m: unknown) => void): void; onmessage?: ((e: { data: unknown }) => void) | null };

async function start(init: Init, port: Port): Promise<void> {
  const instance = await WebAssembly.instantiate(init.module, { env: { memory: init.memory } });
  const fns = KERNEL_NAMES.map((n) => instance.exports[n] as (...a: number[]) => unknown);
  const ctl = new Int32Array(init.memory.buffer, init.ctl, 8);
  // read the generation before saying ready: the first call may come the moment the pool hears it
  let gen = Atomics.load(ctl, CTL_GEN);
  port.postMessage({ ready: init.index });
  for (;;) {
    // layers dispatch back to back: watch for the next call for a moment before sleeping
    // (a futex wake costs tens of microseconds); an idle worker then blocks in Atomics.wait
    const until = performance.now() + SPIN_MS;
    while (Atomics.load(ctl, CTL_GEN) === gen && performance.now() < until);
    if (Atomics.load(ctl, CTL_GEN) === gen) Atomics.wait(ctl, CTL_GEN, gen);
    gen = Atomics.load(ctl, CTL_GEN);
    if (Atomics.load(ctl, CTL_STOP)) return;
    // the memory may have grown: views are made fresh each time
    const slot = new Float64Array(init.memory.buffer, init.slot, SLOT_FLOATS);
    const id = slot[0]!, n = slot[1]!;
    if (id >= 0) {
      const args: number[] = [];
      for (let i = 0; i < n && i < MAX_ARGS; i++) args.push(slot[2 + i]!);
      try {
        fns[id]!(...args);
      } catch (e) {
        port.postMessage({ error: String(e), index: init.index });
      }
    }
    if (Atomics.sub(ctl, CTL_REMAINING, 1) === 1) Atomics.notify(ctl, CTL_REMAINING);
  }
}

// Node worker_threads: the parent port comes from the module; elsewhere, the worker's global scope.
const g = globalThis as { process?: { versions?: { node?: string } }; onmessage?: unknown; postMessage?: (m: unknown) => void };
if (g.process?.versions?.node && !("Deno" in globalThis)) {
  const wtName = "node:worker_threads";
  const { parentPort, workerData } = (await import(wtName)) as { parentPort: Port; workerData: Init };
  void start(workerData, parentPort);
} else {
  g.onmessage = (e: { data: Init }) => {
    g.onmessage = null;
    void start(e.data, { postMessage: (m) => g.postMessage!(m) });
  };
}
