// Fused epilogues (model/fuse.ts): a conv's kernel (direct or Winograd) adds the residual of the add it feeds and applies
// the ReLU/ReLU6 after it, or max-pools its output (the direct kernel any pool of adjacent taps; Winograd 2×2, stride-2
// windows in its output transform). The reference is the unfused path — the same
// kernels one layer at a time, compile({ fuse: false }) — which the fused one must equal bit for
// bit (the same float operations in the same order), and a float64 oracle for the kernels.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { ConfigError, Tensor, ops, type Backend } from "../src/index.js";
import type { Conv2dOptions, ConvGeometry } from "../src/ops/conv.js";
import type { PoolGeometry } from "../src/ops/pool.js";
import { backendFor } from "./helpers/backends.js";
import { expectClose, randomArray } from "./helpers/check.js";
import { refConvFwd } from "./ref/conv.js";
import { refMaxPool, refMaxPoolBwd } from "./ref/pool.js";

const { layers: L } = fovea;
const ACT = { none: 0, relu: 1, relu6: 2 } as const;
const refAct = { none: (v: number) => v, relu: (v: number) => Math.max(v, 0), relu6: (v: number) => Math.min(Math.max(v, 0), 6) };

/** Every float equal, bit for bit (NaN never occurs here). */
function sameBits(got: Float32Array, want: Float32Array, what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  let bad = -1;
  for (let i = 0; i < want.length && bad < 0; i++) if (!Object.is(got[i], want[i])) bad = i;
  if (bad >= 0) expect.fail(`${what}: element ${bad} is ${got[bad]}, unfused ${want[bad]}`);
}

// ---- the kernels through the one builder (ops/conv.convCalls) ----

interface ConvCase { x: [number, number, number, number]; k: number; oc: number; opts: Conv2dOptions }
const CONVS: ConvCase[] = [
  { x: [2, 7, 6, 3], k: 3, oc: 5, opts: { padding: 1 } }, // partial channel panels
  { x: [1, 9, 9, 4], k: 3, oc: 9, opts: { strides: 2, padding: "same" } },
  { x: [3, 5, 5, 12], k: 3, oc: 12, opts: { groups: 2, padding: 1 } }, // 25 pixels: a tile across rows, groups
  { x: [1, 7, 7, 8], k: 1, oc: 17, opts: {} }, // pointwise (ResNet-50's bottleneck end)
  { x: [2, 6, 5, 40], k: 3, oc: 16, opts: { padding: 1 } }, // 360 taps: two depth blocks (the residual on the last)
  { x: [1, 28, 28, 1], k: 5, oc: 6, opts: { padding: "same" } }, // LeNet C1
  { x: [2, 17, 33, 1], k: 5, oc: 6, opts: { padding: "same" } }, // C1's pooled rows: 32 of 33 columns pooled, two runs of 16
  { x: [1, 16, 16, 1], k: 5, oc: 6, opts: { padding: "same" } }, // one run of 16
  { x: [3, 20, 26, 1], k: 5, oc: 6, opts: {} }, // 22 columns: runs from 0 and 6 (pooled 3–7 twice, the same bits)
  { x: [2, 10, 31, 1], k: 5, oc: 6, opts: { padding: "same" } }, // 30 of 31 columns pooled: 16, then 16 from 14
  { x: [1, 11, 48, 1], k: 5, oc: 6, opts: {} }, // 44 columns: 16, 16, then 12 (as LeNet's 28: 16 + 12)
  { x: [2, 14, 14, 6], k: 5, oc: 16, opts: {} }, // LeNet C3 (Winograd F(4×4, 5×5) where a call has 64 tiles)
  { x: [2, 9, 8, 2], k: 3, oc: 4, opts: { strides: 2, rounding: "floor" } },
];
const POOLS: ops.Pool2dOptions[] = [
  { kernel: 2 }, // LeNet, ConvNetJS, VGG
  { kernel: 2, rounding: "floor" }, // odd maps: the last row or column unread
  { kernel: 3, strides: 2, padding: 1, rounding: "floor" }, // ResNet's stem
  { kernel: 3, strides: 2, rounding: "floor" }, // AlexNet: overlapping windows
  { kernel: 2, rounding: "ceil" }, // partial windows at the edges
  { kernel: 3, strides: 1, padding: "same" }, // every row in three windows
  { kernel: [2, 3], strides: [3, 2], rounding: "floor" }, // rows no window reads
];

function convSetup(be: Backend, c: ConvCase, seed: number) {
  const wShape = [c.k, c.k, c.x[3] / (c.opts.groups ?? 1), c.oc];
  const g = ops.conv2dGeometry(c.x, wShape, c.opts);
  const xs = randomArray(c.x.reduce((a, b) => a * b), seed), ws = randomArray(wShape.reduce((a, b) => a * b), seed + 1, 0.5);
  const bs = randomArray(c.oc, seed + 2, 2);
  const ref = { N: g.N, H: g.H, W: g.W, C: g.C, OH: g.OH, OW: g.OW, OC: g.OC, KH: g.KH, KW: g.KW, SH: g.SH, SW: g.SW, DH: g.DH, DW: g.DW, PT: g.padTop, PL: g.padLeft, G: g.groups };
  return { g, x: Tensor.from(xs, c.x, be), w: Tensor.from(ws, wShape, be), b: Tensor.from(bs, [c.oc], be), conv64: refConvFwd(ref, xs, ws, bs) };
}

/** Forward paths a fused epilogue runs on: the direct kernel, and Winograd (each tile) where it fits. */
const FWD_PATHS: Partial<ops.ConvPaths>[] = [{ fwd: "direct" }, { fwd: "winograd", tile: 2 }, { fwd: "winograd", tile: 4 }, { fwd: "winograd", tile: 6 }];
const pathsFor = (g: ConvGeometry) => FWD_PATHS.filter((p) => p.fwd === "direct" || (ops.winogradFits(g) && ops.winogradTiles(g).includes(p.tile!)));
const pathName = (p: Partial<ops.ConvPaths>) => (p.fwd === "winograd" ? `Winograd F(${p.tile})` : "direct");

