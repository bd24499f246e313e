// Options of the public API that were accepted and then ignored, read as another value, or left to
// fail later: each is refused where it is given, with a ConfigError (or FormatError for a file)
// naming the call, the option and the value, and nothing changes.
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { toyImages } from "./helpers/models.js";

const { layers: L, train: T, data: D } = fovea;

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

/** Each thunk throws a ConfigError matching its message. */
function refused(cases: [() => unknown, RegExp | string][]): void {
  for (const [f, msg] of cases) {
    expect(f).toThrow(msg);
    expect(f).toThrow(fovea.ConfigError);
  }
}

describe("options refused where they are given", () => {
  it("optimisers and schedules: out-of-range numbers, non-booleans and misspelt keys", () => {
    refused([
      [() => T.adam({ epsilon: NaN }), "adam: epsilon must be a finite number > 0, got NaN"],
      [() => T.adam({ epsilon: 0 }), /adam: epsilon must be a finite number > 0, got 0/],
      [() => T.adamw({ weightDecay: -5 }), /adamw: weightDecay must be a finite number >= 0, got -5/],
      [() => T.adam({ beta2: 1 }), "adam: beta2 must be in [0, 1), got 1"],
      [() => T.rmsprop({ rho: 3 }), "rmsprop: rho must be in [0, 1), got 3"],
      [() => T.adadelta({ rho: NaN }), "adadelta: rho must be in [0, 1), got NaN"],
      [() => T.adagrad({ epsilon: 0 }), /adagrad: epsilon must be a finite number > 0, got 0/],
      [() => T.sgd({ momentum: 0.9, nesterov: "yes" as unknown as boolean }), 'sgd: nesterov must be true or false, got "yes"'],
      [() => T.sgd({ momentum: "0.9" as unknown as number }), 'sgd: momentum must be in [0, 1), got "0.9"'],
      [() => T.stepDecay(0.1, { every: 1, gama: 0.5 } as unknown as { every: number }), 'stepDecay: unknown option "gama"'],
      [() => T.stepDecay(0.1, { every: 1, gamma: -2 }), "schedule: gamma must be > 0, got -2"],
      [() => T.cosineDecay(0.1, { totalSteps: 10, minlr: 0.01 } as unknown as { totalSteps: number }), 'cosineDecay: unknown option "minlr"'],
      [() => T.cosineDecay(0.1, { totalSteps: 10, minLr: 0.2 }), "schedule: minLr must be in [0, lr 0.1], got 0.2"],
      [() => T.oneCycle(0.1, { totalSteps: 100, pct_start: 0.3 } as unknown as { totalSteps: number }), 'oneCycle: unknown option "pct_start"'],
      [() => T.oneCycle(0.1, { totalSteps: 100, pctStart: "0.3" as unknown as number }), 'schedule: pctStart must be between 0 and 1, got "0.3"'],
      [() => T.exponentialDecay(0.1, { rate: 0, steps: 10 }), "schedule: rate must be > 0, got 0"],
      [() => T.warmup(5, -1), "schedule: the rate after the warm-up must be > 0, got -1"],
    ]);
  });

  it("data: splits and slices that leave nothing or run past the examples, unknown splits, augmenter fill and flip", () => {
    const { x, y } = toyImages(16, [2, 2, 1], 2, 1);
    const d = D.makeDataset(x, Int32Array.from(y), [2, 2, 1]);
    refused([
      [() => D.split(d, 0.01, new fovea.Rng(1)), "split: a fraction of 0.01 of 16 examples leaves no validation examples (it takes 0)"],
      [() => D.split(d, 0.99, new fovea.Rng(1)), "split: a fraction of 0.99 of 16 examples leaves no training examples (it takes 16)"],
      [() => D.slice(d, 10, 100), "slice: examples [10, 100) of 16: need whole numbers 0 <= start <= end <= 16"],
      [() => D.slice(d, 5, 2), "slice: examples [5, 2) of 16"],
      [() => D.slice(d, 0.5, 2), "slice: examples [0.5, 2) of 16"],
    ]);
    const s = D.split(d, 0.25, new fovea.Rng(1));
    expect([s.train.n, s.validation.n]).toEqual([12, 4]);
    expect(D.slice(d, 16, 16).n).toBe(0);
    // the loaders name the splits they know instead of reading another file set
    return Promise.all([
      expect(D.loadCifar10("/nonexistent", "training" as "train")).rejects.toThrow('loadCifar10: split must be "train" or "test", got "training"'),
      expect(D.loadMnist("/nonexistent", "test" as "t10k")).rejects.toThrow('loadMnist: split must be "train" or "t10k" (the test set\'s files are t10k-*), got "test"'),
      expect(D.loadFashionMnist("test" as "t10k")).rejects.toThrow(/loadFashionMnist: split must be "train" or "t10k"/),
    ]).then(() => {
      const be = fovea.getBackend();
      refused([
        [() => D.augmenter(be, [28, 28, 1], { fill: NaN }), "augment: fill must be a finite number, got NaN"],
        [() => D.augmenter(be, [28, 28, 1], { flip: "no" as unknown as boolean }), 'augment: flip must be true or false, got "no"'],
      ]);
    });
  });

  it("seeds: only whole numbers from 0 to 2³² − 1 (1.7 and 2³² + 1 were seed 1)", () => {
    refused([
      [() => new fovea.Rng(1.7), "Rng: seed must be a whole number from 0 to 4294967295, got 1.7"],
      [() => new fovea.Rng(2 ** 32 + 1), "got 4294967297"],
      [() => new fovea.Rng(-1), "got -1"],
      [() => fovea.zoo.lenet5({ seed: 1.7 }), "Rng: seed must be a whole number from 0 to 4294967295, got 1.7"],
    ]);
    expect(new fovea.Rng(2 ** 32 - 1).nextU32()).toBe(new fovea.Rng(2 ** 32 - 1).nextU32());
  });

  it("zoo, fit and model options: classes, softmax, shuffle, verbose; class names one per output, in memory and in a file", () => {
    refused([
      [() => fovea.zoo.lenet5({ classes: 0 }), "zoo.lenet5: classes must be a whole number >= 1, got 0"],
      [() => fovea.zoo.resnet18({ classes: 2.5 }), "zoo.resnet18: classes must be a whole number >= 1, got 2.5"],
      [() => fovea.zoo.lenet5({ softmax: "no" as unknown as boolean }), 'zoo.lenet5: softmax must be true or false, got "no"'],
    ]);
    const { x, y } = toyImages(8, [1, 1, 4], 2, 4);
    const m = fovea.sequential([L.dense({ units: 2 })], { inputShape: [4], seed: 1 });
    m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.1 }) });
    const w = Array.from(m.backend.heap.f32(m.params[0]!.w, 8));
    refused([
      [() => m.fit(x, y, { shuffle: "no" as unknown as boolean }), 'fit: shuffle must be true or false, got "no"'],
      [() => m.fit(x, y, { verbose: "yes" as unknown as boolean }), 'fit: verbose must be true, false or a function taking each epoch\'s line, got "yes"'],
      [() => (m.classes = ["x", "y", "z"]), `model "${m.name}": classes must be null or a list of 2 names, one per output, got ["x","y","z"] (3 entries)`],
      [() => (m.classes = [1, 2] as unknown as string[]), "classes must be null or a list of 2 names"],
    ]);
    expect(Array.from(m.backend.heap.f32(m.params[0]!.w, 8))).toEqual(w);
    expect(m.step).toBe(0);
    expect(m.classes).toBeNull();
    const names = ["no", "yes"];
    m.classes = names;
    names[0] = "changed";
    expect(m.classes).toEqual(["no", "yes"]); // a copy
    // a file whose class list does not match its outputs is refused by name (loadModel and
    // modelFromTopology build through the same code)
    const bytes = m.save();
    expect(fovea.loadModel(bytes).classes).toEqual(["no", "yes"]);
    expect(() => fovea.modelFromTopology({ ...fovea.toJSON(m), classes: ["a", "b", "c"] }, { source: "three.json" })).toThrow(
      "three.json: classes must be a list of names, one per output: 3 entries for 2 outputs");
    expect(() => fovea.modelFromTopology({ ...fovea.toJSON(m), classes: ["a", "b", "c"] })).toThrow(fovea.FormatError);
    expect(() => fovea.loadModel(bytes, { sorce: "x" } as unknown as { source: string })).toThrow('loadModel: unknown option "sorce"');
    expect(() => fovea.modelFromTopology(fovea.toJSON(m), { sed: 1 } as unknown as { seed: number })).toThrow('modelFromTopology: unknown option "sed"');
    m.free();
  });

  it("importOnnx: a layout other than NCHW or NHWC is the caller's ConfigError, showing the value", async () => {
    const bytes = new Uint8Array(readFileSync(new URL("./fixtures/onnx/conv_bn_pool.onnx", import.meta.url)));
    await expect(fovea.importOnnx(bytes, { inputLayout: "nchw" as "NCHW" })).rejects.toThrow('importOnnx: inputLayout must be "NCHW" or "NHWC", got "nchw"');
    await expect(fovea.importOnnx(bytes, { outputLayout: 1 as unknown as "NCHW" })).rejects.toThrow(fovea.ConfigError);
  });
});

