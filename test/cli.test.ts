// The fovea command as a user runs it (dist/cli/index.js in a child process).
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { createRequire } from "node:module";
import { tinyMnistDir } from "./helpers/idx.mjs";
import * as fovea_ from "../src/index.js";

const require = createRequire(import.meta.url);

const fovea = (...args: string[]) => spawnSync(process.execPath, ["dist/cli/bin.js", ...args], { encoding: "utf8", env: { ...process.env, FOVEA_BUILD: "simd" } });

describe("fovea CLI", () => {
  it("the build leaves the bin executable: npx runs it through its link (a rebuilt dist/ was 'Permission denied')", () => {
    expect(statSync("dist/cli/bin.js").mode & 0o111).toBe(0o111);
    const r = spawnSync("dist/cli/bin.js", ["--version"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
  });

  it("--help on the command and on every subcommand", () => {
    const top = fovea("--help");
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/Usage: fovea/);
    for (const c of ["train", "eval", "summary", "predict", "viz", "bench"]) expect(top.stdout).toContain(c);
    for (const c of ["train", "eval", "summary", "predict", "viz", "bench"]) {
      const r = fovea(c, "--help");
      expect(r.status, c).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: fovea ${c}`));
    }
    expect(fovea("train", "--help").stdout).toContain("--optimizer");
    // a default the data sets share with the rest reads "otherwise", once, last
    expect(fovea("train", "--help").stdout.replace(/\s+/g, " ")).toContain("(default 0.99 for --speedrun, 0 otherwise)");
  });

  it.skipIf(!existsSync("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz"))("train fashion-mnist (Debian's package): one epoch of its recipe (lenet-3x3, Nesterov one-cycle, L2, label smoothing), then eval of the saved model gives the same test error", () => {
    const dir = mkdtempSync(join(tmpdir(), "fovea-fm-"));
    const out = join(dir, "fm.fovea");
    const t = fovea("train", "fashion-mnist", "--epochs", "1", "--batch", "128", "--no-progress", "--out", out);
    expect(t.stderr).toBe("");
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/lenet-3x3, 206,970 parameters/);
    expect(t.stdout).toMatch(/Fashion-MNIST: 55000 training, 5000 validation, 10000 test images; 1 epoch, batch 128, nesterov lr 0.1 one-cycle, L2 0.0005, label smoothing 0.1\n/);
    const err = Number(/test error ([\d.]+)%/.exec(t.stdout)![1]);
    expect(err).toBeLessThan(30); // one epoch: well above chance (90% error)
    const e = fovea("eval", out, "fashion-mnist");
    expect(e.status).toBe(0);
    expect(Number(/test error ([\d.]+)%/.exec(e.stdout)![1])).toBe(err);
    const s = fovea("summary", out);
    expect(s.stdout + s.stderr).not.toMatch(/Error/);
  }, 300_000);

  it("--version prints package.json's version", () => {
    const r = fovea("--version");
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe((JSON.parse(readFileSync("package.json", "utf8")) as { version: string }).version);
  });

  it("a bad argument is a one-line error and exit code 2; no folders are made for outputs", () => {
    const dir = mkdtempSync(join(tmpdir(), "fovea-usage-"));
    mkdirSync(join(dir, "imgs", "a"), { recursive: true });
    const { PNG } = require("pngjs") as typeof import("pngjs");
    const png = new PNG({ width: 3, height: 5 });
    writeFileSync(join(dir, "small.png"), PNG.sync.write(png));
    writeFileSync(join(dir, "topo.json"), JSON.stringify({ format: "fovea-model" }));
    for (const c of ["a", "b"]) for (const k of [1, 2, 3]) {
      mkdirSync(join(dir, "two", c), { recursive: true });
      writeFileSync(join(dir, "two", c, `${k}.png`), PNG.sync.write(png));
    }
    const cases: [string[], RegExp][] = [
      [["train", join(dir, "two"), "--input", "28x28x1", "--epochs", "1"], /train: model "convnetjs-cifar10" takes \[32, 32, 3\] inputs, the .*two images are \[28, 28, 1\]: the default model takes 32x32x3; with --input 28x28x1, give a --model that takes 28x28x1/],
      [["train", join(dir, "two"), "--model", "lenet5", "--epochs", "1"], /train: model "lenet5" takes \[28, 28, 1\] inputs, the .*two images are \[32, 32, 3\]: a folder's images are scaled to --input \(32x32x3\); pass --input 28x28x1$/m],
      [["train", "imagenet"], /unknown dataset "imagenet" \(no such folder\): give mnist, fashion-mnist, cifar10, or a folder/],
      [["train", join(dir, "imgs"), "--input", "28x28"], /--input must be HxWxC with C 1 or 3, e.g. 32x32x3; got "28x28"/],
      [["summary", join(dir, "small.png")], /small\.png" is not a model: give a zoo model \(alexnet, .*lenet-3x3, lenet5, lenet5-bn, lenet-wide, mobilenet-v2, .*\) or a \.fovea file, an \.onnx file, a \.json model \(fovea\.toJSON's topology, a tfjs-layers model\.json or a ConvNetJS net's JSON\)/],
      // every picture is a PNG; --invert only where an image is read
      [["viz", "lenet5", "--filters", join(dir, "f.jpg")], /viz writes PNG images: name .*f\.jpg \.png/],
      [["viz", "lenet5", "--filters", join(dir, "f.png"), "--invert"], /--invert is for the images of --activations, --saliency, --dream and --deconv/],
      [["viz", "lenet5"], /viz: give --filters <out\.png> and\/or --activations <image> <out\.png>/],
      [["viz", "lenet5", "--activations", "x.png"], /--activations takes <image> <out\.png>/],
      [["viz", "lenet5", "--filters", join(dir, "no", "such", "f.png")], /--filters .*f\.png: the folder .*no\/such does not exist or is not a folder/],
      [["viz", "lenet5", "--saliency", "x.png"], /--saliency takes <image> <out\.png>/],
      [["viz", "lenet5", "--deconv", "a.png", "b.png", "c.png"], /--deconv takes <image> <out\.png>/],
      [["viz", "lenet5", "--class-model", "seven", "x.png"], /--class-model takes <k> <out\.png> with k a class number, got "seven"/],
      [["viz", "lenet5", "--class-model", "12", join(dir, "cm.png")], /class 12 is out of range; dense "[^"]+" has 10 units \(\[10\]\): 0 to 9/],
      [["viz", "lenet5", "--dream", join(dir, "small.png"), join(dir, "d.png"), "--layer", "C9"], /model "lenet5" has no layer "C9"; its layers: C1, maxPool2d_\d+, C3, /],
      [["viz", "lenet5", "--filters", join(dir, "f.png"), "--layer", "C1"], /--layer is for --dream and --deconv/],
      [["viz", "lenet5", "--saliency", join(dir, "small.png"), join(dir, "no", "s.png")], /--saliency .*s\.png: the folder .*no does not exist or is not a folder/],
      [["train", "mnist", "--out", join(dir, "missing", "m.fovea")], /--out .*m\.fovea: the folder .*missing does not exist/],
      // a folder is no file to write: refused before training (the fuzz test found a whole run lost to it)
      [["train", "mnist", "--out", join(dir, "imgs")], /--out .*imgs: is a folder; give a file path/],
      [["train", "mnist", "--out", `${dir}/`], /--out .*: is a folder; give a file path/],
      [["viz", "lenet5", "--filters", join(dir, "imgs")], /--filters .*imgs: is a folder; give a file path/],
      [["predict", "lenet5.fovea", join(dir, "small.png")], /^fovea: lenet5\.fovea: no such file\n$/],
      [["train", "cifar10", join(dir, "imgs")], /imgs\/data_batch_1\.bin: no such file: .*imgs must hold CIFAR-10's binary version \(data_batch_1\.bin … data_batch_5\.bin and test_batch\.bin, from cifar-10-binary\.tar\.gz\)/],
      [["eval", join(dir, "topo.json"), "mnist"], /eval: .*topo\.json is not a tfjs-layers model \(no modelTopology\): a topology alone has no trained weights/],
      [["train", "mnist", "--model", "examples/finetune/digits0-4.onnx"], /train: model "digits0-4" \(examples\/finetune\/digits0-4\.onnx\) has 5 outputs, the MNIST images have 10 classes \(0, 1, 2, 3, 4, 5, 6, 7, 8, 9\); a model from a file keeps its head .*model\.withHead/],
      [["predict", "lenet5", join(dir, "small.png")], /predict: "lenet5" is a zoo model, whose weights are untrained; give a saved model \(\.fovea, \.onnx, a tfjs-layers model\.json or a ConvNetJS net's JSON\)/],
      [["eval", join(dir, "imgs")], /eval: .*imgs is a folder; give a saved model \(\.fovea, \.onnx, a tfjs-layers model\.json or a ConvNetJS net's JSON\)/],
      [["train", "mnist", "--batch", "0"], /--batch must be a whole number >= 1/],
      [["train", "mnist", "--optimizer", "lbfgs"], /Allowed choices are sgd, nesterov, adam/],
      [["train", "mnist", "--lr", "-1"], /--lr must be a number > 0/],
      [["train", "mnist", "--label-smoothing", "1"], /--label-smoothing must be a number in \[0, 1\)/],
      [["train", "mnist", "--ema", "1"], /--ema must be a number in \[0, 1\)/],
      [["train", "mnist", "--l2", "-0.1"], /--l2 must be a number in \[0, 1\)/],
      [["train", "mnist", "--frobnicate"], /unknown option '--frobnicate'/],
      [["train", "fashion-mnist", "--speedrun"], /--speedrun is a race on MNIST \(fovea train mnist --speedrun\), not on fashion-mnist/],
      [["train", "mnist", "--speedrun", "--checkpoint-every", "5"], /--speedrun runs its own recipe from the start, without checkpoints: it takes no --checkpoint-every/],
      [["teach"], /^fovea: unknown command 'teach' \(did you mean bench\?\)\n$/],
      [["convert"], /^fovea: unknown command 'convert'; fovea --help lists the commands\n$/],
      [["trian"], /^fovea: unknown command 'trian' \(did you mean train\?\)\n$/],
      [["train", "mnist", "--epoch", "2"], /^fovea: unknown option '--epoch' \(did you mean --epochs\?\)\n$/],
      // flags that would be ignored or read as another value are refused before anything runs
      [["train", "mnist", "--quick", "--epochs", "1"], /train: --quick \(3 epochs\) and --epochs 1 both set the epochs; give one/],
      [["train", "mnist", "--input", "28x28x1"], /train: --input sets the image size of a folder of images; mnist's images have their own size/],
      [["train", "mnist", "--seed", ""], /--seed must be a whole number from 0 to 4294967295, got ""/],
      [["train", "mnist", "--seed", "4294967297"], /--seed must be a whole number from 0 to 4294967295, got "4294967297"/],
      [["train", "mnist", "--seed", "0x10"], /--seed must be a whole number from 0 to 4294967295, got "0x10"/],
      [["train", "mnist", "--epochs", "1.5"], /--epochs must be a whole number >= 1, got "1.5"/],
      [["train", "mnist", "--epochs", "1", "--batch", "60000"], /train: --epochs 1 and --batch 60000 make 1 steps \(55000 training images\): schedule: oneCycle over 1 steps/],
      [["viz", "lenet5", "--filters", join(dir, "f.png"), "--top", "3"], /--top is for --deconv/],
      [["viz", "lenet5", "--filters", join(dir, "f.png"), "--steps", "5"], /--steps is for --dream and --class-model/],
      [["viz", "lenet5", "--filters", join(dir, "f.png"), "--resize"], /--resize is for --activations, --saliency and --deconv/],
      [["viz", "lenet5", "--class-model", "", join(dir, "cm.png")], /--class-model takes <k> <out\.png> with k a class number, got ""/],
      [["viz", "lenet5", "--saliency", join(dir, "small.png"), join(dir, "s.png")], /small\.png: the image is 3×5 pixels, the model takes 28×28; pass --resize to scale it/],
    ];
    for (const [args, msg] of cases) {
      const r = fovea(...args);
      expect(r.status, args.join(" ")).toBe(msg.source.includes("no such file") ? 1 : 2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
    expect(existsSync(join(dir, "no"))).toBe(false);
    expect(existsSync(join(dir, "missing"))).toBe(false);
    expect(existsSync(join(dir, "cm.png"))).toBe(false);
    expect(existsSync(join(dir, "imgs.ckpt"))).toBe(false);
  });

  it("train mnist --speedrun: LeNet-5 with batch norm, the test set scored with the clock stopped, the time it first reached 99% (or that it did not)", () => {
    const dir = tinyMnistDir("fovea-cli-", 400, 100);
    // run in dir without --out: the model's default place is beside the main job's, not over it
    const out = join(dir, "models/lenet5-bn-mnist-speedrun.fovea");
    const t = spawnSync(process.execPath, [join(process.cwd(), "dist/cli/bin.js"), "train", "mnist", dir, "--speedrun", "--epochs", "6", "--batch", "16", "--no-progress"], { encoding: "utf8", cwd: dir, env: { ...process.env, FOVEA_BUILD: "simd" } });
    expect(t.stderr).toBe("");
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/lenet5-bn, 61,728 parameters/);
    expect(t.stdout).toMatch(/MNIST: 400 training, 0 validation, 100 test images; 6 epochs, batch 16, sgd lr 0\.1 one-cycle, label smoothing 0\.1, weights averaged \(ema 0\.99\)\n/); // every training image, no distortions
    expect(t.stdout).toMatch(/speedrun: the test set is scored every 0\.1 epoch from 0\.5 epochs on, with the clock stopped; no validation, no checkpoints/);
    expect(t.stdout).not.toMatch(/validation \d/);
    // bars at distinct columns are easy: it gets there, and says when
    expect(t.stdout).toMatch(/\d+\.\d\d% test accuracy after \d+\.\d\d s of training \([\d,]+ images, \d+\.\d\d epochs\)/);
    expect(t.stdout).toMatch(/speedrun: 99\.0% test accuracy first reached after \d+\.\d\d s of training \(\d+ scorings? of the test set not counted\)/);
    expect(existsSync(out)).toBe(true);
    expect(existsSync(join(dir, "models/lenet5-bn-mnist.fovea"))).toBe(false);
    expect(readdirSync(join(dir, "models")).filter((f) => f.endsWith(".ckpt"))).toEqual([]);
  });

  it("a model that takes NCHW images (an ONNX import in the file's layout) runs in the commands as the same layers and weights taking NHWC ones: the same outputs for the same pixels", async () => {
    const { nhwcInput } = await import("../src/cli/train.js");
    await fovea_.init({ build: "simd", threads: 1 });
    const orig = fovea_.zoo.convnetjsCifar10({ seed: 4 });
    const nchw = await fovea_.importOnnx(await fovea_.exportOnnx(orig));
    orig.free();
    expect(nchw.inputShape).toEqual([3, 32, 32]);
    const hwc = Float32Array.from({ length: 2 * 3072 }, (_, i) => Math.sin(i * 0.37)), chw = new Float32Array(hwc.length);
    for (let b = 0; b < 2; b++) for (let y = 0; y < 32; y++) for (let x = 0; x < 32; x++) for (let c = 0; c < 3; c++) chw[b * 3072 + (c * 32 + y) * 32 + x] = hwc[b * 3072 + (y * 32 + x) * 3 + c]!;
    const want = nchw.predict(chw);
    const m = nhwcInput(nchw, "m.fovea");
    expect(m.inputShape).toEqual([32, 32, 3]);
    expect(m.layers.some((l) => l.type === "permute")).toBe(false);
    expect(Array.from(m.predict(hwc))).toEqual(Array.from(want));
    const lenet = fovea_.zoo.lenet5({ seed: 1 });
    expect(nhwcInput(lenet, "lenet5")).toBe(lenet); // a model that takes NHWC images as it is
    lenet.free();
    m.free();
  });

  it("train → eval → summary → predict → viz end to end on a tiny generated MNIST", async () => {
    const dir = tinyMnistDir("fovea-cli-", 400, 100);
    mkdirSync(join(dir, "out"));
    const out = join(dir, "out", "m.fovea");
    const t = fovea("train", "mnist", dir, "--epochs", "4", "--batch", "32", "--no-augment", "--out", out, "--optimizer", "adam", "--lr", "0.003", "--label-smoothing", "0.1", "--ema", "0.9");
    expect(t.stderr).toBe("");
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/MNIST: 360 training, 40 validation, 100 test images; 4 epochs, batch 32, adam lr 0.003 one-cycle, L2 0.0005, label smoothing 0.1, weights averaged \(ema 0\.9\)/);
    expect(t.stdout).toMatch(/epoch  4\/4 /);
    const err = Number(/test error ([\d.]+)%/.exec(t.stdout)![1]);
    expect(err).toBeLessThan(10); // bars at distinct columns are easy
    expect(existsSync(out)).toBe(true);
    const svg = readFileSync(out.replace(/\.fovea$/, ".curves.svg"), "utf8");
    expect(svg).toMatch(/^<svg/);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    const e = fovea("eval", out, "mnist", dir);
    expect(e.status).toBe(0);
    expect(Number(/test error ([\d.]+)%/.exec(e.stdout)![1])).toBe(err);
    // the same model as ONNX (fovea's export): the same test error, and summary reads it
    await fovea_.init({ build: "simd", threads: 1 });
    const m = fovea_.loadModel(readFileSync(out));
    writeFileSync(join(dir, "out", "m.onnx"), await fovea_.exportOnnx(m));
    m.free();
    const eo = fovea("eval", join(dir, "out", "m.onnx"), "mnist", dir);
    expect(eo.stderr).toBe("");
    expect(Number(/test error ([\d.]+)%/.exec(eo.stdout)![1])).toBe(err);
    expect(fovea("summary", join(dir, "out", "m.onnx")).stdout).toContain("trainable params: 61,728");
    // --mean / --std (--imagenet) normalise the test images as the model was trained: the loss is the library's evaluate of (x − 0.5) / 0.25
    const normed = fovea("eval", out, "mnist", dir, "--mean", "0.5", "--std", "0.25");
    expect(normed.status, normed.stderr).toBe(0);
    const mm = fovea_.loadModel(readFileSync(out)), test = await fovea_.data.loadMnist(dir, "t10k");
    mm.compile({ batchSize: 256, loss: "softmaxCrossEntropy" });
    const want = mm.evaluate(test.x.map((v) => (v - 0.5) / 0.25), test.y);
    mm.free();
    expect(Math.abs(Number(/loss ([\d.]+)/.exec(normed.stdout)![1]) - want.loss)).toBeLessThanOrEqual(1e-4 * Math.max(1, want.loss));
    expect(fovea("eval", out, "mnist", dir, "--imagenet").stderr).toMatch(/--imagenet's mean has 3 numbers; the model takes 1 channel/);
    expect(fovea("eval", out, "mnist", dir, "--imagenet", "--std", "2").stderr).toMatch(/--imagenet sets --mean and --std: give one or the other/);
    const s = fovea("summary", out);
    expect(s.status).toBe(0);
    expect(s.stdout).toContain("trainable params: 61,728"); // lenet5-bn, the mnist recipe's net
    // predict and viz on a PNG of a test digit
    const { encodePng } = await import("../src/data/images.js");
    const digit = new Float32Array(784);
    for (let r = 4; r < 24; r++) for (const c of [13, 14]) digit[r * 28 + c] = 1; // class 5's bar (column 3 + 2·5)
    writeFileSync(join(dir, "d.png"), await encodePng(digit, [28, 28, 1]));
    const p = fovea("predict", out, join(dir, "d.png"), "--top", "2");
    expect(p.status).toBe(0);
    expect(p.stdout).toMatch(/d\.png: 5 \d+\.\d%, \d \d+\.\d%/);
    // the ONNX file carries no class names: the same top classes by number, the same probabilities
    const po = fovea("predict", join(dir, "out", "m.onnx"), join(dir, "d.png"), "--top", "2");
    expect(po.stdout.replace(/^.*: /, "")).toBe(p.stdout.replace(/^.*: /, ""));
    // the ONNX file imported in its own layout (NCHW: [1, 28, 28] into a leading permute) and saved, as
    // the README's fine-tuning does: the commands feed it images as they do every model (before, eval
    // refused its [1, 28, 28] inputs and predict misread its size)
    const nchw = await fovea_.importOnnx(readFileSync(join(dir, "out", "m.onnx")));
    expect(nchw.inputShape).toEqual([1, 28, 28]);
    writeFileSync(join(dir, "out", "nchw.fovea"), nchw.save());
    nchw.free();
    const en = fovea("eval", join(dir, "out", "nchw.fovea"), "mnist", dir);
    expect(en.stderr).toBe("");
    expect(Number(/test error ([\d.]+)%/.exec(en.stdout)![1])).toBe(err);
    expect(fovea("predict", join(dir, "out", "nchw.fovea"), join(dir, "d.png"), "--top", "2").stdout.replace(/^.*: /, "")).toBe(p.stdout.replace(/^.*: /, ""));
    expect(fovea("viz", join(dir, "out", "nchw.fovea"), "--saliency", join(dir, "d.png"), join(dir, "sn.png")).status).toBe(0);
    // a model whose input is not an image: summary reads it, eval says it does not take the images (a usage error)
    const mlp = fovea_.sequential([fovea_.layers.dense({ units: 10 })], { inputShape: [784], seed: 1 });
    writeFileSync(join(dir, "out", "mlp.onnx"), await fovea_.exportOnnx(mlp));
    mlp.free();
    const sm = fovea("summary", join(dir, "out", "mlp.onnx"));
    expect(sm.stderr).toBe("");
    expect(sm.stdout).toContain("trainable params: 7,850");
    const em = fovea("eval", join(dir, "out", "mlp.onnx"), "mnist", dir);
    expect(em.status).toBe(2);
    expect(em.stderr).toMatch(/takes \[784\] inputs, the MNIST test images are \[28, 28, 1\]/);
    // an image of another size is refused unless --resize; dark ink on white is warned about (--invert)
    writeFileSync(join(dir, "small.png"), await encodePng(new Float32Array(15), [5, 3, 1]));
    const small = fovea("predict", out, join(dir, "small.png"));
    expect(small.status).toBe(2);
    expect(small.stderr).toMatch(/small\.png: the image is 3×5 pixels, the model takes 28×28; pass --resize to scale it/);
    expect(fovea("predict", out, join(dir, "small.png"), "--resize").status).toBe(0);
    writeFileSync(join(dir, "ink.png"), await encodePng(digit.map((v) => 1 - v), [28, 28, 1]));
    const ink = fovea("predict", out, join(dir, "ink.png"));
    expect(ink.stderr).toMatch(/warning: .*ink\.png has a light background \(border mean 1\.00\); .*pass --invert/);
    // black strokes on a transparent background: composited on black, blank — said so
    const { PNG } = await import("pngjs");
    const alpha = new PNG({ width: 28, height: 28 });
    for (let i = 0; i < 784; i++) alpha.data[i * 4 + 3] = digit[i]! ? 255 : 0; // RGB 0 everywhere: the digit only in the alpha channel
    writeFileSync(join(dir, "alpha.png"), PNG.sync.write(alpha));
    expect(fovea("predict", out, join(dir, "alpha.png")).stderr).toMatch(/warning: .*alpha\.png is one flat colour \(0\) once its transparent pixels are composited on black: its shape is in its alpha channel alone/);
    expect(fovea("predict", out, join(dir, "d.png")).stderr).toBe("");
    const inv = fovea("predict", out, join(dir, "ink.png"), "--invert", "--top", "1");
    expect(inv.stderr).toBe("");
    expect(inv.stdout).toMatch(/ink\.png: 5 /);
    const v = fovea("viz", out, "--filters", join(dir, "f.png"), "--activations", join(dir, "d.png"), join(dir, "a.png"));
    expect(v.status).toBe(0);
    for (const f of ["f.png", "a.png"]) expect(readFileSync(join(dir, f)).subarray(1, 4).toString()).toBe("PNG");
    // seeing inside: saliency, Deep Dream, deconvnet projections, a class model
    const si = fovea("viz", out, "--saliency", join(dir, "d.png"), join(dir, "s.png"), "--dream", join(dir, "d.png"), join(dir, "dr.png"),
      "--deconv", join(dir, "d.png"), join(dir, "dc.png"), "--top", "3", "--class-model", "5", join(dir, "cm.png"), "--steps", "20");
    expect(si.stderr).toBe("");
    expect(si.status).toBe(0);
    expect(si.stdout).toMatch(/saliency of class 5 \(predicted\) written to .*s\.png/);
    expect(si.stdout).toMatch(/Deep Dream at layer C3 written to .*dr\.png/);
    expect(si.stdout).toMatch(/deconvnet projections of layer C3's units \d+ \([\d.]+\), \d+ \([\d.]+\), \d+ \([\d.]+\) written to .*dc\.png/);
    expect(si.stdout).toMatch(/class model of 5 \(score [\d.-]+\) written to .*cm\.png/);
    for (const f of ["s.png", "dr.png", "dc.png", "cm.png"]) expect(readFileSync(join(dir, f)).subarray(1, 4).toString()).toBe("PNG");
    const b = fovea("bench", "lenet5", "--batch", "8", "--runs", "3");
    expect(b.stdout).toMatch(/lenet5, batch 8, 3 runs \(medians\); first: ms to the first output from the model's construction \(onnxruntime: from the ONNX bytes fovea exported; tfjs-wasm: from fovea's weights in memory\), each engine's runtime started before \(fovea\.init, a first onnxruntime session of one, tfjs's backend\):/);
    expect(b.stdout).toMatch(/fovea \(simd(-mt)?, \d threads?\)\s+[\d.]+\s+[\d,]+\s+—\s+[\d.]+\s+—/);
    // each peer's speed-up is against fovea's row on as many threads (tfjs-wasm runs one in Node)
    const table = b.stdout.split("\n").map((l) => /^(.*?) \((?:[\w-]+, )?(\d+) threads?\)\s+([\d.]+)\s+[\d,]+\s+(—|[\d.]+x)/.exec(l)).filter((r) => r !== null)
      .map((r) => ({ engine: r![1]!, threads: Number(r![2]), ms: Number(r![3]), speedup: r![4]! }));
    for (const r of table.filter((q) => !q.engine.startsWith("fovea"))) {
      const ref = table.find((q) => q.engine.startsWith("fovea") && q.threads === r.threads)!;
      expect(ref, `a fovea row on ${r.threads} thread(s)`).toBeDefined();
      expect(Math.abs(parseFloat(r.speedup) - r.ms / ref.ms), r.engine).toBeLessThan(0.02 + 0.01 * (r.ms / ref.ms));
    }
    expect(table.filter((q) => !q.engine.startsWith("fovea")).length).toBeGreaterThanOrEqual(2);
    // onnxruntime-node runs fovea's ONNX export of the model: same outputs
    const ortLine = b.stdout.split("\n").find((l) => l.startsWith("onnxruntime-node"))!;
    expect(Number(ortLine.trim().split(/\s+/).pop())).toBeLessThan(1e-4);
    // tfjs-wasm runs the same layers and weights: same outputs
    const tfLine = b.stdout.split("\n").find((l) => l.startsWith("tfjs-wasm"))!;
    expect(Number(tfLine.trim().split(/\s+/).pop())).toBeLessThan(1e-4);
    const bo = fovea("bench", "test/fixtures/onnx/conv_bn_pool.onnx", "--runs", "3");
    expect(bo.status).toBe(0);
    expect(bo.stdout).toMatch(/onnxruntime-web \(\d threads?\)/);
    expect(bo.stdout).toMatch(/tfjs-wasm [\d.]+ \(\d threads?\)/);
    // an engine that refuses the input (PyTorch's export with a batch fixed in the file): one line, skipped; fovea's row stays
    const bp = fovea("bench", "test/fixtures/onnx/pool_indices.onnx", "--runs", "2");
    expect(bp.status, bp.stderr).toBe(0);
    expect(bp.stdout).toMatch(/^\(onnxruntime-node: Invalid rank for input: input Got: 5 Expected: 4.*: skipped\)$/m);
    expect(bp.stdout).toMatch(/^fovea \(\w+(-mt)?, \d threads?\) /m);
    expect(bp.stdout).toMatch(/, 2 runs \(medians\); first: ms to the first output from the model's file bytes \(onnxruntime: from the ONNX bytes; tfjs-wasm: from fovea's weights in memory\), each engine's runtime started before \(fovea\.init and a first import of a one-layer ONNX file, a first onnxruntime session of one, tfjs's backend\)/);
    // more threads than cores: said, since every engine's threads share them
    const { availableParallelism } = await import("node:os");
    const many = availableParallelism() + 1;
    const bm = fovea("bench", "lenet5", "--runs", "1", "--threads", String(many));
    expect(bm.status, bm.stderr).toBe(0);
    expect(bm.stdout).toContain(`(${many} threads on ${availableParallelism()} core${availableParallelism() === 1 ? "" : "s"}: every engine's threads share them)`);
    // more than one output: a usage error that says what bench times
    // (an ONNX graph x → Relu(x), Sigmoid(x), encoded with the ONNX schema's protobuf: onnx-proto)
    const { onnx } = require("onnx-proto") as { onnx: { ModelProto: { create(o: object): object; encode(m: object): { finish(): Uint8Array } } } };
    const vi = (name: string) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: [{ dimValue: 1 }, { dimValue: 4 }] } } } });
    writeFileSync(join(dir, "two.onnx"), onnx.ModelProto.encode(onnx.ModelProto.create({
      irVersion: 7, opsetImport: [{ domain: "", version: 14 }],
      graph: { name: "g", node: [{ opType: "Relu", name: "r", input: ["x"], output: ["a"] }, { opType: "Sigmoid", name: "s", input: ["x"], output: ["b"] }], input: [vi("x")], output: [vi("a"), vi("b")] },
    })).finish());
    const bt = fovea("bench", join(dir, "two.onnx"));
    expect(bt.status).toBe(2);
    expect(bt.stderr).toMatch(/^fovea: bench: .*two\.onnx has 1 input and 2 outputs; fovea bench times a model of one input and one output/);
    const bad = fovea("eval", join(dir, "train-labels-idx1-ubyte"), "mnist", dir);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/fovea: .*train-labels-idx1-ubyte: not a fovea model \(bad magic/);
    // data that does not fit the model: a usage error naming both, before anything is scored or trained
    for (const [c, k] of [["a", 0], ["b", 1]] as const) {
      mkdirSync(join(dir, "ab", c), { recursive: true });
      writeFileSync(join(dir, "ab", c, "x.png"), await encodePng(digit.map((v) => v * (k + 1) / 2), [28, 28, 1]));
    }
    const misfits: [string[], RegExp][] = [
      [["eval", out, join(dir, "ab")], /eval: .*m\.fovea has 10 outputs \(classes 0, 1, 2, 3, 4, 5, 6, 7, 8, 9\), the .*ab images have 2 classes \(a, b\)/],
      [["eval", out, "cifar10"], /cifar10: give the directory with data_batch_1\.bin … test_batch\.bin/],
      [["eval", out, join(dir, "ab"), dir], /eval: .*ab is a folder of images; \[dir\] \(.*\) is only for mnist, fashion-mnist and cifar10/],
      [["train", join(dir, "ab"), "--input", "28x28x1", "--model", out, "--epochs", "1", "--out", join(dir, "ab.fovea")], /train: model "lenet5-bn" \(.*m\.fovea\) has 10 outputs \(classes 0, 1, .*, 9\), the .*ab images have 2 classes \(a, b\)/],
    ];
    for (const [args, msg] of misfits) {
      const r = fovea(...args);
      expect(r.stderr, args.join(" ")).toMatch(msg);
      expect(r.status).toBe(2);
    }
    expect(existsSync(join(dir, "ab.fovea"))).toBe(false);
    const top = fovea("viz", out, "--deconv", join(dir, "d.png"), join(dir, "dc2.png"), "--top", "100");
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/written to .*dc2\.png \(the layer has 16 units; --top 100 asked for more\)/);
  });
});

