// Attacks the worker pool in a process of its own (the test that spawns it is the watchdog: a
// hang is a timeout there, never a stuck vitest). Prints one JSON line with what it saw.
//
//   node test/helpers/pool-stress.mjs <mode> <threads> <runs> [seed]
//
// Modes:
//   delay     every Atomics.notify of this (the calling) thread is delayed by 1-2 ms, so workers
//             that watch the generation start before the notify and the notify arrives late;
//             call 0 is long, the workers' calls short.
//   spurious  random call sizes, random numbers of calls, and a noise thread that sends
//             Atomics.notify to every word of the pool's control block, all the time.
//   programs  as spurious, but each thread gets a program (runPrograms): 0-150 calls of random
//             sizes run in order, so programs longer than PROGRAM_CALLS are posted in pieces and
//             some workers get nothing at all.
//   fallback  the pool's fallback on (ThreadPool.fallback), every notify delayed 5 ms and every
//             call ~0.4 ms: the pool loses to one thread, runs on the calling thread for a
//             stretch, tries the workers again, and falls back again.
// Each call adds 1 to its own counters with f32_axpby (y = 1*ones + 1*y), so after every run the
// counters say exactly how many times each call ran: a double run or an early return shows as a
// count off by one right after the run() that caused it.
import { Worker } from "node:worker_threads";
import { loadBackend } from "../../dist/runtime/backend.js";
import { ThreadPool } from "../../dist/runtime/pool.js";

const [mode, threadsArg, runsArg, seedArg] = process.argv.slice(2);
const T = Number(threadsArg), RUNS = Number(runsArg);
let seed = Number(seedArg ?? 1) >>> 0;
const rand = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

const be = await loadBackend("simd-mt", "option", 64, 1);
const pool = await ThreadPool.start(be.module, be.memory, be.kernels, T, (n) => be.heap.alloc(n, true), { fallback: mode === "fallback" });
const LONG = mode === "delay" ? 1 << 18 : mode === "fallback" ? 1 << 20 : 1 << 16; // call 0 in "delay": ~0.1 ms of work
const CAP = 1 << 16; // the most cells a call may touch in "spurious"
const ones = be.heap.alloc(4 * LONG, true);
be.heap.f32(ones, LONG).fill(1);
const width = (i) => (i === 0 || mode === "fallback" ? LONG : CAP);
const counters = Array.from({ length: T }, (_, i) => be.heap.alloc(4 * width(i), true));
const expected = Array.from({ length: T }, (_, i) => new Float64Array(width(i) + 1)); // difference arrays

const sleepCell = new Int32Array(new SharedArrayBuffer(4));
const sleep = (ms) => Atomics.wait(sleepCell, 0, 0, ms);
let noise = null;
if (mode === "delay" || mode === "fallback") {
  const notify = Atomics.notify;
  Atomics.notify = (ta, i, c) => {
    sleep(mode === "fallback" ? 5 : 1 + rand()); // the caller descheduled between publishing a generation and waking
    return notify(ta, i, c);
  };
} else if (mode === "spurious" || mode === "programs") {
  const ctl = pool.ctl ?? 0;
  noise = new Worker(`
    const { workerData: { memory, ctl } } = require("node:worker_threads");
    const c = new Int32Array(memory.buffer, ctl, 64);
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (let k = 0; ; k++) {
      for (let i = 0; i < 64; i++) Atomics.notify(c, i);
      if (k % 16 === 0) Atomics.wait(nap, 0, 0, 0.05);
    }`, { eval: true, workerData: { memory: be.memory, ctl } });
  noise.unref();
}

const f32 = (p, n) => new Float32Array(be.memory.buffer, p, n);
let wrong = null, firstHere = null, triedAgain = false;
const t0 = performance.now();
// "fallback": at least RUNS runs, and on until the workers were tried again after a stretch on the
// calling thread (how many runs a window and a stretch take depends on the machine's speed: a
// faster core fits more of the 2^20-cell calls in the 100 ms windows and the 200 ms stretch), at
// most 8·RUNS
const LAST = mode === "fallback" ? 8 * RUNS : RUNS;
let runs = 0;
for (let r = 1; r <= LAST && !wrong; r++) {
  runs = r;
  const last = r === LAST || (mode === "fallback" ? r >= RUNS && triedAgain : r === RUNS);
  const k = mode !== "delay" && mode !== "fallback" ? 1 + Math.floor(rand() * T) : T;
  const size = (i) => (mode === "fallback" ? LONG : mode !== "delay" ? 1 + Math.floor(rand() * (i === 0 ? LONG : CAP) ** rand()) : i === 0 ? LONG : 4);
  const serialBefore = pool.serialRuns;
  // one call per thread, or a program of 0-150 calls (a long one skewed towards small sizes)
  const lists = Array.from({ length: k }, (_, i) => Array.from({ length: mode === "programs" ? Math.floor(151 * rand() ** 2) : 1 }, () => size(i)));
  const programs = lists.map((l, i) => l.map((n) => ({ fn: "f32_axpby", args: [n, 1, ones, 1, counters[i]] })));
  if (mode === "programs") pool.runPrograms(programs);
  else pool.run(programs.map((p) => p[0]));
  // the fallback's course: which runs went to the calling thread alone, and whether the workers were tried again after
  const here = pool.serialRuns > serialBefore;
  if (here) firstHere ??= r;
  else if (firstHere !== null && r > firstHere) triedAgain = true;
  for (let i = 0; i < k; i++) {
    for (const n of lists[i]) {
      expected[i][0] += 1;
      expected[i][n] -= 1;
    }
  }
  // right after run(): every call of this run has finished, once ("fallback": every 50 runs and
  // the last, the counts of all before; a check takes ms, and the pool judges back-to-back runs only)
  if (mode === "fallback" && r % 50 !== 0 && !last) continue;
  for (let i = 0; i < k; i++) {
    const top = Math.max(0, ...lists[i]);
    const c = f32(counters[i], top);
    let want = 0;
    for (let j = 0; j < top; j++) {
      want += expected[i][j];
      if (c[j] !== want) {
        wrong = { run: r, call: i, cell: j, count: c[j], want };
        break;
      }
    }
    if (wrong) break;
  }
  if (last) break;
}
const ms = performance.now() - t0;
pool.shutdown();
noise?.terminate();
console.log(JSON.stringify({ mode, threads: T, runs, ok: !wrong, wrong, ms: Math.round(ms), dispatchesPerSecond: Math.round((runs / ms) * 1000),
  serialRuns: pool.serialRuns, dispatches: pool.dispatches, firstHere, triedAgain }));
process.exit(wrong ? 1 : 0);
