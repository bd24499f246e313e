// How far apart the machine keeps two threads: the round trip of a value between this thread and
// a worker through shared memory (JavaScript Atomics, both spinning). On the 2-core test machine
// it is 95–180 ns when its two vCPUs pair closely and 440–1,100 ns when they are far apart (the
// "slow pairing" of docs/threads.md, where each cache line one core takes from the other
// costs such a trip); the threads suite prints it beside every case.
import { Worker } from "node:worker_threads";

const ECHO = `
const { workerData } = require("node:worker_threads");
const a = new Int32Array(workerData);
let last = 0;
for (;;) {
  const v = Atomics.load(a, 0);
  if (v === -1) break;
  if (v !== last) { last = v; Atomics.store(a, 16, v); }
  else if (v === 0) Atomics.wait(a, 0, 0, 50); // idle between probes
}
`;

/** A probe with its own echo worker: roundTripNs(ms) times trips for about ms milliseconds (median of bursts); close() ends it. */
export function pairingProbe() {
  const sab = new SharedArrayBuffer(128), a = new Int32Array(sab);
  const worker = new Worker(ECHO, { eval: true, workerData: sab });
  worker.unref();
  let seq = 0;
  const trip = () => {
    seq += 1;
    Atomics.store(a, 0, seq);
    Atomics.notify(a, 0);
    while (Atomics.load(a, 16) !== seq);
  };
  return {
    roundTripNs(ms = 20) {
      trip(); // the worker is awake and spinning
      const bursts = [];
      const end = performance.now() + ms;
      while (performance.now() < end) {
        const n = 2000, t0 = performance.now();
        for (let i = 0; i < n; i++) trip();
        bursts.push(((performance.now() - t0) * 1e6) / n);
      }
      Atomics.store(a, 0, 0); // park the worker again
      Atomics.store(a, 16, 0);
      seq = 0;
      return [...bursts].sort((p, q) => p - q)[bursts.length >> 1];
    },
    close() {
      Atomics.store(a, 0, -1);
      Atomics.notify(a, 0);
    },
  };
}
