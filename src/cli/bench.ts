// `fovea bench <model.onnx | .fovea | model.json | zoo name>`: the model in fovea and, where installed, in
// onnxruntime-node and onnxruntime-web (the same ONNX: the file, or fovea's export of the model);
// a side-by-side table of median latency, img/s and ratio, and the largest output difference.
import * as fovea from "../index.js";
import { buildModel, importOnnxFile, onnxFolder, onnxOnly, plural, type InputShape } from "./train.js";
import { decodeModel } from "../io/onnx/proto.js";
import { externalLocation, externalTensors } from "../io/onnx/model.js";
import { cores } from "../runtime/platform.js";
import { out, UsageError } from "./proc.js";

/* eslint-disable @typescript-eslint/no-explicit-any */
type Tf = Record<string, any>;
type TfjsPeer = (m: fovea.Model, tf: Tf) => { run(x: Float32Array, batch: number): Float32Array; dispose(): void };

/**
 * The tfjs peer (the same layers and weights on tfjs ops) is benchmark code: bench/lib/tfjs-peer.mjs
 * in a fovea checkout, not part of the package. Null where it is not there.
 */
async function loadTfjsPeer(): Promise<TfjsPeer | null> {
  const url = new URL("../../bench/lib/tfjs-peer.mjs", import.meta.url);
  try {
    return ((await import(url.href)) as { tfjsPeer: TfjsPeer }).tfjsPeer;
  } catch {
    return null;
  }
}

interface Ort {
  InferenceSession: { create(b: Uint8Array | string, o?: object): Promise<{ inputNames: string[]; outputNames: string[]; run(f: object): Promise<Record<string, { data: Float32Array }>>; release?(): Promise<void> }> };
  Tensor: new (t: string, d: Float32Array, dims: number[]) => unknown;
  env?: { wasm?: { numThreads?: number }; logLevel?: string };
}

async function optional(name: string): Promise<Ort | null> {
  try {
    const m = (await import(name)) as { default?: Ort } & Ort;
    return m.InferenceSession ? m : (m.default ?? null);
  } catch {
    return null;
  }
}

function median(f: () => unknown, runs: number): number {
  for (let i = 0; i < 3; i++) f();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    f();
    t.push(performance.now() - s);
  }
  return t.sort((a, b) => a - b)[t.length >> 1]!;
}

/** tfjs with the wasm backend ready, or null when tfjs or its wasm backend is not installed. */
async function loadTfjsWasm(): Promise<{ tf: Tf; threads: number } | null> {
  try {
    const tf = (await import("@tensorflow/tfjs" as string)) as Tf;
    const wasm = (await import("@tensorflow/tfjs-backend-wasm" as string)) as Tf;
    if (!(await tf.setBackend("wasm"))) return null;
    await tf.ready();
    return { tf, threads: (wasm.getThreadsCount?.() as number | undefined) ?? 1 };
  } catch {
    return null;
  }
}

async function medianAsync(f: () => Promise<unknown>, runs: number): Promise<number> {
  for (let i = 0; i < 3; i++) await f();
  const t: number[] = [];
  for (let i = 0; i < runs; i++) {
    const s = performance.now();
    await f();
    t.push(performance.now() - s);
  }
  return t.sort((a, b) => a - b)[t.length >> 1]!;
}

export async function bench(name: string, o: { batch: number; runs: number; threads?: number; inputShape?: InputShape[] }): Promise<void> {
  onnxOnly(name, o);
  await fovea.init(o.threads ? { threads: o.threads } : {});
  const info = fovea.backendInfo();
  const have = await cores();
  if (info.threads > have) out(`(${plural(info.threads, "thread")} on ${plural(have, "core")}: every engine's threads share them)`);
  const onnxFile = /\.onnx$/.test(name);
  const bytes = onnxFile ? await fovea.data.readBytes(name) : null;
  // fovea's importer run once before, as each onnxruntime's session code is (startRuntime)
  if (bytes) (await fovea.importOnnx(await tinyOnnx(), { source: "tiny.onnx" })).free();
  // time to the first result starts at the model's bytes (an ONNX file) or its construction (zoo, .fovea)
  const t0 = performance.now();
  const m = bytes ? await importOnnxFile(name, bytes, o) : await buildModel(name, undefined, 1);
  try {
    await run(m, name, onnxFile, info, o, t0);
  } finally {
    m.free();
  }
}

