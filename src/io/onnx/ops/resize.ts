// Resize (opsets 10+) and Upsample (opsets 7–9): nearest, linear or cubic, every coordinate convention
// (tf_crop_and_resize with its roi and extrapolation value, given sizes) ⇄ resize (exported as Resize
// with scales where they give the output size exactly; tf_crop_and_resize with its roi and sizes).
import { ConfigError } from "../../../errors.js";
import * as L from "../../../layers/index.js";
import type { Resize, ResizeCoordinates, ResizeNearest } from "../../../layers/resize.js";
import type { Exporter, Importer } from "../context.js";

/**
 * The output size ONNX's runtimes give for `n` scaled by `s`: the float32 product, rounded down
 * (onnxruntime multiplies in float32; 5 × 1.8 is 9, as PyTorch gives, where the product of
 * 1.8's float32 value in float64, 8.99999976, would round down to 8).
 */
const scaledSize = (n: number, s: number): number => Math.floor(Math.fround(n * Math.fround(s)));

const resize: Importer = (x) => {
  const t = x.asImage(x.tensor(0));
  const [C, H, W] = x.image(t);
  const upsample = x.op === "Upsample";
  const mode = x.str("mode", "nearest");
  if (mode !== "nearest" && mode !== "linear" && mode !== "bilinear" && mode !== "cubic") x.fail(`mode ${mode} is not a Resize mode (nearest, linear, cubic)`);
  const coords = upsample || x.opset < 11 ? "asymmetric" : x.str("coordinate_transformation_mode", "half_pixel");
  if (!["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_crop_and_resize"].includes(coords)) x.fail(`coordinate_transformation_mode ${coords} is not an ONNX value`);
  const crop = coords === "tf_crop_and_resize";
  // before opset 11 (Upsample, Resize-10) nearest takes the floor of the asymmetric coordinate
  const nearest = upsample || x.opset < 11 ? "floor" : x.str("nearest_mode", "round_prefer_floor");
  if (!["round_prefer_floor", "round_prefer_ceil", "floor", "ceil"].includes(nearest)) x.fail(`nearest_mode ${nearest} is not a Resize value`);
  // the output size: sizes (input 3), or scales (input 2 from opset 11, 1 before; Upsample's attribute at opsets 7–8)
  const given = (i: number) => (x.has(i) ? Array.from(x.constant(i).data) : null);
  const sizes = !upsample && x.opset >= 11 ? given(3) : null;
  const scales = sizes && sizes.length ? null : upsample && x.opset < 9 ? x.n.attribute.find((a) => a.name === "scales")?.floats ?? null : given(!upsample && x.opset >= 11 ? 2 : 1);
  let OH: number, OW: number, sc: [number, number] | undefined;
  if (sizes && sizes.length) {
    if (sizes.length !== 4 || sizes[1] !== C) x.fail(`sizes [${sizes.join(", ")}]: [N, ${C}, OH, OW] expected`);
    [OH, OW] = [sizes[2]!, sizes[3]!];
  } else if (crop) {
    return x.fail("tf_crop_and_resize with scales is not supported (the output size comes from the roi too); give sizes");
  } else if (scales && scales.length) {
    if (scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1) x.fail(`scales [${scales.join(", ")}]: [1, 1, sh, sw] expected (images only)`);
    sc = [scales[2]!, scales[3]!];
    [OH, OW] = [scaledSize(H, sc[0]), scaledSize(W, sc[1])];
  } else return x.fail("neither scales nor sizes is given");
  // tf_crop_and_resize: the region [starts…, ends…] over N, C, H, W, of which the batch and the channels must be whole ([0, 1])
  let roi: [number, number, number, number] | undefined;
  if (crop) {
    const r = x.has(1) ? Array.from(x.constant(1).data) : x.fail("tf_crop_and_resize needs the roi input");
    if (r.length !== 8 || r[0] !== 0 || r[1] !== 0 || r[4] !== 1 || r[5] !== 1) x.fail(`roi [${r.join(", ")}]: [0, 0, startH, startW, 1, 1, endH, endW] expected (the batch and the channels whole)`);
    roi = [r[2]!, r[3]!, r[6]!, r[7]!];
  }
  const lname = x.uniq("resize");
  const sym = x.apply(L.resize({
    size: [OH, OW], mode: mode === "nearest" ? "nearest" : mode === "cubic" ? "cubic" : "linear", coordinates: coords as ResizeCoordinates, nearest: nearest as ResizeNearest,
    ...(mode === "cubic" ? { cubicA: x.flt("cubic_coeff_a", -0.75), excludeOutside: x.int("exclude_outside", 0) === 1 } : {}),
    ...(sc ? { scales: sc } : {}), ...(roi ? { roi, extrapolation: x.flt("extrapolation_value", 0) } : {}), name: lname,
  }), t.sym);
  x.out({ kind: "tensor", sym, onnx: [C, OH, OW] });
};

export const importers: Record<string, Importer> = { Resize: resize, Upsample: resize };

export const exporters: Record<string, Exporter> = {
  resize(x) {
    const l = x.layer as Resize, [H, W] = x.node.inShapes[0]! as [number, number, number], [OH, OW] = l.size;
    const attrs: Record<string, number | number[] | { f: number } | { s: string }> = { mode: { s: l.mode }, coordinate_transformation_mode: { s: l.coordinates } };
    if (l.mode === "nearest") attrs.nearest_mode = { s: l.nearest };
    if (l.mode === "cubic") Object.assign(attrs, { cubic_coeff_a: { f: l.cubicA }, exclude_outside: l.excludeOutside ? 1 : 0 });
    // sizes [N, C, OH, OW] (N and C from the input's shape): ONNX then scales by OH / H and OW / W, as the layer does without scales
    const sizes = () => x.op("Concat", [x.op("Slice", [x.op("Shape", [x.inputs[0]!]), x.init([1], [0], "i64"), x.init([1], [2], "i64")]), x.init([2], [OH, OW], "i64")], { axis: 0 });
    if (l.coordinates === "tf_crop_and_resize") {
      const [h0, w0, h1, w1] = l.roi;
      attrs.extrapolation_value = { f: l.extrapolation };
      return { out: x.op("Resize", [x.inputs[0]!, x.init([8], [0, 0, h0, w0, 1, 1, h1, w1]), "", sizes()], attrs) };
    }
    if (!l.scales) return { out: x.op("Resize", [x.inputs[0]!, "", "", sizes()], attrs) };
    const [sh, sw] = l.scales;
    // the output size ONNX computes from float32 scales must be the layer's own
    if (scaledSize(H, sh) !== OH || scaledSize(W, sw) !== OW) {
      throw new ConfigError(`${x.label}: ${H}x${W} → ${OH}x${OW} has no float32 scale that gives the output size; it does not export`);
    }
    return { out: x.op("Resize", [x.inputs[0]!, "", x.init([4], [1, 1, sh, sw])], attrs) };
  },
};
