// Each bad input the reliability issue names, as a regression test: a FoveaError naming the file
// and the problem, the wasm heap back to its byte count, and nothing else changed. (The fuzz
// campaign, test/fuzz.test.ts, covers the rest by mutation.)
import { createRequire } from "node:module";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { deflateSync } from "node:zlib";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { topologyOf, withTopologyText } from "./helpers/models.js";

const require = createRequire(import.meta.url);
const { onnx } = require("onnx-proto") as { onnx: { ModelProto: { fromObject(o: object): object; encode(m: object): { finish(): Uint8Array } } } };
const L = fovea.layers;
const enc = new TextEncoder();

beforeAll(async () => {
  await fovea.init({ build: "simd" });
});
afterEach(() => {
  fovea.setLimits("defaults");
});

const inUse = () => fovea.getBackend().heap.stats().inUseBytes;

/** `f` throws a FormatError (or the given class) matching `msg`, and leaves the heap as it was. */
async function refuses(f: () => unknown, msg: RegExp, cls: typeof fovea.FoveaError = fovea.FormatError) {
  const before = inUse();
  let err: unknown = null;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(cls);
  expect((err as Error).message).toMatch(msg);
  expect(inUse()).toBe(before);
}

// ---- the native format ----

function saved() {
  const m = fovea.sequential([L.conv2d({ filters: 2, kernelSize: 3, name: "c" }), L.flatten({ name: "f" }), L.dense({ units: 3, name: "d" })], { inputShape: [5, 5, 1], seed: 1 });
  const b = m.save();
  m.free();
  return b;
}
/** The native bytes with the topology JSON edited by `edit`. */
function withTopology(bytes: Uint8Array, edit: (t: Record<string, any>) => void): Uint8Array { // eslint-disable-line @typescript-eslint/no-explicit-any
  const topo = JSON.parse(topologyOf(bytes));
  edit(topo);
  return withTopologyText(bytes, JSON.stringify(topo));
}

describe("bad input: the native format (loadModel)", () => {
  const load = (b: Uint8Array) => () => fovea.loadModel(b, { source: "m.fovea" });
  it("a parameter without a shape", async () => {
    await refuses(load(withTopology(saved(), (t) => delete t.params[1].shape)), /^m\.fovea: params\[1\] must be \{ layer, name, shape/);
  });
  it("a parameter offset of 1e9", async () => {
    await refuses(load(withTopology(saved(), (t) => (t.params[1].offset = 1e9))), /^m\.fovea: params\[1\] \(c\.bias\[2\]\) at offset 1000000000 ends past the \d+ floats/);
  });
  it("filters: 1e308", async () => {
    await refuses(load(withTopology(saved(), (t) => (t.layers[0].config.filters = 1e308))), /^m\.fovea: bad topology: conv2d "c": filters must be a whole number >= 1, got 1e\+308/);
  });
  it("a conv with 2^30 filters: refused by the model limit before anything is allocated", async () => {
    await refuses(load(withTopology(saved(), (t) => (t.layers[0].config.filters = 2 ** 30))), /^m\.fovea: bad topology: conv2d "c": output \[3, 3, 1073741824\] needs 38654705664 bytes; the limit is 2147483648/);
  });
  it("kernelSize: true, and null", async () => {
    await refuses(load(withTopology(saved(), (t) => (t.layers[0].config.kernelSize = true))), /kernelSize must be whole numbers >= 1, got true/);
    await refuses(load(withTopology(saved(), (t) => (t.layers[0].config.kernelSize = null))), /kernelSize must be whole numbers >= 1, got null/);
  });
  it("a value nested 200,000 deep", async () => {
    // the text is spliced in: JSON.stringify itself cannot write such a value
    const deep = "[".repeat(200000) + "]".repeat(200000);
    const spliced = (edit: (t: Record<string, any>) => void) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const b = withTopology(saved(), edit);
      return withTopologyText(b, topologyOf(b).replace('"DEEP"', deep));
    };
    await refuses(load(spliced((t) => (t.layers[0].config.strides = "DEEP"))), /^m\.fovea: bad topology: conv2d "c": strides must be whole numbers >= 1, got \[array of 1\]/);
    await refuses(load(spliced((t) => (t.inputShape = "DEEP"))), /^m\.fovea: inputShape is \[array of 1\]; expected whole numbers >= 1/);
  });
  it("NaN weights", async () => {
    const b = saved();
    await refuses(load(withTopologyText(b, topologyOf(b), (w) => { new DataView(w.buffer).setFloat32(w.length - 4, NaN, true); return w; })), /^m\.fovea: weight \d+ is NaN \(layer "d", bias\[3\]\); weights must be finite/);
  });
  it("a graph 20,000 layers deep builds (no recursion) and loads back", () => {
    const x = fovea.input([2]);
    let y = x;
    for (let i = 0; i < 20000; i++) y = L.relu({}).apply(y);
    const m = fovea.model({ inputs: x, outputs: y });
    const back = fovea.loadModel(m.save());
    expect(Array.from(back.predict([-1, 2]))).toEqual([0, 2]);
    m.free();
    back.free();
  });
});

