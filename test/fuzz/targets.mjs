// The fuzz targets: for each loader, real seed inputs (written by the tool that really writes
// them: PyTorch's ONNX export, tfjs-layers' save, ConvNetJS's toJSON, pngjs, jpeg-js, fovea's own
// saveModel), a mutator, and a run that feeds one input to the loader the way a user would.
// Inputs are bytes; a target's `encode`/`decode` turn its input into the bytes kept in the corpus.
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync, lstatSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import * as fovea from "../../dist/index.js";
import { idx } from "../helpers/idx.mjs";
import { concat, mutateBytes, mutateJson, mutateJsonText } from "./mutate.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const enc = new TextEncoder(), dec = new TextDecoder();

/** A model input for predict: zeros of the model's input shape (batch 1). */
function exercise(m) {
  try {
    // a model without inputs (an imported graph whose outputs are constants) predicts without data
    if (m.io?.inputs.length === 0) m.predict({});
    // several inputs or outputs (model.io): a record of each input by name
    else if (m.io && (m.io.inputs.length > 1 || m.io.outputs.length > 1)) m.predict(Object.fromEntries(m.io.inputs.map((i) => [i.name, new Float32Array(i.shape.reduce((a, b) => a * b, 1))])));
    else m.predict(new Float32Array(m.inputSize));
  } finally {
    m.free();
  }
}

// ---- seeds ----

function foveaSeeds() {
  const L = fovea.layers;
  const small = () => {
    const x = fovea.input([12, 10, 3]);
    const a = L.conv2d({ filters: 4, kernelSize: 3, padding: "same", activation: "relu" }).apply(x);
    const b = L.batchNorm({}).apply(L.conv2d({ filters: 4, kernelSize: 1 }).apply(x));
    const c = L.lrn({ size: 3 }).apply(L.add({}).apply(a, b));
    const d = L.concat({}).apply(L.maxPool2d({ poolSize: 2 }).apply(c), L.avgPool2d({ poolSize: 2 }).apply(c));
    const e = L.dense({ units: 5 }).apply(L.dropout({ rate: 0.3 }).apply(L.flatten({}).apply(L.depthwiseConv2d({ kernelSize: 3, padding: "same" }).apply(d))));
    const m = fovea.model({ inputs: x, outputs: L.softmax({}).apply(e), name: "small", seed: 3 });
    m.classes = ["a", "b", "c", "d", "e"];
    return m;
  };
  // (a model with tied layers: format version 3's ties)
  const tied = () => {
    const x = fovea.input([6, 6, 3]);
    const a = L.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "c1" }).apply(x);
    const b = L.conv2d({ filters: 3, kernelSize: 3, padding: "same", name: "c2" }).apply(L.relu({}).apply(a));
    const m = fovea.model({ inputs: x, outputs: L.dense({ units: 2 }).apply(L.flatten({}).apply(b)), name: "tied", seed: 2 });
    m.tie([[["c1", "kernel"], ["c2", "kernel"]], [["c1", "bias"], ["c2", "bias"]]]);
    return m;
  };
  return [fovea.zoo.lenet5({ seed: 1 }), small(), fovea.sequential([L.dense({ units: 3, activation: "relu" }), L.maxout({ pieces: 3 })], { inputShape: [6] }), tied()]
    .map((m) => { const b = m.save(); m.free(); return b; });
}

function convnetjsSeeds() {
  const cnj = require("convnetjs");
  const nets = [
    [{ type: "input", out_sx: 12, out_sy: 10, out_depth: 3 }, { type: "conv", sx: 5, filters: 6, stride: 1, pad: 2, activation: "relu" },
      { type: "pool", sx: 2, stride: 2 }, { type: "lrn", k: 1, n: 3, alpha: 0.1, beta: 0.75 }, { type: "conv", sx: 3, filters: 4, stride: 2, pad: 1, activation: "tanh" },
      { type: "fc", num_neurons: 8, activation: "sigmoid" }, { type: "softmax", num_classes: 3 }],
    [{ type: "input", out_sx: 1, out_sy: 1, out_depth: 5 }, { type: "fc", num_neurons: 8, activation: "maxout", group_size: 2 },
      { type: "fc", num_neurons: 6, activation: "relu", drop_prob: 0.5 }, { type: "svm", num_classes: 3 }],
    [{ type: "input", out_sx: 1, out_sy: 1, out_depth: 19 }, { type: "fc", num_neurons: 1, activation: "relu" }, { type: "fc", num_neurons: 5 }, { type: "regression", num_neurons: 5 }],
  ];
  return nets.map((defs) => {
    const net = new cnj.Net();
    net.makeLayers(defs);
    return enc.encode(JSON.stringify(net.toJSON()));
  });
}

