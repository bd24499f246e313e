import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { crc32 } from "../src/model/save.js";

const { layers: L } = fovea;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

const lenetLayers = (): fovea.LayerConfig[] => [
  { type: "conv2d", filters: 6, kernelSize: 5, padding: "same", activation: "relu", name: "C1" },
  { type: "maxPool2d", poolSize: 2, name: "S2" },
  { type: "conv2d", filters: 16, kernelSize: 5, activation: "relu", name: "C3" },
  { type: "maxPool2d", poolSize: 2, name: "S4" },
  { type: "flatten", name: "flat" },
  { type: "dense", units: 120, activation: "relu", name: "C5" },
  { type: "dense", units: 84, activation: "relu", name: "F6" },
  { type: "dense", units: 10, name: "out" },
  { type: "softmax", name: "prob" },
];

describe("structure and summary", () => {
  it("counts parameters as the published tables do", () => {
    const m = fovea.sequential([L.conv2d({ filters: 10, kernelSize: 5, name: "ten" })], { inputShape: [32, 32, 3] });
    expect(m.countParams()).toBe(760); // 10 filters of 5x5 over 3 channels
    m.free();
    const lenet = fovea.sequential(lenetLayers(), { inputShape: [28, 28, 1] });
    const rows = fovea.summaryRows(lenet);
    const byName = Object.fromEntries(rows.map((r) => [r.name, r]));
    expect(byName.C1!.params).toBe(156);
    expect(byName.C5!.params).toBe(48_120);
    expect(byName.F6!.params).toBe(10_164);
    expect(byName.C1!.outputShape).toEqual([28, 28, 6]);
    expect(byName.flat!.outputShape).toEqual([400]);
    expect(byName.C1!.flops).toBe(2 * 28 * 28 * 6 * 25);
    const text = lenet.summary();
    expect(text).toContain("C5 (dense)");
    expect(text).toContain("48,120");
    expect(text).toMatch(/trainable params: 61,706/);
    lenet.free();
  });

  it("batch-norm moving statistics are parameters but not trainable", () => {
    const m = fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3 }), L.batchNorm()], { inputShape: [5, 5, 2] });
    expect(m.countParams()).toBe(3 * 3 * 2 * 4 + 4 + 8);
    expect(m.countParams(false)).toBe(3 * 3 * 2 * 4 + 4 + 16);
    expect(m.summary()).toMatch(/trainable params: 84 {3}non-trainable \(batch-norm statistics\): 8\n/);
    m.free();
  });

  it("the summary counts constants (an imported graph's constant layer, a binary layer's operand) apart from batch-norm statistics", async () => {
    const bytes = readFileSync("test/fixtures/onnx/joined_constants.onnx");
    const m = await fovea.importOnnx(new Uint8Array(bytes));
    const trainable = m.countParams(), consts = m.countParams(false) - trainable;
    expect(consts).toBeGreaterThan(0);
    expect(m.summary()).toContain(`trainable params: ${trainable.toLocaleString("en-US")}   constants: ${consts.toLocaleString("en-US")}\n`);
    m.free();
  });
});

