// `fovea train`: the MNIST LeNet-5 main job (npm start) and training on other data sets.
import { SingleBar } from "cli-progress";
import * as fovea from "../index.js";
import { out } from "./proc.js";

export interface TrainArgs {
  dataset: string;
  dir?: string;
  model: string;
  epochs?: number;
  batch: number;
  lr?: number;
  optimizer: string;
  seed: number;
  out: string;
  quick: boolean;
  augment: boolean;
  progress: boolean;
}

const OPTIMIZERS: Record<string, (lr: number) => fovea.train.Optimizer> = {
  sgd: (lr) => fovea.train.sgd({ lr, momentum: 0.9 }),
  nesterov: (lr) => fovea.train.sgd({ lr, momentum: 0.9, nesterov: true }),
  adam: (lr) => fovea.train.adam({ lr }),
  adamw: (lr) => fovea.train.adamw({ lr }),
  rmsprop: (lr) => fovea.train.rmsprop({ lr }),
  adagrad: (lr) => fovea.train.adagrad({ lr }),
  adadelta: (lr) => fovea.train.adadelta({ lr }),
};
const DEFAULT_LR: Record<string, number> = { sgd: 0.05, nesterov: 0.05, adam: 1e-3, adamw: 1e-3, rmsprop: 1e-3, adagrad: 0.01, adadelta: 1 };

export function optimizerNames(): string[] {
  return Object.keys(OPTIMIZERS);
}

export async function train(a: TrainArgs): Promise<void> {
  const t0 = performance.now();
  await fovea.init();
  const info = fovea.backendInfo();
  if (a.dataset !== "mnist") throw new fovea.ConfigError(`train: dataset "${a.dataset}" is not available yet (mnist)`);
  const dir = a.dir ?? (await fovea.data.mnistDataDir());
  const full = await fovea.data.loadMnist(dir, "train");
  const test = await fovea.data.loadMnist(dir, "t10k");
  const rng = new fovea.Rng(a.seed);
  const { train: tr, validation: val } = fovea.data.split(full, Math.min(5000, Math.floor(full.n / 10)) / full.n, rng);
  const testSet = test;
  const epochs = a.epochs ?? (a.quick ? 3 : 15);
  const m = a.model === "lenet5" ? fovea.zoo.lenet5({ seed: a.seed }) : fovea.loadModel(await fovea.data.readBytes(a.model), { source: a.model, seed: a.seed });
  const lr = a.lr ?? DEFAULT_LR[a.optimizer]!;
  m.compile({ batchSize: a.batch, loss: "softmaxCrossEntropy", optimizer: OPTIMIZERS[a.optimizer]!(lr) });
  out(`fovea ${info.build} build on ${info.runtime}; ${m.name}, ${m.countParams().toLocaleString("en-US")} parameters`);
  out(`MNIST: ${tr.n} training, ${val.n} validation, ${testSet.n} test images; ${epochs} epochs, batch ${a.batch}, ${a.optimizer} lr ${lr}${a.augment ? ", affine distortions" : ""}`);
  const batches = Math.ceil(tr.n / a.batch);
  const bar = a.progress ? new SingleBar({ format: "  epoch {epoch} [{bar}] {percentage}% | loss {loss} | {speed} img/s", hideCursor: true, clearOnComplete: true }) : null;
  const aug = a.augment ? fovea.data.augmenter(m.backend, [28, 28, 1], { rotation: 12, scale: 0.12, shear: 0.12, shift: 2.5 }) : undefined;
  let epochStart = performance.now();
  const history = m.fit(tr.x, tr.y, {
    epochs, validationData: [val.x, val.y], augment: aug,
    lr: fovea.train.cosineDecay(lr, { totalSteps: epochs * batches, minLr: lr * 0.01 }),
    callbacks: [{
      onBatchEnd: (i) => {
        if (!bar) return;
        if (i.batch === 0) {
          epochStart = performance.now();
          bar.start(i.batches, 0, { epoch: `${i.epoch + 1}/${epochs}`, loss: "-", speed: "-" });
        }
        if (i.batch % 10 === 9 || i.batch === i.batches - 1) {
          const done = Math.min((i.batch + 1) * a.batch, tr.n);
          bar.update(i.batch + 1, { loss: i.loss.toFixed(4), speed: Math.round(done / ((performance.now() - epochStart) / 1000)) });
        }
      },
      onEpochEnd: (l) => {
        bar?.stop();
        out(`epoch ${String(l.epoch + 1).padStart(2)}/${epochs}  loss ${l.loss.toFixed(4)}  accuracy ${(100 * l.accuracy!).toFixed(2)}%  ` +
          `validation ${(100 * l.valAccuracy!).toFixed(2)}%  ${Math.round(l.imagesPerSecond).toLocaleString("en-US")} img/s  ${l.seconds.toFixed(1)} s`);
      },
    }],
  });
  const r = m.evaluate(testSet.x, testSet.y);
  const wall = (performance.now() - t0) / 1000;
  out(`test error ${(100 * (1 - r.accuracy!)).toFixed(2)}% (${Math.round((1 - r.accuracy!) * testSet.n)} of ${testSet.n})  wall time ${wall.toFixed(1)} s`);
  await fovea.data.writeBytes(a.out, m.save());
  const curves = lossCurvesSvg(history.epochs);
  const svgPath = a.out.replace(/\.fovea$/, "") + ".curves.svg";
  await fovea.data.writeBytes(svgPath, curves);
  out(`model saved to ${a.out}; loss/accuracy curves in ${svgPath}`);
  m.free();
}