// tfjs artifacts: model.json text and the weight shard, kept as one byte string:
// u32 LE length of model.json | model.json | weights
const packTfjs = (json, weights) => {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, json.length, true);
  return concat([head, json, weights]);
};
const unpackTfjs = (b) => {
  const n = b.length >= 4 ? new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true) : 0;
  return { json: b.subarray(4, 4 + n), weights: b.subarray(Math.min(b.length, 4 + n)) };
};

async function tfjsSeeds() {
  const tf = await import("@tensorflow/tfjs");
  await tf.setBackend("cpu");
  const save = async (model) => {
    let a;
    await model.save(tf.io.withSaveHandler(async (x) => {
      a = x;
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }));
    const json = enc.encode(JSON.stringify({ modelTopology: a.modelTopology, weightsManifest: [{ paths: ["w.bin"], weights: a.weightSpecs }] }));
    return packTfjs(json, new Uint8Array(a.weightData));
  };
  const seq = tf.sequential({ layers: [
    tf.layers.conv2d({ inputShape: [10, 8, 3], filters: 4, kernelSize: 3, padding: "same", activation: "relu" }),
    tf.layers.batchNormalization(), tf.layers.depthwiseConv2d({ kernelSize: 3, depthMultiplier: 2 }),
    tf.layers.maxPooling2d({ poolSize: 2 }), tf.layers.flatten(), tf.layers.dropout({ rate: 0.2 }),
    tf.layers.dense({ units: 5, activation: "softmax" }),
  ] });
  const x = tf.input({ shape: [8, 8, 2] });
  const a = tf.layers.conv2d({ filters: 3, kernelSize: 3, padding: "same", activation: "relu6" }).apply(x);
  const b = tf.layers.conv2d({ filters: 3, kernelSize: 1 }).apply(x);
  const c = tf.layers.concatenate().apply([tf.layers.add().apply([a, b]), b]);
  const d = tf.layers.dense({ units: 4, activation: "elu" }).apply(tf.layers.globalAveragePooling2d({}).apply(tf.layers.leakyReLU({ alpha: 0.2 }).apply(c)));
  const fn = tf.model({ inputs: x, outputs: d });
  const seeds = [await save(seq), await save(fn)];
  seq.dispose();
  fn.dispose();
  return seeds;
}

const idxBytes = (dims, fill) => idx(dims, Uint8Array.from({ length: dims.reduce((a, b) => a * b, 1) }, (_, i) => fill(i)));

async function pngSeeds() {
  const { PNG } = (await import("pngjs")).default;
  const make = (w, h, colorType, bitDepth, inputHasAlpha = true) => {
    const png = new PNG({ width: w, height: h, colorType, bitDepth, inputColorType: 6, inputHasAlpha });
    for (let i = 0; i < w * h * 4; i++) png.data[i] = (i * 37) & 255;
    const b = PNG.sync.write(png, { colorType, bitDepth, inputColorType: 6 });
    return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  };
  return [make(8, 6, 6, 8), make(5, 7, 2, 8), make(9, 4, 0, 8), make(4, 4, 4, 8), make(6, 5, 6, 16)];
}

async function jpegSeeds() {
  const jpeg = (await import("jpeg-js")).default;
  const make = (w, h, q) => {
    const data = new Uint8Array(w * h * 4);
    for (let i = 0; i < data.length; i++) data[i] = (i * 29 + (i >> 7)) & 255;
    return new Uint8Array(jpeg.encode({ data, width: w, height: h }, q).data);
  };
  return [make(16, 12, 50), make(9, 17, 90)];
}

