// deepqlearn.Brain against ConvNetJS's own (node_modules/convnetjs/build/deepqlearn.js): both
// brains start from the same weights and run on one toy environment with the same seeded
// Math.random; their network inputs, actions, reported losses and weights after the first
// learning steps must agree (ConvNetJS computes in float64, fovea in float32). Then: snapshots
// cross over both ways, bad options are ConfigErrors, and DeepTraffic's code learns.
import { createRequire } from "node:module";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { mulberry32, withRandom } from "../examples/deeptraffic/random.mjs";
import { randomPolicy, simulate, trainAgent } from "../examples/deeptraffic/run.mjs";

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any */
const cnj = require("convnetjs") as any;
// deepqlearn.js reads two globals, as in a browser page. Its policy() and backward() make a
// throwaway `new convnetjs.Vol(1, 1, n)` — which fills itself with Gaussian noise from Math.random —
// and overwrite its values right away; here those volumes start at zero instead, so ConvNetJS
// draws from Math.random only for its decisions (ε tests, random actions, replaced experiences,
// sampled batches), as fovea's Brain does. The math is unchanged.
(globalThis as any).convnetjs = Object.assign(Object.create(cnj), {
  Vol: function Vol(sx: unknown, sy: number, depth: number, c?: number) {
    return Array.isArray(sx) || c !== undefined ? new cnj.Vol(sx, sy, depth, c) : new cnj.Vol(sx, sy, depth, 0);
  },
});
(globalThis as any).cnnutil = require("convnetjs/build/util.js");
const cnjDeepq = require("convnetjs/build/deepqlearn.js") as any;

beforeAll(async () => {
  await fovea.init({ build: "simd", threads: 1 });
});

const S = 4, A = 3;

/**
 * A toy world: a point on [0, 1] chases a target that jumps when reached. State: position,
 * target, their difference, a bias; actions left / stay / right; reward 1 − |difference| (plus 1
 * on a catch). Its own generator, so only the brains draw from Math.random.
 */
function toyWorld(seed: number) {
  const rnd = mulberry32(seed);
  let p = 0.5, t = rnd();
  return {
    state: () => [p, t, p - t, 1],
    step(a: number) {
      p = Math.min(1, Math.max(0, p + (a - 1) * 0.07));
      let r = 1 - Math.abs(p - t);
      if (Math.abs(p - t) < 0.05) { r += 1; t = rnd(); }
      return r;
    },
  };
}

interface Trace { inputs: Float32Array[]; actions: number[]; losses: number[]; epsilons: number[]; snapshots: Map<number, any> }

/** Runs a brain for `steps` forward/backward pairs in the toy world; snapshots its net after the given learning-step counts. */
function run(brain: any, steps: number, snapAt: number[]): Trace {
  const world = toyWorld(5);
  const tr: Trace = { inputs: [], actions: [], losses: [], epsilons: [], snapshots: new Map() };
  let learned = 0;
  for (let i = 0; i < steps; i++) {
    const a = brain.forward(world.state());
    const n = brain.window_size;
    const input = brain.net_window[n - 1];
    tr.inputs.push(Float32Array.from(input && input.length ? input : []));
    tr.actions.push(a);
    tr.epsilons.push(brain.epsilon);
    brain.backward(world.step(a));
    if (brain.experience.length > brain.start_learn_threshold) { // ConvNetJS's condition for a learning step
      learned++;
      tr.losses.push(brain.average_loss_window.v[brain.average_loss_window.v.length - 1]);
      if (snapAt.includes(learned)) tr.snapshots.set(learned, JSON.parse(JSON.stringify(brain.value_net.toJSON())));
    }
  }
  return tr;
}

/** Every weight of a snapshot, in layer order. */
function weightsOf(json: { layers: any[] }): number[] {
  const out: number[] = [];
  for (const l of json.layers) {
    for (const f of l.filters ?? []) for (let i = 0; i < f.sx * f.sy * f.depth; i++) out.push(f.w[i]);
    if (l.biases) for (let i = 0; i < l.biases.depth; i++) out.push(l.biases.w[i]);
  }
  return out;
}

function compareRuns(opt: () => object, steps: number, snapAt: number[]) {
  // the same initial weights: ConvNetJS draws them, fovea loads its snapshot
  const ref = withRandom(mulberry32(1), () => new cnjDeepq.Brain(S, A, opt()));
  const ours = new fovea.deepqlearn.Brain(S, A, opt() as fovea.deepqlearn.BrainOptions);
  ours.value_net.fromJSON(JSON.stringify(ref.value_net.toJSON()));
  // then the same random stream for both runs
  const a = withRandom(mulberry32(2), () => run(ref, steps, snapAt));
  const b = withRandom(mulberry32(2), () => run(ours, steps, snapAt));
  const vis = { a: visOf(ref), b: visOf(ours) };
  ours.free();
  return { a, b, vis };
}