describe("bad input: a build that cannot get its memory leaves nothing behind", () => {
  it("the model limit refuses before any allocation, with the numbers", async () => {
    fovea.setLimits({ maxModelBytes: 50_000 });
    await refuses(() => fovea.sequential([L.dense({ units: 100 }), L.dense({ units: 100 })], { inputShape: [50] }), /^model "model" needs 61800 bytes \(parameters 60800, one example's activations 1000\); the limit is 50000/, fovea.BackendError);
    const b = saved();
    fovea.setLimits({ maxModelBytes: 500 });
    await refuses(() => fovea.loadModel(b, { source: "m.fovea" }), /^m\.fovea: model "model" needs \d+ bytes/, fovea.BackendError);
  });
  it("an allocation failing part-way frees the parameters allocated before it (sequential, loadModel, importTfjs, importConvnetjs)", async () => {
    const tf = await tfjsArtifacts("relu");
    const heap = fovea.getBackend().heap;
    const alloc = heap.alloc.bind(heap);
    let calls = 0, failAt = 2;
    heap.alloc = (n: number, zero?: boolean) => {
      if (++calls === failAt) throw new fovea.BackendError(`out of wasm memory: need ${n} bytes (injected)`);
      return alloc(n, zero);
    };
    try {
      const cases: [() => unknown, RegExp][] = [
        [() => fovea.sequential([L.dense({ units: 4 }), L.dense({ units: 3 })], { inputShape: [5] }), /^out of wasm memory/],
        [() => fovea.loadModel(saved(), { source: "m.fovea" }), /out of wasm memory/],
        [() => fovea.importTfjs(tf.json, tf.weights, { source: "model.json" }), /^model\.json: out of wasm memory/],
        [() => fovea.importConvnetjs(convnetjsNet(), { source: "net.json" }), /^net\.json: out of wasm memory/],
      ];
      // every allocation position in turn: parameters, then the plan sequential/compile builds
      for (let at = 1; at <= 40; at++) {
        for (const [k, [f, msg]] of cases.entries()) {
          calls = 0;
          failAt = at;
          const before = inUse();
          try {
            const made = f() as { free?: () => void; model?: { free(): void } } | undefined; // a model, or importConvnetjs's { model, loss }
            made?.free?.();
            made?.model?.free();
          } catch (e) {
            expect(e).toBeInstanceOf(fovea.BackendError);
            expect((e as Error).message).toMatch(msg);
          }
          expect(inUse(), `case ${k}, allocation ${at} failing`).toBe(before);
        }
      }
      // an optimiser's state imported from a checkpoint: on failure the old state stays, nothing leaks
      failAt = -1;
      const m = fovea.sequential([L.dense({ units: 3 }), L.dense({ units: 2 })], { inputShape: [4] });
      m.compile({ loss: "mse", optimizer: fovea.train.adam({ lr: 0.01 }), batchSize: 2 });
      m.fit(new Float32Array(8).fill(0.5), new Float32Array(4).fill(1), { epochs: 1 });
      const opt = (m as unknown as { optimizer: fovea.train.Optimizer }).optimizer;
      const state = opt.exportState(m.params.filter((p) => p.spec.trainable));
      for (let at = 1; at <= 8; at++) {
        calls = 0;
        failAt = at;
        const before = inUse();
        expect(() => opt.importState(m.backend, m.params.filter((p) => p.spec.trainable), { ...state, iterations: 99 })).toThrow(fovea.BackendError);
        expect(inUse(), `importState, allocation ${at} failing`).toBe(before);
        failAt = -1;
        expect(opt.exportState(m.params.filter((p) => p.spec.trainable))).toEqual(state);
      }
      m.free();
    } finally {
      heap.alloc = alloc;
    }
  });
});

describe("bad input: values that used to wrap, loop or leak (review findings)", () => {
  it("an LRN size of 2^32+3 is refused, not wrapped to 3", async () => {
    await refuses(() => L.lrn({ size: 2 ** 32 + 3 }), /lrn "lrn_\d+": size must be at most 65535 channels, got 4294967299/, fovea.ConfigError);
  });
  it("predict's batchSize is checked (0 looped forever, -1 and 0.5 were RangeErrors)", async () => {
    const m = fovea.sequential([L.dense({ units: 2 })], { inputShape: [3] });
    for (const b of [0, -1, 0.5, NaN]) await refuses(() => m.predict([1, 2, 3], { batchSize: b }), /predict: batchSize must be a whole number >= 1/, fovea.ConfigError);
    m.free();
  });
  it("setLimits: own keys only, a copy returned, wasm32's ceiling", () => {
    expect(() => fovea.setLimits({ toString: 5 } as never)).toThrow(/unknown limit "toString"/);
    const l = fovea.setLimits({ maxImagePixels: 1000 }) as { maxImagePixels: number };
    l.maxImagePixels = 7;
    expect(fovea.getLimits().maxImagePixels).toBe(1000);
    expect(() => fovea.setLimits({ maxModelBytes: 2 ** 52 })).toThrow(/maxModelBytes must be a whole number in \[1, 4294967296\]/);
  });
  it("a gzip bomb is refused while inflating, at the size its IDX header declares", async () => {
    const { gzipSync } = await import("node:zlib");
    const bomb = new Uint8Array(gzipSync(Buffer.concat([Buffer.from([0, 0, 8, 1, 0, 0, 0, 16]), Buffer.alloc(64 << 20)])));
    expect(bomb.length).toBeLessThan(100_000);
    const labels = new Uint8Array([0, 0, 8, 1, 0, 0, 0, 16, ...new Array(16).fill(0)]);
    await refuses(() => fovea.data.mnistFromBytes(bomb, labels, { images: "bomb.gz", labels: "l" }), /^bomb\.gz: the gzip data inflates past 24 bytes \(the size its header declares\); stopped there/);
  });
  it("an MNIST file of 0 images names the file", async () => {
    const idx = (dims: number[]) => { const b = new Uint8Array(4 + 4 * dims.length); b.set([0, 0, 8, dims.length]); dims.forEach((d, i) => new DataView(b.buffer).setUint32(4 + 4 * i, d)); return b; };
    await refuses(() => fovea.data.mnistFromBytes(idx([0, 28, 28]), idx([0]), { images: "imgs.idx", labels: "labels.idx" }), /^imgs\.idx: 0 images of 28×28 pixels/);
  });
  it("tfjs: shards beyond the manifest are refused after the first extra byte, not read in full", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fovea-shards-"));
    const { json, weights } = await tfjsArtifacts("relu");
    writeFileSync(join(dir, "w.bin"), new Uint8Array(weights));
    writeFileSync(join(dir, "model.json"), JSON.stringify({ modelTopology: json.modelTopology, weightsManifest: [{ paths: new Array(3000).fill("w.bin"), weights: json.weightSpecs }] }));
    await refuses(() => fovea.loadTfjsModel(join(dir, "model.json")), /model\.json: the shards hold more than the 32 bytes the manifest describes/);
  });
  it.each([[{ max_value: 5 }, /max_value 5.*only ReLU and ReLU6/], [{ negative_slope: 0.1 }, /negative_slope 0\.1/]])("tfjs ReLU %j is refused, not read as a plain ReLU", async (extra, msg) => {
    const { json, weights } = await tfjsArtifacts("relu");
    const topo = JSON.parse(JSON.stringify(json.modelTopology));
    topo.config.layers.push({ class_name: "ReLU", config: { name: "r", ...extra } });
    await refuses(() => fovea.importTfjs({ ...json, modelTopology: topo }, weights, { source: "model.json" }), msg);
  });
});

// ---- ConvNetJS ----

function convnetjsNet(): string {
  const cnj = require("convnetjs");
  const net = new cnj.Net();
  net.makeLayers([{ type: "input", out_sx: 4, out_sy: 4, out_depth: 2 }, { type: "conv", sx: 3, filters: 3, stride: 1, pad: 1, activation: "relu" }, { type: "softmax", num_classes: 2 }]);
  return JSON.stringify(net.toJSON());
}

describe("bad input: ConvNetJS snapshots", () => {
  const imp = (edit: (n: { layers: Record<string, any>[] }) => void) => () => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const net = JSON.parse(convnetjsNet());
    edit(net);
    return fovea.importConvnetjs(JSON.stringify(net), { source: "net.json" });
  };
  it("a volume of depth -1", async () => {
    await refuses(imp((n) => (n.layers[1]!.filters[0].depth = -1)), /^net\.json: layer 1 \(conv\) filter 0: a 3×3×-1 volume where 18 weights are needed/);
  });
  it("missing biases", async () => {
    await refuses(imp((n) => delete n.layers[1]!.biases), /^net\.json: layer 1 \(conv\) biases: expected a volume \{ sx, sy, depth, w \}, got undefined/);
  });
  it("an input of -1 × 1e9", async () => {
    await refuses(imp((n) => (n.layers[0]!.out_sx = -1)), /^net\.json: input\.out_sx must be a whole number in \[1, 2\^28\], got -1/);
  });
});

