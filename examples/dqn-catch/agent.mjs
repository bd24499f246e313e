// The DQN for catch: Mnih et al.'s network (2013: conv 16 8×8/4, conv 32 4×4/2, fc 256, fc per
// action, ReLUs) scaled to 20×20×2 observations — conv 16 8×8/4 → 4×4×16, conv 32 4×4/2 → 1×1×32,
// fc 128, fc 3 — trained by fovea.rl.DQN: replay, a target network, ε-greedy, Huber on the
// chosen action's Q-value. train(fovea, { steps }) runs episodes of catch and returns the curve.
import { ACTIONS, Catch, FRAMES, SIZE } from "./catch.mjs";

export function qNetwork(fovea, seed = 1) {
  const L = fovea.layers;
  return fovea.sequential([
    L.conv2d({ filters: 16, kernelSize: 8, strides: 4, activation: "relu" }),
    L.conv2d({ filters: 32, kernelSize: 4, strides: 2, activation: "relu" }),
    L.flatten(),
    L.dense({ units: 128, activation: "relu" }),
    L.dense({ units: ACTIONS }),
  ], { inputShape: [SIZE, SIZE, FRAMES], name: "catch-dqn", seed });
}

export const DQN_OPTIONS = {
  gamma: 0.95, replaySize: 10000, batchSize: 32, learningStarts: 500, trainEvery: 1, targetUpdate: 200,
  epsilonEnd: 0.05, epsilonSteps: 4000, loss: "selectedHuber",
};

/** Trains for `steps` steps; returns the agent and every episode's { step, return }. */
export function train(fovea, { steps, seed = 1, lr = 1e-3, onEpisode } = {}) {
  const model = qNetwork(fovea, seed);
  const agent = new fovea.rl.DQN(model, { ...DQN_OPTIONS, optimizer: fovea.train.adam({ lr }), seed });
  const game = new Catch(seed);
  const episodes = [];
  let obs = Float32Array.from(game.reset()), ret = 0;
  for (let t = 0; t < steps; t++) {
    const a = agent.act(obs);
    const { obs: next, reward, done } = game.step(a);
    agent.observe(obs, a, reward, next, done);
    ret += reward;
    if (done) {
      episodes.push({ step: t + 1, return: ret });
      onEpisode?.(episodes, agent);
      obs = Float32Array.from(game.reset());
      ret = 0;
    } else obs = Float32Array.from(next);
  }
  return { agent, model, episodes };
}

/** Average return of a policy over `episodes` episodes of a game seeded `seed`. */
export function evaluate(policy, { episodes = 200, seed = 1000 } = {}) {
  const game = new Catch(seed);
  let total = 0;
  for (let e = 0; e < episodes; e++) {
    let obs = game.reset(), done = false;
    while (!done) {
      const r = game.step(policy(obs));
      obs = r.obs;
      done = r.done;
      total += r.reward;
    }
  }
  return total / episodes;
}
