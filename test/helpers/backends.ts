// Every build this runtime can run, each in its own Backend (own memory), for cross-build tests.
import { loadBackend, type Backend, type BuildName } from "../../src/index.js";
import { detectFeatures } from "../../src/runtime/features.js";

export const SINGLE_THREAD_BUILDS: BuildName[] = ["simd", "relaxed", "debug"];
export const ALL_BUILDS: BuildName[] = ["simd", "relaxed", "debug", "simd-mt", "relaxed-mt"];

/** The builds this process can instantiate; relaxed needs the V8 flag on Node 20 (vitest.config.ts sets it). */
export function runnableBuilds(list: BuildName[] = ALL_BUILDS): BuildName[] {
  const f = detectFeatures();
  return list.filter((b) => (!b.startsWith("relaxed") || f.relaxedSimd) && (!b.endsWith("-mt") || f.threadsOpcodes));
}

const cache = new Map<BuildName, Promise<Backend>>();
export function backendFor(build: BuildName): Promise<Backend> {
  let p = cache.get(build);
  if (!p) cache.set(build, (p = loadBackend(build)));
  return p;
}
