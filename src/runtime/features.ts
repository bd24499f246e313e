// Feature detection with WebAssembly.validate on tiny hand-assembled modules.

/** () -> v128: i32.const 0; i8x16.splat; i8x16.popcnt */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);
/** () -> v128: two i8x16.splat then i8x16.relaxed_swizzle (0xfd 0x100) */
export const RELAXED_SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 15, 1, 13, 0, 65, 1, 253, 15, 65, 2, 253,
  15, 253, 128, 2, 11,
]);
/** shared memory (min 1, max 1) and i32.atomic.load */
const THREADS_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 4, 1, 96, 0, 0, 3, 2, 1, 0, 5, 4, 1, 3, 1, 1, 10, 11, 1, 9, 0, 65, 0, 254, 16,
  2, 0, 26, 11,
]);

export interface Features {
  /** WebAssembly itself. */
  wasm: boolean;
  /** Fixed-width SIMD128. */
  simd: boolean;
  /** Relaxed SIMD (fused multiply-add). Node 20 needs --experimental-wasm-relaxed-simd. */
  relaxedSimd: boolean;
  /** The threads proposal validates (atomics, shared memory declarations). */
  threadsOpcodes: boolean;
  /** `SharedArrayBuffer` exists in this realm. */
  sharedArrayBuffer: boolean;
  /** `globalThis.crossOriginIsolated` (undefined outside browsers → reported as null). */
  crossOriginIsolated: boolean | null;
  /** Threads usable: opcodes, SharedArrayBuffer, and not a non-isolated page. */
  threads: boolean;
}

function validate(bytes: Uint8Array<ArrayBuffer>): boolean {
  try {
    return WebAssembly.validate(bytes);
  } catch {
    return false; // a runtime whose validate throws on unknown opcodes lacks the feature
  }
}

let cached: Features | undefined;

export function detectFeatures(): Features {
  if (cached) return cached;
  const wasm = typeof WebAssembly === "object" && typeof WebAssembly.validate === "function";
  const g = globalThis as { crossOriginIsolated?: boolean };
  const coi = typeof g.crossOriginIsolated === "boolean" ? g.crossOriginIsolated : null;
  const sab = typeof SharedArrayBuffer === "function";
  const threadsOpcodes = wasm && validate(THREADS_PROBE);
  cached = {
    wasm,
    simd: wasm && validate(SIMD_PROBE),
    relaxedSimd: wasm && validate(RELAXED_SIMD_PROBE),
    threadsOpcodes,
    sharedArrayBuffer: sab,
    crossOriginIsolated: coi,
    threads: threadsOpcodes && sab && coi !== false,
  };
  return cached;
}
