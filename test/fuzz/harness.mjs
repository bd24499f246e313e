// The fuzz harness: feeds mutated inputs to a target and checks the three promises for each —
// the only thing thrown is a FoveaError naming the input; the wasm heap in use returns to what it
// was; a model loaded before still predicts the same. Anything else is a crash, grouped by kind
// (error class + message with numbers and names blanked), with the first input of each kind.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as fovea from "../../dist/index.js";
import { inputSeed, rng } from "./mutate.mjs";
import { TARGETS, context } from "./targets.mjs";

/** "RangeError: Invalid typed array length: 123" → "RangeError: Invalid typed array length: #". */
export const kindOf = (e, source) =>
  `${e?.constructor?.name ?? typeof e}: ${String(e?.message ?? e).replaceAll(source, "<file>").replace(/"[^"]*"/g, '"…"').replace(/\b[0-9a-f]{2}( [0-9a-f]{2})+\b/gi, "<hex>").replace(/-?\d+(\.\d+)?(e[+-]?\d+)?/gi, "#").slice(0, 160)}`;

/** A model built before the campaign, and its output, to check nothing else changed. */
function sentinel() {
  const m = fovea.zoo.lenet5({ seed: 7 });
  const x = Float32Array.from({ length: 2 * m.inputSize }, (_, i) => Math.sin(i * 0.37));
  const want = m.predict(x);
  return {
    check() {
      const got = m.predict(x);
      for (let i = 0; i < want.length; i++) if (got[i] !== want[i]) return `the model loaded before predicts ${got[i]} instead of ${want[i]} at ${i}`;
      return null;
    },
    free: () => m.free(),
  };
}

const heapInUse = () => fovea.getBackend().heap.stats().inUseBytes;

/**
 * Runs one input. Returns { ok: true } or { ok: false, error: "message" } for a FoveaError that
 * names the source, or { crash: kind, detail } for anything else (including heap drift).
 */
export async function runOne(target, bytes, source, ctx) {
  const before = heapInUse();
  let res;
  try {
    await target.run(bytes, source, ctx);
    res = { ok: true };
  } catch (e) {
    if (!(e instanceof fovea.FoveaError)) res = { crash: kindOf(e, source), detail: String(e?.stack ?? e).slice(0, 600) };
    else if (!e.message.includes(source)) res = { crash: `message does not name the file: ${kindOf(e, source)}`, detail: e.message };
    else res = { ok: false, error: kindOf(e, source) };
  }
  const after = heapInUse();
  if (!res.crash && after !== before) res = { crash: `heap drift (${res.ok ? "after success" : res.error})`, detail: `${after - before} bytes left in use` };
  return res;
}

/**
 * A campaign: `runs` mutations of the target's seeds from `seed`. Input i is reproducible from
 * (seed, i). Calls onCrash(kind, bytes, detail) for the first input of each new crash kind.
 */
export async function campaign(name, { runs, seed, onCrash = () => {}, onProgress = () => {}, checkEvery = 200, current } = {}) {
  const target = TARGETS[name];
  if (!target) throw new Error(`unknown fuzz target "${name}" (${Object.keys(TARGETS).join(", ")})`);
  const ctx = context();
  const seeds = await target.seeds();
  const s = sentinel();
  const stats = { target: name, runs: 0, accepted: 0, rejected: 0, errors: new Map(), crashes: new Map(), heapBefore: heapInUse(), heapAfter: 0, sentinel: "same" };
  const t0 = performance.now();
  try {
    // the seeds themselves must load
    for (const [i, b] of seeds.entries()) {
      const r = await runOne(target, b, `seed-${i}`, ctx);
      if (r.crash || (!r.ok && !target.seedsMayFail)) throw new Error(`fuzz ${name}: seed ${i} does not load: ${r.error ?? r.crash} ${r.detail ?? ""}`);
    }
    for (let i = 0; i < runs; i++) {
      const r = rng(inputSeed(seed, i));
      const base = seeds[r.int(seeds.length)];
      const bytes = await target.mutate(r, base);
      const source = `${name}-${seed}-${i}.${target.ext}`;
      if (current) writeFileSync(current, bytes); // so a hang or a process crash leaves its input behind
      const res = await runOne(target, bytes, source, ctx);
      stats.runs++;
      if (res.ok) stats.accepted++;
      else if (res.error) {
        stats.rejected++;
        stats.errors.set(res.error, (stats.errors.get(res.error) ?? 0) + 1);
      } else {
        const c = stats.crashes.get(res.crash);
        if (c) c.count++;
        else {
          stats.crashes.set(res.crash, { count: 1, index: i, detail: res.detail });
          onCrash(res.crash, bytes, res.detail, i);
        }
      }
      if (i % checkEvery === checkEvery - 1) {
        const bad = s.check();
        if (bad && stats.sentinel === "same") stats.sentinel = `after input ${i}: ${bad}`;
        onProgress(stats, performance.now() - t0);
      }
    }
    const bad = s.check();
    if (bad && stats.sentinel === "same") stats.sentinel = bad;
    stats.heapAfter = heapInUse();
    if (current) rmSync(current, { force: true }); // every input came back: nothing to leave behind
  } finally {
    s.free();
    ctx.dispose();
  }
  stats.seconds = (performance.now() - t0) / 1000;
  return stats;
}

/** The checked-in crash corpus of a target: test/fuzz/corpus/<target>/*. */
export const corpusDir = (name) => new URL(`./corpus/${name}/`, import.meta.url).pathname;

export function saveToCorpus(name, bytes) {
  const dir = corpusDir(name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${createHash("sha256").update(bytes).digest("hex").slice(0, 16)}.${TARGETS[name].ext}`);
  if (!existsSync(file)) writeFileSync(file, bytes);
  return file;
}

/** Replays every corpus input of a target; returns the failures (crash kinds with file names). */
export async function replay(name) {
  const dir = corpusDir(name);
  if (!existsSync(dir)) return { files: 0, failures: [] };
  const target = TARGETS[name], ctx = context(), s = sentinel();
  const failures = [];
  const files = readdirSync(dir).sort();
  try {
    for (const f of files) {
      const res = await runOne(target, new Uint8Array(readFileSync(join(dir, f))), f, ctx);
      if (res.crash) failures.push(`${f}: ${res.crash}\n${res.detail}`);
    }
    const bad = s.check();
    if (bad) failures.push(bad);
  } finally {
    s.free();
    ctx.dispose();
  }
  return { files: files.length, failures };
}