describe("options refused where they are given: layers, graphs, agents, loaders (a second review)", () => {
  it("a sequential model whose build fails changes nothing: a retry with a good input shape builds it", () => {
    const m = fovea.sequential([{ type: "conv2d", filters: 2, kernelSize: 3 }, { type: "maxPool2d", poolSize: 2 }]);
    expect(() => m.compile({ inputShape: [3, 3, 1] })).toThrow(fovea.ShapeError); // the pool gets 1×1
    m.compile({ inputShape: [6, 6, 1] }); // was: conv2d "…" is already connected
    expect(m.outputShape).toEqual([2, 2, 2]);
    m.free();
  });

  it("booleans are booleans (a truthy string gave a bias, counted the padding, froze the layers), names non-empty strings, input's options checked", () => {
    refused([
      [() => L.dense({ units: 3, useBias: "false" as unknown as boolean }), /dense "[^"]+": useBias must be true or false, got "false"/],
      [() => L.avgPool2d({ poolSize: 2, padding: "same", countIncludePad: "no" as unknown as boolean }), /avgPool2d "[^"]+": countIncludePad must be true or false, got "no"/],
      [() => fovea.input([4], { nmae: "x" } as unknown as { name: string }), 'input: unknown option "nmae"'],
      [() => fovea.input([4], { name: "" }), 'input: name must be a non-empty string, got ""'],
      [() => fovea.sequential([L.dense({ units: 2 })], { inputShape: [4], name: 5 as unknown as string }), "model: name must be a non-empty string, got 5"],
    ]);
    const base = fovea.sequential([L.dense({ units: 3, name: "feat" }), L.dense({ units: 2 })], { inputShape: [4], seed: 1 });
    expect(() => base.withHead("feat", (f) => L.dense({ units: 2 }).apply(f), { freeze: "no" as unknown as boolean })).toThrow('withHead: freeze must be true or false, got "no"');
    return expect(fovea.exportOnnx(base, { name: { a: 1 } as unknown as string })).rejects.toThrow('exportOnnx: name must be a non-empty string, got {"a":1}').finally(() => base.free());
  });

  it("DQN: a non-finite observation is refused before it is stored; a replay memory that cannot be allocated leaves the model as it was; plain arrays act", () => {
    const m = fovea.sequential([L.dense({ units: 8, activation: "relu" }), L.dense({ units: 2 })], { inputShape: [4], seed: 1 });
    const opt = T.sgd({ lr: 0.5 });
    m.compile({ loss: "mse", optimizer: opt });
    expect(() => new fovea.rl.DQN(m, { replaySize: 1e10 })).toThrow(/DQN: a replay memory of 10000000000 transitions of 4-value observations .* cannot be allocated; give a smaller replaySize/);
    expect(m.loss).toBe("mse");
    expect(m.optimizer).toBe(opt);
    const agent = new fovea.rl.DQN(m, { batchSize: 2, learningStarts: 2, replaySize: 8, seed: 1 });
    const ok = new Float32Array([0.1, 0.2, 0.3, 0.4]);
    expect(() => agent.act(new Float32Array([NaN, 0, 0, 0]), 0)).toThrow("DQN.act: observation value 0 is NaN; observations must be finite");
    expect(() => agent.observe(ok, 0, 1, [0, Infinity, 0, 0], false)).toThrow("DQN.observe: observation value 1 is Infinity");
    expect(agent.steps).toBe(0);
    expect(agent.act([0.1, 0.2, 0.3, 0.4], 0)).toBe(agent.act(ok, 0));
    agent.free();
    m.free();
  });

  it("deepqlearn.Brain refuses a start_learn_threshold it would never reach; strongestUnits a bad count; loaders a bad seed as the caller's ConfigError", () => {
    refused([
      [() => new fovea.deepqlearn.Brain(2, 2, { experience_size: 10, start_learn_threshold: 50 }), "deepqlearn.Brain: start_learn_threshold 50 must be below experience_size 10 (the brain would never learn)"],
    ]);
    const m = fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3, name: "c" })], { inputShape: [5, 5, 1], seed: 1 });
    const x = new Float32Array(25).fill(0.5);
    for (const count of [-1, NaN, 0, 2.5, "2"]) expect(() => fovea.inspect.strongestUnits(m, x, "c", count as number)).toThrow(/strongestUnits \(model "[^"]+"\): count must be a whole number >= 1 \(or Infinity\)/);
    expect(fovea.inspect.strongestUnits(m, x, "c", 2)).toHaveLength(2);
    const bytes = m.save();
    refused([
      [() => fovea.loadModel(bytes, { seed: -1 }), "loadModel: seed must be a whole number from 0 to 4294967295, got -1"],
      [() => fovea.importConvnetjs("{}", { seed: 1.5 }), "importConvnetjs: seed must be a whole number from 0 to 4294967295, got 1.5"],
    ]);
    m.compile({ batchSize: 1, loss: "mse", optimizer: T.sgd({ lr: 0.1 }) });
    const ckpt = T.encodeCheckpoint(T.checkpointOf(m, { epoch: 0, batch: 0, batchSize: 1, order: new Int32Array(1), lossSum: 0, correct: 0, seconds: 0, history: [] }, {}));
    refused([
      [() => T.readCheckpoint(ckpt, { sorce: "x" } as unknown as { source: string }), 'readCheckpoint: unknown option "sorce"'],
      [() => T.readCheckpoint(ckpt, { seed: -1 }), "readCheckpoint: seed must be a whole number from 0 to 4294967295, got -1"],
    ]);
    m.free();
  });
});

