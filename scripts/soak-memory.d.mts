// Types of soak-memory.mjs's exports, for test/soak.test.ts.
import type * as fovea from "../src/index.js";

export interface MemoryLoop {
  name: string;
  n: number;
  setup?(): unknown;
  cycle(ctx: any): unknown;
  teardown?(ctx: any): unknown;
}

export interface SoakResult {
  name: string;
  n: number;
  inUseBefore: number;
  inUseAfter: number;
  capFirst: number;
  capEnd: number;
  jsBefore: number;
  jsAfter: number;
  seconds: number;
  /** What failed: inUseBytes not back, the wasm memory grown after the first cycle, the JS heap grown. */
  problems: string[];
}

export const FULL_COUNTS: { predict: number; models: number; onnx: number; fit: number; pools: number };
export function memoryLoops(f: typeof fovea, counts?: typeof FULL_COUNTS): MemoryLoop[];
export function soak(be: fovea.Backend, loop: MemoryLoop, jsHeap?: (() => number) | null, jsNoise?: number): Promise<SoakResult>;
