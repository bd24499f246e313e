// DQN from pixels: the selected-output losses through a conv Q-network (gradient check), the TD
// targets against the target network's own predictions, the agent's replay / target network /
// ε schedule, and a short run of examples/dqn-catch that must learn catch well above random.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { mulberry32 } from "../examples/deeptraffic/random.mjs";
import { evaluate, qNetwork, train } from "../examples/dqn-catch/agent.mjs";

const { layers: L } = fovea;

beforeAll(async () => {
  await fovea.init({ build: "simd", threads: 1 });
});

/** A small conv Q-network with smooth activations (central differences stay away from kinks). */
const smallQ = (seed: number) => fovea.sequential([
  L.conv2d({ filters: 3, kernelSize: 3, strides: 2 }), L.tanh(), L.flatten(), L.dense({ units: 6 }), L.tanh(), L.dense({ units: 3 }),
], { inputShape: [7, 7, 2], seed });

describe("selected-output losses on a conv Q-network", () => {
  it.each(["selectedHuber", "selectedSquared"] as const)("%s: gradients match central differences of the model's loss", (loss) => {
    const m = smallQ(3);
    const n = 5;
    const x = Float32Array.from({ length: n * 7 * 7 * 2 }, (_, i) => Math.sin(i * 0.37));
    // (action, target) pairs: targets far enough that Huber's both branches run
    const pairs = [0, 0.3, 2, -1.7, 1, 2.5, 2, 0.1, 0, -0.4];
    m.compile({ batchSize: n, loss, optimizer: fovea.train.sgd() });
    const r = fovea.train.gradCheck(m, x, pairs, { h: 1e-2, samples: 12 });
    for (const p of r.params) expect(p.relError, `${p.layer}.${p.param}`).toBeLessThan(1e-2);
    // the loss reads the chosen output alone: moving example 0's target to 3 from its Q-value changes
    // the mean loss by exactly (loss(3) − loss(e₀)) / n
    const before = m.evaluate(x, pairs).loss;
    const q = m.predict(x);
    const worse = pairs.slice();
    worse[1] = q[0]! + 3; // example 0's action-0 target moves 3 away from its Q-value
    const want = loss === "selectedHuber" ? 2.5 : 4.5; // Huber(3) = 3 − ½, ½·3²
    const e0 = q[0]! - pairs[1]!;
    const had = loss === "selectedHuber" && Math.abs(e0) > 1 ? Math.abs(e0) - 0.5 : 0.5 * e0 * e0;
    expect(m.evaluate(x, worse).loss).toBeCloseTo(before + (want - had) / n, 5);
    m.free();
  });

  it("bad (action, target) pairs are ShapeErrors naming the example", () => {
    const m = smallQ(1);
    m.compile({ batchSize: 2, loss: "selectedHuber", optimizer: fovea.train.sgd() });
    const x = new Float32Array(2 * 98);
    expect(() => m.trainOnBatch(x, [0, 1, 3, 1])).toThrow(/example 1 selects output 3; columns are whole numbers in \[0, 3\)/);
    expect(() => m.trainOnBatch(x, [0, 1, 1.5, 1])).toThrow(/example 1 selects output 1.5/);
    expect(() => m.trainOnBatch(x, [0, 1, 1, NaN])).toThrow(/example 1 has target NaN/);
    expect(() => m.trainOnBatch(x, [0, 1, 1])).toThrow(/3 target values for 2 examples .* 4 values/);
    m.free();
  });
});

