// Fine-tuning an imported PyTorch model trains as PyTorch trains it: each fixture
// (scripts/make-train-fixtures.py, PyTorch 1.13) is a small net exported before training and the
// losses of its training steps in PyTorch, then its outputs after them (eval mode: batch norms on
// their moving statistics) on a probe batch. fovea imports the export, trains it on the same batches
// with the same settings, on one thread and on two (the batch in slices), and must give those
// losses and outputs. Before the fixes they check, the batch norm's momentum was read as 0.9 (the
// probe 0.09 off), PReLU slopes, InstanceNorm / GroupNorm affines and a sequence Linear's bias did
// not train (the losses 1e-3 to 0.3 off), and a final Sigmoid went through the loss's sigmoid again
// (the first loss 11% off; a segmentation head's, past its NCHW output's permute, 3e-3 off).
import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";

const { layers: L } = fovea;

interface Fixture {
  torch: string; inputShape: number[];
  optimizer: { type: string; lr: number; momentum?: number; nesterov?: boolean; momentumForm?: "pytorch"; oneCycle?: boolean; l2?: number; weightDecay?: number; frozen?: string[]; trainable?: string[]; clip?: number };
  /** Each step's rate (PyTorch's OneCycleLR's, where the optimiser has oneCycle). */
  lrs: number[];
  loss: "ce" | "bce"; batch: number; x: number[]; y: number[]; probe: number[]; losses: number[]; probeOutput: number[];
  /** Each of PyTorch's parameters' number of values, sorted. */
  parameters: number[];
}

const CASES = ["conv_bn_sgd", "prelu_adam", "norms_adamw", "seq_linear_nesterov", "sigmoid_bce", "seg_sigmoid_bce", "seq_norms_adam", "onecycle_momentum", "layer_scale_adam", "zero_biases_sgd", "shared_sgd", "shared_adam_clip", "shared_folded_adam", "tied_autoencoder"];
// the exports of two cases as ONNX simplifiers leave them (scripts/make-train-fixtures.py SIMPLIFIED: fresh parameters of equal
// values stored once, read by every layer that had them — a batch norm's γ and running variance, two zero biases), trained as
// the case: they are parameters of their own, as in PyTorch, not a tensor shared
const SIMPLIFIED = ["conv_bn_sgd_simplified", "zero_biases_sgd_simplified"];
const load = (name: string) => ({
  bytes: new Uint8Array(readFileSync(new URL(`./fixtures/train/${name}.onnx`, import.meta.url))),
  fx: JSON.parse(readFileSync(new URL(`./fixtures/train/${name.replace(/_simplified$/, "")}.json`, import.meta.url), "utf8")) as Fixture,
});

/** max |got − want| over max |want|: a tensor's difference relative to its scale. */
const rel = (got: ArrayLike<number>, want: ArrayLike<number>) => {
  let d = 0, s = 0;
  for (let i = 0; i < want.length; i++) {
    d = Math.max(d, Math.abs(got[i]! - want[i]!));
    s = Math.max(s, Math.abs(want[i]!));
  }
  return d / s;
};

let backends: fovea.Backend[] = [];
/** A model on each backend, made first, whose predictions must not change: a kernel writing where it should not shows there. */
let sentinels: { check(): void }[] = [];
beforeAll(async () => {
  backends = [await fovea.loadBackend("simd", "option", 16), await fovea.loadBackend("simd-mt", "option", 16, 2)];
  sentinels = backends.map((be) => {
    const m = fovea.withBackend(be, () => fovea.zoo.lenet5({ seed: 3 }));
    const x = Float32Array.from({ length: 2 * m.inputSize }, (_, i) => Math.sin(i * 0.37)), want = m.predict(x);
    return { check: () => expect(Array.from(m.predict(x))).toEqual(Array.from(want)) };
  });
});
afterAll(() => {
  for (const s of sentinels) s.check();
});

// with PyTorch modules frozen (requires_grad False): their fovea layers frozen (an imported layer is named "/<module>/<op>#k")
const FROZEN = ["frozen_backbone", "frozen_first"];