describe("no cold start", () => {
  it("compile for inference runs predict's path on zeros once (weights packed, norms folded, kernels warmed); a compile with training options does not", () => {
    const m = fovea.zoo.lenet5({ seed: 4 });
    m.compile({ batchSize: 3 });
    const plan = m.plan(3, false);
    const ran = Array.from(m.backend.heap.f32(plan.outputPtr, 3 * 10));
    expect(ran.every((v) => v > 0)).toBe(true); // softmax outputs: it ran
    expect(ran).toEqual(Array.from(m.predict(new Float32Array(3 * 784))));
    m.free();
    const t = fovea.zoo.lenet5({ seed: 4 });
    t.compile({ batchSize: 5, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    expect(Array.from(t.backend.heap.f32(t.plan(5, false).outputPtr, 5 * 10)).every((v) => v === 0)).toBe(true);
    t.free();
  });

  it("warm(n): passes until the backend has warmed every kernel they run, then one pass for a model whose kernels are all warm; bad counts are ConfigErrors", async () => {
    // a backend of its own: no kernel of it is warm yet
    const be = await fovea.loadBackend("simd");
    // the dispatches of f, counted at the backend's own entry points
    const count = (f: () => void): number => {
      let n = 0;
      const P = Object.getPrototypeOf(be) as fovea.Backend;
      const spy = be as unknown as Record<string, unknown>;
      for (const k of ["run", "runInTurn", "runPrograms"] as const) spy[k] = (...a: unknown[]) => (n++, Reflect.apply(P[k], be, a));
      try {
        f();
      } finally {
        for (const k of ["run", "runInTurn", "runPrograms"]) delete spy[k];
      }
      return n;
    };
    const lenet = (seed: number) => fovea.withBackend(be, () => fovea.zoo.lenet5({ seed }));
    let a: fovea.Model | undefined, b: fovea.Model | undefined;
    // built, not compiled: a constructed model runs nothing
    expect(count(() => (a = lenet(4)))).toBe(0);
    expect(be.warmed.size).toBe(0);
    // compile for inference (batch 32) warms: the first warm-up runs passes for 100 ms (a pass here takes a few ms) and marks the kernels it ran
    const cold = count(() => a!.compile());
    expect(be.warmed.has("f32_gemm_packed_b")).toBe(true); // the dense layers, over weights packed once
    expect([...be.warmed].some((f) => f.startsWith("f32_conv2d"))).toBe(true);
    // another model with the same kernels: one pass
    b = lenet(5);
    const warm = count(() => b!.compile());
    expect(cold).toBeGreaterThan(2 * warm);
    // warm(3) builds predict's plan for 3 and runs it once: then predicting 3 examples plans and allocates nothing more
    b!.warm(3);
    const before = be.heap.stats().inUseBytes;
    const pass = count(() => b!.predict(new Float32Array(3 * 784)));
    expect(be.heap.stats().inUseBytes).toBe(before);
    expect(count(() => b!.warm(3))).toBe(pass);
    for (const bad of [0, -1, 1.5, Number.NaN]) expect(() => b!.warm(bad)).toThrow(fovea.ConfigError);
    expect(be.heap.stats().inUseBytes).toBe(before);
    a!.free();
    b!.free();
    expect(() => b!.warm()).toThrow();
  });
});

describe("errors name the layer and the numbers", () => {
  it("a shape that does not fit is a ShapeError from the layer", () => {
    expect(() => fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3, strides: 3, name: "c1" })], { inputShape: [7, 7, 1] }))
      .toThrow('conv2d "c1": a 3x3 kernel with stride 3 does not fit a 7x7 input ((7-3)/3+1 = 2.33 is not whole)');
    expect(() => fovea.sequential([L.dense({ units: 3, name: "fc" })], { inputShape: [4, 4, 2] }))
      .toThrow('dense "fc": expects input [features], got [4, 4, 2] (add a flatten layer before it)');
    const inp = fovea.input([4, 4, 3]);
    const a = L.conv2d({ filters: 2, kernelSize: 1 }).apply(inp);
    expect(() => L.add({ name: "sum" }).apply(a, inp)).toThrow('add "sum": input 1 has shape [4, 4, 3], but input 0 has [4, 4, 2]');
  });

  it("unknown layer types and options throw ConfigError", () => {
    // @ts-expect-error: not a layer type
    expect(() => fovea.sequential([{ type: "conv3d", filters: 2 }], { inputShape: [4] })).toThrow('unknown layer type "conv3d"');
    // @ts-expect-error: not an option
    expect(() => L.conv2d({ filters: 2, kernelSize: 3, stride: 2 })).toThrow(/unknown option "stride"/);
    expect(() => L.dropout({ rate: 1 })).toThrow(/rate must be in \[0, 1\)/);
    // @ts-expect-error: not an activation
    expect(() => L.dense({ units: 2, activation: "swish" })).toThrow(fovea.ConfigError);
    expect(() => fovea.sequential([L.dense({ units: 2 })], { inputShape: [3] }).compile({ batchSize: 0 })).toThrow(/batchSize must be/);
  });

  it("a layer is connected once; names are unique", () => {
    const inp = fovea.input([3]);
    const d = L.dense({ units: 2 });
    d.apply(inp);
    expect(() => d.apply(inp)).toThrow(/already connected/);
    const x = fovea.input([3]);
    const y = L.dense({ units: 2, name: "same" }).apply(x);
    const z = L.dense({ units: 2, name: "same" }).apply(y);
    expect(() => fovea.model({ inputs: x, outputs: z })).toThrow(/two layers are named "same"/);
  });

  it("wrong data sizes and labels are ShapeErrors", () => {
    const m = fovea.sequential([L.dense({ units: 3 })], { inputShape: [4] });
    m.compile({ loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    expect(() => m.predict(new Float32Array(7))).toThrow(/7 values are not a whole number of \[4\] examples/);
    expect(() => m.trainOnBatch(new Float32Array(8), [0, 3])).toThrow(/label 1 is 3; labels are class indices in \[0, 3\)/);
    expect(() => m.trainOnBatch(new Float32Array(8), [0])).toThrow(/1 labels for 2 examples/);
    m.free();
  });
});

