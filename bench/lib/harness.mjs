// Timing with the `benchmark` package, records in the project's one record shape, and the table.
import Benchmark from "benchmark";
import * as fovea from "../../dist/index.js";

/** A backend of `build` for a suite: its -mt variant with a pool of `threads` when threads > 1. */
export const benchBackend = (build, threads, initialMemoryMiB = 16) =>
  threads > 1 ? fovea.loadBackend(`${build}-mt`, "option", initialMemoryMiB, threads) : fovea.loadBackend(build, "option", initialMemoryMiB);

let slot = 0;

/**
 * Median milliseconds per call of `fn` (sync) or `fn` returning a promise (async), measured by
 * Benchmark.js after its own calibration cycles (which also warm V8's optimizing tier).
 */
export function measure(fn, { quick = false, async = false } = {}) {
  // Benchmark.js compiles the test body into a loop; a global hook keeps closures intact.
  const key = `__foveaBench${slot++}`;
  globalThis[key] = fn;
  const options = {
    minSamples: quick ? 3 : 8,
    maxTime: quick ? 0.2 : 1.0,
    initCount: 1,
  };
  return new Promise((resolve, reject) => {
    const bench = async
      ? new Benchmark({ ...options, defer: true, fn: new Function("deferred", `globalThis.${key}().then(() => deferred.resolve(), (e) => { console.error(e); deferred.resolve(); })`) })
      : new Benchmark({ ...options, fn: new Function(`globalThis.${key}();`) });
    bench.on("complete", () => {
      delete globalThis[key];
      if (bench.error) return reject(bench.error);
      const s = [...bench.stats.sample].sort((a, b) => a - b);
      const mid = s.length >> 1;
      const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
      resolve({ median_ms: median * 1000, samples: s.length, rme: bench.stats.rme });
    });
    bench.on("error", (e) => reject(e.target?.error ?? e));
    bench.run({ async: false });
  });
}

/** The one record shape every bench suite writes. */
export function record({ suite, kase, engine, build = null, threads = 1, batch = null, median_ms = null, flops = null, images = null, note = null }) {
  return {
    suite,
    case: kase,
    engine,
    build,
    threads,
    batch,
    median_ms,
    gflops: median_ms !== null && flops !== null ? flops / (median_ms * 1e6) : null,
    img_per_s: median_ms !== null && images !== null ? images / (median_ms / 1000) : null,
    ...(note ? { note } : {}),
  };
}

const fmtMs = (ms) => (ms === null ? "—" : ms < 1 ? ms.toFixed(3) : ms < 100 ? ms.toFixed(2) : ms.toFixed(0));
const fmtG = (g) => (g === null ? "—" : g.toFixed(1));

/**
 * One row per (case, batch): median ms and GFLOP/s of every engine, then speedups
 * (peer ms / fovea ms of the fastest fovea build: > 1 means fovea is faster). A suite whose
 * records count no FLOPs (threads) gets no GF/s, one without peers no speedup columns.
 */
export function printTable(records, peers) {
  const rows = new Map();
  for (const r of records) {
    const k = `${r.suite}|${r.case}|${r.batch ?? ""}`;
    if (!rows.has(k)) rows.set(k, []);
    rows.get(k).push(r);
  }
  const fovEngines = [...new Set(records.filter((r) => r.engine === "fovea").map((r) => r.build))];
  const flops = records.some((r) => r.gflops !== null), unit = flops ? "ms (GF/s)" : "ms";
  const head = ["case", "batch", ...fovEngines.map((b) => `fovea-${b} ${unit}`), ...peers.map((p) => `${p} ${unit}`), ...peers.map((p) => `vs ${p}`)];
  const lines = [head];
  for (const rs of rows.values()) {
    const fov = fovEngines.map((b) => rs.find((r) => r.engine === "fovea" && r.build === b));
    const best = fov.filter((r) => r && r.median_ms !== null).sort((a, b) => a.median_ms - b.median_ms)[0];
    const cell = (r) => (!r ? "" : r.median_ms === null ? (r.note ?? "n/a").slice(0, 28) : flops ? `${fmtMs(r.median_ms)} (${fmtG(r.gflops)})` : fmtMs(r.median_ms));
    const peerRs = peers.map((p) => rs.find((r) => r.engine === p));
    lines.push([
      rs[0].case, String(rs[0].batch ?? ""), ...fov.map(cell), ...peerRs.map(cell),
      ...peerRs.map((p) => (best && p && p.median_ms !== null ? `${(p.median_ms / best.median_ms).toFixed(2)}x` : "")),
    ]);
  }
  const widths = head.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? "").length)));
  for (const [i, l] of lines.entries()) {
    console.log(l.map((c, j) => (j < 2 ? (c ?? "").padEnd(widths[j]) : (c ?? "").padStart(widths[j]))).join("  "));
    if (i === 0) console.log(widths.map((w) => "-".repeat(w)).join("  "));
  }
  if (peers.length) console.log("vs <peer>: peer median / fastest fovea build median (> 1: fovea is faster).");
}
