// The shared layout between the pool and its workers: a control block of i32 and one call
// slot (f64) per worker: [kernel index, argument count, arguments...].
import { KERNEL_SIGNATURES } from "./generated/kernels.js";

export const CTL_GEN = 0;
export const CTL_REMAINING = 1;
export const CTL_STOP = 2;
export const MAX_ARGS = 16;
export const SLOT_FLOATS = 2 + MAX_ARGS;
/** Kernel indices: the sorted names of the generated kernel table. */
export const KERNEL_NAMES = Object.keys(KERNEL_SIGNATURES).sort();
/** How long a worker (and a waiting caller) watches for the next event before blocking, in ms. */
export const SPIN_MS = 0.2;
