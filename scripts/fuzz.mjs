#!/usr/bin/env node
// npm run fuzz -- <target|all> [--runs N] [--seed S] [--save] [--replay]
// A reproducible fuzz campaign over fovea's loaders (see test/fuzz/). Prints per target: inputs
// tried, accepted, distinct errors, crash kinds (with the input index: rerun with the same seed),
// heap before/after and whether a model loaded before still predicts the same. --save writes the
// first input of every crash kind to test/fuzz/corpus/<target>/; --replay runs the corpus instead.
import { Command, InvalidArgumentError } from "commander";
import { join } from "node:path";
import { tmpdir } from "node:os";
import * as fovea from "../dist/index.js";
import { campaign, replay, saveToCorpus } from "../test/fuzz/harness.mjs";
import { TARGETS } from "../test/fuzz/targets.mjs";

const int = (v) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError("a whole number >= 0");
  return n;
};
const p = new Command("fuzz")
  .argument("<target>", `${Object.keys(TARGETS).join(", ")}, or all`)
  .option("--runs <n>", "mutated inputs per target", int, 1000)
  .option("--seed <s>", "campaign seed", int, 1)
  .option("--save", "save the first input of each crash kind to the corpus", false)
  .option("--replay", "replay the checked-in corpus instead of mutating", false)
  .option("--verbose", "print every distinct error", false)
  .parse();
const [which] = p.args;
const o = p.opts();
const names = which === "all" ? Object.keys(TARGETS) : [which];
for (const n of names) if (!TARGETS[n]) p.error(`unknown target "${n}" (${Object.keys(TARGETS).join(", ")}, all)`);

await fovea.init();
let crashed = false;
for (const name of names) {
  if (o.replay) {
    const r = await replay(name);
    console.log(`${name}: ${r.files} corpus inputs, ${r.failures.length} failures`);
    for (const f of r.failures) console.log(`  ${f}`);
    crashed ||= r.failures.length > 0;
    continue;
  }
  const stats = await campaign(name, {
    runs: o.runs, seed: o.seed, current: join(tmpdir(), `fovea-fuzz-${name}.current`),
    onCrash: (kind, bytes, detail, i) => {
      const file = o.save ? saveToCorpus(name, bytes) : "";
      console.log(`  CRASH ${name} #${i}: ${kind}${file ? ` → ${file}` : ""}\n    ${detail.split("\n").slice(0, 4).join("\n    ")}`);
    },
    onProgress: (s, ms) => process.stderr.write(`\r  ${name}: ${s.runs} inputs, ${s.crashes.size} crash kinds, ${(s.runs / (ms / 1000)).toFixed(0)}/s   `),
  });
  process.stderr.write("\n");
  const crashes = [...stats.crashes.values()].reduce((a, c) => a + c.count, 0);
  console.log(`${name}: ${stats.runs} inputs in ${stats.seconds.toFixed(0)} s; ${stats.accepted} accepted, ${stats.rejected} rejected with ${stats.errors.size} distinct FoveaErrors; ` +
    `${crashes} crashes of ${stats.crashes.size} kinds; wasm heap in use ${stats.heapBefore} → ${stats.heapAfter} bytes; model loaded before: ${stats.sentinel}`);
  if (o.verbose) for (const [k, c] of [...stats.errors].sort((a, b) => b[1] - a[1])) console.log(`    ${String(c).padStart(6)}  ${k}`);
  for (const [k, c] of stats.crashes) console.log(`  ${String(c.count).padStart(6)} × ${k} (first: input ${c.index})`);
  crashed ||= stats.crashes.size > 0 || stats.sentinel !== "same" || stats.heapAfter !== stats.heapBefore;
}
await fovea.shutdown();
process.exitCode = crashed ? 1 : 0;
