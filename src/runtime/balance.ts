// Splits whose cuts follow the threads' speeds. A forward of one image splits into one part per
// thread (ops/conv.ts: ranges of Winograd tiles, of output channels, bands of rows), each part a
// call over a range of units. On a shared machine one core often runs about 1.5 times slower than
// the other for a fraction of a second to seconds (docs/threads.md), and equal parts then wait for
// it at every call. The pool keeps one speed estimate per thread (ThreadPool.speeds, mean 1).
// Backend.run cuts each balanced split in proportion to them before it runs (`placeCuts`: equal
// parts while they are close) and afterwards moves them towards the rates each thread showed over
// its part (`measureSpeeds`, from ThreadPool.busy), so the next split, of whichever layer, is cut
// by what the last ones saw. The parts are always a partition of the units, changed only between
// runs while no worker runs, so each unit is computed exactly once by the same kernel code: the
// results are one thread's bits wherever the cuts fall (test/balance.test.ts).

import { BackendError } from "../errors.js";
import type { KernelCall } from "./calls.js";

/** A split of `units` units into one call per thread, whose cuts move with the threads' speeds. */
export interface Balance {
  /** Units in all (tiles, rows, channels), cut in steps of `align` (the last part takes the rest). */
  readonly units: number;
  readonly align: number;
  /** Part t covers [cuts[t], cuts[t + 1]); cuts[0] = 0, the last = units. */
  cuts: number[];
  /** The cuts it started with (equal parts, splitRange's). */
  readonly even: readonly number[];
  /** Whether one part may cover [start, end) (a band of rows reading only padding may not). */
  fits(start: number, end: number): boolean;
  /** Rewrites a call of the split to cover [start, end). */
  move(call: KernelCall, start: number, end: number): void;
}

/** A split's calls, one per thread, with the balance that moves their cuts (none: the cuts stay). */
export type BalancedCalls = KernelCall[] & { balance?: Balance };

/** Whether calls (as Backend.run gets them) are a split with a balance. */
export const isBalanced = (calls: readonly KernelCall[]): calls is BalancedCalls & { balance: Balance } => "balance" in calls;

/** How far each timed run moves a thread's speed towards the one measured. */
const GAIN = 0.3;
/** Parts that ran less than this (ms) are too short to time (a browser's clock ticks every 5 µs). */
const MIN_MS = 0.1;
/** A run whose threads' rates are all within this of their mean counts as even (a calm machine's timing noise). */
const DEAD = 0.12;
/** Speeds within this of their mean give equal parts (the split's first cuts). */
const SNAP = 0.03;
/** The least weight a part keeps against the threads' mean speed, 1 (a thread at half the mean: 0.5). */
const FLOOR = 0.25;

/**
 * Calls over `ranges` (a partition of [0, units) in steps of align, one range per thread, as
 * ops/split.ts splitRange makes it), made by `make`, with a balance that moves them by `move`.
 * Fewer than two steps per part: no balance (cuts that coarse would move a third of the work or more at once).
 */
export function balanced(
  ranges: readonly (readonly [number, number])[], units: number, align: number,
  make: (start: number, end: number) => KernelCall, move: Balance["move"], fits: Balance["fits"] = () => true,
): BalancedCalls {
  const calls: BalancedCalls = ranges.map(([a, b]) => make(a, b));
  const T = ranges.length;
  if (T < 2 || Math.ceil(units / align) < 2 * T) return calls;
  const even = [...ranges.map(([a]) => a), units];
  calls.balance = { units, align, cuts: [...even], even, fits, move };
  return calls;
}

/**
 * Before a run of a balanced split: cuts in proportion to the threads' speeds (speed[t]: thread
 * t's, their mean 1; every part at least one step, and a weight of at least FLOOR), or the even cuts
 * where the speeds are within SNAP of each other. Returns whether any cut moved.
 */
export function placeCuts(calls: BalancedCalls, speed: ArrayLike<number>): boolean {
  const b = calls.balance;
  if (!b) return false;
  const T = calls.length;
  let mean = 0;
  for (let t = 0; t < T; t++) mean += speed[t]! / T;
  let near = true;
  for (let t = 0; t < T; t++) if (Math.abs(speed[t]! / mean - 1) >= SNAP) near = false;
  if (near) return setCuts(calls, b.even);
  const shares: number[] = [];
  let sum = 0;
  for (let t = 0; t < T; t++) sum += shares[t] = Math.max(FLOOR, speed[t]! / mean);
  const steps = Math.ceil(b.units / b.align), next = [0];
  let acc = 0;
  for (let t = 0; t < T - 1; t++) {
    acc += shares[t]! / sum;
    // at least one step for this part and for each after it
    const step = Math.min(Math.max(Math.round(acc * steps), next[t]! / b.align + 1), steps - (T - 1 - t));
    next.push(step * b.align);
  }
  next.push(b.units);
  return setCuts(calls, next);
}

/**
 * After a run of a balanced split, given each thread's time over its part (ms): moves `speed`
 * GAIN of the way towards each thread's measured rate of units over the threads' mean (towards 1
 * for all of them where every rate is within DEAD of the mean), keeping the mean of speed[0..T)
 * 1. Nothing changes where a part ran too briefly to time.
 */
export function measureSpeeds(calls: BalancedCalls, busy: ArrayLike<number>, speed: number[]): void {
  const b = calls.balance;
  if (!b) return;
  const T = calls.length, rates: number[] = [];
  let mean = 0;
  for (let t = 0; t < T; t++) {
    const ms = busy[t]!;
    if (!(ms >= MIN_MS)) return;
    rates.push((b.cuts[t + 1]! - b.cuts[t]!) / ms);
    mean += rates[t]! / T;
  }
  const calm = rates.every((r) => Math.abs(r / mean - 1) < DEAD);
  let s = 0;
  for (let t = 0; t < T; t++) s += speed[t] = (1 - GAIN) * speed[t]! + GAIN * (calm ? 1 : rates[t]! / mean);
  for (let t = 0; t < T; t++) speed[t]! /= s / T;
}

/**
 * Moves a balanced split's cuts to `next` (T + 1 cuts: 0, steps of align, the units; every part
 * at least one step) and rewrites the calls whose range changed; false (nothing moves) where they
 * are the cuts already or a part would not fit. placeCuts' last step; tests set cuts with it.
 */
export function setCuts(calls: BalancedCalls, next: readonly number[]): boolean {
  const b = calls.balance!, cuts = b.cuts, T = calls.length;
  if (next.length !== T + 1 || next[0] !== 0 || next[T] !== b.units) throw new BackendError(`balance: cuts ${next.join(", ")} for ${T} parts of ${b.units} (internal error)`);
  for (let t = 0; t < T; t++) {
    if (next[t + 1]! <= next[t]! || (t < T - 1 && next[t + 1]! % b.align !== 0)) throw new BackendError(`balance: cuts ${next.join(", ")} (steps of ${b.align}, increasing; internal error)`);
  }
  if (next.every((c, t) => c === cuts[t])) return false;
  for (let t = 0; t < T; t++) if (!b.fits(next[t]!, next[t + 1]!)) return false;
  for (let t = 0; t < T; t++) if (next[t] !== cuts[t] || next[t + 1] !== cuts[t + 1]) b.move(calls[t]!, next[t]!, next[t + 1]!);
  b.cuts = [...next];
  return true;
}
