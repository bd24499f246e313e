// The model zoo: parameter counts as published (the torchvision definitions, checked with
// Debian's python3-torchvision 0.14: sum(p.numel() for p in model.parameters())), and a
// forward pass of each at its real input size.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { zooName } from "../src/cli/train.js";

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});

const CASES: [keyof typeof fovea.zoo, number, number[]][] = [
  ["lenet5", 61_706, [28, 28, 1]],
  ["lenet5Bn", 61_728, [28, 28, 1]],
  ["lenetWide", 117_114, [28, 28, 1]],
  ["lenet3x3", 206_970, [28, 28, 1]],
  ["convnetjsCifar10", 22_466, [32, 32, 3]],
  ["nin", 966_986, [32, 32, 3]],
  ["alexnet", 61_100_840, [224, 224, 3]],
  ["vgg16", 138_357_544, [224, 224, 3]],
  ["resnet18", 11_689_512, [224, 224, 3]],
  ["resnet34", 21_797_672, [224, 224, 3]],
  ["resnet50", 25_557_032, [224, 224, 3]],
  ["googlenet", 6_624_904, [224, 224, 3]],
  ["mobilenetV2", 3_504_872, [224, 224, 3]],
];

describe("model zoo", () => {
  it.each(CASES)("%s: %i parameters, a forward pass at %j; named as the CLI names it", (name, params, shape) => {
    const m = fovea.zoo[name]();
    expect(m.name).toBe(zooName(name)); // summary, saved files and errors say what the command line takes
    expect(m.countParams()).toBe(params);
    expect(m.inputShape).toEqual(shape);
    m.compile({ batchSize: 1 });
    const out = m.predict(new Float32Array(m.inputSize).map((_, i) => Math.sin(i * 0.01)));
    expect(out.length).toBe(name === "lenet5" || name === "lenet5Bn" || name === "lenetWide" || name === "lenet3x3" || name === "convnetjsCifar10" || name === "nin" ? 10 : 1000);
    expect(out.every(Number.isFinite)).toBe(true);
    expect(out.reduce((a, b) => a + b)).toBeCloseTo(1, 4); // softmax head
    m.free();
  }, 120_000);

  it("LeNet-5 layers carry the paper's counts: C1 156, C5 48,120, F6 10,164", () => {
    const rows = Object.fromEntries(fovea.summaryRows(fovea.zoo.lenet5()).map((r) => [r.name, r.params]));
    expect([rows.C1, rows.C5, rows.F6]).toEqual([156, 48_120, 10_164]);
  });
});