describe("fovea predict: what a model's outputs are", () => {
  it("predict on PyTorch's own ONNX export, which ends in its last Linear layer: percentages are the softmax of the logits, as PyTorch computes them; --raw shows the logits", async () => {
    // examples/finetune: digits0-4.onnx (torch.onnx.export) and PyTorch's logits for the first 16
    // MNIST test digits of 0–4; the first of them is test image 1, a 2
    const torch = JSON.parse(readFileSync("examples/finetune/digits0-4.json", "utf8")) as { logits16: number[] };
    const test = await fovea_.data.loadMnist(await fovea_.data.mnistDataDir(), "t10k");
    expect(test.y[1]).toBe(2);
    const dir = mkdtempSync(join(tmpdir(), "fovea-predict-"));
    const { encodePng } = await import("../src/data/images.js");
    writeFileSync(join(dir, "two.png"), await encodePng(test.x.slice(784, 2 * 784), [28, 28, 1]));
    const logits = torch.logits16.slice(0, 5), max = Math.max(...logits);
    const e = logits.map((v) => Math.exp(v - max)), sum = e.reduce((a, b) => a + b, 0);
    const shown = (stdout: string) => new Map(stdout.trim().replace(/^.*: /, "").split(", ").map((c) => c.split(" ")).map(([k, v]) => [Number(k), parseFloat(v!)]));
    const p = fovea("predict", "examples/finetune/digits0-4.onnx", join(dir, "two.png"), "--top", "5");
    expect(p.status, p.stderr).toBe(0);
    expect(p.stderr).toMatch(/note: examples\/finetune\/digits0-4\.onnx ends in dense ".*", not in a softmax, sigmoid or log-softmax: the percentages are the softmax of its outputs \(--raw shows the outputs\)/);
    expect(p.stdout).toMatch(/two\.png: 2 \d+\.\d%, /);
    const pct = shown(p.stdout);
    expect(pct.size).toBe(5);
    for (const [k, v] of pct) expect(Math.abs(v - (100 * e[k]!) / sum)).toBeLessThanOrEqual(0.051);
    const raw = fovea("predict", "examples/finetune/digits0-4.onnx", join(dir, "two.png"), "--top", "5", "--raw");
    expect(raw.stderr).toBe("");
    const r = shown(raw.stdout);
    expect(r.size).toBe(5);
    for (const [k, v] of r) expect(Math.abs(v - logits[k]!)).toBeLessThanOrEqual(1e-3 * Math.max(1, Math.abs(logits[k]!)));
  });

  it("--imagenet / --mean and --std normalise the pixels as torchvision's Normalize does, --labels names the outputs; wrong counts are usage errors", async () => {
    // PyTorch's conv_bn_pool (3 channels, 16×20, 10 outputs after a softmax) on an RGB PNG, against the
    // library's predict of ((pixel / 255) − mean) / std computed here in float64
    await fovea_.init({ build: "simd" });
    const dir = mkdtempSync(join(tmpdir(), "fovea-predict-"));
    const { encodePng } = await import("../src/data/images.js");
    const px = Float32Array.from({ length: 16 * 20 * 3 }, (_, i) => ((i * 37) % 256) / 255);
    writeFileSync(join(dir, "rgb.png"), await encodePng(px, [16, 20, 3]));
    const m = await fovea_.importOnnx(new Uint8Array(readFileSync("test/fixtures/onnx/conv_bn_pool.onnx")), { inputLayout: "NHWC" });
    const want = (mean: number[], std: number[]) => m.predict(Float32Array.from(px, (v, i) => (v - mean[i % 3]!) / std[i % 3]!));
    const shown = (stdout: string) => new Map(stdout.trim().replace(/^.*?: /, "").split(", ").map((c) => c.split(" ")).map(([k, v]) => [k!, parseFloat(v!)]));
    const names = Array.from({ length: 10 }, (_, k) => `class-${k}`);
    writeFileSync(join(dir, "labels.txt"), names.join("\n") + "\n\n");
    for (const [args, mean, std] of [
      [["--imagenet"], [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]],
      [["--mean", "0.5", "--std", "0.25,0.5,1"], [0.5, 0.5, 0.5], [0.25, 0.5, 1]],
      [[], [0, 0, 0], [1, 1, 1]],
    ] as [string[], number[], number[]][]) {
      const r = fovea("predict", "test/fixtures/onnx/conv_bn_pool.onnx", join(dir, "rgb.png"), "--raw", "--top", "10", "--labels", join(dir, "labels.txt"), ...args);
      expect(r.status, r.stderr).toBe(0);
      const got = shown(r.stdout), y = want(mean, std);
      expect(got.size).toBe(10);
      for (const [k, v] of got) expect(Math.abs(v - y[names.indexOf(k)]!), `${args.join(" ")}: ${k}`).toBeLessThanOrEqual(1e-3 * Math.abs(y[names.indexOf(k)]!));
    }
    // a larger photo: --center-crop scales its shorter side to 20 ÷ 0.875 and takes the center, as imageToArray's centerCrop (torchvision's Resize + CenterCrop: test/images.test.ts)
    const big = Float32Array.from({ length: 41 * 57 * 3 }, (_, i) => ((i * 53) % 256) / 255);
    writeFileSync(join(dir, "big.png"), await encodePng(big, [41, 57, 3]));
    const { decodeImage } = await import("../src/data/images.js");
    const img = await decodeImage(new Uint8Array(readFileSync(join(dir, "big.png"))), "big.png");
    for (const [args, crop] of [[["--center-crop"], 0.875], [["--center-crop", "0.5"], 0.5]] as [string[], number][]) {
      const x = fovea_.data.imageToArray(img, [16, 20, 3], { centerCrop: crop });
      const y = m.predict(x.map((v, i) => (v - [0.485, 0.456, 0.406][i % 3]!) / [0.229, 0.224, 0.225][i % 3]!));
      const r = fovea("predict", "test/fixtures/onnx/conv_bn_pool.onnx", join(dir, "big.png"), "--raw", "--top", "10", "--labels", join(dir, "labels.txt"), "--imagenet", ...args);
      expect(r.status, r.stderr).toBe(0);
      for (const [k, v] of shown(r.stdout)) expect(Math.abs(v - y[names.indexOf(k)]!), `${args.join(" ")}: ${k}`).toBeLessThanOrEqual(1e-3 * Math.abs(y[names.indexOf(k)]!));
    }
    for (const [args, message] of [
      [[], /big\.png: the image is 57×41 pixels, the model takes 20×16; pass --resize to scale it, or --center-crop/],
      [["--center-crop", "0"], /--center-crop takes an optional fraction in \(0, 1\] \(0\.875: torchvision's ImageNet evaluation\), got "0"$/m],
      [["--center-crop", "0x1"], /got "0x1" \(an image\? give --center-crop after the images, or as --center-crop=0\.875\)/],
      [["--center-crop", "--resize"], /--resize scales the whole image, --center-crop its center: give one or the other/],
    ] as [string[], RegExp][]) {
      const r = fovea("predict", "test/fixtures/onnx/conv_bn_pool.onnx", join(dir, "big.png"), ...args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    m.free();
    writeFileSync(join(dir, "nine.txt"), names.slice(0, 9).join("\n"));
    writeFileSync(join(dir, "gap.txt"), ["a", "", ...names.slice(2)].join("\n"));
    for (const [args, message] of [
      [["--imagenet", "--mean", "0.5"], /--imagenet sets --mean and --std: give one or the other/],
      [["--mean", "0.5,0.5"], /--mean has 2 numbers; the model takes 3 channels \(give one a channel, or one for all\)/],
      [["--std", "0"], /--std 0: each must be > 0/],
      [["--mean", "0.5,x"], /--mean takes numbers separated by commas/],
      [["--labels", join(dir, "nine.txt")], /--labels .*nine\.txt: 9 names for the model's 10 outputs/],
      [["--labels", join(dir, "gap.txt")], /--labels .*gap\.txt: line 2 is blank; one class name a line/],
    ] as [string[], RegExp][]) {
      const r = fovea("predict", "test/fixtures/onnx/conv_bn_pool.onnx", join(dir, "rgb.png"), ...args);
      expect(r.status, `${args.join(" ")}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stdout).toBe("");
    }
    // a labels file that cannot be read is a failure while running, as a missing image is (exit 1)
    const none = fovea("predict", "test/fixtures/onnx/conv_bn_pool.onnx", join(dir, "rgb.png"), "--labels", join(dir, "none.txt"));
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/none\.txt/);
  });

  it("an ONNX file with its weights in external data (the onnx package's save_as_external_data) reads them from beside it", () => {
    const r = fovea("summary", "test/fixtures/onnx/external/conv_bn_pool.onnx");
    expect(r.status, r.stderr).toBe(0);
    const inside = fovea("summary", "test/fixtures/onnx/conv_bn_pool.onnx");
    expect(r.stdout.replace(/external\//g, "")).toBe(inside.stdout);
    // bench gives onnxruntime-node the file's path and onnxruntime-web the data files (both were skipped, unable to find them)
    const b = fovea("bench", "test/fixtures/onnx/external/conv_bn_pool.onnx", "--runs", "2");
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).not.toMatch(/skipped/);
    expect(b.stdout).toMatch(/^onnxruntime-node \(/m);
    expect(b.stdout).toMatch(/^onnxruntime-web \(/m);
  });

  it("an ONNX file exported with a dynamic height and width: --input-shape sizes it for summary, predict and bench (predict gives the library's outputs at that size); without it the import says how, and other models refuse it (exit 2)", async () => {
    const file = "test/fixtures/onnx/dynamic/dynamic_hw_opset13.onnx";
    const none = fovea("summary", file);
    expect(none.status).toBe(1);
    expect(none.stderr).toMatch(/the input "input" has symbolic axes 2, 3 \(\[N, 3, \?, \?\]\): .*the CLI's --input-shape/);
    const s = fovea("summary", file, "--input-shape", "3x8x10");
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toMatch(/input \[N, 8, 10, 3\]/);
    expect(fovea("summary", file, "--input-shape", "input=3,8,10").stdout).toBe(s.stdout);
    // predict: an image of that size, the outputs the library gives for its pixels
    const dir = mkdtempSync(join(tmpdir(), "fovea-dynamic-"));
    const { encodePng } = await import("../src/data/images.js");
    const px = Float32Array.from({ length: 8 * 10 * 3 }, (_, i) => Math.round(255 * (0.5 + 0.5 * Math.sin(i))) / 255);
    writeFileSync(join(dir, "x.png"), await encodePng(px, [8, 10, 3]));
    const p = fovea("predict", file, join(dir, "x.png"), "--input-shape", "3x8x10", "--raw", "--top", "3");
    expect(p.status, p.stderr).toBe(0);
    await fovea_.init({ build: "simd" });
    const m = await fovea_.importOnnx(new Uint8Array(readFileSync(file)), { inputShapes: { input: [3, 8, 10] }, inputLayout: "NHWC" });
    const y = m.predict(px);
    m.free();
    const top = Array.from(y, (v, k) => [v, k] as const).sort((a, b) => b[0] - a[0]).slice(0, 3);
    expect(p.stdout.trim()).toBe(`${join(dir, "x.png")}: ${top.map(([v, k]) => `${k} ${v.toPrecision(4)}`).join(", ")}`);
    const b = fovea("bench", file, "--input-shape", "3x8x10", "--runs", "2");
    expect(b.status, b.stderr).toBe(0);
    expect(b.stdout).toMatch(/^onnxruntime-node \(/m);
    // usage errors (exit 2), one line each; train's before it reads any data
    for (const [args, msg] of [
      [["summary", "lenet5", "--input-shape", "1x28x28"], /^fovea: --input-shape sizes the input of an \.onnx file exported with dynamic sizes; lenet5 is not one\n$/],
      [["train", "mnist", "--input-shape", "1x28x28"], /^fovea: --input-shape sizes the input of an \.onnx file exported with dynamic sizes; lenet5-bn is not one\n$/],
      [["summary", file, "--input-shape", "3x8"], /^fovea: --input-shape: .*dynamic_hw_opset13\.onnx: the input "input" is \[N, 3, H, W\]: give the 3 sizes after its batch axis, in that order \(got \[3, 8\]\)\n$/],
      [["summary", file, "--input-shape", "image=3x8x10"], /^fovea: --input-shape: .*dynamic_hw_opset13\.onnx: the graph has no input "image" \(data inputs: "input"\)\n$/],
      [["summary", file, "--input-shape", "3x8x-1"], /^fovea: option '--input-shape <\[name=\]dims>' argument '3x8x-1' is invalid\. --input-shape takes the sizes after the batch axis in the file's order, e\.g\. 3x224x224/],
      [["summary", file, "--input-shape", "3x8x10", "--input-shape", "3x9x10"], /^fovea: --input-shape 3x8x10: with 2 --input-shape options, each names its input \(--input-shape <name>=3x8x10\)\n$/],
      [["summary", file, "--input-shape", "input=3x8x10", "--input-shape", "input=3x9x10"], /^fovea: --input-shape: "input" is given twice \(3x8x10 and 3x9x10\)\n$/],
    ] as const) {
      const r = fovea(...args);
      expect(r.stderr).toMatch(msg);
      expect(r.status, args.join(" ")).toBe(2);
    }
  });

  it("summary and predict read a ConvNetJS net's JSON as ConvNetJS writes it (net.toJSON()), its weights included", async () => {
    const cnj = require("convnetjs") as { Net: new () => { makeLayers(d: object[]): void; toJSON(): object; forward(v: object): { w: Float64Array } }; Vol: new (a: number, b: number, c: number, v: number) => { w: Float64Array } };
    const net = new cnj.Net();
    net.makeLayers([{ type: "input", out_sx: 6, out_sy: 6, out_depth: 1 }, { type: "conv", sx: 3, filters: 2, stride: 1, pad: 1, activation: "relu" }, { type: "softmax", num_classes: 3 }]);
    const dir = mkdtempSync(join(tmpdir(), "fovea-cnj-"));
    writeFileSync(join(dir, "net.json"), JSON.stringify(net.toJSON()));
    const img = Float32Array.from({ length: 36 }, (_, i) => (i % 7) / 7);
    const { encodePng } = await import("../src/data/images.js");
    writeFileSync(join(dir, "x.png"), await encodePng(img, [6, 6, 1]));
    const summary = fovea("summary", join(dir, "net.json"));
    expect(summary.status, summary.stderr).toBe(0);
    expect(summary.stdout).toMatch(/input \[N, 6, 6, 1\]/);
    // ConvNetJS's own probabilities for the image as the PNG holds it (8-bit grey)
    const v = new cnj.Vol(6, 6, 1, 0);
    for (let i = 0; i < 36; i++) v.w[i] = Math.round(img[i]! * 255) / 255;
    const want = Array.from(net.forward(v).w);
    const p = fovea("predict", join(dir, "net.json"), join(dir, "x.png"), "--top", "3", "--raw");
    expect(p.status, p.stderr).toBe(0);
    const got = new Map(p.stdout.trim().replace(/^.*: /, "").split(", ").map((c) => c.split(" ")).map(([k, x]) => [Number(k), parseFloat(x!)]));
    for (const [k, x] of got) expect(Math.abs(x - want[k]!)).toBeLessThanOrEqual(1e-3);
  });

  it("probabilities as they are past reshape and dropout, a sigmoid's too (one output: its own probability), a log-softmax's as their exp; NaN outputs warned about and shown as they are, last", async () => {
    await fovea_.init({ build: "simd", threads: 1 });
    const L = fovea_.layers;
    const dir = mkdtempSync(join(tmpdir(), "fovea-predict-"));
    const { encodePng } = await import("../src/data/images.js");
    const img = new Float32Array(16).map((_, i) => ((i * 7) % 16) / 15);
    writeFileSync(join(dir, "x.png"), await encodePng(img, [4, 4, 1]));
    const pixels = Float32Array.from(img, (v) => Math.round(v * 255) / 255); // what the PNG holds
    const head = (units: number) => [L.flatten(), L.dense({ units, name: "d" })];
    const cases: [string, fovea_.Layer[], (y: Float32Array) => number[]][] = [
      ["softmax-reshape-dropout", [...head(3), L.softmax(), L.reshape({ targetShape: [3] }), L.dropout({ rate: 0.5 })], (y) => [...y]],
      ["sigmoid1", [...head(1), L.sigmoid()], (y) => [...y]],
      ["logsoftmax", [...head(3), L.logSoftmax()], (y) => [...y].map(Math.exp)],
    ];
    for (const [name, layers, want] of cases) {
      const m = fovea_.sequential(layers, { inputShape: [4, 4, 1], seed: 7 });
      const file = join(dir, `${name}.fovea`);
      writeFileSync(file, m.save());
      const expected = want(m.predict(pixels));
      m.free();
      const r = fovea("predict", file, join(dir, "x.png"), "--top", "3");
      expect(r.stderr, name).toBe("");
      const shown = r.stdout.trim().replace(/^.*: /, "").split(", ").map((c) => c.split(" "));
      expect(shown.length, name).toBe(expected.length);
      for (const [k, v] of shown) expect(Math.abs(parseFloat(v!) - 100 * expected[Number(k)]!), `${name} class ${k}`).toBeLessThanOrEqual(0.051);
    }
    // log of a negative value: NaN among the outputs
    const m = fovea_.sequential([...head(3), L.log()], { inputShape: [4, 4, 1], seed: 7 });
    m.setWeights([{ layer: "d", name: "kernel", values: new Float32Array(48) }, { layer: "d", name: "bias", values: [-1, 0.5, 2] }]);
    writeFileSync(join(dir, "nan.fovea"), m.save());
    m.free();
    const r = fovea("predict", join(dir, "nan.fovea"), join(dir, "x.png"), "--top", "3");
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/warning: .*x\.png: 1 of the model's 3 outputs are NaN or Inf; shown as they are/);
    expect(r.stdout).toMatch(/x\.png: 2 0\.6931, 1 -0\.6931, 0 NaN/);
  });
});

describe("fovea and a tfjs-layers model.json", () => {
  it("summary, eval, predict, viz and train --model read a model.json with its weight shard as tfjs writes them; eval and predict agree with tfjs-layers' own predictions", async () => {
    const tf = await import("@tensorflow/tfjs");
    await tf.setBackend("cpu");
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [28, 28, 1], filters: 6, kernelSize: 5, activation: "relu" }),
        tf.layers.maxPooling2d({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 10, activation: "softmax" }),
      ],
    });
    // the files of tfjs's file handlers: model.json (the artifacts' fields, the shard in weightsManifest) and the shard
    const dir = tinyMnistDir("fovea-cli-tfjs-", 20, 50);
    mkdirSync(join(dir, "tfm"));
    await model.save(tf.io.withSaveHandler(async (a) => {
      const { weightData, weightSpecs, ...fields } = a;
      writeFileSync(join(dir, "tfm", "model.json"), JSON.stringify({ ...fields, weightsManifest: [{ paths: ["weights.bin"], weights: weightSpecs }] }));
      writeFileSync(join(dir, "tfm", "weights.bin"), new Uint8Array(weightData as ArrayBuffer));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }));
    const file = join(dir, "tfm", "model.json");
    const s = fovea("summary", file);
    expect(s.stderr).toBe("");
    expect(s.stdout).toContain(`trainable params: ${model.countParams().toLocaleString("en-US")}`);
    // eval: the test error tfjs's own predictions give on the same images
    const test = await fovea_.data.loadMnist(dir, "t10k");
    const probs = (model.predict(tf.tensor(test.x, [test.n, 28, 28, 1])) as { arraySync(): number[][] }).arraySync();
    const wrong = probs.filter((p, i) => p.indexOf(Math.max(...p)) !== test.y[i]).length;
    const e = fovea("eval", file, "mnist", dir);
    expect(e.stderr).toBe("");
    expect(e.stdout).toMatch(new RegExp(`^test error ${((100 * wrong) / test.n).toFixed(2)}% `));
    // predict: tfjs's probabilities of one image
    const { encodePng } = await import("../src/data/images.js");
    writeFileSync(join(dir, "d.png"), await encodePng(test.x.slice(0, 784), [28, 28, 1]));
    const p = fovea("predict", file, join(dir, "d.png"), "--top", "10", "--raw");
    expect(p.stderr).toBe("");
    const shown = new Map(p.stdout.trim().replace(/^.*: /, "").split(", ").map((c) => c.split(" ")).map(([k, v]) => [Number(k), parseFloat(v!)]));
    expect(shown.size).toBe(10);
    for (const [k, v] of shown) expect(Math.abs(v - probs[0]![k]!)).toBeLessThanOrEqual(1e-4);
    // the files read back into tfjs give the same predictions: they are what tfjs reads
    const back = await tf.loadLayersModel(tf.io.fromMemory(JSON.parse(readFileSync(file, "utf8")).modelTopology, JSON.parse(readFileSync(file, "utf8")).weightsManifest[0].weights, new Uint8Array(readFileSync(join(dir, "tfm", "weights.bin"))).buffer));
    expect((back.predict(tf.tensor(test.x.slice(0, 784), [1, 28, 28, 1])) as { dataSync(): Float32Array }).dataSync()[3]).toBeCloseTo(probs[0]![3]!, 6);
    // viz reads it; train --model fine-tunes it, named by its folder (--quick: beside a full run's file)
    expect(fovea("viz", file, "--filters", join(dir, "f.png")).status).toBe(0);
    expect(existsSync(join(dir, "f.png"))).toBe(true);
    const t = spawnSync(process.execPath, [join(process.cwd(), "dist/cli/bin.js"), "train", "mnist", dir, "--model", file, "--quick", "--batch", "8", "--no-augment", "--no-progress"], { encoding: "utf8", cwd: dir, env: { ...process.env, FOVEA_BUILD: "simd" } });
    expect(t.stderr).toBe("");
    expect(t.status).toBe(0);
    expect(existsSync(join(dir, "models", "tfm-mnist-quick.fovea"))).toBe(true);
    // a model.json that is not JSON: the tfjs reader says so, naming it (exit 1: a corrupt file)
    writeFileSync(join(dir, "bad.json"), "{ \"modelTopology\": ");
    const bad = fovea("eval", join(dir, "bad.json"), "mnist", dir);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/bad\.json: not valid JSON/);
    // a shard that is missing: named as the shard model.json names
    const { renameSync } = await import("node:fs");
    renameSync(join(dir, "tfm", "weights.bin"), join(dir, "tfm", "w.moved"));
    const noShard = fovea("summary", file);
    expect(noShard.status).toBe(1);
    expect(noShard.stderr).toMatch(/tfm\/weights\.bin: no such file \(a weight shard that .*model\.json names\)/);
  });
});

describe("npm run bench's options", () => {
  it("an --onnx folder that is not there or holds no .onnx file, or a suite that takes none, is refused before anything runs (exit 2)", () => {
    const dir = mkdtempSync(join(tmpdir(), "fovea-bench-args-"));
    for (const [args, msg] of [
      [["kernels", "--onnx", dir], /^bench: --onnx is for the models and threads suites, not kernels\n$/],
      [["models", "--onnx", join(dir, "nosuch")], /^bench: --onnx .*nosuch: no such folder\n$/],
      [["models", "--onnx", dir], /^bench: --onnx .*: no \.onnx files there\n$/],
      [["models", "--onnx", "README.md"], /^bench: --onnx README\.md: not a folder\n$/],
      [["nosuite"], /^bench: unknown suite "nosuite" \(suites: kernels, train, pipeline, models, threads\)\n$/],
    ] as const) {
      const r = spawnSync(process.execPath, ["bench/run.mjs", ...args], { encoding: "utf8", timeout: 60_000 });
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stdout).toBe("");
    }
  });
});

describe("the demo server's options", () => {
  const server = (...args: string[]) => spawnSync(process.execPath, ["examples/browser/server.mjs", ...args], { encoding: "utf8", timeout: 20_000 });
  it("refuses a bad --port or an unknown option (exit 2), and says what to do when the port is taken (exit 1)", async () => {
    for (const [args, msg] of [[["--port", "abc"], /^demo server: --port must be a whole number from 0 \(any free port\) to 65535, got "abc"\n$/], [["--port", "70000"], /got "70000"/], [["--frob"], /^demo server: Unknown option '--frob' \(options: --port N, --no-isolation\)\n$/]] as const) {
      const r = server(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
    const { createServer } = await import("node:net");
    const taken = createServer();
    await new Promise<void>((r) => taken.listen(0, "127.0.0.1", r));
    const port = (taken.address() as { port: number }).port;
    const busy = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
      // asynchronous: this process holds the port and must stay responsive while the server tries it
      import("node:child_process").then(({ execFile }) => execFile(process.execPath, ["examples/browser/server.mjs", "--port", String(port)], { timeout: 20_000 }, (e, _out, stderr) => resolve({ status: e ? (e as { code?: number }).code ?? null : 0, stderr })));
    });
    taken.close();
    expect(busy.status).toBe(1);
    expect(busy.stderr).toBe(`demo server: port ${port} of 127.0.0.1 is in use (another demo server?): npm run demo -- --port N takes another (0: any free one)\n`);
  });
});

describe("fovea train on an image folder", () => {
  it("trains a zoo model on a folder of PNGs and saves the class names with it", async () => {
    const { encodePng } = await import("../src/data/images.js");
    const dir = mkdtempSync(join(tmpdir(), "fovea-cli-folder-"));
    const { mkdirSync } = await import("node:fs");
    for (const [k, cls] of ["dark", "light"].entries()) {
      mkdirSync(join(dir, "data", cls), { recursive: true });
      for (let i = 0; i < 12; i++) {
        const v = new Float32Array(16 * 16 * 3).map((_, j) => (k ? 0.8 : 0.2) + 0.05 * Math.sin(i * 7 + j));
        writeFileSync(join(dir, "data", cls, `${i}.png`), await encodePng(v, [16, 16, 3]));
      }
    }
    const out = join(dir, "m.fovea");
    const t = fovea("train", join(dir, "data"), "--input", "16x16x3", "--model", "lenet5", "--epochs", "2", "--out", out);
    // LeNet-5 takes 28×28×1: a usage error, exit 2
    expect(t.status).toBe(2);
    expect(t.stderr).toMatch(/model "lenet5" takes \[28, 28, 1\] inputs, the .* images are \[16, 16, 3\]/);
    const t2 = fovea("train", join(dir, "data"), "--input", "28x28x1", "--epochs", "3", "--batch", "8", "--out", out, "--model", "lenet5", "--optimizer", "adam", "--lr", "0.003");
    expect(t2.stderr).toBe("");
    expect(t2.status).toBe(0);
    const p = fovea("predict", out, join(dir, "data", "light", "0.png"), "--resize");
    expect(p.stdout).toMatch(/0\.png: (light|dark) /);
    // one class is no classifier: a usage error before any training
    const one = fovea("train", join(dir, "data", "x"), "--input", "28x28x1", "--epochs", "1");
    expect(one.status).toBe(2);
    const { renameSync } = await import("node:fs");
    mkdirSync(join(dir, "single"));
    renameSync(join(dir, "data", "dark"), join(dir, "single", "dark"));
    const single = fovea("train", join(dir, "single"), "--input", "28x28x1", "--epochs", "1", "--out", join(dir, "s.fovea"));
    expect(single.status).toBe(2);
    expect(single.stderr).toMatch(/train: .*single holds one class \(dark\); a classifier needs two or more class subfolders/);
  });

  it("--trainable trains an .onnx --model's constants its pattern names (PyTorch's layer scales), recorded in the checkpoint; a pattern that names nothing, or a model that is not ONNX, is a usage error", async () => {
    const { encodePng } = await import("../src/data/images.js");
    const dir = mkdtempSync(join(tmpdir(), "fovea-cli-trainable-"));
    // five classes of 8×8 RGB images: the fixture's net (conv, layer scales, offset, linear to 5)
    for (let k = 0; k < 5; k++) {
      mkdirSync(join(dir, "data", `c${k}`), { recursive: true });
      for (let i = 0; i < 4; i++) writeFileSync(join(dir, "data", `c${k}`, `${i}.png`), await encodePng(new Float32Array(8 * 8 * 3).map((_, j) => 0.5 + 0.4 * Math.sin(k * 3 + i + j)), [8, 8, 3]));
    }
    const model = join(process.cwd(), "test/fixtures/train/layer_scale_adam.onnx");
    const train = (...args: string[]) => spawnSync(process.execPath, [join(process.cwd(), "dist/cli/bin.js"), "train", join(dir, "data"), "--model", model, "--input", "8x8x3", "--epochs", "1", "--batch", "4", "--no-progress", ...args], { encoding: "utf8", cwd: dir, env: { ...process.env, FOVEA_BUILD: "simd" } });
    const t = train("--trainable", "^(layer_scale|offset)", "--out", join(dir, "m.fovea"));
    expect(t.stderr).toBe("");
    expect(t.status).toBe(0);
    await fovea_.init({ build: "simd", threads: 1 });
    const m = fovea_.loadModel(readFileSync(join(dir, "m.fovea")));
    // the conv's, the linear's and the two layer scales' and the offset's
    expect(m.params.filter((p) => p.spec.trainable).map((p) => `${p.spec.name}[${p.size}]`).sort()).toEqual(["bias[4]", "bias[4]", "bias[5]", "kernel[108]", "kernel[144]", "kernel[1280]", "scale[4]", "scale[4]", "shift[4]"].sort());
    m.free();
    // a resume must give the same pattern (it decides what trains)
    const r = train("--trainable", "^layer_scale", "--out", join(dir, "m.fovea"), "--resume", join(dir, "m.ckpt"));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/trainable "\^\(layer_scale\|offset\)" there, "\^layer_scale" here/);
    for (const [args, msg] of [
      [["--trainable", "^gamma$"], /^fovea: --trainable \^gamma\$: no constant of .*layer_scale_adam\.onnx has a name it matches\n$/],
      [["--trainable", "("], /^fovea: option '--trainable <pattern>' argument '\(' is invalid\. --trainable takes a regular expression over initializer names/],
    ] as const) {
      const e = train(...args);
      expect(e.stderr).toMatch(msg);
      expect(e.status).toBe(2);
    }
    const zoo = fovea("train", join(dir, "data"), "--model", "lenet5", "--trainable", "x");
    expect(zoo.stderr).toBe("fovea: --trainable names constants of an .onnx file to train; lenet5 is not one\n");
    expect(zoo.status).toBe(2);
  });
});
