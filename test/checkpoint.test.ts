// Training checkpoints (src/train/checkpoint.ts): the container (round trip, truncation, bit flips,
// a CRC-valid file with bad contents), resuming fit() anywhere in a run bit-identically, the RNG
// and optimiser state, atomic writes (data/files.ts), and `fovea train --resume` killed at
// random moments (scripts/kill-resume.mjs, in child processes).
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { RECIPES } from "../src/cli/train.js";
import { tinyMnistDir } from "./helpers/idx.mjs";
import { toyImages } from "./helpers/models.js";

const { layers: L, train: T } = fovea;
const SHAPE: [number, number, number] = [8, 8, 1];

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

// every kind of training state: batch norm's moving statistics, dropout (the model RNG), Adam's moments
const net = (seed: number) => fovea.sequential([
  L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }), L.batchNorm(), L.maxPool2d({ poolSize: 2 }),
  L.flatten(), L.dense({ units: 12, activation: "relu" }), L.dropout({ rate: 0.3 }), L.dense({ units: 3 }), L.softmax(),
], { inputShape: SHAPE, seed });

const data = toyImages(44, SHAPE, 3, 5);
const val = toyImages(12, SHAPE, 3, 6);
const EPOCHS = 3, BATCH = 8, CONFIG = { model: "net", batch: BATCH, seed: 7 };

function compiled(m: fovea.Model): fovea.Model {
  return m.compile({ batchSize: BATCH, loss: "softmaxCrossEntropy", optimizer: T.adam({ lr: 0.01 }) });
}

/** fit() as the CLI runs it (augmentation, a schedule, validation), from the start or from a checkpoint. */
function runFit(m: fovea.Model, callbacks: fovea.train.Callback[], resume?: fovea.train.FitProgress) {
  const aug = fovea.data.augmenter(m.backend, SHAPE, { rotation: 10, shift: 1, flip: true });
  return m.fit(data.x, data.y, {
    epochs: EPOCHS, validationData: [val.x, val.y], augment: aug, callbacks, lr: T.cosineDecay(0.01, { totalSteps: 18 }), ...(resume ? { resume } : {}),
  });
}

/** An uninterrupted run: its final model bytes, its losses, and a checkpoint after every step and every epoch. */
function reference() {
  const m = compiled(net(7));
  const ckpts: { where: string; bytes: Uint8Array }[] = [];
  const save = (where: string, p: fovea.train.FitProgress) => {
    ckpts.push({ where, bytes: T.encodeCheckpoint(T.checkpointOf(m, p, CONFIG)) });
  };
  const h = runFit(m, [{
    onBatchEnd: (i) => save(`epoch ${i.epoch} after batch ${i.batch}`, i.progress),
    onEpochEnd: (l, _, p) => save(`end of epoch ${l.epoch}`, p),
  }]);
  const out = { model: m.save(), losses: h.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy, e.lr]), ckpts };
  m.free();
  return out;
}
let ref: ReturnType<typeof reference>;
beforeAll(() => {
  ref = reference();
});

function resumeFrom(bytes: Uint8Array) {
  const { checkpoint: c, model } = T.readCheckpoint(bytes, { source: "test.ckpt", seed: 7 });
  const m = compiled(model);
  T.restoreCheckpoint(m, c, "test.ckpt");
  const h = runFit(m, [], c.progress);
  const out = { model: m.save(), losses: h.epochs.map((e) => [e.loss, e.accuracy, e.valLoss, e.valAccuracy, e.lr]) };
  m.free();
  return out;
}

const inUse = () => fovea.getBackend().heap.stats().inUseBytes;

describe("resuming fit() from a checkpoint", () => {
  it("ends with the same bytes and the same history from a checkpoint after any step or epoch", () => {
    const batches = Math.ceil(data.y.length / BATCH);
    expect(ref.ckpts).toHaveLength(EPOCHS * (batches + 1));
    for (const { where, bytes } of ref.ckpts) {
      const r = resumeFrom(bytes);
      expect(Buffer.from(r.model).equals(Buffer.from(ref.model)), where).toBe(true);
      expect(r.losses, where).toEqual(ref.losses);
    }
  });

  it("fit checks a resume against its own run (ConfigError)", () => {
    const { checkpoint: c, model } = T.readCheckpoint(ref.ckpts[9]!.bytes, { source: "x.ckpt" }); // epoch 1, 3 batches done
    const m = compiled(model);
    expect(() => m.fit(data.x, data.y, { epochs: EPOCHS, batchSize: 4, resume: c.progress })).toThrow(/resume: the progress is of batches of 8, this fit has batchSize 4/);
    expect(() => m.fit(data.x.subarray(0, 40 * 64), data.y.subarray(0, 40), { epochs: EPOCHS, resume: c.progress })).toThrow(fovea.ConfigError);
    expect(() => m.fit(data.x, data.y, { epochs: 1, resume: c.progress })).toThrow(/resume: batch 3 of epoch 1, after the last epoch/);
    m.free();
  });
});

