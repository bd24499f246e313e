// The one seeded random number generator (init, shuffling, dropout, augmentation).
// mulberry32: 32-bit state, fast, good enough for ML sampling, and its state is one number
// plus normal()'s spare value (so a model's RNG can be saved and restored exactly: state()/setState()).

import { ConfigError, isArrayLike, isRecord, show } from "./errors.js";

/** Everything an Rng will draw from: the 32-bit state and the Box–Muller spare (null if none). */
export interface RngState {
  s: number;
  spare: number | null;
}

/** mulberry32's step: the next state. */
const STEP = 0x6d2b79f5;
const advance = (s: number) => (s + STEP) >>> 0;
/** STEP's inverse modulo 2³² (Newton's iteration; STEP is odd): the steps from state a to b are (b − a)·STEP_INV. */
const STEP_INV = [0, 0, 0, 0, 0].reduce((x) => Math.imul(x, 2 - Math.imul(STEP, x)), STEP) >>> 0;

/** mulberry32's output for a state. */
function output(s: number): number {
  let t = Math.imul(s ^ (s >>> 15), s | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return (t ^ (t >>> 14)) >>> 0;
}

/** A seed (where: the call, for the message): a whole number from 0 to 2³² − 1; another value would stand for one of these silently (seed >>> 0: 1.7 and 2³² + 1 are seed 1). */
export function checkSeed(where: string, seed: unknown): number {
  if (!(Number.isInteger(seed) && (seed as number) >= 0 && (seed as number) <= 0xffffffff)) throw new ConfigError(`${where}: seed must be a whole number from 0 to 4294967295, got ${show(seed)}`);
  return seed as number;
}

export class Rng {
  private s: number;
  private spare: number | null = null;

  constructor(seed = 0x2545f491) {
    this.s = checkSeed("Rng", seed);
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.s = advance(this.s);
    return output(this.s);
  }

  /** Uniform in [0, 1). */
  uniform(): number {
    return this.nextU32() / 4294967296;
  }

  /** Standard normal (Box–Muller, both values used). */
  normal(): number {
    if (this.spare !== null) {
      const v = this.spare;
      this.spare = null;
      return v;
    }
    let u = 0;
    while (u === 0) u = this.uniform();
    const v = this.uniform();
    const r = Math.sqrt(-2 * Math.log(u));
    this.spare = r * Math.sin(2 * Math.PI * v);
    return r * Math.cos(2 * Math.PI * v);
  }

  /**
   * out[i] = mean + std·normal() for every i, in order: the same draws and the same values as
   * that loop, with the generator's state in locals (a model's initialisation draws millions).
   */
  fillNormal(out: Float32Array, mean: number, std: number): void {
    if (!(out instanceof Float32Array)) throw new ConfigError(`rng.fillNormal: out must be a Float32Array, got ${show(out)}`);
    const n = out.length;
    let i = 0;
    if (n > 0 && this.spare !== null) {
      out[i++] = mean + std * this.spare;
      this.spare = null;
    }
    let s = this.s;
    const next = () => output((s = advance(s)));
    for (; i < n; i += 2) {
      let u = 0;
      while (u === 0) u = next() / 4294967296;
      const v = next() / 4294967296;
      const r = Math.sqrt(-2 * Math.log(u));
      out[i] = mean + std * (r * Math.cos(2 * Math.PI * v));
      const second = r * Math.sin(2 * Math.PI * v);
      if (i + 1 < n) out[i + 1] = mean + std * second;
      else this.spare = second;
    }
    this.s = s;
  }

  /**
   * Moves on exactly as n normal() calls would, without their values (a loader's parameters, set
   * from a file right after: the draws after them stay those they always were). Only the uniform
   * each pair's logarithm takes is looked at (normal() draws again where it is 0).
   */
  skipNormal(n: number): void {
    if (n > 0 && this.spare !== null) {
      this.spare = null;
      n--;
    }
    // each pair takes two states, and one more where its first uniform is 0: only state 0 gives
    // output 0 (the output is a bijection of the state: every 32-bit state tried). So the pairs take
    // 2k states, but where state 0 falls on a pair's first draw, j steps on (odd), that pair draws again
    let s = this.s;
    for (let k = Math.floor(n / 2); k > 0; ) {
      const j = Math.imul((0 - s) >>> 0, STEP_INV) >>> 0 || 2 ** 32; // the steps to state 0 (a whole period from it)
      if (j % 2 === 0 || j > 2 * k - 1) {
        s = (s + Math.imul((2 * k) % 2 ** 32, STEP)) >>> 0;
        break;
      }
      k -= (j - 1) / 2;
      s = 0;
    }
    this.s = s;
    // an odd last draw leaves the pair's second value as the spare
    if (n % 2 === 1) this.normal();
  }

  /** Moves on exactly as n uniform() calls would (n < 2^32): mulberry32's state only adds. */
  skipUniform(n: number): void {
    this.s = (this.s + Math.imul(n, 0x6d2b79f5)) >>> 0;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.uniform() * n);
  }

  /** Fisher–Yates shuffle in place. */
  shuffle<T extends { length: number; [i: number]: unknown }>(a: T): T {
    const list: unknown = a; // checked without narrowing T
    if (!isArrayLike(list)) throw new ConfigError(`rng.shuffle: expected an array, got ${show(a)}`);
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
    return a;
  }

  /** The generator's state: a copy (a restored Rng continues with exactly the same draws). */
  state(): RngState {
    return { s: this.s, spare: this.spare };
  }

  /** Continues from a state() taken earlier (of this or another Rng). */
  setState(st: RngState): void {
    if (!isRecord(st)) throw new ConfigError(`Rng.setState: a state is { s, spare } (state()'s), got ${show(st)}`);
    if (!(Number.isInteger(st.s) && st.s >= 0 && st.s <= 0xffffffff)) throw new ConfigError(`Rng.setState: s must be a 32-bit unsigned integer, got ${st.s}`);
    if (!(st.spare === null || Number.isFinite(st.spare))) throw new ConfigError(`Rng.setState: spare must be a finite number or null, got ${st.spare}`);
    this.s = st.s;
    this.spare = st.spare;
  }

  /** A child generator with its own stream (e.g. one for dropout, one for shuffling). */
  fork(): Rng {
    return new Rng(this.nextU32());
  }
}