/** An engine's error as one line: its first line that is not blank (a thrown non-Error as text). */
function firstLine(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  return text.split("\n").map((l) => l.trim()).find((l) => l !== "") ?? text;
}

/** A one-layer model as ONNX bytes: what each engine's runtime runs once before its timed first result. */
async function tinyOnnx(): Promise<Uint8Array> {
  const tiny = fovea.sequential([fovea.layers.dense({ units: 1 })], { inputShape: [1], seed: 1 });
  try {
    return await fovea.exportOnnx(tiny);
  } finally {
    tiny.free();
  }
}

/** An engine's runtime started before its timed first session (fovea's is, by init and a first import): a session of a one-layer model. */
async function startRuntime(ort: Ort, opts: object): Promise<void> {
  const sess = await ort.InferenceSession.create(await tinyOnnx(), opts);
  await sess.release?.();
}

async function run(m: fovea.Model, name: string, onnxFile: boolean, info: fovea.BackendInfo, o: { batch: number; runs: number; threads?: number }, t0: number): Promise<void> {
  if (m.io && (m.io.inputs.length !== 1 || m.io.outputs.length !== 1)) {
    throw new UsageError(`bench: ${name} has ${plural(m.io.inputs.length, "input")} and ${plural(m.io.outputs.length, "output")}; fovea bench times a model of one input and one output (in code, time predict with a record of inputs)`);
  }
  m.compile({ batchSize: o.batch });
  const shape = [...m.inputShape];
  // the same values for every engine: fovea takes its own layout, ONNX takes NCHW (made outside
  // every engine's first-result time: `prep` is taken off fovea's, whose clock runs already)
  const p0 = performance.now();
  const x = new Float32Array(o.batch * m.inputSize).map((_, i) => Math.sin(i * 0.01));
  const firstIsPermute = m.layers[0]?.type === "permute";
  // an ONNX file imported without a leading permute takes NHWC itself (a channels-last export); fovea's own export takes NCHW
  const toOnnx = shape.length === 3 && !firstIsPermute && !onnxFile;
  const nchw = toOnnx ? toNchw(x, o.batch, shape as [number, number, number]) : x;
  const dims = toOnnx ? [o.batch, shape[2]!, shape[0]!, shape[1]!] : [o.batch, ...shape];
  const prep = performance.now() - p0;
  /** first: ms from the model's bytes (or construction) to its first output, in this process. */
  /** threads: what the engine ran on; a row's speed-up is against fovea's row on as many (fovea: true). */
  const rows: { engine: string; threads: number; fovea?: true; ms: number; first: number | null; y: Float32Array }[] = [];
  const fy = m.predict(x);
  const first = performance.now() - t0 - prep;
  rows.push({ engine: `fovea (${info.build}, ${plural(info.threads, "thread")})`, threads: info.threads, fovea: true, ms: median(() => m.predict(x), o.runs), first, y: fy });
  const bytes = onnxFile ? await fovea.data.readBytes(name) : await fovea.exportOnnx(m);
  // a file with external data: onnxruntime-node reads it by its path (the data beside it), -web takes the files as externalData
  const locations = onnxFile ? [...new Set(externalTensors(decodeModel(bytes, name)).map(({ t, where }) => externalLocation(t, `${name}: ${where}`)))] : [];
  const externalData = await Promise.all(locations.map(async (path) => ({ path, data: await fovea.data.readBytes(onnxFolder(name) + path) })));
  const threads = info.threads;
  for (const [label, mod, opts] of [["onnxruntime-node", "onnxruntime-node", { intraOpNumThreads: threads, interOpNumThreads: 1 }], ["onnxruntime-web", "onnxruntime-web", { executionProviders: ["wasm"] }]] as const) {
    const ort = await optional(mod);
    if (!ort) {
      out(`(${label} is not installed: skipped)`);
      continue;
    }
    if (ort.env?.wasm) ort.env.wasm.numThreads = threads;
    // what the engine refuses (the file, or bench's input for it: an operator it lacks, a shape): its first line, and the other rows go on
    let sess: Awaited<ReturnType<Ort["InferenceSession"]["create"]>>, feeds: object, y: ArrayLike<number>, first: number;
    try {
      await startRuntime(ort, opts);
      const ts = performance.now();
      sess = !externalData.length ? await ort.InferenceSession.create(bytes, opts)
        : label === "onnxruntime-node" ? await ort.InferenceSession.create(name, opts) : await ort.InferenceSession.create(bytes, { ...opts, externalData });
      feeds = { [sess.inputNames[0]!]: new ort.Tensor("float32", nchw, dims) };
      y = (await sess.run(feeds).catch(async (e: unknown) => {
        await sess.release?.();
        throw e;
      }))[sess.outputNames[0]!]!.data;
      first = performance.now() - ts;
    } catch (e) {
      out(`(${label}: ${firstLine(e)}: skipped)`);
      continue;
    }
    try {
      rows.push({ engine: `${label} (${plural(threads, "thread")})`, threads, ms: await medianAsync(() => sess.run(feeds), o.runs), first, y: Float32Array.from(y) });
    } finally {
      await sess.release?.();
    }
  }
  // tfjs-wasm: the same layers and weights on tfjs ops, fovea's own layout (as tfjs-converter leaves a graph model)
  const tfw = await loadTfjsWasm();
  const tfjsPeer = await loadTfjsPeer();
  if (!tfw) out("(tfjs with @tensorflow/tfjs-backend-wasm is not installed: skipped)");
  else if (!tfjsPeer) out("(tfjs-wasm: its model builder is benchmark code, in a fovea checkout's bench/lib/: skipped)");
  else {
    try {
      const ts = performance.now();
      const peer = tfjsPeer(m, tfw.tf);
      const y = peer.run(x, o.batch);
      const first = performance.now() - ts;
      const t = tfw.threads;
      rows.push({ engine: `tfjs-wasm ${tfw.tf.version.tfjs} (${plural(t, "thread")})`, threads: t, ms: median(() => peer.run(x, o.batch), o.runs), first, y });
      peer.dispose();
      if (t !== threads) {
        // like with like: fovea timed again on tfjs-wasm's thread count
        out(`(tfjs-wasm runs ${plural(t, "thread")} here${fovea.backendInfo().runtime.startsWith("node") ? " — its threaded build needs a browser" : ""}; fovea is timed on ${t} as well)`);
        await fovea.setThreads(t);
        try {
          rows.push({ engine: `fovea (${info.build}, ${plural(t, "thread")})`, threads: t, fovea: true, ms: median(() => m.predict(x), o.runs), first: null, y: m.predict(x) });
        } finally {
          await fovea.setThreads(threads);
        }
      }
    } catch (e) {
      out(`(tfjs-wasm: ${firstLine(e)}: skipped)`);
    }
  }
  const base = rows[0]!;
  const w = Math.max(...rows.map((r) => r.engine.length));
  out(`${m.name}, batch ${o.batch}, ${plural(o.runs, "run")} (medians); first: ms to the first output from the model's ${onnxFile ? "file bytes" : "construction"} (onnxruntime: from the ONNX bytes${onnxFile ? "" : " fovea exported"}; tfjs-wasm: from fovea's weights in memory), each engine's runtime started before (fovea.init${onnxFile ? " and a first import of a one-layer ONNX file" : ""}, a first onnxruntime session of one, tfjs's backend):`);
  out(`${"engine".padEnd(w)}  ${"ms".padStart(9)}  ${"img/s".padStart(9)}  ${"fovea speedup".padStart(13)}  ${"first ms".padStart(9)}  max |Δ output|`);
  for (const r of rows) {
    let diff = 0;
    for (let i = 0; i < Math.min(r.y.length, base.y.length); i++) diff = Math.max(diff, Math.abs(r.y[i]! - base.y[i]!));
    // fovea's speed-up over an engine: its time over fovea's on as many threads (fovea's own rows,
    // or no fovea row on that many: —)
    const ref = rows.find((q) => q.fovea && q.threads === r.threads);
    const speedup = r.fovea || !ref ? "—" : `${(r.ms / ref.ms).toFixed(2)}x`;
    out(`${r.engine.padEnd(w)}  ${r.ms.toFixed(3).padStart(9)}  ${Math.round((o.batch * 1000) / r.ms).toLocaleString("en-US").padStart(9)}  ${speedup.padStart(13)}  ${(r.first === null ? "—" : r.first.toFixed(1)).padStart(9)}  ${r === base ? "—" : diff.toExponential(2)}`);
  }
}

function toNchw(x: Float32Array, n: number, [H, W, C]: [number, number, number]): Float32Array {
  const outp = new Float32Array(x.length);
  for (let b = 0; b < n; b++) for (let h = 0; h < H; h++) for (let ww = 0; ww < W; ww++) for (let c = 0; c < C; c++) {
    outp[((b * C + c) * H + h) * W + ww] = x[((b * H + h) * W + ww) * C + c]!;
  }
  return outp;
}