describe("the checkpoint container", () => {
  it("round trip: every field comes back", () => {
    const { bytes } = ref.ckpts[9]!;
    const c = T.decodeCheckpoint(bytes, "a.ckpt");
    expect(c.config).toEqual(CONFIG);
    expect(c.progress.epoch).toBe(1);
    expect(c.progress.batch).toBe(3);
    expect(c.progress.history).toHaveLength(1);
    expect(c.step).toBe(9);
    expect(c.optimizer.name).toBe("adam");
    expect(c.optimizer.iterations).toBe(9);
    expect(c.optimizer.settings).toEqual({ beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0 });
    expect(c.optimizer.values.length).toBe(2 * (4 * 9 + 4 + 4 + 4 + 64 * 12 + 12 + 12 * 3 + 3)); // two moments per trainable weight
    expect(Buffer.from(T.encodeCheckpoint(c)).equals(Buffer.from(bytes))).toBe(true);
    const bad = T.encodeCheckpoint({ ...c, optimizer: { ...c.optimizer, settings: { beta1: "0.9" } as unknown as Record<string, number> } });
    expect(() => T.decodeCheckpoint(bad, "s.ckpt")).toThrow(/^s\.ckpt: the header's optimizer\.settings\.beta1 is "0\.9"; expected a finite number$/);
    const { model } = T.readCheckpoint(bytes);
    expect(Buffer.from(model.save()).equals(Buffer.from(c.model))).toBe(true);
    model.free();
  });

  it("truncated at every 7th byte: a FormatError naming the file, and nothing allocated", () => {
    const { bytes } = ref.ckpts[9]!;
    const before = inUse();
    for (let n = 0; n < bytes.length; n += 7) {
      expect(() => T.readCheckpoint(bytes.subarray(0, n), { source: "cut.ckpt" }), `${n} bytes`).toThrow(fovea.FormatError);
    }
    expect(() => T.readCheckpoint(bytes.subarray(0, bytes.length - 1), { source: "cut.ckpt" })).toThrow(/^cut\.ckpt: corrupt or truncated: CRC-32/);
    expect(inUse()).toBe(before);
  });

  it("bit flips anywhere: a FormatError or the identical checkpoint", () => {
    const { bytes } = ref.ckpts[9]!;
    const good = T.decodeCheckpoint(bytes);
    const before = inUse();
    let errors = 0;
    for (let i = 0; i < bytes.length; i += 3) {
      const b = bytes.slice();
      b[i]! ^= 1 << (i % 8);
      try {
        const { checkpoint: c, model } = T.readCheckpoint(b, { source: "flip.ckpt" });
        model.free();
        expect(c).toEqual(good);
      } catch (e) {
        expect(e, `byte ${i}`).toBeInstanceOf(fovea.FormatError);
        expect((e as Error).message).toMatch(/^flip\.ckpt: /);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(0);
    expect(inUse()).toBe(before);
  });

  it("a file with a valid CRC and bad contents: a FormatError naming what is wrong", () => {
    const c = T.decodeCheckpoint(ref.ckpts[9]!.bytes);
    const bad = (change: (c: fovea.train.Checkpoint) => void, msg: RegExp) => {
      const d = T.decodeCheckpoint(ref.ckpts[9]!.bytes);
      change(d);
      const before = inUse();
      expect(() => T.readCheckpoint(T.encodeCheckpoint(d), { source: "bad.ckpt" })).toThrow(msg);
      expect(inUse()).toBe(before);
    };
    bad((d) => (d.progress.order[3] = d.progress.order[4]!), /bad\.ckpt: the example order is not a permutation of 0…43 \(entry 4 is/);
    bad((d) => (d.progress.history = []), /bad\.ckpt: the header's progress\.history is not a list of 1 epochs/);
    bad((d) => (d.progress.batch = 99), /bad\.ckpt: the header's progress\.batch is 99; expected a whole number >= 0 <= 6/);
    bad((d) => (d.rng.s = -1), /bad\.ckpt: the header's rng\.s is -1/);
    bad((d) => (d.optimizer.values = d.optimizer.values.subarray(2)), /bad\.ckpt: .*optimiser values/);
    bad((d) => (d.optimizer.values = Float32Array.from(d.optimizer.values, (v, i) => (i === 5 ? NaN : v))), /bad\.ckpt: optimiser value 5 of \d+ is NaN/);
    bad((d) => (d.model = d.model.subarray(0, 100)), /bad\.ckpt: corrupt or truncated: CRC-32 [0-9a-f]{8} of 96 bytes/);
    bad((d) => ((d.config as Record<string, unknown>).x = null), /bad\.ckpt: the header's config\.x is null/);
    expect(c.progress.order.length).toBe(44);
    for (const junk of [new Uint8Array(0), new TextEncoder().encode("FOVEACKP and then some text"), ref.model]) {
      expect(() => T.readCheckpoint(junk, { source: "junk.ckpt" })).toThrow(/^junk\.ckpt: /);
    }
    const v2 = ref.ckpts[9]!.bytes.slice();
    v2[8] = 2;
    expect(() => T.decodeCheckpoint(v2, "v2.ckpt")).toThrow(/v2\.ckpt: checkpoint version 2 is not supported \(this fovea reads version 1\)/);
  });

  it("checkConfig names every difference (ConfigError)", () => {
    expect(() => T.checkConfig(CONFIG, { ...CONFIG }, "a.ckpt")).not.toThrow();
    expect(() => T.checkConfig(CONFIG, { ...CONFIG, batch: 16, seed: 8 }, "a.ckpt")).toThrow(/a\.ckpt: the checkpoint is of a run with other settings: batch 8 there, 16 here; seed 7 there, 8 here/);
    expect(() => T.checkConfig(CONFIG, { model: "net", batch: 8 }, "a.ckpt")).toThrow(/seed 7 there, \(not set\) here/);
  });

  it("restoreCheckpoint wants an optimiser of the checkpoint's kind and changes nothing otherwise", () => {
    const { checkpoint: c, model } = T.readCheckpoint(ref.ckpts[9]!.bytes, { source: "k.ckpt" });
    expect(() => T.restoreCheckpoint(model, c, "k.ckpt")).toThrow(/k\.ckpt: model .* has no optimizer/);
    model.compile({ batchSize: BATCH, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.1, momentum: 0.9 }) });
    const rng = model.rng.state();
    expect(() => T.restoreCheckpoint(model, c, "k.ckpt")).toThrow(/k\.ckpt: sgd: the state is adam's/);
    expect(model.rng.state()).toEqual(rng);
    expect(model.step).toBe(0);
    // an Adam of other betas would make other updates from the same moments
    model.compile({ batchSize: BATCH, loss: "softmaxCrossEntropy", optimizer: T.adam({ beta1: 0.8 }) });
    expect(() => T.restoreCheckpoint(model, c, "k.ckpt")).toThrow(/^k\.ckpt: adam: the state was kept with other settings: beta1 0\.9 there, 0\.8 here \(continue with the optimiser it was written with\)$/);
    expect(model.rng.state()).toEqual(rng);
    expect(model.step).toBe(0);
    model.free();
  });
});

describe("resuming a run with frozen layers", () => {
  it("restoreCheckpoint refuses a model that freezes other parameters than the run, naming them, and changes nothing; frozen as the run was, it ends bit-identical", () => {
    const CFG = { model: "frozen" };
    const frozenRun = (from?: Uint8Array, freeze = true) => {
      let m: fovea.Model, c: fovea.train.Checkpoint | null = null;
      if (from) ({ checkpoint: c, model: m } = T.readCheckpoint(from, { source: "ft.ckpt", seed: 7 }));
      else m = net(7);
      if (freeze) m.freeze([m.nodes[0]!.layer.name, m.nodes[1]!.layer.name]); // the conv and its batch norm
      compiled(m);
      if (c) T.restoreCheckpoint(m, c, "ft.ckpt");
      let mid: Uint8Array | null = null;
      m.fit(data.x, data.y, { epochs: 3, callbacks: [{ onEpochEnd: (_l, _m, p) => void (p.epoch === 1 && !mid && (mid = T.encodeCheckpoint(T.checkpointOf(m, p, CFG)))) }], ...(c ? { resume: c.progress } : {}) });
      const out = { model: m.save(), mid };
      m.free();
      return out;
    };
    const straight = frozenRun();
    expect(straight.mid).not.toBeNull();
    // not frozen again: the parameters frozen all along would train from a zero state
    const { checkpoint: c, model } = T.readCheckpoint(straight.mid!, { source: "ft.ckpt", seed: 7 });
    compiled(model);
    const rng = model.rng.state(), w = model.getWeights().map((t) => Array.from(t.values));
    expect(() => T.restoreCheckpoint(model, c, "ft.ckpt")).toThrow(/^ft\.ckpt: the run froze other parameters than model "model" does \(frozen there, trainable here: conv2d "conv2d_\d+"'s kernel, conv2d "conv2d_\d+"'s bias, batchNorm "batchNorm_\d+"'s gamma, batchNorm "batchNorm_\d+"'s beta\); freeze the layers the run froze \(model\.freeze\) before restoring$/);
    expect(model.rng.state()).toEqual(rng);
    expect(model.step).toBe(0);
    expect(model.getWeights().map((t) => Array.from(t.values))).toEqual(w);
    // frozen where the run was not
    model.freeze([model.nodes[4]!.layer.name]);
    expect(() => T.restoreCheckpoint(model, c, "ft.ckpt")).toThrow(/trainable there, frozen here: dense "dense_\d+"'s kernel, dense "dense_\d+"'s bias/);
    model.free();
    const resumed = frozenRun(straight.mid!);
    expect(Buffer.from(resumed.model).equals(Buffer.from(straight.model))).toBe(true);
  });
});

describe("checkpoint objects a program builds", () => {
  it("a NaN or infinite validation loss is kept as the file keeps it (null); a bad object is a ConfigError naming the field, and restores nothing", () => {
    const { checkpoint: c, model } = T.readCheckpoint(ref.ckpts[9]!.bytes, { source: "k.ckpt" });
    model.compile({ batchSize: BATCH, loss: "softmaxCrossEntropy", optimizer: T.adam() });
    const nan = { ...c.progress, history: c.progress.history.map((e) => ({ ...e, valLoss: NaN, valAccuracy: Infinity })) };
    const back = T.decodeCheckpoint(T.encodeCheckpoint(T.checkpointOf(model, nan, CONFIG)), "nan.ckpt");
    expect(back.progress.history[0]!.valLoss).toBe(null);
    expect(() => T.restoreCheckpoint(model, { ...c, progress: nan }, "nan.ckpt")).not.toThrow();
    const rng = model.rng.state(), step = model.step;
    expect(() => T.restoreCheckpoint(model, { ...c, step: -1 }, "o.ckpt")).toThrow(/^o\.ckpt: the checkpoint's step is -1; expected a whole number >= 0$/);
    expect(() => T.restoreCheckpoint(model, { ...c, progress: { ...c.progress, order: Int32Array.from([0, 0]) } }, "o.ckpt")).toThrow(fovea.ConfigError);
    expect(() => T.restoreCheckpoint(model, { ...c, optimizer: { ...c.optimizer, values: new Float32Array(c.optimizer.values.length).fill(NaN) } }, "o.ckpt")).toThrow(/optimiser value 0 of \d+ is NaN/);
    expect(model.rng.state()).toEqual(rng);
    expect(model.step).toBe(step);
    model.free();
  });
});

describe("state that a checkpoint keeps", () => {
  it("Rng.state/setState: a restored generator continues with the same draws, Box–Muller spare included", () => {
    const a = new fovea.Rng(5);
    a.normal(); // leaves a spare
    const st = a.state();
    expect(st.spare).not.toBeNull();
    const want = [a.normal(), a.uniform(), a.nextU32(), a.normal()];
    const b = new fovea.Rng(99);
    b.setState(st);
    expect([b.normal(), b.uniform(), b.nextU32(), b.normal()]).toEqual(want);
    expect(() => b.setState({ s: 2 ** 32, spare: null })).toThrow(fovea.ConfigError);
    expect(() => b.setState({ s: 1, spare: Infinity })).toThrow(fovea.ConfigError);
  });

  it("Optimizer.exportState/importState: the same updates afterwards, for every optimiser", () => {
    const { x, y } = toyImages(16, SHAPE, 3, 9);
    for (const make of [() => T.sgd({ lr: 0.05 }), () => T.sgd({ lr: 0.05, momentum: 0.9 }), () => T.adam(), () => T.adamw(), () => T.rmsprop(), () => T.adagrad(), () => T.adadelta()]) {
      const a = net(3).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: make() });
      const fresh = a.optimizer!.exportState(a.params);
      expect(fresh.values.length).toBe(0);
      a.trainOnBatch(x, y);
      const b = fovea.loadModel(a.save(), { seed: 1 }).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: make() });
      b.optimizer!.importState(b.backend, b.params, a.optimizer!.exportState(a.params));
      b.rng.setState(a.rng.state());
      a.trainOnBatch(x, y);
      b.trainOnBatch(x, y);
      expect(Buffer.from(b.save()).equals(Buffer.from(a.save())), a.optimizer!.name).toBe(true);
      expect(b.optimizer!.exportState(b.params)).toEqual(a.optimizer!.exportState(a.params));
      a.free();
      b.free();
    }
  });

  it("importState refuses an optimiser with other settings and changes nothing; a state without settings (older checkpoints) is taken", () => {
    const { x, y } = toyImages(16, SHAPE, 3, 9);
    const a = net(3).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.05, momentum: 0.9, nesterov: true }) });
    a.trainOnBatch(x, y);
    const state = a.optimizer!.exportState(a.params);
    expect(state.settings).toEqual({ momentum: 0.9, nesterov: true });
    const cases: [() => fovea.train.Optimizer, RegExp][] = [
      [() => T.sgd({ lr: 0.05, momentum: 0.5, nesterov: true }), /^sgd: the state was kept with other settings: momentum 0\.9 there, 0\.5 here \(/],
      [() => T.sgd({ lr: 0.05, momentum: 0.9 }), /nesterov true there, false here/],
      [() => T.adam({ beta2: 0.99 }), /^adam: the state is sgd's/],
    ];
    for (const [make, msg] of cases) {
      const b = fovea.loadModel(a.save(), { seed: 1 }).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: make() });
      b.trainOnBatch(x, y);
      const kept = b.optimizer!.exportState(b.params);
      expect(() => b.optimizer!.importState(b.backend, b.params, state)).toThrow(msg);
      expect(b.optimizer!.exportState(b.params)).toEqual(kept);
      b.free();
    }
    const adam = (beta2: number) => net(3).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.adam({ beta2 }) });
    const c = adam(0.999), d = adam(0.99);
    c.trainOnBatch(x, y);
    expect(() => d.optimizer!.importState(d.backend, d.params, c.optimizer!.exportState(c.params))).toThrow(/beta2 0\.999 there, 0\.99 here/);
    const { settings: _, ...old } = state;
    const e = fovea.loadModel(a.save(), { seed: 1 }).compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: T.sgd({ lr: 0.05, momentum: 0.9, nesterov: true }) });
    e.optimizer!.importState(e.backend, e.params, old);
    expect(e.optimizer!.exportState(e.params)).toEqual(state);
    for (const m of [a, c, d, e]) m.free();
  });
});

