// The one entry of build/fovea.*.wasm: re-exports every kernel.
// Kernels compute; the TypeScript layer decides (see DESIGN.md).

export { f32_add_fwd } from "./eltwise/binary";

/** First byte above the module's static data: the TS host owns the heap from here. */
export function heap_base(): usize {
  return __heap_base;
}

/** Build identity: bit 0 = relaxed SIMD, bit 1 = threads, bit 2 = asserts (debug). */
export function build_flags(): i32 {
  let flags = 0;
  if (ASC_FEATURE_RELAXED_SIMD) flags |= 1;
  if (ASC_FEATURE_THREADS) flags |= 2;
  if (isDefined(ASC_NO_ASSERT) && ASC_NO_ASSERT) { /* release */ } else flags |= 4;
  return flags;
}