/**
 * The conv's forward calls over these buffers (act, residual, pool), run on be; `limit` threads.
 * The path is named (default the direct kernel, whose epilogue alone pools: convPaths would take
 * Winograd for some of these 3×3 convs).
 */
function runConv(be: Backend, g: ConvGeometry, p: { x: number; w: number; b: number; y: number; act: number; res?: number; pool?: PoolGeometry }, limit = 1, paths: Partial<ops.ConvPaths> = { fwd: "direct" }): number {
  return ops.withScratchAlloc(be, (alloc) => {
    const c = ops.convCalls(be, g, alloc, { x: p.x, y: p.y, w: p.w, packed: 0, bias: p.b, act: p.act, res: p.res, pool: p.pool, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0 }, limit, paths);
    be.run(c.pack);
    be.run(c.fwd);
    return c.fwd.length;
  });
}

describe.each(["simd", "relaxed", "debug"] as const)("fused conv epilogues on the %s build", (build) => {
  it.each(CONVS.map((c) => [JSON.stringify(c), c] as const))("residual add + activation: %s", async (_n, c) => {
    const be = await backendFor(build);
    const { g, x, w, b, conv64 } = convSetup(be, c, 5);
    const n = g.N * g.OH * g.OW * g.OC;
    const rs = randomArray(n, 9, 3);
    const res = Tensor.from(rs, g.outShape, be);
    const paths = pathsFor(g);
    for (const path of paths) {
      for (const act of ["none", "relu", "relu6"] as const) {
        const what = `${pathName(path)} ${act}`;
        const fused = Tensor.zeros(g.outShape, be), plain = Tensor.zeros(g.outShape, be);
        runConv(be, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: fused.ptr, act: ACT[act], res: res.ptr }, 1, path);
        // unfused: the conv, then the add layer's kernel, then the activation layer's
        runConv(be, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: plain.ptr, act: 0 }, 1, path);
        be.kernels.f32_add_fwd(plain.ptr, res.ptr, plain.ptr, n);
        if (act === "relu") be.kernels.f32_relu_fwd(plain.ptr, plain.ptr, n);
        if (act === "relu6") be.kernels.f32_relu6_fwd(plain.ptr, plain.ptr, n);
        sameBits(fused.toArray(), plain.toArray(), what);
        const K = g.KH * g.KW * (g.C / g.groups), want = conv64.map((v, i) => refAct[act](v + rs[i]!));
        // Winograd's transforms cost precision relative to the conv's scale (test/winograd.test.ts' bounds: F(6) 5e-5 of max |y|)
        const scale = conv64.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
        expectClose(fused.toArray(), want, 1e-5, path.fwd === "winograd" ? 5e-5 * scale : 2e-6 * (K + 8), `${what} vs float64`);
        fused.free();
        plain.free();
      }
    }
    // the 3×3 and 5×5 stride-1 ungrouped convs among these also ran the Winograd kernels
    expect(paths.length).toBe(ops.winogradFits(g) ? 1 + ops.winogradTiles(g).length : 1);
    [x, w, b, res].forEach((t) => t.free());
  });

  it.each(CONVS.map((c) => [JSON.stringify(c), c] as const))("max pool fused in: %s", async (_n, c) => {
    const be = await backendFor(build);
    const { g, x, w, b, conv64 } = convSetup(be, c, 7);
    const scale = conv64.reduce((a, v) => Math.max(a, Math.abs(v)), 0);
    let tried = 0, winograd = 0;
    for (const po of POOLS) {
      let pg: PoolGeometry;
      try {
        pg = ops.pool2dGeometry("maxPool2d", g.outShape, po);
      } catch {
        continue; // the window does not fit this conv's output
      }
      tried++;
      for (const path of pathsFor(g)) {
        // the Winograd output transform pools 2×2, stride-2 windows without padding (each tile holds whole ones)
        if (path.fwd === "winograd" && !ops.winogradPoolFits(g, pg)) {
          expect(() => runConv(be, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: 0, act: 1, pool: pg }, 1, path), `${JSON.stringify(po)} ${pathName(path)}`).toThrow(ConfigError);
          continue;
        }
        if (path.fwd === "winograd") winograd++;
        for (const act of ["none", "relu", "relu6"] as const) {
          const what = `${JSON.stringify(po)} ${pathName(path)} ${act}`;
          const fused = Tensor.zeros(pg.outShape, be), conv = Tensor.zeros(g.outShape, be), plain = Tensor.zeros(pg.outShape, be);
          runConv(be, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: fused.ptr, act: ACT[act], pool: pg }, 1, path);
          runConv(be, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: conv.ptr, act: ACT[act] }, 1, path);
          ops.withScratchAlloc(be, (alloc) => be.run(ops.poolCalls(be, "max", pg, alloc, { x: conv.ptr, y: plain.ptr, argmax: 0, dy: 0, dx: 0, training: false }, 1).fwd));
          sameBits(fused.toArray(), plain.toArray(), what);
          const ref = { N: pg.N, H: pg.H, W: pg.W, C: pg.C, OH: pg.OH, OW: pg.OW, KH: pg.KH, KW: pg.KW, SH: pg.SH, SW: pg.SW, PT: pg.padTop, PB: pg.padBottom, PL: pg.padLeft, PR: pg.padRight, countIncludePad: false };
          const K = g.KH * g.KW * (g.C / g.groups);
          expectClose(fused.toArray(), refMaxPool(ref, conv64.map(refAct[act])).y, 1e-5, path.fwd === "winograd" ? 5e-5 * scale : 2e-6 * (K + 8), `${what} vs float64`);
          [fused, conv, plain].forEach((t) => t.free());
        }
      }
    }
    expect(tried).toBeGreaterThan(0);
    // a 2×2 pool fits every conv here but the strided ones; Winograd pooled it for the 3×3 and 5×5 convs
    if (ops.winogradFits(g)) expect(winograd).toBeGreaterThan(0);
    [x, w, b].forEach((t) => t.free());
  });
});