describe("atomic writes (data/files.ts)", () => {
  it("writeBytes(…, { atomic: true }) replaces the file and leaves no temporary file; a failure is a WriteError naming the path", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fovea-atomic-"));
    const f = join(dir, "sub", "a.bin");
    await expect(fovea.data.writeBytes(f, "no folder", { atomic: true })).rejects.toThrow(fovea.data.WriteError); // folders only with mkdir
    await fovea.data.writeBytes(f, new Uint8Array([1, 2, 3]), { atomic: true, mkdir: true });
    await fovea.data.writeBytes(f, "four", { atomic: true });
    expect(readFileSync(f, "utf8")).toBe("four");
    expect(readdirSync(join(dir, "sub"))).toEqual(["a.bin"]);
    writeFileSync(join(dir, "file"), "x");
    await expect(fovea.data.writeBytes(join(dir, "file", "b.bin"), "y", { atomic: true })).rejects.toThrow(fovea.data.WriteError);
    mkdirSync(join(dir, "d.bin"));
    const write = await fovea.data.fileWriter();
    expect(() => write(join(dir, "d.bin"), "z", { atomic: true })).toThrow(/d\.bin: could not rename .*d\.bin\.\d+\.tmp over it/);
    expect(readdirSync(dir).sort()).toEqual(["d.bin", "file", "sub"]);
  });
});

