// resize: an image [H, W, C] to [OH, OW, C] by nearest-neighbour, (bi)linear or (bi)cubic interpolation, with
// the coordinate conventions of ONNX Resize (PyTorch's interpolate / Upsample export to them, TF's
// crop_and_resize to tf_crop_and_resize: a region of interest, and a fixed value where it reaches
// outside the image). The interpolation is a fixed linear map per axis (no parameters), plus that
// value at the outside outputs; the backward is the map's transpose.
import { ConfigError, ShapeError, show, checkBoolean } from "../errors.js";
import { resizeCalls } from "../ops/image.js";
import type { Shape } from "../tensor.js";
import { getLimits } from "../runtime/limits.js";
import { PlannedLayer, positiveInt, type LayerGrad, type PassCalls, type Planned, type PrepareContext } from "./layer.js";

export type ResizeCoordinates = "half_pixel" | "pytorch_half_pixel" | "align_corners" | "asymmetric" | "tf_crop_and_resize";
export type ResizeNearest = "round_prefer_floor" | "round_prefer_ceil" | "floor" | "ceil";

export interface ResizeConfig {
  type: "resize";
  name?: string;
  /** Output [OH, OW]. */
  size: [number, number];
  /** "nearest", "linear" (bilinear) or "cubic" (bicubic). Default "linear". */
  mode?: "nearest" | "linear" | "cubic";
  /** Cubic: the kernel's a (ONNX cubic_coeff_a). Default -0.75. */
  cubicA?: number;
  /** Cubic: taps outside the image get no weight, the others renormalised (ONNX exclude_outside). Default false. */
  excludeOutside?: boolean;
  /** How an output index maps to an input coordinate (ONNX coordinate_transformation_mode). Default "half_pixel". */
  coordinates?: ResizeCoordinates;
  /** Rounding of "nearest" (ONNX nearest_mode). Default "round_prefer_floor". */
  nearest?: ResizeNearest;
  /** The scale factors [sh, sw] the coordinates use (ONNX scales); default OH / H and OW / W. Not with tf_crop_and_resize. */
  scales?: [number, number];
  /**
   * tf_crop_and_resize: the region sampled, [startH, startW, endH, endW] as fractions of the image's
   * extent (0 the first pixel's centre, 1 the last's; ONNX's roi of the two spatial axes). Default [0, 0, 1, 1].
   */
  roi?: [number, number, number, number];
  /** tf_crop_and_resize: the output where the region's sample lies outside the image (ONNX extrapolation_value). Default 0. */
  extrapolation?: number;
}

const KEYS = ["type", "name", "size", "mode", "coordinates", "nearest", "scales", "cubicA", "excludeOutside", "roi", "extrapolation"];
const COORDS = ["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"];

/**
 * The input coordinate output index o samples along an axis of n resized to `out` (ONNX Resize's
 * coordinate_transformation_mode); NaN where tf_crop_and_resize's region [r0, r1] reaches outside
 * [0, n − 1] (that output is the extrapolation value).
 */
export function resizeCoordinate(o: number, n: number, out: number, scale: number, coords: ResizeCoordinates, roi: [number, number] = [0, 1], float32 = false): number {
  if (coords === "tf_crop_and_resize") {
    const [r0, r1] = roi, x = out > 1 ? r0 * (n - 1) + (o * (r1 - r0) * (n - 1)) / (out - 1) : 0.5 * (r0 + r1) * (n - 1);
    return x < 0 || x > n - 1 ? NaN : x;
  }
  // align_corners: the output's last index on the input's last, (n − 1) / (out − 1) a step, as
  // PyTorch and onnxruntime compute it (ONNX 1.12's reference divides by n·scale − 1 when the scale is
  // given: PyTorch's own export of interpolate(scale_factor=1.5, align_corners=True) on 5×5 came out up
  // to 1.85 off). With `float32` (nearest: where a coordinate is rounded) the others in float32
  // arithmetic, as onnxruntime computes them, so a coordinate of exactly x.5 in float32 rounds its way
  // (6.5 / 1.3 − 0.5 is 4.5, not float64's 4.50000018); linear and cubic weights keep float64's, nearer PyTorch's
  const f = float32 ? Math.fround : (v: number) => v, s = f(scale);
  return coords === "align_corners" ? (out <= 1 ? 0 : (o * (n - 1)) / (out - 1))
    : coords === "asymmetric" ? f(o / s)
    : coords === "pytorch_half_pixel" && out === 1 ? 0 : f(f(f(o + 0.5) / s) - 0.5);
}
const ROUNDS = ["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"];