// ---- tfjs ----

async function tfjsArtifacts(activation: string) {
  const tf = await import("@tensorflow/tfjs");
  await tf.setBackend("cpu");
  const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [3], units: 2, activation: "sigmoid" })] });
  let a: { modelTopology: any; weightSpecs: any; weightData: ArrayBuffer } | null = null; // eslint-disable-line @typescript-eslint/no-explicit-any
  await model.save(tf.io.withSaveHandler(async (x: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    a = x;
    return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" as const } };
  }));
  model.dispose();
  const topo = JSON.parse(JSON.stringify(a!.modelTopology).replace('"activation":"sigmoid"', `"activation":${JSON.stringify(activation)}`));
  return { json: { modelTopology: topo, weightSpecs: a!.weightSpecs }, weights: a!.weightData };
}

describe("bad input: tfjs model.json", () => {
  it.each(["constructor", "__proto__", "toString"])("activation %j is not a built-in property of a lookup object", async (act) => {
    const { json, weights } = await tfjsArtifacts(act);
    await refuses(() => fovea.importTfjs(json, weights, { source: "model.json" }), new RegExp(`^model\\.json: layer 0 ".*" \\(Dense\\): activation "${act}" is not supported`));
  });
  it("missing keys and wrong types", async () => {
    const { json, weights } = await tfjsArtifacts("relu");
    await refuses(() => fovea.importTfjs({ ...json, weightSpecs: [{ name: "x" }] } as never, weights, { source: "model.json" }), /^model\.json: weight spec 0 must be \{ name, shape/);
    await refuses(() => fovea.importTfjs({ modelTopology: { class_name: "Sequential", config: { layers: [null] } } } as never, new ArrayBuffer(0), { source: "model.json" }), /^model\.json: the layers must be a list/);
    await refuses(() => fovea.importTfjs(null as never, weights, { source: "model.json" }), /^model\.json: expected a model\.json object/);
  });
});

// ---- ONNX ----

describe("bad input: ONNX", () => {
  const vi = (name: string, dims: number[]) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => ({ dimValue: d })) } } } });
  const model = (node: object[], initializer: object[]) => onnx.ModelProto.encode(onnx.ModelProto.fromObject({
    irVersion: 7, opsetImport: [{ domain: "", version: 13 }],
    graph: { name: "g", node, initializer, input: [vi("x", [1, 1, 4, 4])], output: [vi("y", [1, 1, 2, 2])] },
  })).finish();
  it("fovea's own files given as ONNX, and an ONNX file given as a fovea model, are named for what they are", async () => {
    const m = fovea.zoo.lenet5({ seed: 1 });
    await refuses(() => fovea.importOnnx(m.save(), { source: "m.fovea" }), /^m\.fovea: a fovea model \(\.fovea\), not an ONNX model \(fovea\.loadModel reads it\)$/);
    const onnxBytes = await fovea.exportOnnx(m);
    expect(() => fovea.loadModel(onnxBytes, { source: "m.onnx" })).toThrow(/^m\.onnx: not a fovea model \(bad magic; expected "FOVEA"\); it looks like an ONNX model, which fovea\.importOnnx reads$/);
    m.free();
  });
  it("an int64 constant whose dims exceed its raw data", async () => {
    const bytes = model([{ opType: "Reshape", name: "r", input: ["x", "s"], output: ["y"] }],
      [{ name: "s", dims: [1000], dataType: 7, rawData: new Uint8Array(16) }]);
    await refuses(() => fovea.importOnnx(bytes, { source: "m.onnx" }), /^m\.onnx: initializer "s": 16 bytes of raw data for 1000 values of 8 bytes \(dims \[1000\]\)/);
  });
  it("shapes fovea would silently cut are refused: a rank-3 Gemm weight, rank-5 Conv weights, a kernel_shape that is not the weights', a Pad that crops all of the image or crops in mode reflect", async () => {
    const w = (dims: number[]) => ({ name: "w", dims, dataType: 1, floatData: new Array(dims.reduce((a, b) => a * b, 1)).fill(1) });
    const cases: [object[], object[], RegExp][] = [
      [[{ opType: "Flatten", name: "f", input: ["x"], output: ["a"] }, { opType: "Gemm", name: "g", input: ["a", "w"], output: ["y"] }], [w([16, 2, 2])], /node "g" \(Gemm\): weights \[16, 2, 2\]: a matrix \(rank 2\) is supported/],
      [[{ opType: "Conv", name: "c", input: ["x", "w"], output: ["y"] }], [w([1, 1, 3, 3, 1])], /node "c" \(Conv\): weights \[1, 1, 3, 3, 1\]: a 2-D convolution has OIHW weights/],
      [[{ opType: "Conv", name: "c", input: ["x", "w"], output: ["y"], attribute: [{ name: "kernel_shape", type: 7, ints: [2, 2] }] }], [w([1, 1, 3, 3])], /kernel_shape \[2, 2\] does not match the weights \[1, 1, 3, 3\]/],
      [[{ opType: "MaxPool", name: "p", input: ["x"], output: ["y"], attribute: [{ name: "kernel_shape", type: 7, ints: [2, 2, 2] }] }], [], /kernel_shape \[2, 2, 2\]: 2 values expected/],
      [[{ opType: "Pad", name: "p", input: ["x", "pads"], output: ["y"] }], [{ name: "pads", dims: [8], dataType: 7, int64Data: [0, 0, -2, 0, 0, 0, -2, 0] }], /node "p" \(Pad\): pads \[0, 0, -2, 0, 0, 0, -2, 0\] crop all of the 4×4 image/],
      [[{ opType: "Pad", name: "p", input: ["x", "pads"], output: ["y"], attribute: [{ name: "mode", type: 3, s: Array.from(new TextEncoder().encode("reflect")) }] }], [{ name: "pads", dims: [8], dataType: 7, int64Data: [0, 0, 1, -1, 0, 0, -1, 1] }], /node "p" \(Pad\): pads \[0, 0, 1, -1, 0, 0, -1, 1\]: negative pads \(cropping\) in mode reflect are not supported/],
    ];
    for (const [nodes, inits, msg] of cases) await refuses(() => fovea.importOnnx(model(nodes, inits), { source: "m.onnx" }), msg);
  });
  it("conv pads of INT64_MAX are refused at import, not in predict", async () => {
    const bytes = model([{ opType: "Conv", name: "c", input: ["x", "w"], output: ["y"], attribute: [{ name: "pads", type: 7, ints: ["9223372036854775807", "0", "0", "0"] }] }],
      [{ name: "w", dims: [1, 1, 3, 3], dataType: 1, floatData: new Array(9).fill(1) }]);
    await refuses(() => fovea.importOnnx(bytes, { source: "m.onnx" }), /^m\.onnx: .*must stay within 16777216/);
  });
});