describe("options that did nothing are refused", () => {
  it("resize's cubic options in another mode, initialisers' stray keys and empty ranges, exportConvnetjs decay entries naming no layer or bad multipliers", () => {
    refused([
      [() => L.resize({ size: [4, 4], mode: "linear", cubicA: -0.5 }), /resize "[^"]+": cubicA is an option of mode "cubic", the mode is "linear"/],
      [() => L.resize({ size: [4, 4], mode: "nearest", excludeOutside: true }), /excludeOutside is an option of mode "cubic", the mode is "nearest"/],
      [() => L.dense({ units: 2, kernelInitializer: { type: "gaussian", std: 1, stdev: 3 } as never }), /unknown initializer \{"type":"gaussian","std":1,"stdev":3\}/],
      [() => L.dense({ units: 2, kernelInitializer: { type: "uniform", min: 1, max: -1 } }), /unknown initializer .*"min":1,"max":-1/],
      [() => L.dense({ units: 2, kernelInitializer: { type: "gaussian", std: -1 } }), /unknown initializer/],
    ]);
    expect(L.resize({ size: [4, 4], mode: "cubic", cubicA: -0.5, excludeOutside: true }).config()).toMatchObject({ cubicA: -0.5, excludeOutside: true });
    const m = fovea.sequential([L.dense({ units: 3, name: "d1" }), L.dense({ units: 2, name: "d2" }), L.softmax()], { inputShape: [4], seed: 1 });
    refused([
      [() => fovea.exportConvnetjs(m, { decay: { nope: 2 } }), `exportConvnetjs: model "${m.name}": decay names layer "nope", which the model does not have`],
      [() => fovea.exportConvnetjs(m, { decay: { d1: "0" as unknown as number } }), 'decay of layer "d1" must be a multiplier >= 0 or { l1, l2 } of them, got "0"'],
      [() => fovea.exportConvnetjs(m, { decay: { d1: { l2: -1 } } }), 'decay of layer "d1" must be a multiplier >= 0'],
      [() => fovea.exportConvnetjs(m, { decay: { d1: { l3: 4 } as never } }), 'decay of layer "d1" must be a multiplier >= 0'],
    ]);
    const json = fovea.exportConvnetjs(m, { decay: { d1: { l1: 0.5, l2: 2 }, d2: 3 } }) as { layers: { layer_type: string; l1_decay_mul?: number; l2_decay_mul?: number }[] };
    expect(json.layers.filter((l) => l.layer_type === "fc").map((l) => [l.l1_decay_mul, l.l2_decay_mul])).toEqual([[0.5, 2], [3, 3]]);
    m.free();
  });
});
