// The backward of a training batch norm whose output only a ReLU and then a 2×2 max pool read
// (conv → batch norm → ReLU → max pool, LeNet's and lenet-3x3's stages), without the norm's output
// gradient in memory: the pool's forward already pooled (x − mean)·scale + shift from the norm's
// input and kept, per output, a byte naming the tap of its window's first maximum or that the
// ReLU closed it (f32_maxpool_fwd_codes), so the norm's dy — the pool's dy at that tap, 0
// elsewhere — is made one window row at a time in scratch from the codes instead of being
// written, read twice and read again over the whole batch. The sums are those of
// f32_batchnorm_part_sums_bwd over the same values in the same order (lane by lane, period by
// period: the window rows stream through scratch in whole periods) and dx is
// f32_batchnorm_part_apply's expression, so the results are the same bits as the pool's backward
// (f32_maxpool_bwd_relu) and the norm's passes. Geometry: a pool geometry block (POOL_*) over the
// whole batch, 2×2 windows with stride 2 and at least 4 channels (the pool's isTwoByTwo); a part
// is a range of rows [r0, r1) of the rows × C matrix (rows = N·H·W pixels) that starts on a
// period (f32_batchnorm_period) boundary.

import { f4 } from "../common/simd";
import { geo, POOL_N, POOL_H, POOL_W, POOL_C, POOL_OH, POOL_OW } from "../common/geometry";
import { isTwoByTwo } from "../pool/pool";
import { zero } from "../eltwise/binary";
import { addSumsBwd, addSumsBwdTail, periodOf } from "./batchnorm";

/**
 * The norm's dy over window row oh of image n (input rows 2·oh and 2·oh + 1, 2·W·C floats) into
 * out: each window's tap named by its code (f32_maxpool_fwd_codes) gets 0 + dy; every other
 * value, every value of a window the ReLU closed, and the columns no window covers, 0.
 */
function windowRowGrad(codes: usize, dyp: usize, n: i32, oh: i32, W: i32, C: i32, OH: i32, OW: i32, out: usize): void {
  const rowStep = W * C, z = f32x4.splat(0);
  const t0 = i32x4.splat(0), t1 = i32x4.splat(1), t2 = i32x4.splat(2), t3 = i32x4.splat(3);
  const o0 = ((n * OH + oh) * OW) * C;
  // pointers walk a window (C codes and dy values, 2·C floats of each output row) at a time
  const cb = <usize>f4(C), rb = <usize>f4(rowStep);
  let cp = codes + <usize>o0, dp = dyp + f4(o0), p = out;
  const end = out + f4(2 * OW * C);
  for (; p < end; cp += <usize>C, dp += cb, p += 2 * cb) {
    for (let c = 0; c < C; c += 4) {
      // a ragged tail of 1-3 channels: the block ending at C (the overlap writes equal values)
      const cc = min(c, C - 4), q = p + f4(cc);
      const tap = i32x4.extend_low_i16x8_u(i16x8.extend_low_i8x16_u(v128.load32_zero(cp + <usize>cc)));
      const d = f32x4.add(z, v128.load(dp + f4(cc)));
      v128.store(q, v128.and(d, i32x4.eq(tap, t0)));
      v128.store(q + cb, v128.and(d, i32x4.eq(tap, t1)));
      v128.store(q + rb, v128.and(d, i32x4.eq(tap, t2)));
      v128.store(q + rb + cb, v128.and(d, i32x4.eq(tap, t3)));
    }
  }
  // a last odd column no window covers
  if (2 * OW < W) {
    zero(out + f4(2 * OW * C), (W - 2 * OW) * C);
    zero(out + f4(rowStep + 2 * OW * C), (W - 2 * OW) * C);
  }
}

/**
 * Calls f(group start, group floats) for each group of input rows the part [lo, hi) (floats)
 * overlaps, in order: an image's window rows (2·W·C floats, made by windowRowGrad into buf) and a
 * last odd row no window covers (zeros). `buf` then holds the group's dy.
 */
// @ts-ignore: decorator
@inline function eachGroup(g: usize, codes: usize, dyp: usize, lo: i32, hi: i32, buf: usize, f: (start: i32, len: i32, buf: usize) => void): void {
  const H = geo(g, POOL_H), W = geo(g, POOL_W), C = geo(g, POOL_C), OH = geo(g, POOL_OH), OW = geo(g, POOL_OW);
  const image = H * W * C, pair = 2 * W * C;
  for (let n = lo / image; n < geo(g, POOL_N) && n * image < hi; n++) {
    for (let oh = 0; oh < OH; oh++) {
      const start = n * image + oh * pair;
      if (start >= hi) return;
      if (start + pair <= lo) continue;
      windowRowGrad(codes, dyp, n, oh, W, C, OH, OW, buf);
      f(start, pair, buf);
    }
    if (2 * OH < H) {
      const start = n * image + OH * pair, len = (H - 2 * OH) * W * C;
      if (start < hi && start + len > lo) {
        zero(buf, len);
        f(start, len, buf);
      }
    }
  }
}

// the part both kernels work on (the group callbacks take no context: AssemblyScript has no
// closures, and each thread's instance has its own globals): x, the mean's pattern, C, the floats [lo, hi)
let pX: usize = 0, pMean: usize = 0, pC: i32 = 0, pLo: i32 = 0, pHi: i32 = 0;

/** Sets the part: rows [r0, r1) of x over C channels. */
function setPart(x: usize, mean: usize, C: i32, r0: i32, r1: i32): void {
  pX = x;
  pMean = mean;
  pC = C;
  pLo = r0 * C;
  pHi = r1 * C;
}

// the sums' stream: the part's dy so far not summed (fewer than L floats), at the front of `carry`
let sCarry: usize = 0, sHave: i32 = 0, sPos: i32 = 0, sL: i32 = 0, sDy: usize = 0, sDyX: usize = 0;