describe("plans and memory", () => {
  it("predict returns plain arrays, handles any count with the compiled batch, and allocates nothing once planned", () => {
    const m = fovea.sequential(lenetLayers(), { inputShape: [28, 28, 1] });
    m.compile({ batchSize: 8 });
    const x = new Float32Array(20 * 784).map((_, i) => Math.sin(i));
    const p = m.predict(x);
    expect(p).toBeInstanceOf(Float32Array);
    expect(p.length).toBe(200);
    for (let i = 0; i < 20; i++) expect(p.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b)).toBeCloseTo(1, 5);
    // the batch of 8 and the remainder of 4 give the same numbers as one batch of 20
    expect(Array.from(m.predict(x, { batchSize: 20 }))).toEqual(Array.from(p));
    const before = m.backend.heap.stats().inUseBytes;
    m.predict(x);
    expect(m.backend.heap.stats().inUseBytes).toBe(before);
    m.free();
  });

  it("inference plans reuse activation buffers; training plans reuse gradient buffers", () => {
    const m = fovea.sequential(lenetLayers(), { inputShape: [28, 28, 1] });
    m.compile({ batchSize: 16, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    const inf = m.plan(16, false), tr = m.plan(16, true);
    const actBytes = m.nodes.reduce((a, n) => a + 16 * n.outShape.reduce((p, q) => p * q, 1) * 4, 0);
    expect(inf.bufferBytesNoReuse).toBe(actBytes);
    expect(inf.bufferBytes).toBeLessThan(0.75 * actBytes);
    expect(tr.bufferBytes).toBeLessThan(tr.bufferBytesNoReuse);
    m.free();
  });

  it("an inference buffer smaller than the block it reuses sits in the block's middle: each half of it lies over the same half of every buffer before it there (two threads' halves of a map stay on their own bytes)", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 16, kernelSize: 3, padding: "same", activation: "relu" }), L.conv2d({ filters: 8, kernelSize: 1 }),
      L.conv2d({ filters: 24, kernelSize: 1, activation: "relu6" }), L.depthwiseConv2d({ kernelSize: 3, strides: 2, padding: "same" }),
      L.conv2d({ filters: 12, kernelSize: 1 }), L.conv2d({ filters: 40, kernelSize: 1 }), L.maxPool2d({ poolSize: 2 }), L.flatten(), L.dense({ units: 10 }),
    ], { inputShape: [16, 16, 3], seed: 1 });
    for (const batch of [1, 2]) { // (a batch of examples on as many threads may take blocks at their own size only: Plan)
      m.compile({ batchSize: batch });
      const plan = m.plan(batch, false) as unknown as { act: number[] };
      // buffers of one node each: a fused conv and its pool, or a pool and the flatten reading it, share one (of the last one's
      // size); a node's buffer is never its input's block (both are live while it runs), so a pointer shared with a neighbour is that
      const own = (j: number) => plan.act[j] !== plan.act[j - 1] && plan.act[j] !== plan.act[j + 1];
      const spans = m.nodes.map((n, j) => [plan.act[j]!, plan.act[j]! + batch * n.outShape.reduce((p, q) => p * q, 1) * 4] as const).filter((_, j) => own(j));
      let shared = 0;
      spans.forEach(([a, b], j) => spans.slice(0, j).forEach(([c, d]) => {
        if (a >= d || c >= b) return; // in other blocks
        shared++;
        expect(Math.abs((a + b) / 2 - (c + d) / 2), `batch ${batch}: buffers [${c}, ${d}) and [${a}, ${b})`).toBeLessThan(64);
      }));
      if (batch === 1) expect(shared, "blocks reused by buffers of other sizes").toBeGreaterThan(2);
      const x = new Float32Array(batch * 16 * 16 * 3).map((_, i) => Math.sin(i));
      expect(m.predict(x).every(Number.isFinite)).toBe(true);
    }
    m.free();
  });

  it("free() returns every byte the model took", () => {
    const be = fovea.getBackend();
    const before = be.heap.stats().inUseBytes; // the scratch the model's plans hold goes back with them
    const m = fovea.sequential(lenetLayers(), { inputShape: [28, 28, 1] });
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam() });
    m.trainOnBatch(new Float32Array(4 * 784), [1, 2, 3, 4]);
    expect(be.heap.stats().inUseBytes).toBeGreaterThan(before);
    m.free();
    expect(be.heap.stats().inUseBytes).toBe(before);
    expect(() => m.predict(new Float32Array(784))).toThrow(/was freed/);
  });
});