describe("fused conv epilogues split across threads", () => {
  let be2: Backend;
  beforeAll(async () => {
    be2 = await fovea.loadBackend("simd-mt", "option", 16, 2);
  });

  it.each([1, 3])("batch %i: residual bands / images and pool bands / images equal one part", (N) => {
    const c: ConvCase = { x: [N, 32, 30, 16], k: 3, oc: 16, opts: { padding: 1 } };
    const { g, x, w, b } = convSetup(be2, c, 3);
    const res = Tensor.from(randomArray(g.N * g.OH * g.OW * g.OC, 4), g.outShape, be2);
    const one = Tensor.zeros(g.outShape, be2), two = Tensor.zeros(g.outShape, be2);
    expect(runConv(be2, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: one.ptr, act: ACT.relu, res: res.ptr }, 1)).toBe(1);
    expect(runConv(be2, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: two.ptr, act: ACT.relu, res: res.ptr }, 2)).toBe(2);
    sameBits(two.toArray(), one.toArray(), "residual");
    for (const po of [POOLS[0]!, POOLS[1]!, POOLS[2]!, POOLS[4]!]) {
      const pg = ops.pool2dGeometry("maxPool2d", g.outShape, po);
      const p1 = Tensor.zeros(pg.outShape, be2), p2 = Tensor.zeros(pg.outShape, be2);
      runConv(be2, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: p1.ptr, act: ACT.relu6, pool: pg }, 1);
      expect(runConv(be2, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: p2.ptr, act: ACT.relu6, pool: pg }, 2)).toBe(2);
      sameBits(p2.toArray(), p1.toArray(), `pool ${JSON.stringify(po)}`);
      p1.free();
      p2.free();
    }
    [x, w, b, res, one, two].forEach((t) => t.free());
  });

  it.each([1, 3])("batch %i: Winograd pools (ranges of tiles or channels, or images) and the one-channel conv's pooled rows (bands, or images) equal one part", (N) => {
    const cases: [ConvCase, Partial<ops.ConvPaths>[]][] = [
      [{ x: [N, 30, 30, 6], k: 5, oc: 16, opts: {} }, [{ fwd: "winograd", tile: 4, split: "tiles" }, { fwd: "winograd", tile: 4, split: "channels" }]],
      [{ x: [N, 19, 17, 16], k: 3, oc: 24, opts: { padding: 1 } }, [{ fwd: "winograd", tile: 2, split: "tiles" }, { fwd: "winograd", tile: 6, split: "channels" }]],
      [{ x: [N, 80, 72, 1], k: 5, oc: 6, opts: { padding: "same" } }, [{ fwd: "direct" }]], // enough work for two threads
    ];
    for (const [c, paths] of cases) {
      const { g, x, w, b } = convSetup(be2, c, 11);
      const pg = ops.pool2dGeometry("maxPool2d", g.outShape, { kernel: 2, rounding: "floor" });
      for (const path of paths) {
        const p1 = Tensor.zeros(pg.outShape, be2), p2 = Tensor.zeros(pg.outShape, be2);
        expect(runConv(be2, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: p1.ptr, act: ACT.relu, pool: pg }, 1, path)).toBe(1);
        expect(runConv(be2, g, { x: x.ptr, w: w.ptr, b: b.ptr, y: p2.ptr, act: ACT.relu, pool: pg }, 2, path)).toBe(2);
        sameBits(p2.toArray(), p1.toArray(), `${JSON.stringify(c)} ${JSON.stringify(path)}`);
        p1.free();
        p2.free();
      }
      [x, w, b].forEach((t) => t.free());
    }
  });
});

// ---- whole models: fused plans against compile({ fuse: false }) ----

/** ResNet-18's pieces at 32×32: stem conv-BN-ReLU-pool, an identity block, a downsampling block, a bottleneck ending in a 1×1 conv. */
function resnetLike(): fovea.Model {
  const cbr = (x: fovea.SymbolicTensor, filters: number, k: number, s: number, act: "relu" | null) => {
    const y = L.batchNorm().apply(L.conv2d({ filters, kernelSize: k, strides: s, padding: (k - 1) / 2, useBias: false, rounding: "floor" }).apply(x));
    return act ? L.relu().apply(y) : y;
  };
  const inp = fovea.input([32, 32, 3]);
  let x = cbr(inp, 16, 3, 1, "relu");
  x = L.maxPool2d({ poolSize: 3, strides: 2, padding: 1, rounding: "floor" }).apply(x);
  let y = cbr(cbr(x, 16, 3, 1, "relu"), 16, 3, 1, null);
  x = L.relu().apply(L.add().apply(y, x)); // identity block
  y = cbr(cbr(x, 32, 3, 2, "relu"), 32, 3, 1, null);
  x = L.relu().apply(L.add().apply(y, cbr(x, 32, 1, 2, null))); // downsampling block
  y = L.conv2d({ filters: 32, kernelSize: 1 }).apply(cbr(cbr(x, 8, 1, 1, "relu"), 8, 3, 1, "relu"));
  x = L.relu6().apply(L.add().apply(x, y)); // bottleneck: 1×1 conv with a bias, the residual first, ReLU6
  x = L.add().apply(cbr(x, 32, 3, 1, null), x); // an add with nothing after it
  const out = L.dense({ units: 10 }).apply(L.globalAvgPool2d().apply(x));
  return fovea.model({ inputs: inp, outputs: out, name: "resnet-like", seed: 3 });
}

