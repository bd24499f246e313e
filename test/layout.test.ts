// The geometry blocks and fused-activation codes are declared once, in assembly/common/geometry.ts;
// src/runtime/generated/layout.ts is generated from it. These tests check the generated file is
// that declaration's mirror, and that the TS writers fill every field at the index the kernels read.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { layoutModule } from "../scripts/layout.mjs";
import { convBlock, type ConvGeometry } from "../src/ops/conv.js";
import { poolBlock, type PoolGeometry } from "../src/ops/pool.js";
import { ACT_CODES } from "../src/ops/gemm.js";
import { ACT, CONV, POOL } from "../src/runtime/generated/layout.js";

describe("geometry layouts", () => {
  it("the generated layout is the mirror of assembly/common/geometry.ts", () => {
    const source = readFileSync("assembly/common/geometry.ts", "utf8");
    expect(readFileSync("src/runtime/generated/layout.ts", "utf8")).toBe(layoutModule(source));
    // every field index below the block's size, none twice
    for (const block of [CONV, POOL]) {
      const { FIELDS, ...fields } = block as Record<string, number>;
      const idx = Object.values(fields);
      expect(new Set(idx).size).toBe(idx.length);
      expect(idx.every((i) => i >= 0 && i < FIELDS!)).toBe(true);
      expect(idx.length).toBe(FIELDS);
    }
  });

  it("convBlock and poolBlock write each field where the kernels read it", () => {
    const g = { N: 2, H: 30, W: 31, C: 6, OH: 14, OW: 15, OC: 12, KH: 3, KW: 5, SH: 2, SW: 3, DH: 1, DW: 2, padTop: 4, padLeft: 7, groups: 3 } as unknown as ConvGeometry;
    const b = convBlock(g);
    expect(b).toHaveLength(CONV.FIELDS);
    expect([b[CONV.N], b[CONV.H], b[CONV.W], b[CONV.C], b[CONV.OH], b[CONV.OW], b[CONV.OC], b[CONV.KH], b[CONV.KW]]).toEqual([2, 30, 31, 6, 14, 15, 12, 3, 5]);
    expect([b[CONV.SH], b[CONV.SW], b[CONV.DH], b[CONV.DW], b[CONV.PT], b[CONV.PL], b[CONV.G]]).toEqual([2, 3, 1, 2, 4, 7, 3]);
    const p = {
      N: 2, D: 7, H: 9, W: 10, C: 4, OD: 3, OH: 5, OW: 6, KD: 4, KH: 3, KW: 2, SD: 3, SH: 2, SW: 1, DD: 5, DH: 6, DW: 8,
      padFront: 11, padBack: 12, padTop: 1, padBottom: 2, padLeft: 3, padRight: 4, countIncludePad: true,
    } as unknown as PoolGeometry;
    const q = poolBlock(p);
    expect(q).toHaveLength(POOL.FIELDS);
    expect([q[POOL.N], q[POOL.H], q[POOL.W], q[POOL.C], q[POOL.OH], q[POOL.OW], q[POOL.KH], q[POOL.KW], q[POOL.SH], q[POOL.SW], q[POOL.PT], q[POOL.PL]]).toEqual([2, 9, 10, 4, 5, 6, 3, 2, 2, 1, 1, 3]);
    expect([q[POOL.COUNT_PAD], q[POOL.HP], q[POOL.WP]]).toEqual([1, 9 + 1 + 2, 10 + 3 + 4]);
    expect([q[POOL.D], q[POOL.OD], q[POOL.KD], q[POOL.SD], q[POOL.PF], q[POOL.DP]]).toEqual([7, 3, 4, 3, 11, 7 + 11 + 12]);
    expect([q[POOL.DD], q[POOL.DH], q[POOL.DW]]).toEqual([5, 6, 8]);
  });

  it("the fused-activation names map to the kernels' codes", () => {
    expect(ACT_CODES).toEqual({ none: ACT.NONE, relu: ACT.RELU, relu6: ACT.RELU6 });
    expect(new Set(Object.values(ACT)).size).toBe(3);
  });
});
