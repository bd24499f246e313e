// Geometry blocks and small shared constants. A geometry block is an i32 array in linear
// memory that the TS host writes once per op instance (see src/ops/*); kernels only read it.

/** Epilogue activations fused into gemm / conv output stores. */
export const ACT_NONE: i32 = 0;
export const ACT_RELU: i32 = 1;
export const ACT_RELU6: i32 = 2;

// @ts-ignore: decorator
@inline export function geo(g: usize, field: i32): i32 {
  return load<i32>(g + (<usize>field << 2));
}

/** Field indices of the conv2d geometry block (NHWC input/output, HWIO weights). */
export const CONV_N: i32 = 0; //      batch
export const CONV_H: i32 = 1; //      input height
export const CONV_W: i32 = 2; //      input width
export const CONV_C: i32 = 3; //      input channels (all groups)
export const CONV_OH: i32 = 4; //     output height
export const CONV_OW: i32 = 5; //     output width
export const CONV_OC: i32 = 6; //     output channels (all groups)
export const CONV_KH: i32 = 7; //     kernel height
export const CONV_KW: i32 = 8; //     kernel width
export const CONV_SH: i32 = 9; //     stride
export const CONV_SW: i32 = 10;
export const CONV_DH: i32 = 11; //    dilation
export const CONV_DW: i32 = 12;
export const CONV_PT: i32 = 13; //    padding top / left (bottom/right follow from OH/OW)
export const CONV_PL: i32 = 14;
export const CONV_G: i32 = 15; //     groups
export const CONV_FIELDS: i32 = 16;

/**
 * Field indices of the pooling geometry block: NDHWC input [N, D, H, W, C] (a 2-D pool has D = OD =
 * KD = SD = DD = DP = 1 and PF = 0). Along each axis a window's taps are s + k·dilation for
 * k in [0, kernel), s = out·stride − pad_before; taps outside the input are skipped.
 */
export const POOL_N: i32 = 0;
export const POOL_H: i32 = 1;
export const POOL_W: i32 = 2;
export const POOL_C: i32 = 3;
export const POOL_OH: i32 = 4;
export const POOL_OW: i32 = 5;
export const POOL_KH: i32 = 6;
export const POOL_KW: i32 = 7;
export const POOL_SH: i32 = 8;
export const POOL_SW: i32 = 9;
export const POOL_PT: i32 = 10;
export const POOL_PL: i32 = 11;
/** Average pooling: 1 = divide by the window clipped to the padded input (count_include_pad), 0 = by the valid pixels. */
export const POOL_COUNT_PAD: i32 = 12;
/** Padded extent: H + pad_top + pad_bottom and W + ..., the limit of a window for count_include_pad. */
export const POOL_HP: i32 = 13;
export const POOL_WP: i32 = 14;
/** Depth: input depth, output depth, kernel depth, stride, front padding, padded depth (D + front + back). */
export const POOL_D: i32 = 15;
export const POOL_OD: i32 = 16;
export const POOL_KD: i32 = 17;
export const POOL_SD: i32 = 18;
export const POOL_PF: i32 = 19;
export const POOL_DP: i32 = 20;
/** Dilation along depth, height and width (1: adjacent taps). */
export const POOL_DD: i32 = 21;
export const POOL_DH: i32 = 22;
export const POOL_DW: i32 = 23;
export const POOL_FIELDS: i32 = 24;

/**
 * Field indices of the transposed 3-D conv geometry block: NDHWC input [N, D, H, W, C], output
 * [N, OD, OH, OW, F], weights [KD, KH, KW, F, C]. Input pixel id feeds output od = id·SD − PF + kd·DD
 * (likewise for rows and columns); outputs outside [0, OD) are cropped.
 */
export const CT3_N: i32 = 0;
export const CT3_D: i32 = 1;
export const CT3_H: i32 = 2;
export const CT3_W: i32 = 3;
export const CT3_C: i32 = 4; //       input channels
export const CT3_OD: i32 = 5;
export const CT3_OH: i32 = 6;
export const CT3_OW: i32 = 7;
export const CT3_F: i32 = 8; //       output channels
export const CT3_KD: i32 = 9;
export const CT3_KH: i32 = 10;
export const CT3_KW: i32 = 11;
export const CT3_SD: i32 = 12; //     stride
export const CT3_SH: i32 = 13;
export const CT3_SW: i32 = 14;
export const CT3_DD: i32 = 15; //     dilation
export const CT3_DH: i32 = 16;
export const CT3_DW: i32 = 17;
export const CT3_PF: i32 = 18; //     cropped at the front / top / left of the full output
export const CT3_PT: i32 = 19;
export const CT3_PL: i32 = 20;
export const CT3_FIELDS: i32 = 21;
