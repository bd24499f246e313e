// Resize (opsets 10+) and Upsample (opsets 7–9): nearest, linear or cubic, every coordinate convention but
// tf_crop_and_resize ⇄ resize (exported as Resize with scales where they give the output size exactly).
import { ConfigError } from "../../../errors.js";
import * as L from "../../../layers/index.js";
import type { Resize, ResizeCoordinates, ResizeNearest } from "../../../layers/resize.js";
import type { Exporter, Importer } from "../context.js";

const resize: Importer = (x) => {
  const t = x.asImage(x.tensor(0));
  x.noPad(t);
  const [C, H, W] = x.image(t);
  const upsample = x.op === "Upsample";
  const mode = x.str("mode", "nearest");
  if (mode !== "nearest" && mode !== "linear" && mode !== "bilinear" && mode !== "cubic") x.fail(`mode ${mode} is not a Resize mode (nearest, linear, cubic)`);
  const coords = upsample || x.opset < 11 ? "asymmetric" : x.str("coordinate_transformation_mode", "half_pixel");
  if (!["half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric"].includes(coords)) x.fail(`coordinate_transformation_mode ${coords} is not supported`);
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
  } else if (scales && scales.length) {
    if (scales.length !== 4 || scales[0] !== 1 || scales[1] !== 1) x.fail(`scales [${scales.join(", ")}]: [1, 1, sh, sw] expected (images only)`);
    sc = [scales[2]!, scales[3]!];
    [OH, OW] = [Math.floor(H * sc[0]), Math.floor(W * sc[1])];
  } else return x.fail("neither scales nor sizes is given");
  const lname = x.uniq("resize");
  const sym = x.apply(L.resize({
    size: [OH, OW], mode: mode === "nearest" ? "nearest" : mode === "cubic" ? "cubic" : "linear", coordinates: coords as ResizeCoordinates, nearest: nearest as ResizeNearest,
    ...(mode === "cubic" ? { cubicA: x.flt("cubic_coeff_a", -0.75), excludeOutside: x.int("exclude_outside", 0) === 1 } : {}),
    ...(sc ? { scales: sc } : {}), name: lname,
  }), t.sym);
  x.out({ kind: "tensor", sym, onnx: [C, OH, OW] });
};

export const importers: Record<string, Importer> = { Resize: resize, Upsample: resize };

export const exporters: Record<string, Exporter> = {
  resize(x) {
    const l = x.layer as Resize, [H, W] = x.node.inShapes[0]! as [number, number, number], [OH, OW] = l.size;
    const [sh, sw] = l.scales ?? [OH / H, OW / W];
    // the output size ONNX computes from float32 scales must be the layer's own
    if (Math.floor(H * Math.fround(sh)) !== OH || Math.floor(W * Math.fround(sw)) !== OW) {
      throw new ConfigError(`${x.label}: ${H}x${W} → ${OH}x${OW} has no float32 scale that gives the output size; it does not export`);
    }
    const attrs: Record<string, number | number[] | { f: number } | { s: string }> = { mode: { s: l.mode }, coordinate_transformation_mode: { s: l.coordinates } };
    if (l.mode === "nearest") attrs.nearest_mode = { s: l.nearest };
    if (l.mode === "cubic") Object.assign(attrs, { cubic_coeff_a: { f: l.cubicA }, exclude_outside: l.excludeOutside ? 1 : 0 });
    return { out: x.op("Resize", [x.inputs[0]!, "", x.init([4], [1, 1, sh, sw])], attrs) };
  },
};
