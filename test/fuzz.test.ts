// Every loader under attack: the checked-in crash corpus (test/fuzz/corpus/<target>/, the first
// input of every crash kind a campaign found) replays without a crash, and 10³ fresh mutations per
// target (a new campaign seed each run, printed so a failure can be rerun with
// `npm run fuzz -- <target> --runs 1000 --seed <seed>`) throw nothing but FoveaErrors naming the
// input, leave the wasm heap as it was, and leave a model loaded before predicting the same.
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
// @ts-expect-error -- the harness is plain JavaScript shared with scripts/fuzz.mjs
import { campaign, replay } from "./fuzz/harness.mjs";
// @ts-expect-error -- idem
import { TARGETS } from "./fuzz/targets.mjs";

const RUNS = 1000;
const seed = Number(process.env.FOVEA_FUZZ_SEED ?? (Date.now() % 1_000_000));

beforeAll(async () => {
  // the harness uses the built package (dist/), as a user's program would
  await (await import("../dist/index.js")).init();
});

describe(`fuzz (campaign seed ${seed})`, () => {
  it.each(Object.keys(TARGETS as object))("%s: the corpus replays and 10³ fresh mutations crash nothing", async (name) => {
    const r = (await replay(name)) as { files: number; failures: string[] };
    expect(r.failures).toEqual([]);
    // as npm run fuzz runs it: each input written to a file first (a hang leaves it behind), gone at the end
    const current = join(mkdtempSync(join(tmpdir(), "fovea-fuzz-")), `${name}.current`);
    const s = await campaign(name, { runs: RUNS, seed, current });
    expect(existsSync(current)).toBe(false);
    const crashes = [...s.crashes].map(([k, c]: [string, { index: number; detail: string }]) => `${k} (input ${c.index}, seed ${seed}): ${c.detail}`);
    expect(crashes).toEqual([]);
    expect(s.runs).toBe(RUNS);
    expect(s.heapAfter).toBe(s.heapBefore);
    expect(s.sentinel).toBe("same");
  }, 300_000);
});