/** Loss and accuracy per epoch as a small SVG line chart. */
export function lossCurvesSvg(epochs: fovea.train.EpochLogs[]): string {
  const W = 640, H = 320, pad = 40;
  const n = epochs.length;
  const x = (i: number) => pad + (n <= 1 ? 0 : (i * (W - 2 * pad)) / (n - 1));
  const maxLoss = Math.max(...epochs.map((e) => Math.max(e.loss, e.valLoss ?? 0)), 1e-9);
  const yl = (v: number) => H - pad - (v / maxLoss) * (H - 2 * pad);
  const ya = (v: number) => H - pad - v * (H - 2 * pad);
  const line = (pts: [number, number][], color: string, dash = "") =>
    `<polyline fill="none" stroke="${color}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${pts.map(([a, b]) => `${a.toFixed(1)},${b.toFixed(1)}`).join(" ")}"/>`;
  const lines = [
    line(epochs.map((e, i) => [x(i), yl(e.loss)]), "#c0392b"),
    line(epochs.filter((e) => e.valLoss !== null).map((e, i) => [x(i), yl(e.valLoss!)]), "#c0392b", "6 4"),
    line(epochs.filter((e) => e.accuracy !== null).map((e, i) => [x(i), ya(e.accuracy!)]), "#2471a3"),
    line(epochs.filter((e) => e.valAccuracy !== null).map((e, i) => [x(i), ya(e.valAccuracy!)]), "#2471a3", "6 4"),
  ];
  const ticks = epochs.map((_, i) => `<text x="${x(i).toFixed(1)}" y="${H - pad + 16}" font-size="11" text-anchor="middle">${i + 1}</text>`).join("");
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif">
<rect width="100%" height="100%" fill="white"/>
<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#888"/><line x1="${pad}" y1="${pad}" x2="${pad}" y2="${H - pad}" stroke="#888"/>
${ticks}<text x="${W / 2}" y="${H - 6}" font-size="12" text-anchor="middle">epoch</text>
<text x="${pad}" y="${pad - 12}" font-size="12" fill="#c0392b">loss (max ${maxLoss.toFixed(3)}; dashed: validation)</text>
<text x="${W - pad}" y="${pad - 12}" font-size="12" fill="#2471a3" text-anchor="end">accuracy 0–100% (dashed: validation)</text>
${lines.join("\n")}
</svg>
`;
}
