// DQN from pixels on fovea: learns catch (catch.mjs) from stacked 20×20 frames with Mnih et al.'s
// network scaled down (agent.mjs), then plays 500 greedy episodes and a random policy's 500, and
// writes the learning curve.
//
//   npm run build                       (once: the package's dist/)
//   node examples/dqn-catch/train.mjs [--steps 20000] [--seed 1] [--threads 1] [--out examples/dqn-catch/curve.svg] [--save catch.fovea]
import * as fovea from "fovea";
import { writeFileSync } from "node:fs";
import { mulberry32 } from "../deeptraffic/random.mjs";
import { evaluate, train } from "./agent.mjs";
import { curveSvg } from "./curve.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const steps = Number(arg("steps", 20000)), seed = Number(arg("seed", 1)), threads = Number(arg("threads", 1));
const out = arg("out", "examples/dqn-catch/curve.svg"), save = arg("save", null);

await fovea.init({ threads });
const info = fovea.backendInfo();
console.log(`fovea ${info.build}, ${info.threads} thread${info.threads > 1 ? "s" : ""}: DQN on catch for ${steps} steps (seed ${seed})`);
const rnd = mulberry32(seed + 1000);
const random = evaluate(() => Math.floor(rnd() * 3), { episodes: 500 });

const t0 = performance.now();
const { agent, model, episodes } = train(fovea, {
  steps, seed,
  onEpisode(ep, a) {
    if (ep.length % 250 === 0) {
      const last = ep.slice(-250), mean = last.reduce((s, e) => s + e.return, 0) / last.length;
      console.log(`  episode ${String(ep.length).padStart(5)}  step ${String(ep.at(-1).step).padStart(6)}  mean return (last 250) ${mean.toFixed(2).padStart(5)}  ε ${a.epsilon.toFixed(2)}  loss ${a.lastLoss.toFixed(4)}`);
    }
  },
});
const seconds = (performance.now() - t0) / 1000;
console.log(`trained in ${seconds.toFixed(1)} s (${(steps / seconds).toFixed(0)} steps/s, ${agent.updates} updates of 32)`);

const greedy = evaluate((obs) => agent.act(Float32Array.from(obs), 0), { episodes: 500 });
console.log(`average return over 500 episodes (−1 … +1): trained (greedy) ${greedy.toFixed(3)}, random ${random.toFixed(3)}`);

writeFileSync(out, curveSvg(episodes, {
  title: `DQN on catch from pixels (fovea): ${steps.toLocaleString("en")} steps, ${episodes.length} episodes at ε → ${agent.epsilonEnd}; greedy after: ${greedy.toFixed(3)}`,
  refs: [{ value: 1, label: "maximum", color: "#27ae60" }, { value: random, label: `random policy (${random.toFixed(2)})`, color: "#7f8c8d" }],
}));
console.log(`learning curve written to ${out}`);
if (save) {
  writeFileSync(save, model.save());
  console.log(`Q-network saved to ${save}`);
}
agent.free();
model.free();
