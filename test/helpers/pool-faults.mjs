// Kills or breaks a pool worker in a process of its own and reports, as one JSON line, what run()
// did (the spawning test is the watchdog: a hang is its timeout).
//
//   node test/helpers/pool-faults.mjs <fault> [threads]
//
// Faults: wrap (generation counters wrap around int32), terminate (worker 1 terminated between two runs), throw / exit / oom (worker 1 fails
// outside a kernel while the caller waits for it, injected by pool-fault-worker.mjs), trap (a
// kernel traps in worker 1: an error, and the pool goes on), trap-program (the second of three calls
// of worker 1's program traps: the third never runs), shutdown (every worker leaves).
import { once } from "node:events";
import { loadBackend } from "../../dist/runtime/backend.js";
import { ThreadPool } from "../../dist/runtime/pool.js";

const [fault, threadsArg] = process.argv.slice(2);
const T = Number(threadsArg ?? 3);
process.env.POOL_FAULT = `${fault}:3:1`; // worker 1 fails when it acknowledges its third call
const be = await loadBackend("simd-mt", "option", 16, 1);
const inject = ["throw", "exit", "oom"].includes(fault);
const pool = await ThreadPool.start(be.module, be.memory, be.kernels, T, (n) => be.heap.alloc(n, true), {
  ...(inject ? { workerUrl: new URL("./pool-fault-worker.mjs", import.meta.url) } : {}),
  ...(fault === "oom" ? { resourceLimits: { maxOldGenerationSizeMb: 32 } } : {}),
});
const N = 1 << 16;
const ones = be.heap.alloc(4 * N, true);
be.heap.f32(ones, N).fill(1);
const cells = Array.from({ length: T }, () => be.heap.alloc(4 * N, true));
const calls = (n, bad = -1) => cells.map((c, i) => ({ fn: "f32_axpby", args: [n, 1, i === bad ? 0x7ffffff0 : ones, 1, c] }));
const out = { fault, threads: T, runs: 0, errors: [], ms: 0 };
const attempt = (cs, programs = false) => {
  const t0 = performance.now();
  try {
    if (programs) pool.runPrograms(cs);
    else pool.run(cs);
    out.runs++;
  } catch (e) {
    out.errors.push(`${e.name}: ${e.message}`);
  }
  out.ms = Math.max(out.ms, Math.round(performance.now() - t0));
};

if (fault === "wrap") {
  // generation counters about to wrap, and a stale FAIL word holding the very generation each
  // worker will be given next: neither may matter (FAIL is cleared before each post)
  const ctl = new Int32Array(be.memory.buffer, pool.ctl, T * 16);
  // worker 1 crosses int32's end, worker 2 the sentinels NONE (-1) and DONE_DEAD (-2)
  const start = [0, 0x7ffffffd, -4];
  for (let i = 1; i < T; i++) {
    pool.gens[i] = start[i];
    ctl[i * 16 + 2] = start[i] + 1; // W_FAIL: the generation about to be posted
  }
  for (let k = 0; k < 8; k++) attempt(calls(4));
  out.counts = cells.map((c) => be.heap.f32(c, 1)[0]);
  out.gens = pool.gens.slice(1);
} else if (fault === "shutdown") {
  attempt(calls(N));
  const exits = pool.workers.map((w) => once(w, "exit"));
  pool.shutdown();
  await Promise.all(exits);
  out.exited = exits.length;
  attempt(calls(4));
} else if (fault === "trap-program") {
  // every thread: three calls; worker 1's second one reads far outside the memory
  attempt(cells.map((_, i) => [calls(4)[i], calls(4, i === 1 ? 1 : -1)[i], calls(4)[i]]), true);
  attempt(cells.map((_, i) => [calls(4)[i]]), true); // the pool goes on
  out.counts = cells.map((c) => be.heap.f32(c, 1)[0]);
} else if (fault === "trap") {
  attempt(calls(4, 1)); // worker 1's kernel reads far outside the memory
  attempt(calls(4)); // the pool goes on
  out.counts = cells.map((c) => be.heap.f32(c, 1)[0]);
} else {
  attempt(calls(4));
  attempt(calls(4));
  if (fault === "terminate") {
    pool.workers[0].terminate(); // worker 1; no turn of the event loop before the next run
  }
  attempt(calls(N)); // the third call: worker 1 dies while the caller waits (or is dead already)
  attempt(calls(4)); // every later run says so too
}
pool.shutdown();
console.log(JSON.stringify(out));
process.exit(0);
