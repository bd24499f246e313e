// float64 oracle for the transposed 3-D conv (NDHWC, weights [KD, KH, KW, F, C]), by its scatter
// definition: each input pixel, times each tap, adds into output pixel i·S − P + k·dilation along
// each axis; outputs outside the (cropped) output are dropped.
import type { ConvTranspose3dGeometry } from "../../src/ops/conv3d.js";

export function refConvTranspose3d(g: ConvTranspose3dGeometry, x: ArrayLike<number>, w: ArrayLike<number>, bias: ArrayLike<number> | null): Float64Array {
  const y = new Float64Array(g.N * g.OD * g.OH * g.OW * g.F);
  for (let n = 0; n < g.N; n++) for (let i = 0; i < g.OD * g.OH * g.OW; i++) for (let f = 0; f < g.F; f++) y[(n * g.OD * g.OH * g.OW + i) * g.F + f] = bias ? bias[f]! : 0;
  for (let n = 0; n < g.N; n++)
    for (let id = 0; id < g.D; id++)
      for (let ih = 0; ih < g.H; ih++)
        for (let iw = 0; iw < g.W; iw++)
          for (let kd = 0; kd < g.KD; kd++)
            for (let kh = 0; kh < g.KH; kh++)
              for (let kw = 0; kw < g.KW; kw++) {
                const od = id * g.SD - g.pads[0] + kd * g.DD, oh = ih * g.SH - g.pads[2] + kh * g.DH, ow = iw * g.SW - g.pads[4] + kw * g.DW;
                if (od < 0 || od >= g.OD || oh < 0 || oh >= g.OH || ow < 0 || ow >= g.OW) continue;
                for (let f = 0; f < g.F; f++)
                  for (let c = 0; c < g.C; c++) {
                    y[(((n * g.OD + od) * g.OH + oh) * g.OW + ow) * g.F + f]! += x[(((n * g.D + id) * g.H + ih) * g.W + iw) * g.C + c]! * w[(((kd * g.KH + kh) * g.KW + kw) * g.F + f) * g.C + c]!;
                  }
              }
  return y;
}
