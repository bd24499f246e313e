// The CLI's own process (the `fovea` command and `npm start`) runs the relaxed-SIMD (FMA) build
// on Node 20 too, where the feature sits behind --experimental-wasm-relaxed-simd: the flag is set
// in this process before any wasm is compiled. The library never does this to a user's process.
import { RELAXED_SIMD_PROBE } from "../runtime/features.js";
import { proc } from "./proc.js";

/**
 * Turns on V8's relaxed SIMD in this Node process when it is off (Node 22+, Deno: already on);
 * true when the runtime now takes relaxed-SIMD modules. Call it before init(): detectFeatures()
 * keeps its first answer (so it is not asked here).
 */
export async function enableRelaxedSimd(): Promise<boolean> {
  if (!WebAssembly.validate(RELAXED_SIMD_PROBE) && proc.versions.node !== undefined) {
    const v8: { setFlagsFromString(flags: string): void } = await import("node:v8" as string);
    v8.setFlagsFromString("--experimental-wasm-relaxed-simd");
  }
  return WebAssembly.validate(RELAXED_SIMD_PROBE);
}