describe("batch norm folding at inference", () => {
  it("folds conv→BN and dense→BN into the weights, gives the same outputs, and refolds after training", () => {
    const m = fovea.sequential([
      L.conv2d({ filters: 4, kernelSize: 3, padding: 1 }), L.batchNorm(), L.relu(),
      L.depthwiseConv2d({ kernelSize: 3, useBias: false }), L.batchNorm(), L.relu(),
      L.conv2d({ filters: 3, kernelSize: 1, activation: "relu" }), L.batchNorm(), // fused ReLU before BN: not folded
      L.flatten(), L.dense({ units: 5 }), L.batchNorm(), L.dense({ units: 2 }),
    ], { inputShape: [6, 6, 2], seed: 3 });
    m.compile({ batchSize: 4, loss: "mse", optimizer: fovea.train.sgd({ lr: 0.01 }) });
    const x = new Float32Array(8 * 72).map((_, i) => Math.sin(i * 0.7));
    const t = new Float32Array(16).map((_, i) => Math.cos(i));
    const compare = () => {
      const plain = fovea.loadModel(m.save()).compile({ batchSize: 4, foldBatchNorm: false });
      expect(plain.plan(4, false).folds).toHaveLength(0);
      const want = plain.predict(x), got = m.predict(x);
      for (let i = 0; i < want.length; i++) expect(Math.abs(got[i]! - want[i]!)).toBeLessThan(1e-5 * (1 + Math.abs(want[i]!)));
      plain.free();
    };
    m.fit(x, t, { epochs: 3 }); // moving statistics and weights away from their initial values
    expect(m.plan(4, false).folds).toHaveLength(3);
    compare();
    m.fit(x, t, { epochs: 2 }); // the folded weights must follow
    compare();
    m.free();
  });
});