/** What visSelf puts in an element, as markup: ConvNetJS's builds nodes with document.createElement (a stand-in here). */
function visOf(brain: { visSelf(elt: { innerHTML: string }): void }): string {
  type Node = { innerHTML: string; children: Node[]; appendChild(n: Node): void };
  const node = (): Node => ({ innerHTML: "", children: [], appendChild(n) { this.children.push(n); } });
  const markup = (n: Node): string => n.innerHTML + n.children.map((c) => `<div>${markup(c)}</div>`).join("");
  const g = globalThis as any, had = g.document;
  g.document = { createElement: () => node() };
  try {
    const elt = node();
    brain.visSelf(elt);
    return markup(elt);
  } finally {
    g.document = had;
  }
}

describe("deepqlearn.Brain against ConvNetJS's deepqlearn", () => {
  const configs: [string, () => object][] = [
    ["hidden_layer_sizes, default trainer (SGD, batch 64, l2 0.01)", () => ({
      temporal_window: 2, experience_size: 80, start_learn_threshold: 30, gamma: 0.9,
      learning_steps_burnin: 40, learning_steps_total: 400, epsilon_min: 0.1, hidden_layer_sizes: [12, 8],
    })],
    ["layer_defs with tanh and sigmoid, momentum, l1 and l2 with per-layer multipliers, batch 16", () => ({
      temporal_window: 1, experience_size: 50, start_learn_threshold: 20, gamma: 0.7,
      learning_steps_burnin: 25, learning_steps_total: 300, epsilon_min: 0.05,
      layer_defs: [
        { type: "input", out_sx: 1, out_sy: 1, out_depth: S * 1 + A * 1 + S },
        { type: "fc", num_neurons: 10, activation: "tanh", l2_decay_mul: 0.5, l1_decay_mul: 0.2 },
        { type: "fc", num_neurons: 6, activation: "sigmoid" },
        { type: "regression", num_neurons: A },
      ],
      tdtrainer_options: { learning_rate: 0.05, momentum: 0.8, batch_size: 16, l2_decay: 0.02, l1_decay: 0.001 },
    })],
    ["temporal_window 0, adadelta, a biased random action distribution", () => ({
      temporal_window: 0, experience_size: 60, start_learn_threshold: 10, learning_steps_burnin: 15, learning_steps_total: 200,
      random_action_distribution: [0.2, 0.3, 0.5], hidden_layer_sizes: [8],
      tdtrainer_options: { method: "adadelta", batch_size: 8, l2_decay: 0.001, ro: 0.9, eps: 1e-6 },
    })],
  ];

  it.each(configs)("%s: same inputs, actions, ε and losses; weights within float32 tolerance; visSelf's lines", (_name, opt) => {
    const snapAt = [1, 2, 5, 20, 60];
    const { a, b, vis } = compareRuns(opt, 220, snapAt);
    // visSelf (DeepTraffic's page shows it): ConvNetJS's markup, its numbers the same but the average loss's last digits
    const numbersOf = (m: string) => m.split(/<br ?\/?>/).filter((l) => l.includes(": ")).map((l) => [l.replace(/^(<div>)*/, "").split(": ")[0], Number(l.split(": ")[1])] as const);
    expect(vis.b.replace(/: [-\d.e+]+/g, ": #")).toBe(vis.a.replace(/: [-\d.e+]+/g, ": #"));
    const [na, nb] = [numbersOf(vis.a), numbersOf(vis.b)];
    expect(nb.map(([k]) => k)).toEqual(["experience replay size", "exploration epsilon", "age", "average Q-learning loss", "smooth-ish reward"]);
    nb.forEach(([k, v], i) => expect(Math.abs(v - na[i]![1]), k).toBeLessThanOrEqual(k === "average Q-learning loss" ? 1e-4 * Math.abs(na[i]![1]) : 0));
    // the temporal-window input layout, step by step (float32 copies of ConvNetJS's doubles)
    expect(b.inputs.length).toBe(a.inputs.length);
    for (let i = 0; i < a.inputs.length; i++) expect(Array.from(b.inputs[i]!), `network input at step ${i}`).toEqual(Array.from(a.inputs[i]!));
    expect(b.actions).toEqual(a.actions);
    expect(b.epsilons).toEqual(a.epsilons);
    // ConvNetJS's reported loss (2·TD error² per sample, plus its decay loss) for every learning step
    expect(b.losses.length).toBe(a.losses.length);
    expect(a.losses.length).toBeGreaterThan(150);
    let worstLoss = 0;
    a.losses.forEach((v, i) => (worstLoss = Math.max(worstLoss, Math.abs(b.losses[i]! - v) / Math.max(Math.abs(v), 1e-3))));
    expect(worstLoss).toBeLessThan(1e-4);
    // the weights after the first K updates: float32 against float64, scaled by each net's largest weight
    for (const k of snapAt) {
      const wa = weightsOf(a.snapshots.get(k)), wb = weightsOf(b.snapshots.get(k));
      expect(wb.length).toBe(wa.length);
      const scale = Math.max(...wa.map(Math.abs));
      const worst = Math.max(...wa.map((v, i) => Math.abs(wb[i]! - v)));
      expect(worst / scale, `after ${k} learning steps`).toBeLessThan(k <= 5 ? 1e-6 : 1e-5);
    }
  });
});

