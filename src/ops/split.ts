// How an op's work splits across the thread pool: every builder in src/ops/ asks here how many
// parts to make. Splits never change a summation order except conv filter gradients, whose
// per-thread partial sums are added at the end (see convCalls).
import type { Backend } from "../runtime/backend.js";
import { MIN_PARALLEL_FLOPS } from "../runtime/pool-layout.js";

/** [start, end) ranges covering [0, n) in `parts` nearly equal pieces, starts aligned to `align`. */
export function splitRange(n: number, parts: number, align = 1): [number, number][] {
  const out: [number, number][] = [];
  let start = 0;
  for (let t = 0; t < parts && start < n; t++) {
    let end = t === parts - 1 ? n : Math.round((n * (t + 1)) / parts / align) * align;
    end = Math.min(n, Math.max(end, start + align));
    out.push([start, end]);
    start = end;
  }
  if (out.length && out[out.length - 1]![1] < n) out[out.length - 1]![1] = n;
  return out;
}

/** Parts for work of `flops` made of `units` independent pieces, at most `limit` (default: the backend's threads). */
export const threadsFor = (be: Backend, flops: number, units: number, limit = be.threads) =>
  (flops < MIN_PARALLEL_FLOPS ? 1 : Math.max(1, Math.min(limit, units)));

/** threadsFor for memory-bound work (pooling, permutes, copies) of `values` values read or written: each weighs as 8 FLOPs. */
export const threadsForMemory = (be: Backend, values: number, units: number, limit = be.threads) => threadsFor(be, 8 * values, units, limit);

/** A conv/pool geometry restricted to images [n0, n1) or output rows [r0, r1) (the latter for one image). */
export interface Part { N: number; H: number; OH: number; PT: number; xOff: number; yOff: number; hpDelta: number }

export const wholePart = (N: number, H: number, OH: number, PT: number): Part => ({ N, H, OH, PT, xOff: 0, yOff: 0, hpDelta: 0 });

/** T parts of an NHWC window op: by images when N >= T, else (one image) by bands of output rows. */
export function windowParts(N: number, H: number, W: number, C: number, OH: number, OW: number, OC: number, SH: number, PT: number, reach: number, T: number): Part[] {
  if (T <= 1) return [wholePart(N, H, OH, PT)];
  if (N >= T) {
    return splitRange(N, T).map(([a, b]) => ({ N: b - a, H, OH, PT, xOff: a * H * W * C, yOff: a * OH * OW * OC, hpDelta: 0 }));
  }
  if (N !== 1) return [wholePart(N, H, OH, PT)];
  // one image: bands of output rows, each reading just the input rows its windows reach
  const out: Part[] = [];
  for (const [r0, r1] of splitRange(OH, T)) {
    const band = rowBand(H, W, C, OW, OC, SH, PT, reach, r0, r1);
    if (!band) return [wholePart(N, H, OH, PT)]; // a band of pure padding: do not split
    out.push(band);
  }
  return out;
}

/** Output rows [r0, r1) of one image of an NHWC window op, reading just the input rows its windows reach (null: only padding). */
export function rowBand(H: number, W: number, C: number, OW: number, OC: number, SH: number, PT: number, reach: number, r0: number, r1: number): Part | null {
  const o = r0 * SH - PT;
  const first = Math.max(o, 0), last = Math.min(H - 1, (r1 - 1) * SH - PT + reach - 1);
  if (last < first) return null;
  return { N: 1, H: last - first + 1, OH: r1 - r0, PT: first - o, xOff: first * W * C, yOff: r0 * OW * OC, hpDelta: first };
}

/** Writes an i32 geometry block into memory from `alloc`. */
export function geometryBlock(alloc: (bytes: number) => number, be: Backend, fields: number[]): number {
  const p = alloc(fields.length * 4);
  be.heap.i32(p, fields.length).set(fields);
  return p;
}

/**
 * Runs `f` with an allocator whose blocks are freed afterwards: eager ops build their calls with
 * the same builders as plans, on memory they give back.
 */
export function withScratchAlloc<T>(be: Backend, f: (alloc: (bytes: number) => number) => T): T {
  const blocks: number[] = [];
  try {
    return f((bytes) => {
      const p = be.heap.alloc(bytes, true);
      blocks.push(p);
      return p;
    });
  } finally {
    for (const p of blocks) be.heap.free(p);
  }
}