describe("tied parameters (Model.tie): one tensor read by several layers", () => {
  /** A conv run twice and a dense layer on two branches; batch norm where asked (its statistics then tied too). */
  const siamese = (bn = false) => {
    const inp = fovea.input([6, 6, 3]);
    const a = L.relu().apply(L.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "c1" }).apply(inp));
    const b0 = L.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "c2" }).apply(a);
    const b = L.relu().apply(bn ? L.batchNorm({ name: "n2" }).apply(L.batchNorm({ name: "n1" }).apply(b0)) : b0);
    const f1 = L.dense({ units: 3, name: "d1" }).apply(L.flatten().apply(L.maxPool2d({ poolSize: 2 }).apply(b)));
    const f2 = L.dense({ units: 3, name: "d2" }).apply(L.flatten().apply(L.avgPool2d({ poolSize: 2 }).apply(b)));
    const m = fovea.model({ inputs: inp, outputs: L.add().apply(f1, f2), seed: 4, name: "siamese" });
    m.tie([[["c1", "kernel"], ["c2", "kernel"]], [["c1", "bias"], ["c2", "bias"]], [["d1", "kernel"], ["d2", "kernel"]], ...(bn ? [[["n1", "gamma"], ["n2", "gamma"]], [["n1", "movingMean"], ["n2", "movingMean"]]] as [string, string][][] : [])]);
    return m;
  };
  const data = () => ({ x: Float32Array.from({ length: 8 * 108 }, (_, i) => Math.sin(i * 1.3)), y: [0, 1, 2, 0, 1, 2, 0, 1] });
  const weights = (m: fovea.Model) => new Map(m.getWeights().map((w) => [`${w.layer}.${w.name}`, Array.from(w.values)]));

  it("ties take the first's values, count once, train as one (the copies equal bit for bit after steps) and survive save, load, toJSON and withHead", () => {
    const m = siamese();
    let w = weights(m);
    expect(w.get("c2.kernel")).toEqual(w.get("c1.kernel"));
    expect(m.countParams()).toBe(171); // the conv's 81 + 3, the dense kernel's 27 × 3, d1's and d2's own biases
    expect(m.summary()).toMatch(/trainable params: 171 .*tied \(read by several layers, counted once\): 165 in the rows' copies/);
    expect(m.ties).toEqual([[["c1", "kernel"], ["c2", "kernel"]], [["c1", "bias"], ["c2", "bias"]], [["d1", "kernel"], ["d2", "kernel"]]]);
    m.compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam({ lr: 0.01 }), regularizer: { l2: 1e-3 }, clipNorm: 1 });
    const { x, y } = data();
    for (let s = 0; s < 3; s++) m.trainOnBatch(x, y);
    w = weights(m);
    expect(w.get("c2.kernel")).toEqual(w.get("c1.kernel"));
    expect(w.get("d2.kernel")).toEqual(w.get("d1.kernel"));
    const bytes = m.save();
    expect(new DataView(bytes.buffer).getUint32(8, true)).toBe(3); // version 3: a fovea that cannot tie refuses it
    const back = fovea.loadModel(bytes);
    expect(back.ties).toEqual(m.ties);
    expect(Array.from(back.predict(x))).toEqual(Array.from(m.predict(x)));
    const fresh = fovea.modelFromTopology(JSON.stringify(fovea.toJSON(m)), { seed: 9 });
    expect(fresh.ties).toEqual(m.ties);
    expect(weights(fresh).get("c2.kernel")).toEqual(weights(fresh).get("c1.kernel"));
    const tuned = m.withHead("c2", (f) => L.dense({ units: 2, name: "new" }).apply(L.flatten().apply(f)));
    expect(tuned.ties).toEqual([[["c1", "kernel"], ["c2", "kernel"]], [["c1", "bias"], ["c2", "bias"]]]);
    // a file whose tied copies differ (its CRC made to match) is a FormatError naming them
    const json = JSON.parse(new TextDecoder().decode(bytes.subarray(16, 16 + new DataView(bytes.buffer).getUint32(12, true)))) as fovea.ModelJSON;
    const at = 16 + new DataView(bytes.buffer).getUint32(12, true), w0 = at + ((4 - (at % 4)) % 4);
    const torn = bytes.slice(), dv = new DataView(torn.buffer), off = w0 + 4 * json.params.find((p) => p.layer === "c2" && p.name === "kernel")!.offset;
    dv.setFloat32(off, dv.getFloat32(off, true) + 1, true);
    dv.setUint32(torn.length - 4, crc32(torn.subarray(0, torn.length - 4)), true);
    expect(() => fovea.loadModel(torn, { source: "torn.fovea" })).toThrow(/torn.fovea: ties: "c1".kernel, "c2".kernel are tied \(one tensor\) but hold different values/);
    // a model without ties is still written as version 2
    const plain = fovea.sequential([L.dense({ units: 2 })], { inputShape: [3] });
    expect(new DataView(plain.save().buffer).getUint32(8, true)).toBe(2);
    for (const k of [m, back, fresh, tuned, plain]) k.free();
  });

  it("setWeights writes every copy; freezing part of a group, per-layer penalties that differ, a tied batch norm's statistics in training and bad groups are refused, changing nothing", () => {
    const m = siamese();
    const k = m.getWeights().find((w) => w.layer === "c2" && w.name === "kernel")!;
    m.setWeights([{ layer: "c2", name: "kernel", values: k.values.map((v) => v * 2) }]);
    expect(weights(m).get("c1.kernel")).toEqual(Array.from(k.values.map((v) => v * 2)));
    expect(() => m.setWeights([{ layer: "c1", name: "kernel", values: k.values }, { layer: "c2", name: "kernel", values: k.values.map((v) => v + 1) }])).toThrow(/c1.kernel and c2.kernel are one tensor \(tied\) and are given different values \(at 0/);
    expect(() => m.freeze(["c1"])).toThrow(/freeze: "c1".kernel and "c2".kernel are one tensor .*freeze "c1" and "c2" together, or none of them/);
    expect(m.params.some((p) => p.frozen)).toBe(false);
    m.freeze(["c1", "c2"]);
    m.unfreeze();
    expect(() => m.compile({ loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd(), regularizer: { l2: 1e-3, layers: { d1: 2 } } })).toThrow(/regularizer: "d1".kernel would take l1 0, l2 0.002, "d2".kernel would take l1 0, l2 0.001, but they are one tensor/);
    expect(() => m.tie([[["c1", "kernel"], ["d1", "kernel"]]])).toThrow(/tied already|two groups/);
    expect(() => m.tie([[["d1", "bias"], ["nope", "bias"]]])).toThrow(/has no parameter "nope".bias/);
    expect(() => m.tie([[["d1", "bias"]]])).toThrow(/a group ties two parameters or more/);
    const inp = fovea.input([4]);
    const two = fovea.model({ inputs: inp, outputs: L.add().apply(L.dense({ units: 2, name: "a" }).apply(inp), L.dense({ units: 2, name: "b" }).apply(L.dense({ units: 3, name: "c" }).apply(inp))) });
    expect(() => two.tie([[["a", "kernel"], ["b", "kernel"]]])).toThrow(/"a".kernel and "b".kernel differ in shape \(\[4, 2\], \[3, 2\]\)/);
    // a tie after training would leave each copy its own optimiser state (or, under per-layer L2 factors that differ, its own penalty)
    const fresh = () => {
      const inp = fovea.input([4]);
      return fovea.model({ inputs: inp, outputs: L.add().apply(L.dense({ units: 2, name: "a" }).apply(inp), L.dense({ units: 2, name: "b" }).apply(inp)), seed: 5 });
    };
    const t = fresh();
    t.compile({ batchSize: 2, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam() });
    t.trainOnBatch(Float32Array.from([1, 2, 3, 4, 4, 3, 2, 1]), [0, 1]);
    const was = weights(t);
    expect(() => t.tie([[["a", "kernel"], ["b", "kernel"]]])).toThrow(/tie: "a".kernel has been trained \(its optimiser keeps state for it, which each copy would keep apart\): tie before training, or compile\(\{ optimizer \}\) with a new optimiser first/);
    expect(weights(t)).toEqual(was);
    expect(t.ties).toEqual([]);
    t.compile({ optimizer: fovea.train.adam() });
    t.tie([[["a", "kernel"], ["b", "kernel"]]]);
    const r = fresh();
    r.compile({ loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd(), regularizer: { l2: 1e-3, layers: { a: 2 } } });
    expect(() => r.tie([[["a", "kernel"], ["b", "kernel"]]])).toThrow(/tie: "a".kernel would take l1 0, l2 0.002, "b".kernel would take l1 0, l2 0.001, but they are one tensor/);
    for (const q of [t, r]) q.free();
    const n = siamese(true);
    n.compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd() });
    const before = weights(n), { x, y } = data();
    expect(() => n.trainOnBatch(x, y)).toThrow(/"n1".movingMean and "n2".movingMean are one tensor of moving statistics read by several layers/);
    expect(weights(n)).toEqual(before);
    expect(n.predict(x).length).toBe(24); // it runs
    for (const q of [m, two, n]) q.free();
  });
});
