// The one place that touches runtime-specific globals (process, Deno, navigator).
import { BackendError } from "../errors.js";

interface DenoLike {
  version?: { deno?: string };
  env?: { get(name: string): string | undefined };
  permissions?: { querySync?(d: { name: string; variable?: string }): { state: string } };
}
interface ProcessLike {
  versions?: { node?: string };
  getBuiltinModule?(name: string): unknown;
  env?: Record<string, string | undefined>;
  execArgv?: string[];
}

const g = globalThis as { Deno?: DenoLike; process?: ProcessLike; navigator?: { userAgent?: string } };

export type RuntimeName = "node" | "deno" | "browser" | "unknown";

export function runtimeName(): RuntimeName {
  if (g.Deno?.version?.deno) return "deno";
  if (g.process?.versions?.node) return "node";
  if (g.navigator?.userAgent) return "browser";
  return "unknown";
}

/** e.g. "node 20.20.2", "deno 2.9.6", or the browser's user agent. */
export function runtimeDescription(): string {
  switch (runtimeName()) {
    case "deno":
      return `deno ${g.Deno!.version!.deno}`;
    case "node":
      return `node ${g.process!.versions!.node}`;
    case "browser":
      return g.navigator!.userAgent!;
    default:
      return "unknown";
  }
}

/** An environment variable, or undefined where there is none or reading it is not permitted. */
export function readEnv(name: string): string | undefined {
  if (runtimeName() === "deno") {
    try {
      return g.Deno!.env?.get(name);
    } catch {
      return undefined; // no --allow-env: the variable is simply not visible
    }
  }
  return g.process?.env?.[name];
}

/** Whether `name` cannot be read here (Deno without --allow-env for it): a reason may say the variable was not looked at. */
export function envHidden(name: string): boolean {
  if (runtimeName() !== "deno") return false;
  try {
    return g.Deno!.permissions?.querySync?.({ name: "env", variable: name }).state !== "granted";
  } catch {
    return true;
  }
}

/** How to enable relaxed SIMD on this runtime, for error messages. */
export function relaxedSimdHint(): string {
  const node = g.process?.versions?.node;
  if (runtimeName() === "node" && node && Number(node.split(".")[0]) < 22) {
    return `Node ${node} needs the flag --experimental-wasm-relaxed-simd (Node 22+ has it on by default)`;
  }
  return "this runtime's WebAssembly does not accept relaxed SIMD";
}

/** Decodes base64 with the runtime's atob (Node >= 16, Deno, browsers). */
export function base64ToBytes(b64: string): Uint8Array<ArrayBuffer> {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * A Node built-in module, through process.getBuiltinModule (Node 20.16+ and 22.3+, Deno 2, Bun). fovea
 * has no import of a node: module anywhere, so a bundler for the web sees none.
 */
export function nodeModule<T>(name: `node:${string}`): T {
  const m = g.process?.getBuiltinModule?.(name);
  if (!m) throw new BackendError(`${name} is not available in ${runtimeDescription()} (fovea reaches Node's modules through process.getBuiltinModule: Node 20.16+ or 22.3+, Deno 2)`);
  return m as T;
}

/** Cores this runtime reports (navigator.hardwareConcurrency / os.availableParallelism). */
export async function cores(): Promise<number> {
  const nav = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator;
  if (nav?.hardwareConcurrency) return nav.hardwareConcurrency;
  if (runtimeName() === "node") {
    const os = nodeModule<{ availableParallelism?: () => number; cpus(): unknown[] }>("node:os");
    return os.availableParallelism ? os.availableParallelism() : os.cpus().length;
  }
  return 1;
}