describe.each([1, 2])("fine-tuning PyTorch's exports on %i thread(s) gives PyTorch's losses and outputs", (threads) => {
  it.each([...CASES, ...FROZEN, ...SIMPLIFIED])("%s", async (name) => {
    const { bytes, fx } = load(name);
    const be = backends[threads - 1]!;
    expect(be.threads).toBe(threads);
    // constants PyTorch trains whose names do not say so: named in importOnnx's trainable
    const m = await fovea.importOnnx(bytes, { source: `${name}.onnx`, backend: be, ...(fx.optimizer.trainable ? { trainable: fx.optimizer.trainable } : {}) });
    const o = fx.optimizer, T = fovea.train;
    const optimizer = o.type === "sgd" ? T.sgd({ lr: o.lr, momentum: o.momentum ?? 0, nesterov: o.nesterov ?? false, ...(o.momentumForm ? { momentumForm: o.momentumForm } : {}) })
      : o.type === "adam" ? T.adam({ lr: o.lr }) : T.adamw({ lr: o.lr, weightDecay: o.weightDecay! });
    m.compile({ batchSize: fx.batch, loss: fx.loss === "ce" ? "softmaxCrossEntropy" : "sigmoidCrossEntropy", optimizer, ...(o.l2 ? { regularizer: { l2: o.l2 } } : {}), ...(o.clip ? { clipNorm: o.clip } : {}) });
    if (o.frozen) {
      const names = m.nodes.map((n) => n.layer.name).filter((l) => o.frozen!.some((f) => l.startsWith(`/${f}/`)));
      expect(names.length).toBe(o.frozen.length);
      m.freeze(names);
    }
    const per = fx.inputShape.reduce((a, b) => a * b, 1), yPer = fx.loss === "ce" ? 1 : m.outputSize, x = Float32Array.from(fx.x);
    // evaluate's loss reads what training's does (the logits before a Sigmoid head, past an NCHW output's permute): the first batch's, before any step
    if (fx.loss === "bce") expect(Math.abs(m.evaluate(x.subarray(0, fx.batch * per), fx.y.slice(0, fx.batch * yPer)).loss - fx.losses[0]!) / fx.losses[0]!).toBeLessThan(1e-5);
    const losses = fx.losses.map((_, s) => m.trainOnBatch(x.subarray(s * fx.batch * per, (s + 1) * fx.batch * per), fx.y.slice(s * fx.batch * yPer, (s + 1) * fx.batch * yPer), o.oneCycle ? { lr: fx.lrs[s]! } : {}));
    losses.forEach((l, s) => expect(Math.abs(l - fx.losses[s]!) / Math.abs(fx.losses[s]!), `${name}: step ${s + 1}'s loss ${l}, PyTorch's ${fx.losses[s]}`).toBeLessThan(1e-5));
    const out = m.predict(Float32Array.from(fx.probe));
    expect(rel(out, fx.probeOutput), `${name}: the trained net's outputs on the probe batch`).toBeLessThan(1e-4);
    // a module run twice: its layers' copies stay one tensor, bit for bit
    for (const p of m.params.filter((q) => q.tied?.[0] === q)) for (const q of p.tied!) expect(Array.from(m.backend.heap.f32(q.w, q.size))).toEqual(Array.from(m.backend.heap.f32(p.w, p.size)));
    m.free();
    sentinels[threads - 1]!.check();
  });
});