// ---- images ----

describe("bad input: images", () => {
  function png(width: number, height: number): Uint8Array {
    const crcTable = Array.from({ length: 256 }, (_, n) => { let c = n; for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1; return c >>> 0; });
    const crc = (b: Uint8Array) => { let c = 0xffffffff; for (const v of b) c = crcTable[(c ^ v) & 255]! ^ (c >>> 8); return (c ^ 0xffffffff) >>> 0; };
    const chunk = (type: string, data: Uint8Array) => {
      const out = new Uint8Array(12 + data.length), dv = new DataView(out.buffer);
      dv.setUint32(0, data.length);
      out.set(enc.encode(type), 4);
      out.set(data, 8);
      dv.setUint32(8 + data.length, crc(out.subarray(4, 8 + data.length)));
      return out;
    };
    const ihdr = new Uint8Array(13), dv = new DataView(ihdr.buffer);
    dv.setUint32(0, width);
    dv.setUint32(4, height);
    ihdr.set([8, 6, 0, 0, 0], 8);
    const parts = [Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), chunk("IHDR", ihdr), chunk("IDAT", new Uint8Array(deflateSync(new Uint8Array(64)))), chunk("IEND", new Uint8Array())];
    const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of parts) { out.set(p, o); o += p.length; }
    return out;
  }
  it("a ~100-byte PNG declaring 0x0FFFFFFF rows is refused before decoding, with the numbers", async () => {
    const b = png(1, 0x0fffffff);
    expect(b.length).toBeLessThan(120);
    const t0 = performance.now();
    await refuses(() => fovea.data.decodeImage(b, "bomb.png"), /^bomb\.png: the PNG declares 1×268435455 = 268435455 pixels; the limit is 67108864 \(setLimits\(\{ maxImagePixels \}\)\)/);
    expect(performance.now() - t0).toBeLessThan(5000); // minutes before the fix
  });
  it("a JPEG's size is read from its frame header and checked before jpeg-js decodes it; a large valid one decodes", async () => {
    const jpeg = require("jpeg-js") as { encode(i: { data: Uint8Array; width: number; height: number }, q: number): { data: Uint8Array } };
    const make = (w: number, h: number) => new Uint8Array(jpeg.encode({ data: new Uint8Array(w * h * 4).fill(128), width: w, height: h }, 50).data);
    fovea.setLimits({ maxImagePixels: 1000 });
    await refuses(() => fovea.data.decodeImage(make(64, 64), "big.jpg"), /^big\.jpg: the JPEG declares 64×64 = 4096 pixels; the limit is 1000 \(setLimits\(\{ maxImagePixels \}\)\)/);
    fovea.setLimits("defaults");
    // jpeg-js works at about 12 bytes a pixel: its caps are set from the limit with room for that
    const img = await fovea.data.decodeImage(make(4000, 3000), "photo.jpg");
    expect([img.width, img.height]).toEqual([4000, 3000]);
  }, 60_000);
  it("a resize target over the pixel limit is refused before any allocation", async () => {
    const img = { width: 2, height: 2, data: new Uint8Array(16) };
    await refuses(() => fovea.data.imageToArray(img, [100000, 100000, 3]), /image: a 100000×100000 target is not whole numbers >= 1 within the limit of 67108864 pixels/, fovea.ConfigError);
    await refuses(() => fovea.data.imageToArray(img, [-1, 5, 1]), /image: a -1×5 target/, fovea.ConfigError);
  });
  it("the limit is configurable and checked", async () => {
    fovea.setLimits({ maxImagePixels: 10 });
    await refuses(() => fovea.data.decodeImage(png(4, 4), "small.png"), /small\.png: the PNG declares 4×4 = 16 pixels; the limit is 10/);
    expect(() => fovea.setLimits({ maxImagePixels: -1 })).toThrow(fovea.ConfigError);
    expect(() => fovea.setLimits({ nope: 1 } as never)).toThrow(/unknown limit "nope"/);
    expect(fovea.getLimits().maxImagePixels).toBe(10);
  });
});