// ---- PNG-aware mutation: chunk fields with the CRC recomputed, so the lie reaches the decoder ----

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(b) {
  let c = 0xffffffff;
  for (const v of b) c = CRC_TABLE[(c ^ v) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function mutatePng(r, src) {
  const b = Uint8Array.from(src);
  const dv = new DataView(b.buffer);
  if (r.next() < 0.4 || b.length < 33) return mutateBytes(r, src, { bigEndian: true });
  // IHDR starts at 8: length(4) "IHDR" width(4) height(4) depth colour compression filter interlace crc(4)
  const field = r.int(6);
  if (field === 0) dv.setUint32(16, r.pick([0, 1, 0x0fffffff, 0x7fffffff, 0x80000000, 65535, 100000]), false);
  else if (field === 1) dv.setUint32(20, r.pick([0, 1, 0x0fffffff, 0x7fffffff, 0x80000000, 65535, 100000]), false);
  else if (field === 2) b[24] = r.pick([0, 1, 2, 3, 4, 5, 7, 8, 16, 255]);
  else if (field === 3) b[25] = r.pick([0, 1, 2, 3, 4, 5, 6, 7, 255]);
  else if (field === 4) b[26 + r.int(3)] = r.pick([1, 2, 255]);
  else dv.setUint32(8, r.pick([0, 12, 14, 0x7fffffff, 0xffffffff]), false); // IHDR length
  if (r.next() < 0.3) return mutateBytes(r, b, { bigEndian: true });
  dv.setUint32(29, crc32(b.subarray(12, 29)), false);
  return b;
}

// ---- the CLI: argument lists over a small sandbox of real files ----

function cliSandbox() {
  const dir = mkdtempSync(join(tmpdir(), "fovea-fuzz-cli-"));
  const m = fovea.sequential([fovea.layers.flatten({}), fovea.layers.dense({ units: 2 }), fovea.layers.softmax({})], { inputShape: [8, 8, 1], seed: 1 });
  m.classes = ["a", "b"];
  writeFileSync(join(dir, "m.fovea"), m.save());
  writeFileSync(join(dir, "m.json"), JSON.stringify(fovea.toJSON(m)));
  m.free();
  writeFileSync(join(dir, "bad.fovea"), "FOVEA\0\0\0garbage");
  writeFileSync(join(dir, "file"), "x");
  for (const c of ["a", "b"]) {
    mkdirSync(join(dir, "imgs", c), { recursive: true });
    const { PNG } = require("pngjs");
    for (let k = 0; k < 2; k++) {
      const png = new PNG({ width: 8, height: 8 });
      png.data.fill(c === "a" ? 40 * k : 255 - 40 * k);
      writeFileSync(join(dir, "imgs", c, `${k}.png`), PNG.sync.write(png));
    }
  }
  writeFileSync(join(dir, "img.png"), readFileSync(join(dir, "imgs", "a", "0.png")));
  // a small MNIST: `train mnist` / `eval … mnist` without a folder would read the real 70,000 images
  mkdirSync(join(dir, "mnist"));
  for (const [split, n] of [["train", 20], ["t10k", 10]]) {
    writeFileSync(join(dir, "mnist", `${split}-images-idx3-ubyte`), idxBytes([n, 28, 28], (i) => (i * 13) & 255));
    writeFileSync(join(dir, "mnist", `${split}-labels-idx1-ubyte`), idxBytes([n], (i) => i % 10));
  }
  return dir;
}

const CLI_TEMPLATES = [
  ["train", "$D/imgs", "--input", "8x8x1", "--model", "$D/m.json", "--epochs", "1", "--batch", "2", "--out", "$D/out/t.fovea", "--no-progress"],
  ["train", "$D/imgs", "--input", "8x8x1", "--model", "$D/m.fovea", "--epochs", "1", "--optimizer", "adam", "--lr", "0.01", "--no-augment", "--no-progress", "--out", "$D/out/u.fovea"],
  ["train", "cifar10", "$D/nowhere", "--epochs", "1"],
  ["train", "mnist", "$D/file", "--epochs", "1"],
  ["train", "mnist", "$D/mnist", "--epochs", "1", "--batch", "8", "--no-progress"],
  ["eval", "$D/m.fovea", "$D/imgs"],
  ["eval", "$D/bad.fovea", "$D/imgs"],
  ["summary", "$D/m.fovea"],
  ["summary", "lenet5"],
  ["predict", "$D/m.fovea", "$D/img.png", "--top", "2"],
  ["viz", "$D/m.fovea", "--filters", "$D/out/f.png"],
  ["viz", "lenet5", "--activations", "$D/img.png", "$D/out/a.png"],
  ["bench", "$D/bad.fovea", "--runs", "1"],
  ["--help"],
  ["nosuchcommand"],
];
const CLI_WORDS = ["", "-", "--", "mnist", "fashion-mnist", "cifar10", "$D/mnist", "--epochs", "--batch", "--lr", "--seed", "--out", "--model", "--input", "--top", "--runs", "--threads", "--optimizer",
  "0", "-1", "1.5", "NaN", "1e309", "99999999999999999999", "abc", "8x8x2", "0x0x1", "8x8", "$D/nowhere", "$D/file/x.fovea", "/dev/null/x/m.fovea",
  "$D/imgs", "$D/img.png", "$D/m.fovea", "$D/m.json", "lenet5", "resnet50x", "\u0000", "%s%n", "../../../../etc/passwd", "--no-progress", "--quick"];
// options whose large values cost time, not robustness: kept small
const SLOW = new Set(["--epochs", "--runs"]);

function mutateArgv(r, argv) {
  const a = [...argv];
  const edits = 1 + r.int(3);
  for (let e = 0; e < edits; e++) {
    const i = r.int(a.length + 1);
    switch (r.int(5)) {
      case 0: a.splice(i, 1); break;
      case 1: a.splice(i, 0, r.pick(CLI_WORDS)); break;
      case 2: if (i < a.length) a[i] = r.pick(CLI_WORDS); break;
      case 3: if (i < a.length) a[i] = a[i].slice(0, r.int(a[i].length + 1)); break;
      default: if (a.length > 1) { const j = r.int(a.length); [a[i % a.length], a[j]] = [a[j], a[i % a.length]]; }
    }
  }
  // no epochs or runs above 2: a long run proves nothing more
  for (let i = 0; i < a.length - 1; i++) if (SLOW.has(a[i]) && Number(a[i + 1]) > 2) a[i + 1] = "2";
  // the named data sets without a folder read the sandbox's small MNIST, not the real one
  const named = ["mnist", "fashion-mnist"];
  if (a[0] === "train" && named.includes(a[1]) && (a.length < 3 || a[2].startsWith("-"))) a.splice(2, 0, "$D/mnist");
  if (a[0] === "eval" && (a.length < 3 || a[2].startsWith("-"))) a.splice(2, 0, "mnist");
  if (a[0] === "eval" && named.includes(a[2]) && (a.length < 4 || a[3].startsWith("-"))) a.splice(3, 0, "$D/mnist");
  return a;
}

// what the sandbox held when made: an input may write over a fixture (viz --activations img.png
// m.fovea) or create a file where a missing path was expected ($D/nowhere); undo it after each input
const pristine = new Map();
function snapshot(dir, rel = "") {
  const m = new Map();
  for (const f of readdirSync(join(dir, rel))) {
    const r = join(rel, f), st = lstatSync(join(dir, r));
    if (st.isDirectory()) { m.set(r, null); for (const [k, v] of snapshot(dir, r)) m.set(k, v); }
    else m.set(r, readFileSync(join(dir, r)));
  }
  return m;
}
function restoreSandbox(dir) {
  const want = pristine.get(dir) ?? pristine.set(dir, snapshot(dir)).get(dir);
  const walk = (rel) => {
    for (const f of readdirSync(join(dir, rel))) {
      const r = join(rel, f), p = join(dir, r), st = lstatSync(p);
      if (!want.has(r) || (want.get(r) === null) !== st.isDirectory()) rmSync(p, { recursive: true, force: true });
      else if (st.isDirectory()) walk(r);
      else if (!readFileSync(p).equals(want.get(r))) writeFileSync(p, want.get(r));
    }
  };
  walk("");
  for (const [r, v] of want) {
    const p = join(dir, r);
    try { lstatSync(p); } catch { if (v === null) mkdirSync(p, { recursive: true }); else writeFileSync(p, v); }
  }
}

// ---- targets ----

const fromFile = (dir, ext) => readdirSync(dir).filter((f) => f.endsWith(ext)).sort().map((f) => new Uint8Array(readFileSync(join(dir, f))));

export const TARGETS = {
  onnx: {
    ext: "onnx",
    // (and PyTorch exports whose modules run twice, or whose tensor two layers hold differently: tied, or held apart, on import)
    seeds: async () => [...fromFile(join(here, "..", "fixtures", "onnx"), ".onnx"), ...["shared_sgd", "shared_folded_adam", "tied_autoencoder", "transposed_linear"].map((f) => new Uint8Array(readFileSync(join(here, "..", "fixtures", "train", `${f}.onnx`))))],
    async mutate(r, seed) {
      if (r.next() < 0.5) return mutateBytes(r, seed);
      const { onnx } = (await import("onnx-proto")).default;
      const obj = onnx.ModelProto.toObject(onnx.ModelProto.decode(seed), { longs: Number, bytes: Array, defaults: false });
      const g = obj.graph;
      const k = r.int(4);
      if (k === 0 && g.node.length > 1) { // a cycle or a dangling / duplicated name
        const a = r.pick(g.node), b = r.pick(g.node);
        if (r.next() < 0.5 && b.output?.length && a.input?.length) a.input[0] = b.output[0];
        else if (a.output?.length && b.output?.length) a.output[0] = b.output[0];
      } else if (k === 1) g.node.push(structuredClone(r.pick(g.node)));
      else mutateJson(r, r.next() < 0.5 ? r.pick(g.node) : r.next() < 0.5 && g.initializer?.length ? r.pick(g.initializer) : g);
      try {
        return onnx.ModelProto.encode(onnx.ModelProto.fromObject(obj)).finish();
      } catch {
        return mutateBytes(r, seed);
      }
    },
    async run(bytes, source) {
      exercise(await fovea.importOnnx(bytes, { source }));
    },
  },
  fovea: {
    ext: "fovea",
    seeds: async () => foveaSeeds(),
    async mutate(r, seed) {
      if (r.next() < 0.35) return mutateBytes(r, seed);
      // the topology JSON, mutated structurally; the header's length rewritten to match (or not), and
      // the CRC-32 at the end (version 2) too, so that the checks behind it run (or not)
      const dv = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
      const n = dv.getUint32(12, true);
      const topo = JSON.parse(dec.decode(seed.subarray(16, 16 + n)));
      let weights = seed.subarray(16 + n + ((4 - ((16 + n) % 4)) % 4), seed.length - 4);
      if (r.next() < 0.2) { // NaN / Inf weights
        weights = Uint8Array.from(weights);
        new DataView(weights.buffer).setFloat32(4 * r.int(weights.length / 4), r.pick([NaN, Infinity, -Infinity, 3.4e38]), true);
      } else mutateJson(r, topo);
      const json = enc.encode(mutateJsonText(r, topo, {}).length && r.next() < 0.5 ? JSON.stringify(topo) : mutateJsonText(r, topo, {}));
      const head = Uint8Array.from(seed.subarray(0, 16));
      new DataView(head.buffer).setUint32(12, r.next() < 0.9 ? json.length : r.pick([0, 0xffffffff, json.length + 1]), true);
      const pad = new Uint8Array((4 - ((16 + json.length) % 4)) % 4).fill(0x20);
      const body = concat([head, json, pad, weights]), crc = new Uint8Array(4);
      new DataView(crc.buffer).setUint32(0, r.next() < 0.9 ? crc32(body) : r.int(2 ** 32), true);
      return concat([body, crc]);
    },
    async run(bytes, source) {
      exercise(fovea.loadModel(bytes, { source }));
    },
  },
  convnetjs: {
    ext: "json",
    seeds: async () => convnetjsSeeds(),
    async mutate(r, seed) {
      return enc.encode(mutateJsonText(r, JSON.parse(dec.decode(seed)), { extra: [{ sx: 1, sy: 1, depth: -1, w: {} }, { sx: 1e5, sy: 1e5, depth: 1e5, w: {} }] }));
    },
    async run(bytes, source) {
      exercise(fovea.importConvnetjs(dec.decode(bytes), { source }).model);
    },
  },
  tfjs: {
    ext: "tfjs",
    seeds: tfjsSeeds,
    async mutate(r, seed) {
      const { json, weights } = unpackTfjs(seed);
      if (r.next() < 0.25) return packTfjs(json, mutateBytes(r, weights));
      return packTfjs(enc.encode(mutateJsonText(r, JSON.parse(dec.decode(json)), { extra: ["constructor", "__proto__", [null, 8, 8, 2]] })), weights);
    },
    async run(bytes, source, ctx) {
      // as a user loads it: model.json and its shard side by side in a folder
      const { json, weights } = unpackTfjs(bytes);
      const dir = ctx.scratch();
      writeFileSync(join(dir, "model.json"), json);
      writeFileSync(join(dir, "w.bin"), weights);
      try {
        exercise(await fovea.loadTfjsModel(join(dir, "model.json")));
      } catch (e) {
        // the file is named by its path; the corpus names it by id
        if (e instanceof fovea.FoveaError && e.message.includes(dir)) e.message = e.message.replaceAll(join(dir, "model.json"), source).replaceAll(dir, source);
        throw e;
      }
    },
  },
  idx: {
    ext: "idx",
    seeds: async () => {
      const img = idxBytes([5, 28, 28], (i) => (i * 7) & 255), lab = idxBytes([5], (i) => i % 10), img3 = idxBytes([3, 4, 4, 2], (i) => i & 255);
      return [img, lab, img3, new Uint8Array(gzipSync(img)), new Uint8Array(gzipSync(lab))];
    },
    async mutate(r, seed) {
      if (seed[0] === 0x1f && r.next() < 0.5) return new Uint8Array(gzipSync(mutateBytes(r, new Uint8Array(require("node:zlib").gunzipSync(seed)), { bigEndian: true })));
      return mutateBytes(r, seed, { bigEndian: true });
    },
    async run(bytes, source) {
      // as MNIST reads it: gunzip if gzip, parse; an images file goes through mnistFromBytes
      const idx = fovea.data.parseIdx(await fovea.data.maybeGunzip(bytes, source), source);
      if (idx.dims.length === 3) await fovea.data.mnistFromBytes(bytes, labelsFor(idx.dims[0]), { images: source, labels: "labels" });
    },
  },
  cifar10: {
    ext: "bin",
    seeds: async () => [Uint8Array.from({ length: 3 * 3073 }, (_, i) => (i % 3073 === 0 ? (i / 3073) % 10 : (i * 13) & 255))],
    async mutate(r, seed) {
      return mutateBytes(r, seed);
    },
    async run(bytes, source) {
      fovea.data.cifar10FromBytes([bytes], [source]);
    },
  },
  png: {
    ext: "png",
    seeds: pngSeeds,
    async mutate(r, seed) {
      return mutatePng(r, seed);
    },
    async run(bytes, source) {
      fovea.data.imageToArray(await fovea.data.decodeImage(bytes, source), [7, 5, 3]);
    },
  },
  jpeg: {
    ext: "jpg",
    seeds: jpegSeeds,
    async mutate(r, seed) {
      return mutateBytes(r, seed, { bigEndian: true });
    },
    async run(bytes, source) {
      fovea.data.imageToArray(await fovea.data.decodeImage(bytes, source), [7, 5, 1]);
    },
  },
  cli: {
    ext: "argv.json",
    seedsMayFail: true, // some templates are wrong on purpose
    seeds: async () => CLI_TEMPLATES.map((a) => enc.encode(JSON.stringify(a))),
    async mutate(r, seed) {
      return enc.encode(JSON.stringify(mutateArgv(r, JSON.parse(dec.decode(seed)))));
    },
    async run(bytes, source, ctx) {
      const { main } = await import("../../dist/cli/main.js");
      const dir = ctx.cliDir();
      const argv = JSON.parse(dec.decode(bytes)).map((s) => String(s).replaceAll("$D", dir));
      const captured = [];
      const { stdout, stderr } = process;
      const ow = stdout.write, ew = stderr.write;
      stdout.write = (s) => (captured.push(String(s)), true);
      stderr.write = (s) => (captured.push(String(s)), true);
      let code;
      const cwd = process.cwd();
      process.chdir(dir); // relative outputs (--out 1.5, models/…) land in the sandbox
      try {
        code = await main(argv);
      } finally {
        process.chdir(cwd);
        stdout.write = ow;
        stderr.write = ew;
        restoreSandbox(dir);
      }
      const text = captured.join("");
      if (code !== 0 && code !== 1 && code !== 2) throw new Error(`exit code ${code}`);
      if (/\n\s+at .+:\d+:\d+/.test(text)) throw new Error(`a stack trace was printed: ${text.slice(0, 300)}`);
      if (code !== 0 && text.trim() === "") throw new Error(`exit code ${code} with no message`);
      // a refusal, tallied with the other errors by its first line
      if (code !== 0) throw new fovea.ConfigError(`${source}: exit ${code}: ${text.trim().split("\n")[0].replaceAll(dir, "$D")}`);
    },
  },
};

const labelsFor = (n) => idxBytes([n], (i) => i % 10);

/** Per-campaign resources the targets share (a scratch folder, the CLI sandbox). */
export function context() {
  let scratch = null, cli = null;
  return {
    scratch: () => (scratch ??= mkdtempSync(join(tmpdir(), "fovea-fuzz-"))),
    cliDir: () => (cli ??= ((d) => (pristine.set(d, snapshot(d)), d))(cliSandbox())),
    dispose: () => [scratch, cli].forEach((d) => d && rmSync(d, { recursive: true, force: true })),
  };
}
