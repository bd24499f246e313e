// The shared layout between the pool, its workers and the Node monitor thread (see the protocol
// at the top of pool.ts).
//
// Control block (Int32Array at `ctl`): word CTL_STOP, then one line of LINE_INTS words per
// worker i (1..threads-1) at i * LINE_INTS: its posted generation (W_GEN), the generation it
// finished last (W_DONE), the generation whose call failed last (W_FAIL), its state
// (W_STATE) and how long it ran the program it finished last, in microseconds (W_BUSY). A line
// is 64 bytes so that two workers' words never share a cache line.
// Program (Float64Array at the start of a worker's record): [call count, then that many call
// entries of SLOT_FLOATS: kernel index, argument count, args...], run in order; error text
// (Uint8Array after it, one per worker): UTF-8 of the last failure, zero-padded.
//
// This file is the one place these numbers are written. The worker (worker.ts) and the Node
// monitor thread (pool.ts) import nothing: they are told them in their first message
// (WORKER_LAYOUT), so a bundler can ship the worker as a file of its own.
import { KERNEL_SIGNATURES } from "./generated/kernels.js";

export const CTL_STOP = 0;
export const LINE_INTS = 16;
export const W_GEN = 0;
export const W_DONE = 1;
export const W_FAIL = 2;
export const W_STATE = 3;
export const W_BUSY = 4;
/** W_STATE values. */
export const STATE_STARTING = 0;
export const STATE_ALIVE = 1;
export const STATE_DEAD = 2;
export const STATE_STOPPED = 3;
/** Written by a worker as the last thing it does with the shared memory, when it leaves on a stop. */
export const STATE_EXITED = 4;
/** W_DONE of a dead worker: no generation has this number, so a caller waiting on it wakes. */
export const DONE_DEAD = -2;
/** W_DONE / W_FAIL cleared before a generation is posted (no generation has this number either). */
export const NONE = -1;

export const MAX_ARGS = 16;
/** One call entry of a program: kernel index, argument count, MAX_ARGS arguments. */
export const SLOT_FLOATS = 2 + MAX_ARGS;
/** The most calls one posted program holds (a longer one is posted in pieces, in order). */
export const PROGRAM_CALLS = 64;
/** A program: its call count, then PROGRAM_CALLS entries. */
export const PROGRAM_FLOATS = 1 + PROGRAM_CALLS * SLOT_FLOATS;
export const ERROR_BYTES = 512;
/** Bytes of one worker's shared record: the program, then error text. */
export const RECORD_BYTES = PROGRAM_FLOATS * 8 + ERROR_BYTES;
/** Kernel indices: the sorted names of the generated kernel table. */
export const KERNEL_NAMES = Object.keys(KERNEL_SIGNATURES).sort();
/** The layout as a worker and the monitor are told it (with the kernel names, whose index a slot holds). */
export interface WorkerLayout {
  /** Words per worker line, and the word indices in the control block / in a line. */
  line: number;
  stop: number;
  gen: number;
  done: number;
  fail: number;
  state: number;
  busy: number;
  /** W_STATE values, and W_DONE of a dead worker. */
  alive: number;
  dead: number;
  exited: number;
  doneDead: number;
  /**
   * A record: PROGRAM_FLOATS float64 (a call count, then calls of SLOT_FLOATS each: kernel index,
   * argument count, at most MAX_ARGS arguments), then ERROR_BYTES of text.
   */
  programFloats: number;
  slotFloats: number;
  maxArgs: number;
  errorBytes: number;
  kernels: string[];
}

export const WORKER_LAYOUT: WorkerLayout = {
  line: LINE_INTS, stop: CTL_STOP, gen: W_GEN, done: W_DONE, fail: W_FAIL, state: W_STATE, busy: W_BUSY,
  alive: STATE_ALIVE, dead: STATE_DEAD, exited: STATE_EXITED, doneDead: DONE_DEAD,
  programFloats: PROGRAM_FLOATS, slotFloats: SLOT_FLOATS, maxArgs: MAX_ARGS, errorBytes: ERROR_BYTES, kernels: KERNEL_NAMES,
};

/**
 * How long a worker (and a waiting caller) watches for the next event before blocking, in ms. A
 * thread woken from Atomics.wait on this project's 2-core VM came back 55 µs late after a 0.3 ms
 * sleep and 221 µs after 1 ms (its core idles), while a watching one answers in 2–9 µs; training
 * leaves gaps of a fraction of a millisecond between parallel calls (a step's single-threaded
 * stretches, the optimizer, the next batch), so 2 ms (0.2 before): fit of LeNet-5 with batch norm
 * on 2 threads 1.05x and 1.09x, lenet-wide 1.035x (paired runs in one process).
 */
export const SPIN_MS = 2;
/** Longest single Atomics.wait of the caller: between two it checks the workers' states again. */
export const WAIT_SLICE_MS = 50;

/** Below this many FLOPs an op stays on the calling thread (waking a sleeping worker costs 50–220 µs, SPIN_MS). */
export const MIN_PARALLEL_FLOPS = 1e6;

/** Index in the control block of worker i's word w. */
export const word = (i: number, w: number): number => i * LINE_INTS + w;

/** Writes `text` (UTF-8, cut to fit) into a worker's error area; plain bytes, no encodeInto on shared memory. */
export function writeErrorText(buf: ArrayBufferLike, record: number, text: string): void {
  const bytes = new TextEncoder().encode(text).subarray(0, ERROR_BYTES - 1);
  const area = new Uint8Array(buf, record + PROGRAM_FLOATS * 8, ERROR_BYTES);
  area.fill(0);
  area.set(bytes);
}

/**
 * Declares worker `index` dead where a blocked caller looks: its text, STATE = DEAD, DONE =
 * DONE_DEAD, and a notify on DONE. (A worker that dies, worker.ts, and the Node monitor in pool.ts
 * write the same words.)
 */
export function declareDead(buf: ArrayBufferLike, ctl: Int32Array, index: number, record: number, text: string): void {
  writeErrorText(buf, record, text);
  Atomics.store(ctl, word(index, W_STATE), STATE_DEAD);
  Atomics.store(ctl, word(index, W_DONE), DONE_DEAD);
  Atomics.notify(ctl, word(index, W_DONE));
}

export function readErrorText(buf: ArrayBufferLike, record: number): string {
  const area = new Uint8Array(buf, record + PROGRAM_FLOATS * 8, ERROR_BYTES);
  const end = area.indexOf(0);
  return new TextDecoder().decode(area.slice(0, end < 0 ? ERROR_BYTES : end));
}
