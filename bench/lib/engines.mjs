// How each engine runs a whole model, written once: the onnxruntime sessions (ort-web's wasm
// provider, ort-node's native CPU) and the tfjs peer, used by `npm run bench -- models` and by the
// per-engine timing processes of `npm run check:onnx` (bench/time-onnx.mjs, timeOnnxFiles below).
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { loadOrtWeb, loadTfjsWasm } from "./peers.mjs";
import { tfjsPeer } from "./tfjs-peer.mjs";

/** The engines a whole ONNX file is timed on, in the order of the benchmark tables' columns (README, docs/). */
export const ONNX_ENGINES = ["fovea", "ort-web", "ort-node", "tfjs-wasm"];

/** onnxruntime-node (native CPU), or { error } when it is not installed. */
export async function loadOrtNode() {
  try {
    const ort = (await import("onnxruntime-node")).default;
    return { ort, version: ort.env?.versions?.node ?? "?" };
  } catch (e) {
    return { error: `onnxruntime-node unavailable: ${e.message}` };
  }
}

/** onnxruntime's session options: ort-web runs its wasm provider, ort-node its native CPU one on `threads` threads. */
export const ortOptions = (engine, threads) => (engine === "ort-web" ? { executionProviders: ["wasm"] } : { intraOpNumThreads: threads, interOpNumThreads: 1 });

/**
 * A runner: `run()` computes the model once on its fixed input (a promise when `async`), `dispose()`
 * releases it. This one is an onnxruntime session on `bytes` fed `x` (shape `dims`) as its first input.
 */
export async function ortRunner(ort, engine, threads, bytes, x, dims) {
  const sess = await ort.InferenceSession.create(bytes, ortOptions(engine, threads));
  const feeds = { [sess.inputNames[0]]: new ort.Tensor("float32", x, dims) };
  return { run: () => sess.run(feeds), async: true, dispose: async () => { await sess.release?.(); } };
}

/** The tfjs peer of fovea model `m` (its layers and weights on tfjs ops) on `x`, a batch of `batch` in m's layout. */
export function tfjsRunner(tf, m, x, batch) {
  const peer = tfjsPeer(m, tf);
  return { run: () => peer.run(x, batch), async: false, dispose: async () => peer.dispose() };
}

/** fovea model `m` compiled for `batch` on `x` (predict copies the output out, as the peers' runs do). */
export function foveaRunner(m, x, batch) {
  m.compile({ batchSize: batch });
  return { run: () => m.predict(x), async: false, dispose: async () => m.free() };
}

/**
 * An engine of ONNX_ENGINES ready in this process, or { error } when it cannot run here. `fovea` is
 * dist/index.js, already init()ed (the tfjs peer is built from fovea's import of the file).
 * `open(bytes, source, x, dims)` makes a runner of the file on input x ([1, …] in the file's layout).
 */
export async function onnxEngine(engine, fovea, threads) {
  const imported = async (bytes, source) => fovea.importOnnx(bytes, { source });
  if (engine === "fovea") {
    const b = fovea.backendInfo();
    return { version: `${b.build} build, ${b.threads} thread${b.threads > 1 ? "s" : ""}`, open: async (bytes, source, x) => foveaRunner(await imported(bytes, source), x, 1) };
  }
  if (engine === "ort-web" || engine === "ort-node") {
    const l = engine === "ort-web" ? await loadOrtWeb(threads) : await loadOrtNode();
    if (l.error) return l;
    return { version: l.version, open: (bytes, source, x, dims) => ortRunner(l.ort, engine, threads, bytes, x, dims) };
  }
  if (engine === "tfjs-wasm") {
    const l = await loadTfjsWasm();
    if (l.error) return l;
    return {
      version: l.version,
      open: async (bytes, source, x) => {
        const m = await imported(bytes, source);
        try {
          m.compile({ batchSize: 1 });
          const r = tfjsRunner(l.tf, m, x, 1);
          return { ...r, dispose: async () => { await r.dispose(); m.free(); } };
        } catch (e) {
          m.free();
          throw e;
        }
      },
    };
  }
  return { error: `unknown engine "${engine}" (engines: ${ONNX_ENGINES.join(", ")})` };
}

const CHILD = fileURLToPath(new URL("../time-onnx.mjs", import.meta.url));

/**
 * Median ms per run at batch 1 of each ONNX file on each engine, one process per engine
 * (bench/time-onnx.mjs), the engines one after another: Map engine → Map file → { median_ms, samples }
 * or { error }. A process that dies on a file gives that file its exit as the error, and a new
 * process takes the files after it. `log` gets one line per result.
 */
export async function timeOnnxFiles(files, { engines = ONNX_ENGINES, quick = false, log = () => {} } = {}) {
  const all = new Map();
  for (const engine of engines) {
    const got = new Map();
    all.set(engine, got);
    let rest = [...files];
    while (rest.length) {
      const { results, exit, stderr } = await runChild(engine, rest, quick, (file, r) => log(engine, file, r));
      for (const [f, r] of results) got.set(f, r);
      rest = rest.filter((f) => !got.has(f));
      if (!rest.length) break;
      // the file it was on when it ended (the first one without a result) fails, the others get a new process
      const why = `the ${engine} process ended (${exit}) while running it${stderr ? `: ${stderr.trim().split("\n").pop().slice(0, 200)}` : ""}`;
      got.set(rest[0], { error: why });
      log(engine, rest[0], { error: why });
      rest = rest.slice(1);
    }
  }
  return all;
}

function runChild(engine, files, quick, onResult) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CHILD, engine, ...(quick ? ["--quick"] : []), ...files], { stdio: ["ignore", "pipe", "pipe"] });
    const results = new Map();
    let buf = "", stderr = "";
    child.stdout.on("data", (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (!line.startsWith("@time ")) continue;
        const { file, ...r } = JSON.parse(line.slice(6));
        results.set(file, r);
        onResult(file, r);
      }
    });
    child.stderr.on("data", (d) => { stderr = (stderr + d).slice(-4000); });
    child.on("close", (code, signal) => resolve({ results, exit: signal ? `signal ${signal}` : `exit code ${code}`, stderr }));
  });
}