describe("fovea.rl: TD targets and the DQN agent", () => {
  it("TDBatch's targets are r + γ·max Q̂(s′), r alone after a terminal step, from the target network", () => {
    const online = smallQ(5), target = smallQ(6);
    online.compile({ batchSize: 4, loss: "selectedSquared", optimizer: fovea.train.sgd({ lr: 0.1 }) });
    const b = new fovea.rl.TDBatch(4, 98);
    b.s0.set(Float32Array.from({ length: 4 * 98 }, (_, i) => Math.cos(i)));
    b.s1.set(Float32Array.from({ length: 4 * 98 }, (_, i) => Math.sin(i * 1.3)));
    b.actions.set([2, 0, 1, 2]);
    b.rewards.set([1, -0.5, 0, 2]);
    b.done.set([0, 1, 0, 0]);
    const q1 = target.predict(b.s1);
    const t = Array.from(b.targets(target, 0.9));
    const want = [0, 1, 2, 3].flatMap((i) => [b.actions[i]!, b.rewards[i]! + (b.done[i] ? 0 : 0.9 * Math.max(q1[3 * i]!, q1[3 * i + 1]!, q1[3 * i + 2]!))]);
    t.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    // an update moves Q(s, a) towards those targets
    const err = () => { const q = online.predict(b.s0); return [0, 1, 2, 3].reduce((s, i) => s + (q[3 * i + b.actions[i]!]! - t[2 * i + 1]!) ** 2, 0); };
    const e0 = err();
    for (let k = 0; k < 20; k++) b.update(online, target, 0.9);
    expect(err()).toBeLessThan(e0 * 0.5);
    online.free();
    target.free();
  });

  it("the DQN agent: ε schedule, replay, the target network follows every targetUpdate updates, option checks", () => {
    const m = smallQ(2);
    const agent = new fovea.rl.DQN(m, { batchSize: 4, learningStarts: 8, targetUpdate: 3, epsilonEnd: 0.1, epsilonSteps: 90, replaySize: 16, seed: 3 });
    expect(agent.epsilon).toBe(1);
    const obs = (k: number) => Float32Array.from({ length: 98 }, (_, i) => Math.sin(k + i * 0.1));
    const same = () => m.getWeights().every((w, i) => w.values.every((v, j) => v === agent.target.getWeights()[i]!.values[j]));
    expect(same()).toBe(true);
    const losses: (number | null)[] = [];
    for (let k = 0; k < 30; k++) losses.push(agent.observe(obs(k), k % 3, k % 5 === 0 ? 1 : 0, obs(k + 1), k % 7 === 6));
    expect(losses.slice(0, 7).every((l) => l === null)).toBe(true); // learning starts at step 8
    expect(losses.slice(7).every((l) => typeof l === "number" && Number.isFinite(l))).toBe(true);
    expect(agent.updates).toBe(23);
    expect(same()).toBe(false); // 23 updates: the last copy was at update 21
    agent.syncTarget();
    expect(same()).toBe(true);
    // ε: 1 − 0.9·(steps − learningStarts)/epsilonSteps, then epsilonEnd
    expect(agent.epsilon).toBeCloseTo(1 - (0.9 * (30 - 8)) / 90, 10);
    for (let k = 30; k < 120; k++) agent.observe(obs(k), 0, 0, obs(k + 1), false);
    expect(agent.epsilon).toBe(0.1);
    expect(() => agent.observe(obs(0), 3, 0, obs(1), false)).toThrow(/action 3 is not one of 0 … 2/);
    expect(() => agent.act(new Float32Array(5))).toThrow(fovea.ShapeError);
    // a forgotten or non-boolean done would silently bootstrap through the end of an episode
    expect(() => (agent.observe as (...a: unknown[]) => unknown)(obs(0), 0, 0, obs(1))).toThrow(/DQN.observe: done must be true or false/);
    expect(() => agent.observe(obs(0), 0, 0, obs(1), "yes" as never)).toThrow(/got "yes"/);
    for (const e of [2, -0.1, Number.NaN]) expect(() => agent.act(obs(0), e)).toThrow(/DQN.act: epsilon must be in \[0, 1\]/);
    expect(agent.steps).toBe(120);
    agent.free();
    expect(() => agent.act(obs(0))).toThrow(/DQN.act: this agent was freed \(its target network with it; the model is still yours\)/);
    expect(() => agent.syncTarget()).toThrow(/this agent was freed/);
    agent.free(); // twice: nothing more to return
    expect(() => new fovea.rl.DQN(m, { batchSize: 64, replaySize: 10, learningStarts: 64 })).toThrow(/batchSize 64 is more than the replay memory's 10 transitions/);
    const L = fovea.layers;
    const map = fovea.sequential([L.conv2d({ filters: 3, kernelSize: 3, padding: "same" })], { inputShape: [3, 3, 1] });
    expect(() => new fovea.rl.DQN(map)).toThrow(/one Q-value per action \(a vector\), got an output of \[3, 3, 3\]/);
    const probs = fovea.sequential([L.dense({ units: 3 }), L.softmax()], { inputShape: [4] });
    expect(() => new fovea.rl.DQN(probs)).toThrow(/ends in softmax .*Q-values are returns, not probabilities/);
    // a batch norm over features sees one value per channel in a batch of 1: refused at construction, not at the first update
    const bn = fovea.sequential([L.dense({ units: 8 }), L.batchNorm({ name: "bn" }), L.relu(), L.dense({ units: 2 })], { inputShape: [4] });
    expect(() => new fovea.rl.DQN(bn, { batchSize: 1, learningStarts: 1 })).toThrow(/^DQN: batchNorm "bn" normalises each channel over the batch, and 1 example of \[8\] gives it one value per channel .*: give batchSize 2 or more \(it is 1\)$/);
    expect(bn.optimizer).toBeNull();
    const ok = new fovea.rl.DQN(bn, { batchSize: 2, learningStarts: 2 });
    for (let k = 0; k < 3; k++) expect(ok.observe([k, 1, 0, -k], 1, 1, [0, k, 1, 0], false) === null).toBe(k < 1);
    ok.free();
    [map, probs, bn].forEach((x) => x.free());
    expect(() => new fovea.rl.DQN(m, { gama: 0.9 } as never)).toThrow(/unknown option "gama"/);
    expect(() => new fovea.rl.DQN(m, { loss: "mse" })).toThrow(/loss must be selectedHuber or selectedSquared/);
    expect(() => new fovea.rl.DQN(m, { batchSize: 32, learningStarts: 10 })).toThrow(/learningStarts must be a whole number >= 32/);
    // an ema optimiser's averages would be kept and never used: refused, the model's optimizer left as it was
    const compiled = m.optimizer;
    expect(() => new fovea.rl.DQN(m, { optimizer: fovea.train.adam({ lr: 1e-3, ema: 0.99 }) })).toThrow(/DQN: the optimizer's ema 0.99 .* would never be used/);
    expect(m.optimizer).toBe(compiled);
    m.free();
  });
});

describe("examples/dqn-catch (short)", () => {
  it("Mnih et al.'s network, scaled to 20×20×2 frames, learns catch well above a random policy", () => {
    const m = qNetwork(fovea);
    expect(m.layers.map((l) => l.type)).toEqual(["conv2d", "conv2d", "flatten", "dense", "dense"]);
    expect(m.nodes.map((n) => n.outShape)).toEqual([[4, 4, 16], [1, 1, 32], [32], [128], [3]]);
    m.free();
    const rnd = mulberry32(9);
    const random = evaluate(() => Math.floor(rnd() * 3), { episodes: 200 });
    const { agent, model, episodes } = train(fovea, { steps: 6000, seed: 1 });
    const greedy = evaluate((obs) => agent.act(Float32Array.from(obs), 0), { episodes: 200 });
    agent.free();
    model.free();
    // measured: random −0.6; after 6,000 steps (≈ 670 episodes) greedy 0.34–0.48 (seeds 1–3); 0.99 after the example's 20,000
    expect(episodes.length).toBeGreaterThan(600);
    expect(greedy).toBeGreaterThan(random + 0.6);
  });
});