/** MobileNetV2's inverted residual at 16×16: 1×1 expand-BN-ReLU6, depthwise-BN-ReLU6 (multipliers 1 and 2), 1×1 project-BN + add. */
function mobilenetLike(): fovea.Model {
  const bn = (y: fovea.SymbolicTensor) => L.batchNorm().apply(y);
  const inp = fovea.input([16, 16, 8]);
  let y = L.relu6().apply(bn(L.conv2d({ filters: 24, kernelSize: 1, useBias: false }).apply(inp)));
  y = L.relu6().apply(bn(L.depthwiseConv2d({ kernelSize: 3, padding: 1, useBias: false }).apply(y)));
  y = bn(L.conv2d({ filters: 8, kernelSize: 1, useBias: false }).apply(y));
  let x = L.add().apply(inp, y);
  x = L.relu().apply(L.depthwiseConv2d({ kernelSize: 3, padding: 1, depthMultiplier: 2 }).apply(x)); // a bias, no batch norm
  const out = L.dense({ units: 10 }).apply(L.globalAvgPool2d().apply(x));
  return fovea.model({ inputs: inp, outputs: out, name: "mobilenet-like", seed: 4 });
}

/** Batch norms with statistics and affines that are not the identity; biases not zero. */
function randomise(m: fovea.Model): void {
  let seed = 100;
  m.setWeights(m.getWeights().filter((w) => w.name !== "kernel").map((w) => {
    const r = randomArray(w.values.length, seed++);
    const values = /variance|gamma/i.test(w.name) ? r.map((v) => 0.5 + Math.abs(v)) : r.map((v) => 0.5 * v);
    return { layer: w.layer, name: w.name, values };
  }));
}

const MODELS: [string, () => fovea.Model, number][] = [
  // [name, model, convs that run layers after them]
  // all 9 of its convs fuse: the 3×3 convs before an add that take Winograd add the residual in their output transform
  ["ResNet-18-like blocks", resnetLike, 9],
  ["MobileNetV2-like block (depthwise convs activate in their kernel)", mobilenetLike, 4],
  ["LeNet-5", () => fovea.zoo.lenet5({ softmax: false }), 2],
  ["LeNet-5 with batch norm", () => fovea.zoo.lenet5Bn({ softmax: false }), 2],
  ["ConvNetJS CIFAR-10", () => fovea.zoo.convnetjsCifar10({ softmax: false }), 3],
];

describe("fused inference plans equal unfused ones bit for bit", () => {
  const backends: Backend[] = [];
  beforeAll(async () => {
    backends.push(await fovea.loadBackend("simd-mt", "option", 16, 1), await fovea.loadBackend("simd-mt", "option", 16, 2));
  });

  it.each(MODELS)("%s at batch 1, 3 and 8 (LeNet-5's C3 then Winograd), 1 and 2 threads", (_name, make, fusedConvs) => {
    for (const be of backends) {
      fovea.withBackend(be, () => {
        const m = make();
        randomise(m);
        for (const batch of [1, 3, 8]) {
          const x = randomArray(batch * m.inputSize, batch);
          m.compile({ batchSize: batch, fuse: false });
          expect(m.plan(batch, false).fused).toBe(0);
          const want = m.predict(x);
          m.compile({ fuse: true });
          expect(m.plan(batch, false).fused).toBe(fusedConvs);
          sameBits(m.predict(x), want, `${be.threads} threads, batch ${batch}`);
        }
        m.free();
      });
    }
  }, 60_000);

  it("a flatten or reshape at inference reads its input's buffer and runs nothing: the outputs of activations' plan (which copies), bit for bit, on 1 and 2 threads", () => {
    const L = fovea.layers;
    const models: [string, () => fovea.Model, string[]][] = [
      // after a conv with its pool fused in
      ["LeNet-5", () => fovea.zoo.lenet5({ softmax: false }), []],
      // of the model's input, twice (a reshape of a flatten)
      ["an MLP on images", () => fovea.sequential([L.flatten(), L.reshape({ targetShape: [12, -1] }), L.flatten(), L.dense({ units: 7, activation: "relu" }), L.dense({ units: 3 })], { inputShape: [6, 6, 2], seed: 3 }), []],
      // the conv's output read by the flatten and a second branch: the flatten copies
      ["a branch", () => {
        const x = fovea.input([6, 6, 2]);
        const c = L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }).apply(x);
        const f = L.flatten({ name: "flat" }).apply(c);
        const g = L.flatten().apply(L.globalAvgPool2d().apply(c));
        return fovea.model({ inputs: x, outputs: L.dense({ units: 3 }).apply(L.concat().apply(L.dense({ units: 5 }).apply(f), g)), seed: 4 });
      }, ["flat"]],
    ];
    for (const be of backends) for (const [name, make, copies] of models) fovea.withBackend(be, () => {
      const m = make();
      randomise(m);
      m.compile({ batchSize: 1 });
      const x = randomArray(m.inputSize, 2);
      const plan = m.plan(1, false) as unknown as { act: number[]; inputPtr: number };
      m.nodes.forEach((n, j) => {
        if (n.layer.type !== "flatten" && n.layer.type !== "reshape") return;
        const i = n.inputs[0]!, own = copies.includes(n.layer.name);
        expect(plan.act[j] === (i < 0 ? plan.inputPtr : plan.act[i]), `${name}: ${n.layer.name} ${own ? "copies" : "is a view"}`).toBe(!own);
      });
      const acts = m.activations(x);
      sameBits(m.predict(x), acts[acts.length - 1]!.values, `${name}, ${be.threads} threads`);
      m.free();
    });
  });

  it("a model's every layer output stays readable (activations: no fusion), and fuse is checked", () => {
    fovea.withBackend(backends[0]!, () => {
      const m = resnetLike();
      randomise(m);
      m.compile({ batchSize: 1 });
      const x = randomArray(m.inputSize, 1);
      const acts = m.activations(x);
      const byName = new Map(acts.map((a) => [a.layer, a]));
      // the identity block's add: its conv's (batch norm's) output plus the pooled stem, as f32_add_fwd computes it
      const add = m.nodes.findIndex((n) => n.layer.type === "add");
      const [a, b] = m.nodes[add]!.inputs.map((i) => byName.get(m.nodes[i]!.layer.name)!.values);
      sameBits(byName.get(m.nodes[add]!.layer.name)!.values, a!.map((v, i) => Math.fround(v + b![i]!)) as Float32Array, "add");
      // activations' plan does not fold batch norms either: a fused plan without folding gives its output
      m.compile({ foldBatchNorm: false });
      expect(m.plan(1, false).fused).toBe(1); // the bottleneck's 1×1 conv (no batch norm after it)
      sameBits(acts[acts.length - 1]!.values, m.predict(x), "output");
      expect(() => m.compile({ fuse: "yes" as unknown as boolean })).toThrow(ConfigError);
      m.free();
    });
  });
});

