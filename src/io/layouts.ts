// Weight-layout conversions between fovea (NHWC activations, HWIO conv kernels, [in, out] dense
// weights, HWC flatten order) and the NCHW world (OIHW kernels, CHW flatten order): written once,
// used by every format that needs them.
import { transposed } from "../tensor.js";

/** OIHW [OC, Cg, KH, KW] → HWIO [KH, KW, Cg, OC]. */
export function oihwToHwio(w: ArrayLike<number>, OC: number, Cg: number, KH: number, KW: number): Float32Array {
  const K = KH * KW, out = new Float32Array(OC * Cg * K);
  // written in order (tap, input channel, output channel), reading w with a stride of Cg·K
  let i = 0;
  for (let k = 0; k < K; k++) for (let ci = 0; ci < Cg; ci++) for (let s = ci * K + k, o = 0; o < OC; o++, s += Cg * K) out[i++] = w[s]!;
  return out;
}

/** HWIO [KH, KW, Cg, OC] → OIHW [OC, Cg, KH, KW]. */
export function hwioToOihw(w: ArrayLike<number>, KH: number, KW: number, Cg: number, OC: number): Float32Array {
  const out = new Float32Array(OC * Cg * KH * KW);
  for (let o = 0; o < OC; o++) for (let ci = 0; ci < Cg; ci++) for (let kh = 0; kh < KH; kh++) for (let kw = 0; kw < KW; kw++) {
    out[((o * Cg + ci) * KH + kh) * KW + kw] = w[((kh * KW + kw) * Cg + ci) * OC + o]!;
  }
  return out;
}

/** ONNX ConvTranspose 3-D weights [C_in, F, KD, KH, KW] → fovea's conv3dTranspose [KD, KH, KW, F, C_in]. */
export function ioDhwToDhwOi(w: ArrayLike<number>, CI: number, F: number, KD: number, KH: number, KW: number): Float32Array {
  const K = KD * KH * KW, out = new Float32Array(CI * F * K);
  for (let c = 0; c < CI; c++) for (let f = 0; f < F; f++) for (let k = 0; k < K; k++) out[(k * F + f) * CI + c] = w[(c * F + f) * K + k]!;
  return out;
}

/** fovea's conv3dTranspose weights [KD, KH, KW, F, C_in] → ONNX's [C_in, F, KD, KH, KW]. */
export function dhwOiToIoDhw(w: ArrayLike<number>, KD: number, KH: number, KW: number, F: number, CI: number): Float32Array {
  const K = KD * KH * KW, out = new Float32Array(CI * F * K);
  for (let c = 0; c < CI; c++) for (let f = 0; f < F; f++) for (let k = 0; k < K; k++) out[(c * F + f) * K + k] = w[(k * F + f) * CI + c]!;
  return out;
}

/**
 * The flatten permutation: feature f of a [C, H, W] image flattened in CHW order (NCHW
 * frameworks) is feature (h·W + w)·C + c of the same image flattened in fovea's HWC order.
 */
export function hwcRowOfChwFeature(f: number, C: number, H: number, W: number): number {
  return (f % (H * W)) * C + Math.floor(f / (H * W));
}

/** An image [C, H, W] (NCHW frameworks) → [H, W, C], as fovea holds it: C × HW transposed. */
export const chwToHwc = (v: ArrayLike<number>, C: number, H: number, W: number): Float32Array => transposed(v, C, H * W);

/** An image [H, W, C] as fovea holds it → [C, H, W] (NCHW frameworks): HW × C transposed. */
export const hwcToChw = (v: ArrayLike<number>, H: number, W: number, C: number): Float32Array => transposed(v, H * W, C);