describe("what fine-tuning trains in an imported model", () => {
  it.each([...CASES, ...SIMPLIFIED, "buffered", "small_norms", "norms_unfolded"])("%s: PyTorch's parameters (their sizes), and nothing else", async (name) => {
    const { bytes, fx } = load(name);
    const m = await fovea.importOnnx(bytes, { source: `${name}.onnx`, backend: backends[0]!, ...(fx.optimizer?.trainable ? { trainable: fx.optimizer.trainable } : {}) });
    // (a tensor several layers read, tied, once)
    expect(m.params.filter((p) => p.spec.trainable && (!p.tied || p.tied[0] === p)).map((p) => p.size).sort((a, b) => a - b)).toEqual(fx.parameters);
    m.free();
  });

  it("trainable names constants PyTorch trains whose names do not say so (ConvNeXt's layer_scale, one of them an Identity of the other's stored values): by name or by a test; without it they stay fixed; a name that is no initializer, or one fovea does not train as one tensor, is a FormatError naming it and its readers", async () => {
    const { bytes } = load("layer_scale_adam"), src = "ls.onnx";
    const sizes = async (trainable?: fovea.OnnxImportOptions["trainable"]) => {
      const m = await fovea.importOnnx(bytes, { source: src, backend: backends[0]!, ...(trainable ? { trainable } : {}) });
      const got = m.params.filter((p) => p.spec.trainable).map((p) => `${p.spec.name}[${p.size}]`).sort();
      m.free();
      return got;
    };
    const base = ["bias[4]", "bias[4]", "bias[5]", "kernel[108]", "kernel[144]", "kernel[1280]"];
    expect(await sizes()).toEqual(base.sort());
    expect(await sizes(["layer_scale", "layer_scale2", "offset"])).toEqual([...base, "scale[4]", "scale[4]", "shift[4]"].sort());
    // a test of a name: truthy is true; the Identity's output (layer_scale2) is a parameter of its own
    expect(await sizes(((n: string) => n.match(/^layer_scale/)) as unknown as (n: string) => boolean)).toEqual([...base, "scale[4]", "scale[4]"].sort());
    expect(await sizes(["layer_scale2"])).toEqual([...base, "scale[4]"].sort());
    // names PyTorch's rule covers already change nothing
    expect(await sizes(["c1.weight", "fc.bias"])).toEqual(base.sort());
    const fails = (trainable: unknown, file: Uint8Array = bytes) => fovea.importOnnx(file, { source: src, backend: backends[0]!, trainable: trainable as string[] }).then(() => "imported", (e: Error) => `${e.name}: ${e.message}`);
    const rule = "trainable takes constants that one Mul or Add reads, to scale or shift data by one value, one a channel or one a last index (a layer's weights train, or not, as their layer does)";
    expect(await fails(["layer_scale", "gamma", "beta"])).toBe(`FormatError: ${src}: trainable: "gamma", "beta" are not initializers of the file (nor an Identity of one)`);
    expect(await fails("layer_scale")).toBe(`ConfigError: importOnnx: trainable must be initializer names (strings) or a function of one, got "layer_scale"`);
    expect(await fails(() => { throw new Error("no"); })).toBe(`ConfigError: importOnnx: trainable threw on "layer_scale": no`);
    const { onnx } = (await import("node:module")).createRequire(import.meta.url)("onnx-proto") as { onnx: { ModelProto: { encode(m: object): { finish(): Uint8Array }; decode(b: Uint8Array): { graph: { node: { opType: string; input: string[]; output: string[]; name: string }[] } } } } };
    const edited = (edit: (nodes: { opType: string; input: string[]; output: string[]; name: string }[]) => void) => {
      const model = onnx.ModelProto.decode(bytes);
      edit(model.graph.node);
      return onnx.ModelProto.encode(model).finish();
    };
    // the first layer scale read by a Div instead of a Mul: x / layer_scale trains in PyTorch, not in fovea
    const div = edited((ns) => { ns.find((n) => n.name === "/Mul")!.opType = "Div"; });
    expect(await fails(["layer_scale"], div)).toBe(`FormatError: ${src}: trainable: "layer_scale" is read by Div "/Mul": ${rule}`);
    // the first layer scale read by both Muls (the Identity's reader rewired to it), or by a Mul and an Add (a scale and a
    // shift): its values all 0.5, as a simplifier merges equal initializers, so each reader's layer has its own parameter
    // (the shared fixtures tie a tensor of other values)
    for (const [edit, layers] of [[(ns: { name: string; input: string[] }[]) => { ns.find((n) => n.name === "/Mul_1")!.input[1] = "layer_scale"; }, ["/Mul#1", "/Mul_1#5"]],
      [(ns: { name: string; input: string[] }[]) => { ns.find((n) => n.name === "/Add")!.input[1] = "layer_scale"; }, ["/Mul#1", "/Add#2"]]] as const) {
      const m = await fovea.importOnnx(edited(edit), { source: src, backend: backends[0]!, trainable: ["layer_scale"] });
      expect(m.ties).toEqual([]);
      expect(m.params.filter((p) => p.spec.trainable && p.size === 4 && layers.some((l) => m.nodes.some((n) => n.layer.name === l && n.params.includes(p)))).length).toBe(2);
      m.free();
    }
    // one reader that trains and one that does not (a Sub of the offset beside its Add)
    const both = edited((ns) => {
      const add = ns.findIndex((n) => n.name === "/Add");
      ns.splice(add + 1, 0, { ...ns[add]!, opType: "Sub", name: "/Sub", input: ["/Add_output_0", "offset"], output: ["/Sub_output_0"] });
      ns.find((n) => n.name === "/Relu")!.input[0] = "/Sub_output_0";
    });
    expect(await fails(["offset"], both)).toMatch(new RegExp(`^FormatError: ${src}: trainable: "offset" is read by Sub "/Sub": `));
    // a registered buffer added along a sequence's features trains once named (an Add by one value a last index)
    const buffered = load("buffered").bytes;
    const m = await fovea.importOnnx(buffered, { backend: backends[0]!, trainable: ["offset"] });
    expect(m.params.filter((p) => p.spec.trainable).map((p) => p.size).sort((a, b) => a - b)).toEqual([...load("buffered").fx.parameters, 8].sort((a, b) => a - b));
    m.free();
  });

  it("PyTorch's parameters, and nothing else: slopes, affines and biases are trainable, constants of the export are not", async () => {
    const trainable = async (name: string) => {
      const m = await fovea.importOnnx(load(name).bytes, { backend: backends[0]! });
      const names = m.params.filter((p) => p.spec.trainable).map((p) => `${p.spec.name}[${p.size}]`).sort();
      m.free();
      return names;
    };
    // conv kernels and biases, the two PReLUs' slopes (4 per channel and 1), the linear layer
    expect(await trainable("prelu_adam")).toEqual(["bias[4]", "bias[4]", "bias[5]", "kernel[108]", "kernel[144]", "kernel[320]", "scale[1]", "scale[4]"].sort());
    // InstanceNorm2d(affine): its scale and shift (4 each); GroupNorm: its weight and bias after the groups (6 each);
    // InstanceNorm2d without an affine: nothing; the layer norms inside them keep γ = 1, β = 0
    const norms = await trainable("norms_adamw");
    expect(norms.filter((n) => n.startsWith("scale") || n.startsWith("shift"))).toEqual(["scale[4]", "scale[6]", "shift[4]", "shift[6]"]);
    expect(norms.some((n) => n.startsWith("gamma") || n.startsWith("beta"))).toBe(false);
  });

  it("one tensor two layers hold differently (a Linear's weight used again transposed) runs, and training it is refused, changing nothing, unless both layers are frozen; save and load keep that, and withHead while its copies hold it twice", async () => {
    const { bytes } = load("transposed_linear");
    const m = await fovea.importOnnx(bytes, { source: "tl.onnx", backend: backends[0]! });
    expect(m.ties).toEqual([]);
    expect(m.apart.map(([l, p, t]) => `${l}.${p} ${t}`)).toEqual(["/l/Gemm#0.kernel l.weight", "/MatMul#2.kernel l.weight"]);
    const x = Float32Array.from({ length: 4 * m.inputSize }, (_, i) => Math.sin(i * 0.3)), y = [0, 1, 2, 3];
    const before = m.predict(x);
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam() });
    const refused = /training: "\/l\/Gemm#0".kernel \(the file's "l.weight"\), "\/MatMul#2".kernel \(the file's "l.weight"\): one tensor that these layers hold differently .*; freeze "\/l\/Gemm#0", "\/MatMul#2" to train the rest/;
    expect(() => m.trainOnBatch(x, y)).toThrow(refused);
    expect(Array.from(m.predict(x))).toEqual(Array.from(before));
    const back = fovea.withBackend(backends[0]!, () => fovea.loadModel(m.save()));
    expect(back.apart).toEqual(m.apart);
    back.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.adam() });
    expect(() => back.trainOnBatch(x, y)).toThrow(refused);
    // withHead: the copies keep the mark while two layers hold the tensor; the first alone trains
    const head = (at: string) => fovea.withBackend(backends[0]!, () => m.withHead(at, (f) => L.dense({ units: 2, name: "new" }).apply(f)));
    const both = head("/MatMul#2");
    expect(both.apart).toEqual(m.apart);
    const first = head("/l/Gemm#0");
    expect(first.apart).toEqual([]);
    both.free();
    first.free();
    m.freeze(["/l/Gemm#0", "/MatMul#2"]);
    m.trainOnBatch(x, y); // the rest (the biases, the last Gemm) trains
    expect(Array.from(m.predict(x))).not.toEqual(Array.from(before));
    m.free();
    back.free();
  });

  it("a training step whose batch norm sees one value per channel is refused before anything changes (PyTorch refuses it too)", async () => {
    const m = fovea.withBackend(backends[0]!, () => fovea.sequential([fovea.layers.dense({ units: 4 }), fovea.layers.batchNorm({ name: "bn" }), fovea.layers.dense({ units: 3 })], { inputShape: [5], seed: 1 }));
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.1 }) });
    const before = m.getWeights().map((w) => Float32Array.from(w.values));
    const x = new Float32Array(5 * 9).map((_, i) => Math.sin(i));
    expect(() => m.trainOnBatch(x.subarray(0, 5), [1])).toThrow(/batchNorm "bn" normalises each channel over the batch, and 1 example of \[4\] gives it one value per channel/);
    // fit's last batch would hold one example (9 in batches of 4): refused before the first
    expect(() => m.fit(x, [0, 1, 2, 0, 1, 2, 0, 1, 2], { batchSize: 4 })).toThrow(/fit: a batch of 1 \(9 examples in batches of 4\): batchNorm "bn" .*: pass a batchSize that leaves no last batch of one example \(3 or 5, say\), or leave an example out/);
    m.getWeights().forEach((w, i) => expect(Array.from(w.values)).toEqual(Array.from(before[i]!)));
    expect(m.step).toBe(0);
    m.fit(x.subarray(0, 40), [0, 1, 2, 0, 1, 2, 0, 1], { batchSize: 4 }); // batches of 4: trains
    m.free();
  });
});
