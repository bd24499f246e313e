// A pool worker with a fault injected (for test/threadpool.test.ts): POOL_FAULT="mode:n:index"
// makes worker `index` fail when it acknowledges its n-th call — mode "throw" (an exception
// outside a kernel), "exit" (process.exit in the worker), "oom" (allocates until the heap limit).
// Every other worker, and this one before its n-th call, is the real dist/runtime/worker.js.
import { workerData } from "node:worker_threads";

const [mode, n, index] = (process.env.POOL_FAULT ?? "").split(":");
if (workerData.index === Number(index)) {
  const DONE = workerData.index * 16 + 1; // word(index, W_DONE)
  const store = Atomics.store;
  let calls = 0;
  Atomics.store = (ta, i, v) => {
    if (i === DONE && ta.length > DONE && ++calls === Number(n)) {
      if (mode === "throw") throw new Error("injected fault outside a kernel");
      if (mode === "exit") process.exit(7);
      if (mode === "oom") {
        const hog = [];
        for (;;) hog.push(new Array(1 << 16).fill(calls));
      }
    }
    return store(ta, i, v);
  };
}
await import("../../dist/runtime/worker.js");