const cli = (...args: string[]) => cliEnv({}, ...args);
const cliEnv = (env: Record<string, string>, ...args: string[]) => spawnSync(process.execPath, ["dist/cli/bin.js", ...args], { encoding: "utf8", env: { ...process.env, FOVEA_BUILD: "simd", ...env } });

describe("fovea train --checkpoint / --resume", () => {
  it("resumes bit-identically from an epoch's checkpoint; other settings or a torn file are clear errors", () => {
    const dir = tinyMnistDir("fovea-resume-", 200, 40);
    for (const d of ["full", "half", "again", "x", "y"]) mkdirSync(join(dir, d)); // fovea makes no folders for paths it is given
    const args = (out: string, epochs: number, ...more: string[]) => ["train", "mnist", dir, "--epochs", String(epochs), "--batch", "32", "--optimizer", "adam", "--lr", "0.003", "--no-progress", "--out", out, ...more];
    const full = cli(...args(join(dir, "full", "m.fovea"), 2));
    expect(full.stderr).toBe("");
    expect(full.stdout).toContain(`checkpoints to ${join(dir, "full", "m.ckpt")} (every epoch)`);
    expect(existsSync(join(dir, "full", "m.ckpt"))).toBe(true);
    // the same run with its checkpoint elsewhere, also every 5 steps (resuming mid-run is the kill test's)
    const ck = join(dir, "one.ckpt");
    const half = cli(...args(join(dir, "half", "m.fovea"), 2, "--checkpoint", ck, "--checkpoint-every", "5"));
    expect(half.status).toBe(0);
    const c = T.decodeCheckpoint(readFileSync(ck), ck);
    expect(c.config).toMatchObject({ dataset: "mnist", model: "lenet5-bn", epochs: 2, batch: 32, optimizer: "adam", lr: 0.003, seed: 1, augment: true, schedule: "oneCycle", pctStart: RECIPES.mnist.pctStart! });
    expect(c.progress.epoch).toBe(2);
    // resume from the end-of-training checkpoint: nothing left but the evaluation and the files, which come out the same
    const again = cli(...args(join(dir, "again", "m.fovea"), 2, "--resume", ck, "--checkpoint", join(dir, "again.ckpt")));
    expect(again.stderr).toBe("");
    expect(again.stdout).toMatch(/resuming from .*one\.ckpt at step 12: all 2 epochs done/);
    expect(again.stdout).not.toMatch(/checkpoints to/); // none is written
    expect(existsSync(join(dir, "again.ckpt"))).toBe(false);
    for (const f of ["m.fovea", "m.curves.svg"]) expect(readFileSync(join(dir, "again", f)).equals(readFileSync(join(dir, "full", f))), f).toBe(true);
    // other settings: a usage error naming them (exit 2, as for an image of another size than the model takes)
    const other = cli(...args(join(dir, "x", "m.fovea"), 3, "--resume", ck, "--seed", "2"));
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/fovea: .*one\.ckpt: the checkpoint is of a run with other settings: epochs 2 there, 3 here; seed 1 there, 2 here; data "[0-9a-f]{8}" there, "[0-9a-f]{8}" here/);
    // the build is the environment's: the message says where it is set
    const relaxed = cliEnv({ FOVEA_BUILD: "relaxed" }, ...args(join(dir, "x", "m.fovea"), 2, "--resume", ck));
    expect(relaxed.status).toBe(2);
    expect(relaxed.stderr).toMatch(/one\.ckpt: the checkpoint is of a run with other settings: build "simd(-mt)?" there, "relaxed(-mt)?" here \(resume with the settings it was written with; the threads and the build are set by FOVEA_THREADS and FOVEA_BUILD\)\n$/);
    // a run whose recipe had another warm-up (an earlier version's): refused, not continued on this one
    writeFileSync(join(dir, "warmup.ckpt"), T.encodeCheckpoint({ ...c, config: { ...c.config, pctStart: 0.25 } }));
    const warm = cli(...args(join(dir, "x", "m.fovea"), 2, "--resume", join(dir, "warmup.ckpt")));
    expect(warm.status).toBe(2);
    expect(warm.stderr).toMatch(new RegExp(`warmup\\.ckpt: the checkpoint is of a run with other settings: pctStart 0\\.25 there, ${RECIPES.mnist.pctStart} here`));
    // a torn checkpoint: a FormatError naming the file, exit 1
    writeFileSync(join(dir, "torn.ckpt"), readFileSync(ck).subarray(0, 1000));
    const torn = cli(...args(join(dir, "y", "m.fovea"), 2, "--resume", join(dir, "torn.ckpt")));
    expect(torn.status).toBe(1);
    expect(torn.stderr.trim()).toMatch(/^fovea: .*torn\.ckpt: corrupt or truncated: CRC-32 [0-9a-f]{8} of 996 bytes, the file says [0-9a-f]{8}$/);
  }, 60_000);

  it("Ctrl-C (SIGINT) or SIGTERM while training: the bar stopped, the checkpoint to resume from named, exit 130 (143); the named command resumes", async () => {
    const dir = tinyMnistDir("fovea-sigint-", 200, 40);
    const args = (out: string, ...more: string[]) => ["dist/cli/bin.js", "train", "mnist", dir, "--epochs", "400", "--batch", "32", "--no-progress", "--out", join(dir, out, "m.fovea"), ...more];
    const start = (argv: string[]) => {
      const child = spawn(process.execPath, argv, { env: { ...process.env, FOVEA_BUILD: "simd" } });
      const io = { stdout: "", stderr: "" };
      child.stdout.on("data", (d) => (io.stdout += d));
      child.stderr.on("data", (d) => (io.stderr += d));
      return { child, io, closed: new Promise<number | null>((resolve) => child.on("close", (c) => resolve(c))) };
    };
    const until = async (done: () => boolean) => { // a watchdog of 30 s
      for (const t0 = Date.now(); !done() && Date.now() - t0 < 30_000;) await new Promise((r) => setTimeout(r, 20));
    };
    for (const [signal, code, word] of [["SIGINT", 130, "interrupted"], ["SIGTERM", 143, "terminated"]] as const) {
      mkdirSync(join(dir, signal));
      const ckpt = join(dir, signal, "m.ckpt");
      const run = start(args(signal));
      await until(() => existsSync(ckpt)); // signalled once the first epoch's checkpoint is there
      run.child.kill(signal);
      expect(await run.closed, run.io.stderr).toBe(code);
      expect(run.io.stderr).toMatch(new RegExp(`^fovea: ${word} in epoch \\d+ of 400, at step \\d+; .*m\\.ckpt holds the run at step \\d+: the same command with --resume .*m\\.ckpt continues from there\\n$`));
    }
    // and it does: the same command with --resume goes on from that step
    const ckpt = join(dir, "SIGINT", "m.ckpt"), step = T.decodeCheckpoint(readFileSync(ckpt), ckpt).step;
    const again = start(args("SIGINT", "--resume", ckpt));
    await until(() => T.decodeCheckpoint(readFileSync(ckpt), ckpt).step > step); // training again: its next epoch's checkpoint
    again.child.kill("SIGINT");
    expect(await again.closed, again.io.stderr).toBe(130);
    expect(again.io.stdout).toContain(`resuming from ${ckpt} at step ${step}`);
  }, 120_000);

  it("killed at random moments 10 times (scripts/kill-resume.mjs): every checkpoint loads, every resumed run ends bit-identical", () => {
    const r = spawnSync(process.execPath, ["scripts/kill-resume.mjs", "--kills", "10", "--seed", "3"], { encoding: "utf8", env: { ...process.env, FOVEA_BUILD: "simd" } });
    expect(r.stderr).toBe("");
    const kills = /kills (\d+), checkpoints loaded (\d+) \(\d+ of them mid-epoch\), none yet (\d+), resumes (\d+)/.exec(r.stdout);
    expect(kills, r.stdout).not.toBeNull();
    const [k, loaded, none] = kills!.slice(1, 4).map(Number) as [number, number, number];
    expect(k).toBe(10);
    expect(loaded + none).toBe(10);
    expect(r.stdout).not.toContain("PROBLEM");
    expect(r.stdout).toMatch(/runs finished under kills \d+, bit-identical to the uninterrupted run: yes/);
    expect(r.status).toBe(0);
  }, 60_000);
});
