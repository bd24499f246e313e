// Training and evaluating DeepTraffic agents on the simulator, for train.mjs, the benchmark and
// the test: the page's loop (learn(state, lastReward) each step), and the average speed of a
// policy over a fresh road.
import { deepTraffic } from "./agent.mjs";
import { Traffic, MAX_MPH } from "./sim.mjs";

/**
 * Trains DeepTraffic's code with `deepqlearn` for `steps` steps on a road seeded `seed`. Returns
 * the agent: act(state) (greedy, learning off), its brain, and free() (fovea's memory).
 */
export function trainAgent(deepqlearn, { steps, seed = 1, onStep } = {}) {
  const code = deepTraffic(deepqlearn, steps);
  const road = new Traffic({ lanesSide: code.lanesSide, patchesAhead: code.patchesAhead, patchesBehind: code.patchesBehind, seed });
  let reward = 0;
  for (let i = 0; i < steps; i++) {
    reward = road.step(code.learn(road.observe(), reward));
    onStep?.(i, code.brain);
  }
  code.brain.learning = false;
  return {
    brain: code.brain,
    act: (state) => code.learn(state, 0),
    free: () => code.brain.free?.(),
  };
}

/** A policy's average speed (mph) over `steps` steps of a road seeded `seed`, after `warmup` steps. */
export function simulate(policy, { steps = 5000, seed = 2, warmup = 200 } = {}) {
  const road = new Traffic({ seed });
  let sum = 0, laneChanges = 0;
  for (let i = 0; i < warmup + steps; i++) {
    const lane = road.agent.lane;
    const v = road.step(policy(road.observe()));
    if (i >= warmup) {
      sum += v;
      if (road.agent.lane !== lane) laneChanges++;
    }
  }
  return { averageSpeed: (sum / steps) * MAX_MPH, laneChanges };
}

/** The baselines: a uniformly random action, and keep the lane at full throttle. */
export const randomPolicy = () => Math.floor(Math.random() * 5);
export const keepLane = () => 1;