/** The [out, n] interpolation weights along one axis (a row of zeros where the output lies outside: see resizeCoordinate). */
export function resizeWeights(n: number, out: number, scale: number, mode: "nearest" | "linear" | "cubic", coords: ResizeCoordinates, nearest: ResizeNearest, a = -0.75, excludeOutside = false, roi?: [number, number]): Float32Array {
  const m = new Float32Array(out * n);
  // a tap whose weight comes to exactly 0 is kept as −0: the kernel (f32_weighted_rows) skips only
  // +0, so an Inf there gives NaN as onnxruntime's and PyTorch's interpolations do (0·Inf)
  const add = (at: number, v: number) => {
    const s = m[at]! + v;
    m[at] = s === 0 ? -0 : s;
  };
  for (let o = 0; o < out; o++) {
    const x = resizeCoordinate(o, n, out, scale, coords, roi, mode === "nearest");
    if (Number.isNaN(x)) continue;
    if (mode === "cubic") {
      // Keys' cubic convolution over taps x0 − 1 … x0 + 2; taps outside clamp to the edge, or drop out (exclude_outside)
      const x0 = Math.floor(x), k = (d: number) => (d <= 1 ? ((a + 2) * d - (a + 3)) * d * d + 1 : d < 2 ? ((a * d - 5 * a) * d + 8 * a) * d - 4 * a : 0);
      const taps = [-1, 0, 1, 2].map((j) => ({ i: x0 + j, w: k(Math.abs(x - (x0 + j))) }));
      const inside = taps.filter((q) => q.i >= 0 && q.i < n), total = excludeOutside ? inside.reduce((s, q) => s + q.w, 0) : 1;
      for (const q of excludeOutside ? inside : taps) {
        add(o * n + Math.min(Math.max(q.i, 0), n - 1), q.w / total);
      }
    } else if (mode === "nearest") {
      const f = Math.floor(x), half = x - f === 0.5;
      const i = nearest === "floor" ? f : nearest === "ceil" ? Math.ceil(x) : half ? (nearest === "round_prefer_floor" ? f : f + 1) : Math.round(x);
      m[o * n + Math.min(Math.max(i, 0), n - 1)] = 1;
    } else {
      const c = Math.min(Math.max(x, 0), n - 1), i0 = Math.floor(c), i1 = Math.min(i0 + 1, n - 1), w = c - i0;
      add(o * n + i0, 1 - w);
      add(o * n + i1, w);
    }
  }
  return m;
}

export class Resize extends PlannedLayer<{ rh: number; rw: number; tmp: number; outside: number }> {
  readonly type = "resize";
  readonly size: [number, number];
  readonly mode: "nearest" | "linear" | "cubic";
  readonly cubicA: number;
  readonly excludeOutside: boolean;
  readonly coordinates: ResizeCoordinates;
  readonly nearest: ResizeNearest;
  readonly scales: [number, number] | null;
  readonly roi: [number, number, number, number];
  readonly extrapolation: number;