// ---- the CLI ----

describe("bad input: the CLI", () => {
  it("--out under a file is a one-line usage error (exit 2); a write that fails is a one-line error (exit 1); no stack trace", async () => {
    const dir = mkdtempSync(join(tmpdir(), "fovea-bad-"));
    const { main } = await import("../src/cli/main.js");
    const run = async (argv: string[]) => {
      const lines: string[] = [];
      const w = process.stderr.write;
      process.stderr.write = ((s: string) => (lines.push(String(s)), true)) as typeof w;
      try {
        return { code: await main(argv), text: lines.join("") };
      } finally {
        process.stderr.write = w;
      }
    };
    const a = await run(["viz", "lenet5", "--filters", "/dev/null/x/m.png"]);
    expect(a.code).toBe(2);
    expect(a.text).toBe("fovea: --filters /dev/null/x/m.png: the folder /dev/null/x does not exist or is not a folder\n");
    const b = await run(["viz", "lenet5", "--filters", dir]); // a folder where the file should go: refused before anything is made
    expect(b.code).toBe(2);
    expect(b.text).toBe(`fovea: --filters ${dir}: is a folder; give a file path\n`);
    // a write that fails after the checks pass is exit 1 (Linux's /proc takes no new files)
    if (process.platform === "linux") {
      const c = await run(["viz", "lenet5", "--filters", "/proc/fovea-filters.png"]);
      expect(c.code).toBe(1);
      expect(c.text).toMatch(/^fovea: \/proc\/fovea-filters\.png: could not write .*\n$/);
    }
  });
});

