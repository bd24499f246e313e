// A kernel call as data: the kernel's name and its arguments, typed by the generated table, so a
// call can be built once (in src/ops/) and run here, on a worker of the pool, or in turn.
import { BackendError } from "../errors.js";
import { KERNEL_SIGNATURES, type KernelName, type Kernels } from "./generated/kernels.js";

/** One call of kernel K: its arguments are K's parameter tuple. */
export interface CallOf<K extends KernelName> {
  fn: K;
  args: Parameters<Kernels[K]>;
  /**
   * For kernels with a `scratch` parameter: the bytes it needs. The backend puts the running
   * thread's own scratch block there (the argument given is a placeholder).
   */
  scratchBytes?: number;
}

/** Any kernel call (a union over the kernel table, so `fn` and `args` always agree). */
export type KernelCall = { [K in KernelName]: CallOf<K> }[KernelName];

/** A call of kernel `fn` (typed: the arguments must be fn's parameters). */
export function call<K extends KernelName>(fn: K, ...args: Parameters<Kernels[K]>): CallOf<K> {
  return { fn, args };
}

/** Parameter name → kernel → position (asked per call run: no string built per lookup). */
const positions = new Map<string, Map<KernelName, number>>();

/** The position of a named parameter of a kernel (e.g. "scratch"), or -1. */
export function paramIndex(fn: KernelName, name: string): number {
  let byFn = positions.get(name);
  if (!byFn) positions.set(name, (byFn = new Map()));
  let i = byFn.get(fn);
  if (i === undefined) byFn.set(fn, (i = (KERNEL_SIGNATURES[fn].params as readonly string[]).indexOf(name)));
  return i;
}

/** The position of call c's parameter `name`; a kernel without it is an internal error (BackendError). */
function argIndex(c: KernelCall, name: string): number {
  const i = paramIndex(c.fn, name);
  if (i < 0) throw new BackendError(`${c.fn} has no parameter ${name} (internal error)`);
  return i;
}

/** Call c's argument `name`. */
export const argOf = (c: KernelCall, name: string): number => c.args[argIndex(c, name)] as number;

/** Sets call c's argument `name` (a call built once and moved between runs: runtime/balance.ts). */
export function setArg(c: KernelCall, name: string, v: number): void {
  (c.args as number[])[argIndex(c, name)] = v;
}

/** Runs one call on `kernels` (this thread); returns what the kernel returns (a number, or undefined). */
export function invoke(kernels: Kernels, c: KernelCall): number | undefined {
  return Reflect.apply(kernels[c.fn], kernels, c.args) as number | undefined;
}