  constructor(config: ResizeConfig, name: string) {
    super(name);
    const where = `resize "${name}"`;
    for (const k of Object.keys(config)) if (!KEYS.includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    if (!Array.isArray(config.size) || config.size.length !== 2) throw new ConfigError(`${where}: size must be [OH, OW], got ${show(config.size)}`);
    this.size = [positiveInt(config.size[0], "size[0]", where), positiveInt(config.size[1], "size[1]", where)];
    this.mode = config.mode ?? "linear";
    if (this.mode !== "nearest" && this.mode !== "linear" && this.mode !== "cubic") throw new ConfigError(`${where}: mode must be "nearest", "linear" or "cubic", got ${show(config.mode)}`);
    // the cubic kernel's options do nothing in another mode: given there, they are refused, not dropped
    for (const k of ["cubicA", "excludeOutside"] as const) if (config[k] !== undefined && this.mode !== "cubic") throw new ConfigError(`${where}: ${k} is an option of mode "cubic", the mode is "${this.mode}"`);
    this.cubicA = config.cubicA ?? -0.75;
    if (typeof this.cubicA !== "number" || !Number.isFinite(this.cubicA)) throw new ConfigError(`${where}: cubicA must be a finite number, got ${show(config.cubicA)}`);
    this.excludeOutside = config.excludeOutside ?? false;
    checkBoolean(where, "excludeOutside", config.excludeOutside);
    this.coordinates = config.coordinates ?? "half_pixel";
    if (!COORDS.includes(this.coordinates)) throw new ConfigError(`${where}: coordinates must be one of ${COORDS.join(", ")}, got ${show(config.coordinates)}`);
    this.nearest = config.nearest ?? "round_prefer_floor";
    if (!ROUNDS.includes(this.nearest)) throw new ConfigError(`${where}: nearest must be one of ${ROUNDS.join(", ")}, got ${show(config.nearest)}`);
    const s = config.scales;
    if (s !== undefined && (!Array.isArray(s) || s.length !== 2 || !s.every((v) => typeof v === "number" && Number.isFinite(v) && v > 0))) {
      throw new ConfigError(`${where}: scales must be two numbers > 0, got ${show(s)}`);
    }
    this.scales = s ? [s[0], s[1]] : null;
    const crop = this.coordinates === "tf_crop_and_resize";
    if (crop && s !== undefined) throw new ConfigError(`${where}: tf_crop_and_resize takes its output size, not scales`);
    if (!crop && (config.roi !== undefined || config.extrapolation !== undefined)) throw new ConfigError(`${where}: roi and extrapolation are options of coordinates "tf_crop_and_resize", not ${show(this.coordinates)}`);
    const r = config.roi ?? [0, 0, 1, 1];
    if (!Array.isArray(r) || r.length !== 4 || !r.every((v) => typeof v === "number" && Number.isFinite(v))) throw new ConfigError(`${where}: roi must be four finite numbers [startH, startW, endH, endW], got ${show(config.roi)}`);
    this.roi = [r[0], r[1], r[2], r[3]];
    this.extrapolation = config.extrapolation ?? 0;
    if (typeof this.extrapolation !== "number" || !Number.isFinite(this.extrapolation)) throw new ConfigError(`${where}: extrapolation must be a finite number, got ${show(config.extrapolation)}`);
  }

  outputShape(inputs: Shape[]): Shape {
    const s = this.rank(inputs, 3);
    const [OH, OW] = this.size, [H, W, C] = s as [number, number, number];
    if (OH * OW > 1 << 26) throw new ShapeError(`${this.label}: an output of ${this.size.join("x")}`);
    // the plan's interpolation tables ([OH, H] and [OW, W] weights) and its pass along the rows (OH·W·C values an example)
    const bytes = 4 * (OH * H + OW * W + OH * W * C), limit = getLimits().maxModelBytes;
    if (bytes > limit) throw new ShapeError(`${this.label}: resizing ${H}x${W} to ${OH}x${OW} takes ${bytes} bytes of interpolation tables (${OH}x${H} and ${OW}x${W} weights) and rows (${OH}x${W}x${C} values); the limit is ${limit} (setLimits({ maxModelBytes }))`);
    return [OH, OW, C];
  }

  /** The [OH, H] and [OW, W] interpolation weights for an input [H, W, C]. */
  weights(input: Shape): [Float32Array, Float32Array] {
    const [H, W] = input as [number, number, number], [OH, OW] = this.size;
    const [sh, sw] = this.scales ?? [OH / H, OW / W], [h0, w0, h1, w1] = this.roi;
    const f = (n: number, out: number, s: number, roi: [number, number]) => resizeWeights(n, out, s, this.mode, this.coordinates, this.nearest, this.cubicA, this.excludeOutside, roi);
    return [f(H, OH, sh, [h0, h1]), f(W, OW, sw, [w0, w1])];
  }

  /**
   * tf_crop_and_resize with a nonzero extrapolation value: the [OH, OW, C] image added to every output
   * (the value where a coordinate lies outside, 0 elsewhere), or null when there is none.
   */
  outside(input: Shape): Float32Array | null {
    if (this.coordinates !== "tf_crop_and_resize" || this.extrapolation === 0) return null;
    const [H, W, C] = input as [number, number, number], [OH, OW] = this.size, [h0, w0, h1, w1] = this.roi;
    const outH = Array.from({ length: OH }, (_, o) => Number.isNaN(resizeCoordinate(o, H, OH, OH / H, this.coordinates, [h0, h1])));
    const outW = Array.from({ length: OW }, (_, o) => Number.isNaN(resizeCoordinate(o, W, OW, OW / W, this.coordinates, [w0, w1])));
    if (!outH.some((v) => v) && !outW.some((v) => v)) return null;
    const b = new Float32Array(OH * OW * C);
    for (let i = 0; i < OH; i++) for (let j = 0; j < OW; j++) if (outH[i] || outW[j]) b.fill(this.extrapolation, (i * OW + j) * C, (i * OW + j + 1) * C);
    return b;
  }

  protected override buffers(ctx: PrepareContext) {
    const [H, W, C] = ctx.inShapes[0]! as [number, number, number], [OH, OW] = this.size;
    const outside = this.outside(ctx.inShapes[0]!);
    return { rh: ctx.alloc(OH * H * 4), rw: ctx.alloc(OW * W * 4), tmp: ctx.alloc(ctx.batch * OH * W * C * 4), outside: outside ? ctx.alloc(outside.length * 4) : 0 };
  }

  protected calls(r: LayerGrad<Planned<{ rh: number; rw: number; tmp: number; outside: number }>>): PassCalls {
    const [H, W, C] = r.inShapes[0]! as [number, number, number], [OH, OW] = this.size;
    const [rh, rw] = this.weights(r.inShapes[0]!), outside = this.outside(r.inShapes[0]!);
    r.be.heap.f32(r.state.rh, rh.length).set(rh);
    r.be.heap.f32(r.state.rw, rw.length).set(rw);
    if (outside) r.be.heap.f32(r.state.outside, outside.length).set(outside);
    return resizeCalls(r.be, r.batch, H, W, C, OH, OW, r.state.rh, r.state.rw, r.state.tmp, { x: r.x[0]!, y: r.y, dy: r.dy, dx: r.dx[0] ?? 0, add: outside ? r.state.outside : 0 });
  }

  config() {
    return {
      type: this.type, name: this.name, size: [...this.size], mode: this.mode, coordinates: this.coordinates, nearest: this.nearest,
      ...(this.mode === "cubic" ? { cubicA: this.cubicA, excludeOutside: this.excludeOutside } : {}),
      ...(this.scales ? { scales: [...this.scales] } : {}),
      ...(this.coordinates === "tf_crop_and_resize" ? { roi: [...this.roi], extrapolation: this.extrapolation } : {}),
    };
  }
}