describe("the error classes a user catches", () => {
  it("every one is exported at the top level for instanceof, under FoveaError; a missing file is a NotFoundError, a FormatError", async () => {
    for (const c of [fovea.ShapeError, fovea.ConfigError, fovea.FormatError, fovea.BackendError, fovea.NumericError, fovea.NotFoundError, fovea.WriteError]) {
      expect(c.prototype).toBeInstanceOf(fovea.FoveaError);
    }
    expect(fovea.NotFoundError).toBe(fovea.data.NotFoundError);
    const missing = join(mkdtempSync(join(tmpdir(), "fovea-missing-")), "no-such.bin");
    const e = await fovea.data.readBytes(missing).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(fovea.NotFoundError);
    expect(e).toBeInstanceOf(fovea.FormatError);
    expect((e as Error).message).toBe(`${missing}: no such file`);
    // what else keeps a path from being read, in words (Node's codes): a folder, and a folder that is not there
    const folder = await fovea.data.readBytes(tmpdir()).catch((x: unknown) => x);
    expect(folder).toBeInstanceOf(fovea.NotFoundError);
    expect((folder as Error).message).toBe(`${tmpdir()}: a folder, not a file`);
    const noDir = await fovea.data.listDir(missing).catch((x: unknown) => x);
    expect(noDir).toBeInstanceOf(fovea.NotFoundError);
    expect((noDir as Error).message).toBe(`${missing}: no such folder`);
  });
});