describe("value_net snapshots", () => {
  it("fovea's toJSON loads into ConvNetJS and gives the same Q-values; ConvNetJS's loads back", () => {
    const opt = { temporal_window: 1, hidden_layer_sizes: [7, 5], experience_size: 100, start_learn_threshold: 10, tdtrainer_options: { learning_rate: 0.02, momentum: 0, batch_size: 4 } };
    const ours = new fovea.deepqlearn.Brain(S, A, opt);
    const world = toyWorld(3);
    withRandom(mulberry32(4), () => { for (let i = 0; i < 60; i++) ours.backward(world.step(ours.forward(world.state()))); });
    const text = JSON.stringify(ours.value_net.toJSON());
    const net = new cnj.Net();
    net.fromJSON(JSON.parse(text));
    expect(net.layers.map((l: any) => l.layer_type)).toEqual(["input", "fc", "relu", "fc", "relu", "fc", "regression"]);
    for (let t = 0; t < 5; t++) {
      const x = Array.from({ length: ours.net_inputs }, (_, i) => Math.sin(t * 7 + i));
      const q = net.forward(new cnj.Vol(x)).w;
      const p = ours.value_net.model.predict(Float32Array.from(x));
      for (let k = 0; k < A; k++) expect(Math.abs(p[k]! - q[k]) / Math.max(1, Math.abs(q[k]))).toBeLessThan(1e-6);
    }
    // and a ConvNetJS net of another shape replaces the value net, decay multipliers and all
    const other = new cnjDeepq.Brain(S, A, { temporal_window: 1, layer_defs: [{ type: "input", out_sx: 1, out_sy: 1, out_depth: ours.net_inputs }, { type: "fc", num_neurons: 3, activation: "tanh", l2_decay_mul: 0.25 }, { type: "regression", num_neurons: A }] });
    ours.value_net.fromJSON(other.value_net.toJSON());
    const back = ours.value_net.toJSON();
    expect(back.layers.map((l) => l.layer_type)).toEqual(["input", "fc", "tanh", "fc", "regression"]);
    expect(back.layers[1]!.l2_decay_mul).toBe(0.25);
    expect(weightsOf(back)).toEqual(weightsOf(JSON.parse(JSON.stringify(other.value_net.toJSON()))).map((v) => Math.fround(v)).map((v) => +v.toPrecision(9)));
    // it still learns after the swap
    withRandom(mulberry32(6), () => { for (let i = 0; i < 30; i++) ours.backward(world.step(ours.forward(world.state()))); });
    expect(ours.average_loss_window.v.length).toBeGreaterThan(0);
    ours.free();
  });

  it("a snapshot that does not fit the brain is a FormatError", () => {
    const ours = new fovea.deepqlearn.Brain(S, A, { temporal_window: 1 });
    const wrong = new cnjDeepq.Brain(S, A + 1, { temporal_window: 1 });
    expect(() => ours.value_net.fromJSON(wrong.value_net.toJSON())).toThrow(fovea.FormatError);
    expect(() => ours.value_net.fromJSON(wrong.value_net.toJSON())).toThrow(/maps 12 inputs to 4 values; this brain needs 11 inputs .* and 3 actions/);
    expect(() => ours.value_net.fromJSON("{ not json")).toThrow(fovea.FormatError);
    ours.free();
  });
});

