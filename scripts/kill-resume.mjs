// Training that survives a kill: runs `fovea train` (dist/cli/bin.js) in a child process on a
// tiny generated MNIST and a small model (conv, batch norm, dropout; Adam; affine distortions),
// SIGKILLs it at random moments, and after every kill checks that the checkpoint on disk loads
// completely (or that there is none yet, if the run was killed before its first one), that it
// never goes back, and that a model file, once there, loads; then resumes from the checkpoint.
// Each run carried to its end under kills must give the same bytes (model and curves) as one
// uninterrupted run. Prints the counts; exit code 1 if anything differs or fails to load.
//
//   npm run kill-resume                 50 kills (npm run build:ts first: it runs dist/)
//   node scripts/kill-resume.mjs --kills 10 --seed 3 --every 1 --epochs 4 --optimizer nesterov
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { tinyMnist } from "../test/helpers/idx.mjs";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? def : typeof def === "number" ? Number(args[i + 1]) : args[i + 1];
};
const target = opt("kills", 50), seed = opt("seed", 1), every = opt("every", 2), epochs = opt("epochs", 6), optimizer = opt("optimizer", "adam");
if (!(Number.isInteger(target) && target >= 1)) throw new Error(`--kills must be a whole number >= 1, got ${target}`);
const keep = args.includes("--keep");

const fovea = await import(join(root, "dist/index.js"));
await fovea.init();

// ---- a tiny MNIST (IDX files): class k is a bright vertical bar near column 3 + 2k, with noise
const dir = mkdtempSync(join(tmpdir(), "fovea-kill-resume-"));
for (const [k, [name, n]] of [["train", 480], ["t10k", 64]].entries()) {
  const { images, labels } = tinyMnist(n, seed * 2 + k);
  writeFileSync(join(dir, `${name}-images-idx3-ubyte`), images);
  writeFileSync(join(dir, `${name}-labels-idx1-ubyte`), labels);
}
// ---- a small model that uses every kind of training state: conv + batch norm (moving
// statistics), dropout (the model RNG), Adam (two moment buffers per weight)
const L = fovea.layers;
const net = fovea.sequential([
  L.conv2d({ filters: 6, kernelSize: 4, strides: 2, padding: "same", activation: "relu" }), L.batchNorm(), L.maxPool2d({ poolSize: 2 }),
  L.flatten(), L.dropout({ rate: 0.25 }), L.dense({ units: 10 }), L.softmax(),
], { inputShape: [28, 28, 1], name: "tiny" });
writeFileSync(join(dir, "tiny.json"), JSON.stringify(fovea.toJSON(net)));
net.free();

const train = (out, extra) => [join(root, "dist/cli/bin.js"), "train", "mnist", dir, "--model", join(dir, "tiny.json"), "--epochs", String(epochs),
  "--batch", "16", "--optimizer", optimizer, ...(optimizer === "adam" ? ["--lr", "0.003"] : []), "--seed", String(seed), "--no-progress", "--out", out, ...extra];
/** Runs a child; kills it with SIGKILL after `killAfter` ms unless it ends first. */
function run(argv, killAfter = Infinity) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "", killed = false;
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = Number.isFinite(killAfter) ? setTimeout(() => {
      killed = child.kill("SIGKILL");
    }, killAfter) : null;
    child.on("error", reject);
    child.on("close", (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code, signal, killed: killed && signal === "SIGKILL", stdout, stderr });
    });
  });
}

// ---- the uninterrupted run: the bytes every interrupted one must end with
const refOut = join(dir, "ref", "m.fovea");
mkdirSync(join(dir, "ref")); // fovea makes no folders for the paths it is given
const t0 = performance.now();
const ref = await run(train(refOut, []));
const T = performance.now() - t0;
if (ref.code !== 0) throw new Error(`the uninterrupted run failed (exit ${ref.code}):\n${ref.stderr}`);
const refModel = readFileSync(refOut), refCurves = readFileSync(refOut.replace(/\.fovea$/, ".curves.svg"));

const count = { kills: 0, loaded: 0, midEpoch: 0, none: 0, resumes: 0, fresh: 0, runs: 0, identical: 0, tmpLeft: 0 };
const problems = [];
const runDir = join(dir, "run"), out = join(runDir, "m.fovea"), ckpt = join(runDir, "m.ckpt");
while (count.kills < target) {
  rmSync(runDir, { recursive: true, force: true });
  mkdirSync(runDir);
  let lastStep = -1;
  for (;;) {
    const resume = existsSync(ckpt);
    count[resume ? "resumes" : "fresh"]++;
    // a random moment of a whole run (start-up included); once enough kills are done, let it finish
    const r = await run(train(out, ["--checkpoint-every", String(every), ...(resume ? ["--resume", ckpt] : [])]), count.kills < target ? Math.random() * T : Infinity);
    if (!r.killed) {
      if (r.code !== 0) {
        problems.push(`a run ended with exit ${r.code} ${r.signal ?? ""}: ${r.stderr.trim()}`);
        break;
      }
      count.runs++;
      const same = readFileSync(out).equals(refModel) && readFileSync(out.replace(/\.fovea$/, ".curves.svg")).equals(refCurves);
      if (same) count.identical++;
      else problems.push(`run ${count.runs}: the final model or curves differ from the uninterrupted run's`);
      break;
    }
    count.kills++;
    if (existsSync(ckpt)) {
      try {
        const { checkpoint: c, model } = fovea.train.readCheckpoint(readFileSync(ckpt), { source: ckpt });
        model.free();
        count.loaded++;
        if (c.progress.batch > 0) count.midEpoch++;
        if (c.step < lastStep) problems.push(`kill ${count.kills}: the checkpoint went back from step ${lastStep} to ${c.step}`);
        lastStep = c.step;
      } catch (e) {
        problems.push(`kill ${count.kills}: the checkpoint does not load: ${e.message}`);
        break;
      }
    } else {
      count.none++;
      if (lastStep >= 0) problems.push(`kill ${count.kills}: the checkpoint of step ${lastStep} disappeared`);
    }
    if (existsSync(out)) {
      try {
        fovea.loadModel(readFileSync(out), { source: out }).free();
      } catch (e) {
        problems.push(`kill ${count.kills}: a torn model file: ${e.message}`);
      }
    }
    count.tmpLeft += readdirSync(runDir).filter((f) => f.endsWith(".tmp")).length;
    for (const f of readdirSync(runDir)) if (f.endsWith(".tmp")) rmSync(join(runDir, f));
  }
  if (problems.length > 0) break;
}

console.log(`uninterrupted run (${epochs} epochs, ${optimizer}): ${(T / 1000).toFixed(1)} s; checkpoint every ${every} steps and every epoch`);
console.log(`kills ${count.kills}, checkpoints loaded ${count.loaded} (${count.midEpoch} of them mid-epoch), none yet ${count.none}, resumes ${count.resumes}, fresh starts ${count.fresh}, ` +
  `temporary files left by kills ${count.tmpLeft}`);
console.log(`runs finished under kills ${count.runs}, bit-identical to the uninterrupted run: ${count.identical === count.runs && count.runs > 0 && problems.length === 0 ? "yes" : "no"} (${count.identical} of ${count.runs})`);
for (const p of problems) console.log(`PROBLEM: ${p}`);
if (!keep) rmSync(dir, { recursive: true, force: true });
else console.log(`files in ${dir}`);
fovea.shutdown?.();
process.exit(problems.length === 0 && count.runs > 0 && count.identical === count.runs ? 0 : 1);