describe("every entry point refuses what is not its input with a FoveaError", () => {
  // Taken on trust (TypeScript's types; README, Errors and limits): the kernel-call builders and
  // geometry helpers of fovea.ops, the initialisers' helpers, the optimiser's methods the trainer
  // calls, and Model.forward (the trainer's plumbing). A new export is checked unless added here.
  const TRUSTED = new Set([
    ..."activationCalls addCalls batchNormPartRows batchNormScaleShift batchNormTrainCalls checkIndices concatCalls conv2dFlops conv2dGeometry convBlock convCalls convPaths convTranspose3dBlock convTranspose3dCalls convTranspose3dGeometry convTransposeCalls convTransposeGeometry convTransposeOutShape denseCalls directDataFits floorRulePads gemmCalls gemmPackedBCall globalPoolCalls implicitDataFits lrnCalls maxoutCalls permuteCalls pool2dGeometry pool3dGeometry poolBlock poolCalls poolFuses pooledGradFits runConvBackward runConvTranspose runConvTransposeBackward runSteps updateCalls warpAffineBatchCalls winogradFits winogradPoolFits winogradTiles withScratchAlloc".split(" ").map((k) => `ops.${k}`),
    "top.formatShape", "top.shapeSize", "train.fans", "train.initialize", "rl.greedy", "model.forward",
    ..."call copyOf programs floats exportState".split(" ").map((k) => `optimizer.${k}`),
    // process-wide state: not called here
    "top.init", "top.shutdown", "top.setThreads", "top.setLimits", "top.withBackend", "top.loadBackend",
  ]);
  it("nulls, numbers, strings and empty objects, alone and after a valid first argument, where a model, tensor, dataset, bytes or options go", async () => {
    const m = fovea.zoo.lenet5();
    m.compile({ batchSize: 8, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.1 }) });
    const t = fovea.Tensor.from(new Float32Array(2 * 784), [2, 28, 28, 1]);
    const ds = fovea.data.makeDataset(new Float32Array(2 * 784), Int32Array.from([1, 2]), [28, 28, 1]);
    const names = new Map<unknown, string>([[m, "model"], [t, "tensor"], [ds, "dataset"]]);
    const BAD: unknown[][] = [[], [null], [undefined], [{}], [null, null], [{}, {}], [1, "x"], ["x", null, null]];
    const tails: unknown[][] = [[null], [null, null], [{}, {}], [1, "x"], [undefined, {}]];
    const firsts: unknown[] = [m, t, ds, new Uint8Array(8), fovea.getBackend(), new fovea.Rng(1), [28, 28, 1], "x"];
    const AFTER = firsts.flatMap((f) => tails.map((tl) => [f, ...tl]));
    // a bad first argument before a valid second one (a loader's path not awaited, before its split)
    const BEFORE = [null, 5, {}, Promise.resolve("x")].flatMap((b) => ["t10k", [28, 28, 1], {}, m].map((v) => [b, v]));
    const found: string[] = [];
    const attempt = async (name: string, f: (...a: unknown[]) => unknown, self: unknown, sets: unknown[][]) => {
      if (TRUSTED.has(name.replace(/^(\w+)\.new /, "$1."))) return;
      for (const a of sets) {
        try {
          await f.apply(self, a);
        } catch (e) {
          if (!(e instanceof fovea.FoveaError)) found.push(`${name}(${a.map((x) => names.get(x) ?? JSON.stringify(x) ?? "undefined").join(", ")}): ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
        }
      }
    };
    const spaces: Record<string, Record<string, unknown>> = { top: fovea, layers: fovea.layers, train: fovea.train, data: fovea.data, inspect: fovea.inspect, ops: fovea.ops, zoo: fovea.zoo, deepqlearn: fovea.deepqlearn, rl: fovea.rl };
    for (const [space, ns] of Object.entries(spaces)) {
      for (const [k, v] of Object.entries(ns)) {
        if (typeof v !== "function") continue;
        const f = v as ((...a: unknown[]) => unknown) & Record<string, unknown>;
        // the zoo's functions build whole models from valid empty options: only the bad ones
        const sets = space === "zoo" ? [[null], [1, "x"], ...AFTER] : [...BAD, ...AFTER, ...BEFORE];
        if (!/^[A-Z]/.test(k)) {
          await attempt(`${space}.${k}`, f, ns, sets);
          continue;
        }
        await attempt(`${space}.new ${k}`, (...a) => Reflect.construct(f, a), null, sets);
        for (const s of Object.getOwnPropertyNames(f)) {
          if (typeof f[s] === "function") await attempt(`${space}.${k}.${s}`, f[s] as (...a: unknown[]) => unknown, f, [...BAD, ...AFTER]);
        }
      }
    }
    // the methods of a model, a tensor, an RNG and an optimiser (and their classes' bases)
    for (const [name, o] of Object.entries({ model: m, tensor: t, rng: new fovea.Rng(1), optimizer: m.optimizer })) {
      for (let p = Object.getPrototypeOf(o); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
        for (const k of Object.getOwnPropertyNames(p)) {
          const d = Object.getOwnPropertyDescriptor(p, k)!;
          if (k !== "constructor" && k !== "free" && typeof d.value === "function") await attempt(`${name}.${k}`, d.value as (...a: unknown[]) => unknown, o, BAD);
        }
      }
    }
    t.free();
    m.free();
    expect(found.slice(0, 20)).toEqual([]);
  }, 120_000);
});

describe("error names", () => {
  it("each error class names itself in a string: a minifier's renamed class (vite, esbuild, webpack) still gives e.name \"ShapeError\"", () => {
    const classes = { FoveaError: fovea.FoveaError, ShapeError: fovea.ShapeError, ConfigError: fovea.ConfigError, FormatError: fovea.FormatError, BackendError: fovea.BackendError, NumericError: fovea.NumericError, NotFoundError: fovea.NotFoundError, WriteError: fovea.WriteError };
    for (const [name, C] of Object.entries(classes)) {
      const own = Object.getOwnPropertyDescriptor(C, "name")!;
      Object.defineProperty(C, "name", { value: "h" }); // as a minifier leaves it
      try {
        const e = new C("x");
        expect(e.name, name).toBe(name);
        expect(String(e)).toBe(`${name}: x`);
      } finally {
        Object.defineProperty(C, "name", own);
      }
    }
  });
});

describe("bytes that are not the file asked for", () => {
  // vite's dev server answers a missing file with its index.html and HTTP 200
  const page = new TextEncoder().encode("\n<!DOCTYPE html>\n<html><head><script type=\"module\" src=\"/@vite/client\"></script></head></html>\n");
  it("an HTML page where a model or an image should be says so", async () => {
    expect(() => fovea.loadModel(page, { source: "/nope.fovea" })).toThrow(/\/nope\.fovea: not a fovea model \(bad magic; expected "FOVEA"\); these bytes are an HTML page/);
    await expect(fovea.data.decodeImage(page, "/nope.png")).rejects.toThrow(/\/nope\.png: unsupported image format \(PNG and JPEG are read\); these bytes are an HTML page/);
  });
  it("a fetch Response where bytes go says how to read it", () => {
    expect(() => fovea.loadModel(new Response(page) as never)).toThrow(/a fetch Response: read its bytes/);
  });
});