describe("options", () => {
  const B = fovea.deepqlearn.Brain;
  it("are ConvNetJS's, with its defaults", () => {
    const b = new B(5, 4);
    expect([b.temporal_window, b.experience_size, b.start_learn_threshold, b.gamma, b.learning_steps_total, b.learning_steps_burnin, b.epsilon_min, b.epsilon_test_time])
      .toEqual([1, 30000, 1000, 0.8, 100000, 3000, 0.05, 0.01]);
    expect([b.tdtrainer.learning_rate, b.tdtrainer.momentum, b.tdtrainer.batch_size, b.tdtrainer.l2_decay]).toEqual([0.01, 0, 64, 0.01]);
    expect(b.net_inputs).toBe(5 + 4 + 5);
    expect(b.value_net.model.countParams()).toBe(14 * 4 + 4);
    // given tdtrainer_options fall back to ConvNetJS Trainer's defaults (momentum 0.9, batch 1, no decay)
    const c = new B(5, 4, { tdtrainer_options: { learning_rate: 0.1 } });
    expect([c.tdtrainer.momentum, c.tdtrainer.batch_size, c.tdtrainer.l2_decay]).toEqual([0.9, 1, 0]);
    b.free();
    c.free();
  });

  it("unknown or unfit options are ConfigErrors naming them", () => {
    expect(() => new B(5, 4, { temporal_windw: 2 } as never)).toThrow(/unknown option "temporal_windw"/);
    expect(() => new B(5, 4, { tdtrainer_options: { learning_rate: 0.1, batchsize: 8 } as never })).toThrow(/tdtrainer_options: unknown option "batchsize"/);
    expect(() => new B(5, 4, { tdtrainer_options: { method: "adagrad" as never } })).toThrow(/method must be "sgd" or "adadelta".*not the same math/);
    expect(() => new B(5, 4, { gamma: 1.5 })).toThrow(/gamma must be a number in \[0, 1\]/);
    expect(() => new B(5, 4, { learning_steps_burnin: 10, learning_steps_total: 10 })).toThrow(/learning_steps_burnin/);
    expect(() => new B(5, 4, { random_action_distribution: [0.5, 0.5, 0.5, 0.5] })).toThrow(/must sum to 1/);
    expect(() => new B(5, 4, { layer_defs: [{ type: "input", out_sx: 1, out_sy: 1, out_depth: 13 }, { type: "regression", num_neurons: 4 }] })).toThrow(/holds 13 values.* = 14/);
    expect(() => new B(5, 4, { layer_defs: [{ type: "input", out_sx: 1, out_sy: 1, out_depth: 14 }, { type: "fc", num_neurons: 4 }] })).toThrow(/must end with a regression layer/);
    expect(() => new B(5, 4, { layer_defs: [], hidden_layer_sizes: [3] })).toThrow(/not both/);
    const b = new B(5, 4);
    expect(() => b.forward([1, 2, 3])).toThrow(fovea.ShapeError);
    // each input a finite number as given: a string or null was converted silently (Float32Array.from)
    expect(() => b.forward(["1", 0, 0, 0, 0] as never)).toThrow(/input 0 is "1"; inputs must be finite numbers/);
    expect(() => b.forward([0, null, 0, 0, 0] as never)).toThrow(/input 1 is null/);
    expect(() => b.forward("abcde" as never)).toThrow(/expects an array of num_states = 5 numbers, got "abcde"/);
    expect(() => b.forward(null as never)).toThrow(/expects an array of num_states = 5 numbers, got null/);
    expect(b.forward_passes).toBe(0);
    expect(() => b.backward(NaN)).toThrow(fovea.ConfigError);
    b.free();
  });
});

describe("DeepTraffic's code on fovea (examples/deeptraffic, short)", () => {
  it("learns to drive clearly faster than a random policy", () => {
    const agent = withRandom(mulberry32(11), () => trainAgent(fovea.deepqlearn, { steps: 7000, seed: 1 }));
    const learned = withRandom(mulberry32(12), () => simulate((s) => agent.act(s), { steps: 2000, seed: 2 }));
    const random = withRandom(mulberry32(12), () => simulate(randomPolicy, { steps: 2000, seed: 2 }));
    agent.free();
    // measured on this road: random 36 mph, keep-lane 34; trained 54–73 mph after 7,000 steps (seeds 11, 21, 31, 41)
    expect(learned.averageSpeed).toBeGreaterThan(random.averageSpeed + 10);
  });
});