/** Appends the part's share of a group's dy to the stream and sums its whole periods. */
function streamSums(start: i32, len: i32, buf: usize): void {
  const from = max(start, pLo), to = min(start + len, pHi);
  // with nothing carried (the usual case) the group's share is summed where it lies; else it
  // joins the carried floats first
  let src = buf + f4(from - start);
  if (sHave > 0) {
    memory.copy(sCarry + f4(sHave), src, <usize>f4(to - from));
    src = sCarry;
  }
  const have = sHave + to - from, blocks = have / sL, used = blocks * sL;
  addSumsBwd(src, pX + f4(sPos), pMean, blocks, sL, sDy, sDyX);
  // memory.copy is a memmove: the rest may overlap its new place at the carry's front
  memory.copy(sCarry, src + f4(used), <usize>f4(have - used));
  sHave = have - used;
  sPos += used;
}

/**
 * One part's sums of the norm's backward (f32_batchnorm_part_sums_bwd's accDy, accDyX) from the
 * pool's dy (dyp, the pool's output gradient over the whole batch) and its forward's codes: x is
 * the norm's input, sub the mean's pattern (the sums' msub), rows [r0, r1). scratch:
 * f32_batchnorm_pool_bwd_scratch_bytes. Overwrites accDy and accDyX (L floats each).
 */
export function f32_batchnorm_pool_bwd_sums(g: usize, x: usize, dyp: usize, codes: usize, sub: usize, r0: i32, r1: i32, accDy: usize, accDyX: usize, scratch: usize): void {
  if (!isTwoByTwo(g)) unreachable();
  const C = geo(g, POOL_C), L = periodOf(C), W = geo(g, POOL_W);
  zero(accDy, L);
  zero(accDyX, L);
  setPart(x, sub, C, r0, r1);
  sCarry = scratch + f4(2 * W * C);
  sHave = 0;
  sPos = pLo;
  sL = L;
  sDy = accDy;
  sDyX = accDyX;
  eachGroup(g, codes, dyp, pLo, pHi, scratch, streamSums);
  // the part's last, partial period, one float at a time (as f32_batchnorm_part_sums_bwd's tail)
  addSumsBwdTail(sCarry - f4(sPos), x, sub, sPos, sPos + sHave, accDy, accDyX);
}

// the apply's target and its patterns
let aDx: usize = 0, aA: usize = 0, aB: usize = 0, aK: usize = 0;

/** dx over the part's share of a group from the group's dy: f32_batchnorm_part_apply's ((dy − 0)·A + K) + (x − mean)·B. */
function applyGroup(start: i32, len: i32, buf: usize): void {
  const from = max(start, pLo), to = min(start + len, pHi), C = pC, z = f32x4.splat(0), L = periodOf(C);
  // the part's pointers in locals: V8 reloads a wasm global at every use in a loop that stores
  const A = aA, K = aK, B = aB, mean = pMean;
  let i = from;
  if (i % L == 0) {
    // whole periods (float i is channel i mod C, pattern position i mod L): no lane computed twice;
    // the pointers walk, the patterns' vectors at constant offsets from their walking index
    const end = to - (to - from) % L;
    let d = buf + f4(i - start), xi = pX + f4(i), o = aDx + f4(i);
    const stop = xi + f4(end - i);
    for (; xi < stop; d += f4(L), xi += f4(L), o += f4(L)) {
      for (let k: usize = 0; k < f4(L); k += 16) {
        const v = f32x4.add(f32x4.mul(f32x4.sub(v128.load(d + k), z), v128.load(A + k)), v128.load(K + k));
        v128.store(o + k, f32x4.add(v, f32x4.mul(f32x4.sub(v128.load(xi + k), v128.load(mean + k)), v128.load(B + k))));
      }
    }
    i = end;
  }
  // the rest by pixels, channel c at the patterns' [c]: the part's first float is a pixel's first channel
  for (; i < to; i += C) {
    const d = buf + f4(i - start), xi = pX + f4(i), o = aDx + f4(i);
    for (let c = 0; c < C; c += 4) {
      const cc = min(c, C - 4);
      const v = f32x4.add(f32x4.mul(f32x4.sub(v128.load(d + f4(cc)), z), v128.load(A + f4(cc))), v128.load(K + f4(cc)));
      v128.store(o + f4(cc), f32x4.add(v, f32x4.mul(f32x4.sub(v128.load(xi + f4(cc)), v128.load(mean + f4(cc))), v128.load(B + f4(cc)))));
    }
  }
}

/**
 * One part's dx of the norm's backward, from the pool's dy and codes as in f32_batchnorm_pool_bwd_sums:
 * dx = ((dy − 0)·A + K) + (x − sub)·B per channel (f32_batchnorm_bwd_affine's A, B, K patterns).
 */
export function f32_batchnorm_pool_bwd_apply(g: usize, x: usize, dyp: usize, codes: usize, sub: usize, A: usize, B: usize, K: usize, r0: i32, r1: i32, dx: usize, scratch: usize): void {
  if (!isTwoByTwo(g)) unreachable();
  setPart(x, sub, geo(g, POOL_C), r0, r1);
  aDx = dx;
  aA = A;
  aB = B;
  aK = K;
  eachGroup(g, codes, dyp, pLo, pHi, scratch, applyGroup);
}

/** Scratch bytes of the two kernels above for a pool geometry block: a window row and the sums' stream. */
export function f32_batchnorm_pool_bwd_scratch_bytes(g: usize): i32 {
  const row = 2 * geo(g, POOL_W) * geo(g, POOL_C);
  return <i32>f4(2 * row + periodOf(geo(g, POOL_C)));
}