// ---- training: a ReLU's backward done by the max pool after it ----

describe("the max pool's backward applies the ReLU before it", () => {
  it.each(["simd", "relaxed", "debug"] as const)("f32_maxpool2d_bwd_relu equals the pool's and the ReLU's backward, and the float64 oracle; the pool of the ReLU's input with the ReLU applied to the maxima equals both layers (%s)", async (build) => {
    const be = await backendFor(build);
    for (const [shape, po] of [[[2, 8, 8, 5], POOLS[0]!], [[1, 12, 11, 7], POOLS[2]!], [[3, 7, 7, 4], POOLS[4]!], [[1, 7, 9, 3], POOLS[3]!], [[2, 7, 9, 6], { kernel: 2, rounding: "floor" }]] as const) {
      const pg = ops.pool2dGeometry("maxPool2d", shape, po);
      const raw = randomArray(shape.reduce((a: number, b: number) => a * b, 1), 21);
      const xs = raw.map((v) => Math.max(v, 0)); // a ReLU's output: many zeros, ties among them
      const dys = randomArray(pg.outShape.reduce((a, b) => a * b), 22);
      const x = Tensor.from(xs, shape, be), xIn = Tensor.from(raw, shape, be), dy = Tensor.from(dys, pg.outShape, be);
      const argmax = be.heap.alloc(dys.length * 4);
      const fused = Tensor.zeros(shape, be), plain = Tensor.zeros(shape, be), both = Tensor.zeros(shape, be);
      const ys: Float32Array[] = [];
      ops.withScratchAlloc(be, (alloc) => {
        const run = (reluMask: boolean, dx: number, reluIn = false) => {
          const y = alloc(dys.length * 4);
          const c = ops.poolCalls(be, "max", pg, alloc, { x: reluIn ? xIn.ptr : x.ptr, y, argmax, dy: dy.ptr, dx, training: true, reluMask, reluIn }, 1);
          be.run(c.fwd);
          be.run(c.bwd);
          ys.push(be.heap.f32(y, dys.length).slice());
        };
        run(true, fused.ptr);
        run(false, plain.ptr);
        // the ReLU's forward too: the pool reads the ReLU's input
        run(true, both.ptr, true);
      });
      be.kernels.f32_relu_bwd(x.ptr, plain.ptr, plain.ptr, xs.length);
      sameBits(fused.toArray(), plain.toArray(), JSON.stringify(po));
      sameBits(both.toArray(), plain.toArray(), `${JSON.stringify(po)}: from the ReLU's input, dx`);
      sameBits(ys[2]!, ys[0]!, `${JSON.stringify(po)}: from the ReLU's input, y`);
      const ref = { N: pg.N, H: pg.H, W: pg.W, C: pg.C, OH: pg.OH, OW: pg.OW, KH: pg.KH, KW: pg.KW, SH: pg.SH, SW: pg.SW, PT: pg.padTop, PB: pg.padBottom, PL: pg.padLeft, PR: pg.padRight, countIncludePad: false };
      expectClose(fused.toArray(), refMaxPoolBwd(ref, xs, dys).map((v, i) => (xs[i]! > 0 ? v : 0)), 1e-6, 1e-6, `${JSON.stringify(po)} vs float64`);
      be.heap.free(argmax);
      [x, xIn, dy, fused, plain, both].forEach((t) => t.free());
    }
  });

  const backends: Backend[] = [];
  beforeAll(async () => {
    backends.push(await fovea.loadBackend("simd-mt", "option", 16, 1), await fovea.loadBackend("simd-mt", "option", 16, 2));
  });

  it.each(["simd", "relaxed", "debug"] as const)("a max pool that applies a training batch norm's affine to the norm's input equals the norm's output pass, then the pool: y and argmax bit for bit, every window and channel count (%s)", async (build) => {
    const be = await backendFor(build);
    const k = be.kernels;
    for (const [shape, po] of [[[2, 8, 8, 5], POOLS[0]!], [[1, 12, 11, 7], POOLS[2]!], [[3, 7, 7, 4], POOLS[4]!], [[1, 7, 9, 3], POOLS[3]!], [[2, 8, 10, 6], { kernel: 2 }], [[2, 6, 6, 16], { kernel: 2 }], [[1, 6, 6, 2], { kernel: 2 }]] as const) {
      const pg = ops.pool2dGeometry("maxPool2d", shape, po);
      const n = shape.reduce((a: number, b: number) => a * b, 1), C = shape[3], L = k.f32_batchnorm_period(C), outN = pg.outShape.reduce((a, b) => a * b);
      const raw = Tensor.from(randomArray(n, 31).map((v) => 3 * v + 1), shape, be), bn = Tensor.zeros(shape, be);
      // per-channel mean, scale (one channel negative: its maxima are the input's minima) and shift, as the norm's patterns
      const perC = (f: (c: number) => number) => { const p = be.heap.alloc(L * 4); be.heap.f32(p, L).set(Array.from({ length: L }, (_, j) => f(j % C))); return p; };
      const sub = perC((c) => 0.3 * c - 0.5), A = perC((c) => (c === 1 ? -0.7 : 0.4 + 0.1 * c)), K = perC((c) => 0.05 * c - 0.1);
      k.f32_batchnorm_part_apply(raw.ptr, sub, A, 0, 0, 0, K, n, C, bn.ptr);
      for (const reluIn of [true, false]) {
        const got: [Float32Array, Int32Array][] = [];
        ops.withScratchAlloc(be, (alloc) => {
          for (const affine of [false, true]) {
            const y = alloc(outN * 4), argmax = alloc(outN * 4);
            be.run(ops.poolCalls(be, "max", pg, alloc, { x: affine ? raw.ptr : bn.ptr, y, argmax, dy: 0, dx: 0, training: true, reluIn, ...(affine ? { affineIn: { sub, A, K } } : {}) }, 1).fwd);
            got.push([be.heap.f32(y, outN).slice(), new Int32Array(be.heap.f32(argmax, outN).slice().buffer)]);
          }
        });
        const what = `${JSON.stringify(shape)} ${JSON.stringify(po)}${reluIn ? " with the ReLU" : ""}`;
        sameBits(got[1]![0], got[0]![0], `${what}: y`);
        expect(Array.from(got[1]![1]), `${what}: argmax`).toEqual(Array.from(got[0]![1]));
      }
      [sub, A, K].forEach((p) => be.heap.free(p));
      [raw, bn].forEach((t) => t.free());
    }
  });

  it.each(["simd", "relaxed", "debug"] as const)("a training batch norm's backward from the 2×2 pool's dy and tap codes after it equals the pool's backward (ReLU mask), then the norm's sums and dx, bit for bit, for parts split anywhere on a period (%s)", async (build) => {
    const be = await backendFor(build);
    const k = be.kernels;
    for (const [N, H, W, C] of [[2, 8, 8, 4], [3, 7, 9, 6], [1, 10, 6, 16], [2, 5, 5, 5], [2, 6, 7, 7], [1, 4, 12, 12]] as const) {
      const pg = ops.pool2dGeometry("maxPool2d", [N, H, W, C], { kernel: 2, rounding: "floor" });
      const rows = N * H * W, n = rows * C, L = k.f32_batchnorm_period(C), per = L / C, outN = pg.outShape.reduce((a, b) => a * b);
      // x with ties (rounded values) and dy with zeros, so the tie rule and the ReLU mask both show
      const x = Tensor.from(randomArray(n, 41).map((v) => Math.round(4 * v) / 2), [N, H, W, C], be);
      const dyp = Tensor.from(randomArray(outN, 42).map((v, i) => (i % 7 === 0 ? 0 : v)), pg.outShape, be);
      const perC = (f: (c: number) => number) => { const p = be.heap.alloc(L * 4); be.heap.f32(p, L).set(Array.from({ length: L }, (_, j) => f(j % C))); return p; };
      const sub = perC((c) => 0.25 * c - 0.5), fA = perC((c) => (c === 2 ? -0.6 : 0.5 + 0.1 * c)), fK = perC((c) => 0.1 * c - 0.2);
      const A = perC((c) => 0.3 + 0.05 * c), B = perC((c) => -0.02 * c + 0.01), K = perC((c) => 0.01 * c - 0.03);
      const zeros = perC(() => 0);
      ops.withScratchAlloc(be, (alloc) => {
        // the layers one by one: the pool of the norm's input with its affine and the ReLU, its backward, the norm's passes
        const y = alloc(outN * 4), argmax = alloc(outN * 4), dBn = alloc(n * 4);
        const pc = ops.poolCalls(be, "max", pg, alloc, { x: x.ptr, y, argmax, dy: dyp.ptr, dx: dBn, training: true, reluMask: true, reluIn: true, affineIn: { sub, A: fA, K: fK } }, 1);
        be.run(pc.fwd);
        be.run(pc.bwd);
        const geo = alloc(24 * 4);
        be.heap.i32(geo, 24).set(ops.poolBlock(pg));
        // the forward that keeps tap codes instead of argmax: the same y, and each code names
        // argmax's tap in its window (0–3 in scan order) or 4 where y is not > 0
        const y2 = alloc(outN * 4), codes = alloc(outN);
        be.heap.u8(codes, outN).fill(255);
        be.run(ops.poolCalls(be, "max", pg, alloc, { x: x.ptr, y: y2, argmax: 0, dy: dyp.ptr, dx: 0, training: true, reluIn: true, affineIn: { sub, A: fA, K: fK }, codes }, 1).fwd);
        sameBits(be.heap.f32(y2, outN).slice(), be.heap.f32(y, outN).slice(), `${N}x${H}x${W}x${C}: y with codes`);
        // codes are that forward's only: with an argmax, or without the norm's affine, a ConfigError
        expect(() => ops.poolCalls(be, "max", pg, alloc, { x: x.ptr, y: y2, argmax, dy: 0, dx: 0, training: true, reluIn: true, affineIn: { sub, A: fA, K: fK }, codes }, 1)).toThrow(ConfigError);
        expect(() => ops.poolCalls(be, "max", pg, alloc, { x: x.ptr, y: y2, argmax: 0, dy: 0, dx: 0, training: true, reluIn: true, codes }, 1)).toThrow(ConfigError);
        const am = be.heap.i32(argmax, outN), yv = be.heap.f32(y, outN), cv = be.heap.u8(codes, outN);
        for (let i = 0; i < outN; i++) {
          const c = i % C, ow = Math.floor(i / C) % pg.OW, oh = Math.floor(i / (C * pg.OW)) % pg.OH, b = Math.floor(i / (C * pg.OW * pg.OH));
          const origin = ((b * H + 2 * oh) * W + 2 * ow) * C + c, d = am[i]! - origin;
          const tap = d === 0 ? 0 : d === C ? 1 : d === W * C ? 2 : 3;
          if (cv[i] !== (yv[i]! > 0 ? tap : 4)) throw new Error(`${N}x${H}x${W}x${C} output ${i}: code ${cv[i]}, argmax tap ${tap}, y ${yv[i]}`);
        }
        const scratch = alloc(k.f32_batchnorm_pool_bwd_scratch_bytes(geo));
        // parts: the whole, halves and thirds on period boundaries, and parts starting mid-row and mid-window
        const cuts = new Set<number>([0, rows]);
        for (const f of [0.5, 1 / 3, 2 / 3]) cuts.add(Math.min(rows, Math.round((rows * f) / per) * per));
        cuts.add(Math.min(rows, (W + 1) * per));
        const bounds = [...cuts].sort((a, b) => a - b);
        const splits: [number, number][][] = [[[0, rows]], bounds.slice(1).map((b, i) => [bounds[i]!, b])];
        for (const parts of splits) {
          const dx1 = alloc(n * 4), dx2 = alloc(n * 4), s1 = alloc(2 * L * 4), s2 = alloc(2 * L * 4);
          for (const [r0, r1] of parts) {
            if (r1 <= r0) continue;
            const what = `${N}x${H}x${W}x${C} rows [${r0}, ${r1})`;
            k.f32_batchnorm_part_sums_bwd(dBn + 4 * r0 * C, x.ptr + 4 * r0 * C, sub, (r1 - r0) * C, C, s1, s1 + 4 * L);
            k.f32_batchnorm_pool_bwd_sums(geo, x.ptr, dyp.ptr, codes, sub, r0, r1, s2, s2 + 4 * L, scratch);
            sameBits(be.heap.f32(s2, 2 * L).slice(), be.heap.f32(s1, 2 * L).slice(), `${what}: sums`);
            k.f32_batchnorm_part_apply(dBn + 4 * r0 * C, zeros, A, x.ptr + 4 * r0 * C, sub, B, K, (r1 - r0) * C, C, dx1 + 4 * r0 * C);
            k.f32_batchnorm_pool_bwd_apply(geo, x.ptr, dyp.ptr, codes, sub, A, B, K, r0, r1, dx2, scratch);
            sameBits(be.heap.f32(dx2 + 4 * r0 * C, (r1 - r0) * C).slice(), be.heap.f32(dx1 + 4 * r0 * C, (r1 - r0) * C).slice(), `${what}: dx`);
          }
        }
      });
      [sub, fA, fK, A, B, K, zeros].forEach((p) => be.heap.free(p));
      [x, dyp].forEach((t) => t.free());
    }
  });

  // [name, model, fusions, convs whose gradients come from the pool after them (their sums, and
  // every gradient upstream, run in another order: equal within float32 rounding, not bit for bit),
  // the bound on that difference relative to the gradient's largest (2e-6; where the unfused
  // step's data gradients are Winograd's, that kernel's bound)]
  const TRAIN: [string, () => fovea.Model, number, number?, number?][] = [
    ["LeNet-5 (convs with a fused ReLU)", () => fovea.zoo.lenet5(), 4, 2],
    // each pool runs its ReLU layer and the batch norm's output pass before it, and the norm the pool's backward
    ["LeNet-5 with batch norm (ReLU layers)", () => fovea.zoo.lenet5Bn(), 6],
    ["lenet-3x3 (batch norms, Winograd C3)", () => fovea.zoo.lenet3x3(), 6],
    // its 16²×16→20 and 8²×20→20 convs' data gradients are F(4×4, 5×5) in the unfused step (test/winograd.test.ts' bound)
    ["ConvNetJS CIFAR-10", () => fovea.zoo.convnetjsCifar10(), 6, 3, 5e-5],
    // the pooled conv's input gradient is as large as its pool's output, whose dy block the
    // gradient layout keeps through the conv's step (the conv writes dx while it reads that dy)
    ["a conv whose gradients come from its pool, its input gradient the size of the pool's output", () => fovea.sequential([
      L.conv2d({ filters: 4, kernelSize: 3, padding: "same" }), L.tanh(),
      L.conv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu" }), L.maxPool2d({ poolSize: 2 }),
      L.flatten(), L.dense({ units: 10 }),
    ], { inputShape: [8, 8, 4], seed: 1 }), 2, 1],
    // a pool that runs a ReLU layer's backward reads its dy while it writes the gradient of the
    // ReLU's input, a block taken at the ReLU's step: the layout holds the dy block through it
    // (blocks come back whole, and the 45-channel conv's gradient block could hold the ReLU input's)
    ["a ReLU layer and a max pool, the pool's dy held through the ReLU's step", () => fovea.sequential([
      L.conv2d({ filters: 10, kernelSize: 3, padding: "same" }), L.relu(), L.maxPool2d({ poolSize: 2 }), L.relu(),
      L.conv2d({ filters: 45, kernelSize: 3, padding: "same" }), L.flatten(), L.dense({ units: 10 }),
    ], { inputShape: [8, 8, 2], seed: 1 }), 1],
    // and with a batch norm before the ReLU, whose backward reads the pool's dy at the norm's step
    ["a norm, a ReLU layer and a 2×2 max pool, the pool's dy held through the norm's step", () => {
      const x = fovea.input([8, 8, 2]);
      const p = L.maxPool2d({ poolSize: 2 }).apply(L.relu().apply(L.batchNorm().apply(L.conv2d({ filters: 10, kernelSize: 3, padding: "same", useBias: false }).apply(x))));
      const d = L.conv2d({ filters: 45, kernelSize: 3, padding: "same" }).apply(p), e = L.conv2d({ filters: 45, kernelSize: 3, padding: "same" }).apply(d);
      return fovea.model({ inputs: x, outputs: L.dense({ units: 10 }).apply(L.flatten().apply(L.add().apply(e, d))), seed: 2 });
    }, 3],
    // conv → norm → ReLU → 2×2 pool twice on odd maps (rows and columns no window covers) with 4–9
    // channels (ragged blocks of the tap codes and the norm's periods)
    ...([[4, 5, 11, 13, 3], [5, 7, 9, 7, 3], [7, 6, 13, 11, 5], [9, 12, 10, 15, 3]] as const).map(([c1, c2, H, W, k]): [string, () => fovea.Model, number] => [
      `conv-norm-ReLU-pool stages of ${c1} and ${c2} channels on ${H}x${W}x3`,
      () => fovea.sequential([
        L.conv2d({ filters: c1, kernelSize: k, padding: "same", useBias: false }), L.batchNorm(), L.relu(), L.maxPool2d({ poolSize: 2, rounding: "floor" }),
        L.conv2d({ filters: c2, kernelSize: 3, padding: "same", useBias: false }), L.batchNorm(), L.relu(), L.maxPool2d({ poolSize: 2, rounding: "floor" }),
        L.flatten(), L.dense({ units: 10 }),
      ], { inputShape: [H, W, 3], name: "odd", seed: 1 }),
      6,
    ]),
  ];
  it("a 2×2 pool's tap codes and y are the same split across threads as in one part", () => {
    const be = backends[1]!;
    for (const [N, H, W, C] of [[64, 28, 28, 6], [64, 29, 31, 7], [64, 28, 28, 16]] as const) {
      const pg = ops.pool2dGeometry("maxPool2d", [N, H, W, C], { kernel: 2, rounding: "floor" });
      const n = N * H * W * C, outN = pg.outShape.reduce((a, b) => a * b);
      ops.withScratchAlloc(be, (alloc) => {
        const x = alloc(n * 4), sub = alloc(4 * C * 4), A = alloc(4 * C * 4), K = alloc(4 * C * 4);
        be.heap.f32(x, n).set(randomArray(n, 3));
        for (const [p, seed] of [[sub, 4], [A, 5], [K, 6]] as const) be.heap.f32(p, 4 * C).set(randomArray(4 * C, seed));
        const run = (limit: number) => {
          const y = alloc(outN * 4), codes = alloc(outN);
          be.heap.u8(codes, outN).fill(255);
          const pc = ops.poolCalls(be, "max", pg, alloc, { x, y, argmax: 0, dy: 0, dx: 0, training: true, reluIn: true, affineIn: { sub, A, K }, codes }, limit);
          expect(pc.fwd.length).toBe(limit);
          be.run(pc.fwd);
          return { y: be.heap.f32(y, outN).slice(), c: be.heap.u8(codes, outN).slice() };
        };
        const one = run(1), two = run(2);
        expect(one.c.every((v) => v <= 4), "every code written").toBe(true);
        expect(Array.from(two.c)).toEqual(Array.from(one.c));
        sameBits(two.y, one.y, `${N}x${H}x${W}x${C}: y`);
      });
    }
  });
  it.each(TRAIN)("%s: loss and every gradient equal the unfused step's, batch 1 and 3, 1 and 2 threads", (_name, make, fusedPools, pooled = 0, bound = 2e-6) => {
    for (const be of backends) {
      fovea.withBackend(be, () => {
        const m = make();
        randomise(m);
        for (const batch of [1, 3]) {
          const x = randomArray(batch * m.inputSize, 7 + batch), y = Int32Array.from({ length: batch }, (_, i) => (3 * i) % 10);
          const step = (fuse: boolean) => {
            m.compile({ batchSize: batch, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.01 }), fuse });
            const loss = m.computeGradients(x, y, 0, batch);
            expect(m.plan(batch, true).fused).toBe(fuse ? fusedPools : 0);
            // a conv whose ReLU's backward the pool applies has no buffer for it (never written)
            type R = { reluApplied?: boolean; state?: { dyAct?: number } } | null;
            const plan = m.plan(batch, true) as unknown as { runs: R[]; sliced?: { runs: R[][] } };
            const applied = [...plan.runs, ...(plan.sliced?.runs.flat() ?? [])].filter((r) => r?.reluApplied && r.state && "dyAct" in r.state);
            if (fuse && pooled) expect(applied.length, "convs whose pool applies their ReLU").toBeGreaterThan(0);
            for (const r of applied) expect(r!.state!.dyAct).toBe(0);
            return { loss, grads: m.params.filter((p) => p.spec.trainable).map((p) => be.heap.f32(p.g, p.size).slice()) };
          };
          const want = step(false), got = step(true);
          expect(Object.is(got.loss, want.loss), `${be.threads} threads, batch ${batch}: loss`).toBe(true);
          got.grads.forEach((g, i) => {
            const what = `${be.threads} threads, batch ${batch}: gradient ${i}`;
            if (!pooled) return sameBits(g, want.grads[i]!, what);
            let scale = 1e-12, worst = 0;
            want.grads[i]!.forEach((v, j) => { scale = Math.max(scale, Math.abs(v)); worst = Math.max(worst, Math.abs(g[j]! - v)); });
            expect(worst, what).toBeLessThanOrEqual(bound * scale);
          });
        }
        m.free();
      });
    }
  }, 60_000);
});
