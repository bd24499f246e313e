// DeepTraffic's brain, fovea against ConvNetJS: the same code box (examples/deeptraffic/agent.mjs)
// on the same simulator, driven by the page's loop, with the same seeded Math.random. Prints the
// training steps per second of each once learning runs (after start_learn_threshold), and the ratio.
//
//   node bench/deeptraffic.mjs [--steps 1500] [--warmup 600] [--threads 1] [--runs 3]
import { createRequire } from "node:module";
import * as fovea from "../dist/index.js";
import { deepTraffic } from "../examples/deeptraffic/agent.mjs";
import { Traffic } from "../examples/deeptraffic/sim.mjs";
import { mulberry32, withRandom } from "../examples/deeptraffic/random.mjs";

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const steps = arg("steps", 1500), warmup = arg("warmup", 600), threads = arg("threads", 1), runs = arg("runs", 3);

const require = createRequire(import.meta.url);
globalThis.convnetjs = require("convnetjs"); // deepqlearn.js reads these globals, as in a page
globalThis.cnnutil = require("convnetjs/build/util.js");
const convnetjsDeepq = require("convnetjs/build/deepqlearn.js");

await fovea.init({ threads });

/** Seconds per step of `steps` learning steps, after `warmup` steps that fill the replay memory. */
function time(deepqlearn) {
  return withRandom(mulberry32(7), () => {
    const code = deepTraffic(deepqlearn, 20000);
    const road = new Traffic({ lanesSide: code.lanesSide, patchesAhead: code.patchesAhead, patchesBehind: code.patchesBehind, seed: 1 });
    let reward = 0;
    for (let i = 0; i < warmup; i++) reward = road.step(code.learn(road.observe(), reward));
    const t0 = performance.now();
    for (let i = 0; i < steps; i++) reward = road.step(code.learn(road.observe(), reward));
    const s = (performance.now() - t0) / 1000;
    code.brain.free?.();
    return s / steps;
  });
}

const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const results = { fovea: [], convnetjs: [] };
for (let r = 0; r < runs; r++) {
  results.fovea.push(time(fovea.deepqlearn));
  results.convnetjs.push(time(convnetjsDeepq));
}
const f = 1 / median(results.fovea), c = 1 / median(results.convnetjs);
const info = fovea.backendInfo();
console.log(`DeepTraffic brain (${new Traffic().numInputs} inputs, temporal window 3, fc 48-24, batch 64), ${steps} learning steps after ${warmup}, median of ${runs}:`);
console.log(`  fovea (${info.build}, ${info.threads} thread${info.threads > 1 ? "s" : ""})  ${f.toFixed(0).padStart(6)} steps/s   [${results.fovea.map((s) => (1 / s).toFixed(0)).join(", ")}]`);
console.log(`  convnetjs               ${c.toFixed(0).padStart(6)} steps/s   [${results.convnetjs.map((s) => (1 / s).toFixed(0)).join(", ")}]`);
console.log(`  fovea / convnetjs: ${(f / c).toFixed(1)}x`);
