// DeepTraffic on fovea: trains DeepTraffic's code box (agent.mjs) with fovea.deepqlearn on the
// simulator (sim.mjs), then drives three fresh roads with the trained net (learning off, greedy),
// a random policy and a keep-lane-at-full-throttle policy, and prints their average speeds.
//
//   npm run build                                   (once: the package's dist/)
//   node examples/deeptraffic/train.mjs [--steps 20000] [--seed 1] [--threads 1] [--save net.json]
//
// --save writes the trained value net as DeepTraffic saves it: JSON.stringify(brain.value_net.toJSON()),
// ConvNetJS's snapshot format (loadable by ConvNetJS's net.fromJSON and by value_net.fromJSON).
import * as fovea from "fovea"; // the one changed import: DeepTraffic's page gets deepqlearn from ConvNetJS
import { writeFileSync } from "node:fs";
import { mulberry32, withRandom } from "./random.mjs";
import { keepLane, randomPolicy, simulate, trainAgent } from "./run.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const steps = Number(arg("steps", 20000)), seed = Number(arg("seed", 1)), threads = Number(arg("threads", 1)), save = arg("save", null);

await fovea.init({ threads });
const info = fovea.backendInfo();
console.log(`fovea ${info.build}, ${info.threads} thread${info.threads > 1 ? "s" : ""}: training DeepTraffic's brain for ${steps} steps (seed ${seed})`);

const t0 = performance.now();
// Math.random is the brain's only source of randomness (as in ConvNetJS): seeded, the run repeats
const agent = withRandom(mulberry32(seed), () => trainAgent(fovea.deepqlearn, {
  steps, seed,
  onStep(i, brain) {
    if ((i + 1) % Math.max(1, Math.floor(steps / 10)) === 0) {
      console.log(`  step ${String(i + 1).padStart(6)}  ε ${brain.epsilon.toFixed(2)}  average reward ${(brain.average_reward_window.get_average() * 80).toFixed(1)} mph  average loss ${brain.average_loss_window.get_average().toFixed(3)}`);
    }
  },
}));
const seconds = (performance.now() - t0) / 1000;
console.log(`trained in ${seconds.toFixed(1)} s (${(steps / seconds).toFixed(0)} steps/s, the simulator included)`);

const roads = [101, 102, 103], evalSteps = 5000;
const row = (name, policy) => {
  const r = roads.map((s) => withRandom(mulberry32(s), () => simulate(policy, { steps: evalSteps, seed: s })));
  const mean = r.reduce((a, x) => a + x.averageSpeed, 0) / r.length;
  console.log(`  ${name.padEnd(10)} ${r.map((x) => x.averageSpeed.toFixed(1).padStart(6)).join(" ")}   mean ${mean.toFixed(1)} mph   lane changes ${r.map((x) => x.laneChanges).join(", ")}`);
  return mean;
};
console.log(`average speed (mph) over ${evalSteps} steps on roads ${roads.join(", ")}:`);
const trained = row("trained", (s) => agent.act(s));
const random = row("random", randomPolicy);
const keep = row("keep lane", keepLane);
console.log(`margins: trained − random ${(trained - random).toFixed(1)} mph, trained − keep lane ${(trained - keep).toFixed(1)} mph`);

if (save) {
  writeFileSync(save, JSON.stringify(agent.brain.value_net.toJSON()));
  console.log(`value net saved to ${save} (ConvNetJS's snapshot format)`);
}
agent.free();
