// `npm run bench -- kernels`: gemm and conv layers, fovea against tfjs-backend-wasm (XNNPACK)
// and onnxruntime-web (wasm) on the same shapes, plus fovea's own conv backward passes.
import * as fovea from "../dist/index.js";
const { convBlock, convCalls, gemmCalls } = fovea.ops;
import { measure, record, benchBackend } from "./lib/harness.mjs";
import { loadOrtWeb, loadTfjsWasm, ortConvModel, ortMatMulModel } from "./lib/peers.mjs";

// [M, N, K]: square sizes, a matrix-vector product (dense layer at batch 1), and LeNet's
// 800 → 500 dense layer at batch 64.
const GEMMS = [[64, 64, 64], [128, 128, 128], [256, 256, 256], [512, 512, 512], [1024, 1024, 1024], [1, 1024, 1024], [64, 500, 800]];
const GEMMS_QUICK = [[256, 256, 256], [1, 1024, 1024], [64, 500, 800]];

// The conv layers: (a) LeNet C1, (b) 5x5 "same", (c) ResNet 3x3, (d) ResNet 1x1 expand, (e) MobileNet depthwise.
const CONVS = [
  { name: "(a) 28²×1→5×5×6 valid", H: 28, W: 28, C: 1, K: 5, OC: 6, padding: "valid", groups: 1 },
  { name: "(a2) LeNet C3 14²×6→5×5×16 valid", H: 14, W: 14, C: 6, K: 5, OC: 16, padding: "valid", groups: 1 },
  { name: "(a3) 14²×8→3×3×16 same", H: 14, W: 14, C: 8, K: 3, OC: 16, padding: "same", groups: 1 },
  { name: "(b) 32²×16→5×5×20 same", H: 32, W: 32, C: 16, K: 5, OC: 20, padding: "same", groups: 1 },
  { name: "(c) 56²×64→3×3×64 same", H: 56, W: 56, C: 64, K: 3, OC: 64, padding: "same", groups: 1 },
  { name: "(d) 1×1 56²×64→256", H: 56, W: 56, C: 64, K: 1, OC: 256, padding: "valid", groups: 1 },
  { name: "(e) dw 3×3 112²×32", H: 112, W: 112, C: 32, K: 3, OC: 32, padding: "same", groups: 32 },
];

// The 3×3 stride-1 "same" convs of ResNet-18 and VGG-16 (224² input) at batch 1: the Winograd
// forward F(m×m, 3×3) for m = 2, 4, 6 against the direct (implicit-gemm) one, and the Winograd data
// gradient against the gemm-based path convPaths would take without it; one thread, convPaths'
// choices marked.
const WINO_LAYERS = [
  { net: "ResNet-18", H: 56, C: 64 }, { net: "ResNet-18", H: 28, C: 128 }, { net: "ResNet-18", H: 14, C: 256 }, { net: "ResNet-18", H: 7, C: 512 },
  { net: "VGG-16", H: 224, C: 64 }, { net: "VGG-16", H: 112, C: 128 }, { net: "VGG-16", H: 56, C: 256 }, { net: "VGG-16", H: 28, C: 512 }, { net: "VGG-16", H: 14, C: 512 },
];
const WINO_LAYERS_QUICK = WINO_LAYERS.filter((l) => l.net === "ResNet-18");

function fill(view, seed) {
  let s = seed >>> 0;
  for (let i = 0; i < view.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    view[i] = s / 2 ** 32 - 0.5;
  }
  return view;
}

export async function runKernels({ quick, builds, threads, log, only }) {
  const records = [];
  // --only TEXT: the layers whose name (as the table's rows begin: "gemm 64×64×64", "conv (a2) LeNet C3 …",
  // "conv3x3 ResNet-18 56²×64") contains it, any case; each with all its passes and paths
  const picked = (name) => only === undefined || name.toLowerCase().includes(only.toLowerCase());
  const gemms = (quick ? GEMMS_QUICK : GEMMS).filter(([M, N, K]) => picked(`gemm ${M}×${N}×${K}`));
  const convs = CONVS.filter((cv) => picked(`conv ${cv.name}`));
  const wino = (quick ? WINO_LAYERS_QUICK : WINO_LAYERS).filter((l) => picked(`conv3x3 ${l.net} ${l.H}²×${l.C}`));
  if (gemms.length + convs.length + wino.length === 0) throw new Error(`bench: no layer of the kernels suite has ${JSON.stringify(only)} in its name (gemm M×N×K, conv (a)…(e), conv3x3 ResNet-18 / VGG-16 H²×C)`);
  const tfjs = await loadTfjsWasm();
  const ortw = await loadOrtWeb(threads);
  if (tfjs.error) log(`  ${tfjs.error}`);
  if (ortw.error) log(`  ${ortw.error}`);
  // threads > 1: the -mt builds with a worker pool, kernels split as the model layers split them
  const backends = await Promise.all(builds.map((b) => benchBackend(b, threads)));
  const buildName = (be) => be.build.replace(/-mt$/, "");

  // ---- gemm ---------------------------------------------------------------------------------
  for (const [M, N, K] of gemms) {
    const kase = `gemm ${M}×${N}×${K}`;
    const flops = 2 * M * N * K;
    const a = fill(new Float32Array(M * K), 1), b = fill(new Float32Array(K * N), 2);
    for (const be of backends) {
      const k = be.kernels, h = be.heap;
      const A = h.alloc(a.length * 4), B = h.alloc(b.length * 4), C = h.alloc(M * N * 4);
      h.f32(A, a.length).set(a);
      h.f32(B, b.length).set(b);
      const calls = gemmCalls(be, 0, 0, M, N, K, 1, A, K, B, N, 0, C, N, 0, 0);
      const m = await measure(() => be.run(calls), { quick });
      records.push(record({ suite: "kernels", kase, engine: "fovea", build: buildName(be), threads: calls.length, median_ms: m.median_ms, flops }));
      [A, B, C].forEach((p) => h.free(p));
      log(`  ${kase} fovea-${buildName(be)} ×${calls.length} ${m.median_ms.toFixed(3)} ms`);
    }
    if (!tfjs.error) {
      const { tf } = tfjs;
      const ta = tf.tensor2d(a, [M, K]), tb = tf.tensor2d(b, [K, N]);
      const m = await measure(() => tf.matMul(ta, tb).dispose(), { quick });
      records.push(record({ suite: "kernels", kase, engine: "tfjs-wasm", build: tf.getBackend(), threads: 1, median_ms: m.median_ms, flops }));
      ta.dispose();
      tb.dispose();
    }
    if (!ortw.error) {
      const { ort, onnx } = ortw;
      const sess = await ort.InferenceSession.create(ortMatMulModel(onnx, M, N, K), { executionProviders: ["wasm"] });
      const feeds = { a: new ort.Tensor("float32", a, [M, K]), b: new ort.Tensor("float32", b, [K, N]) };
      const m = await measure(() => sess.run(feeds), { quick, async: true });
      records.push(record({ suite: "kernels", kase, engine: "ort-web", build: "wasm", threads, median_ms: m.median_ms, flops }));
      await sess.release();
    }
  }

  // ---- conv ---------------------------------------------------------------------------------
  for (const batch of quick ? [1, 32] : [1, 32]) {
    for (const cv of convs) {
      if (quick && batch === 32 && !cv.name.startsWith("(c)") && !cv.name.startsWith("(e)")) continue;
      const wShape = [cv.K, cv.K, cv.C / cv.groups, cv.OC];
      const g = fovea.ops.conv2dGeometry([batch, cv.H, cv.W, cv.C], wShape, { padding: cv.padding, groups: cv.groups });
      const flops = fovea.ops.conv2dFlops(g);
      const x = fill(new Float32Array(batch * cv.H * cv.W * cv.C), 3);
      const w = fill(new Float32Array(wShape.reduce((p, q) => p * q)), 4);
      const outSize = g.outShape.reduce((p, q) => p * q);
      for (const be of backends) {
        const k = be.kernels, h = be.heap;
        const X = h.alloc(x.length * 4), Wt = h.alloc(w.length * 4), Y = h.alloc(outSize * 4), DY = h.alloc(outSize * 4);
        const DX = h.alloc(x.length * 4), DW = h.alloc(w.length * 4);
        h.f32(X, x.length).set(x);
        h.f32(Wt, w.length).set(w);
        fill(h.f32(DY, outSize), 5);
        const geo = be.geometry(convBlock(g));
        const owned = [];
        const alloc = (n) => { const p = h.alloc(n, true); owned.push(p); return p; };
        // the calls a compiled model runs (one per thread), weights packed once as a compiled model does
        const packed = g.depthwise ? 0 : alloc(k.f32_conv2d_packed_floats(geo) * 4);
        const bufs = { x: X, y: Y, w: Wt, packed, bias: 0, act: 0, training: true, dy: DY, dyAct: 0, dx: DX, dw: DW, db: 0 };
        const c = convCalls(be, g, alloc, bufs);
        be.run(c.pack);
        const used = c.fwd.length;
        // the backward passes by every kernel that can run them (convPaths' choice marked "chosen")
        const chosen = g.depthwise ? null : fovea.ops.convPaths(g);
        const passes = [["fwd", null, () => be.run(c.fwd)]];
        for (const [pass, key] of [["bwd-data", "bwdData"], ["bwd-filter", "bwdFilter"]]) {
          const fits = { implicit: key !== "bwdData" || fovea.ops.implicitDataFits(g), direct: key === "bwdData" && fovea.ops.directDataFits(g), im2col: true, winograd: fovea.ops.winogradFits(g) && (key === "bwdData" || g.KH === 3) };
          const options = chosen ? ["implicit", "direct", "im2col", "winograd"].filter((v) => fits[v]) : [null];
          for (const v of options) {
            const cc = v ? convCalls(be, g, alloc, bufs, be.threads, { [key]: v }) : c;
            if (v === "winograd") be.run(cc.pack); // the data gradient's transformed filters, once (a training step transforms once per step)
            const fn = key === "bwdData" ? () => be.run(cc.bwdData) : () => { be.run(cc.bwdFilter); be.runInTurn(cc.reduce); };
            passes.push([v ? `${pass} ${v}${chosen[key] === v ? " (chosen)" : ""}` : pass, v, fn]);
          }
        }
        for (const [pass, , fn] of passes) {
          if (quick && pass !== "fwd") continue;
          const m = await measure(fn, { quick });
          records.push(record({ suite: "kernels", kase: `conv ${cv.name} ${pass}`, engine: "fovea", build: buildName(be), threads: used, batch, median_ms: m.median_ms, flops, images: batch }));
          log(`  conv ${cv.name} ${pass} b${batch} fovea-${buildName(be)} ×${used} ${m.median_ms.toFixed(3)} ms`);
        }
        [X, Wt, Y, DY, DX, DW, geo, ...owned].forEach((p) => h.free(p));
      }
      if (!tfjs.error) {
        const { tf } = tfjs;
        const tx = tf.tensor4d(x, [batch, cv.H, cv.W, cv.C]);
        const tw = cv.groups > 1 ? tf.tensor4d(w, [cv.K, cv.K, cv.C, 1]) : tf.tensor4d(w, wShape);
        const pad = cv.padding;
        const fn = cv.groups > 1 ? () => tf.depthwiseConv2d(tx, tw, 1, pad).dispose() : () => tf.conv2d(tx, tw, 1, pad).dispose();
        const m = await measure(fn, { quick });
        records.push(record({ suite: "kernels", kase: `conv ${cv.name} fwd`, engine: "tfjs-wasm", build: "wasm", threads: 1, batch, median_ms: m.median_ms, flops, images: batch }));
        if (!quick) {
          // the backward passes where tfjs-wasm has a kernel; where it throws, record the message
          const dy = tf.zeros(g.outShape);
          const bwd = {
            "bwd-data": cv.groups > 1
              ? () => tf.grad((xx) => tf.sum(tf.mul(tf.depthwiseConv2d(xx, tw, 1, pad), dy)))(tx).dispose()
              : () => tf.conv2dTranspose(dy, tw, [batch, cv.H, cv.W, cv.C], 1, pad).dispose(),
            "bwd-filter": cv.groups > 1
              ? () => tf.grad((ww) => tf.sum(tf.mul(tf.depthwiseConv2d(tx, ww, 1, pad), dy)))(tw).dispose()
              : () => tf.grad((ww) => tf.sum(tf.mul(tf.conv2d(tx, ww, 1, pad), dy)))(tw).dispose(),
          };
          for (const [pass, fn] of Object.entries(bwd)) {
            let err = null;
            try {
              fn();
            } catch (e) {
              err = `throws: ${e.message.split("\n")[0]}`;
            }
            if (err) {
              records.push(record({ suite: "kernels", kase: `conv ${cv.name} ${pass}`, engine: "tfjs-wasm", build: "wasm", batch, note: err }));
              continue;
            }
            const mb = await measure(fn, { quick });
            records.push(record({ suite: "kernels", kase: `conv ${cv.name} ${pass}`, engine: "tfjs-wasm", build: "wasm", threads: 1, batch, median_ms: mb.median_ms, flops, images: batch }));
          }
          dy.dispose();
        }
        tx.dispose();
        tw.dispose();
      }
      if (!ortw.error) {
        const { ort, onnx } = ortw;
        // ONNX wants NCHW input and OIHW weights: the same numbers, transposed once here
        const wOIHW = new Float32Array(w.length);
        const Cg = cv.C / cv.groups;
        for (let kh = 0; kh < cv.K; kh++) for (let kw = 0; kw < cv.K; kw++) for (let ci = 0; ci < Cg; ci++) for (let o = 0; o < cv.OC; o++) {
          wOIHW[((o * Cg + ci) * cv.K + kh) * cv.K + kw] = w[((kh * cv.K + kw) * Cg + ci) * cv.OC + o];
        }
        const bytes = ortConvModel(onnx, {
          N: batch, C: cv.C, H: cv.H, W: cv.W, OC: cv.OC, KH: cv.K, KW: cv.K, stride: 1, group: cv.groups,
          pads: [g.padTop, g.padLeft, g.padBottom, g.padRight], OH: g.OH, OW: g.OW, weights: wOIHW,
        });
        const sess = await ort.InferenceSession.create(bytes, { executionProviders: ["wasm"] });
        const feeds = { x: new ort.Tensor("float32", x, [batch, cv.C, cv.H, cv.W]) };
        const m = await measure(() => sess.run(feeds), { quick, async: true });
        records.push(record({ suite: "kernels", kase: `conv ${cv.name} fwd`, engine: "ort-web", build: "wasm", threads, batch, median_ms: m.median_ms, flops, images: batch }));
        await sess.release();
      }
    }
  }

  if (wino.length) await winogradLayers({ quick, backends, log, records, layers: wino });
  return { records, peers: [tfjs.error ? null : "tfjs-wasm", ortw.error ? null : "ort-web"].filter(Boolean) };
}

/** Winograd against direct on the 3×3 layers of ResNet-18 and VGG-16 (batch 1, one thread; `nets`: some of them, or `layers`: these), into `records`. */
export async function winogradLayers({ quick, backends, log, records, nets = null, layers = null }) {
  for (const l of layers ?? (quick ? WINO_LAYERS_QUICK : WINO_LAYERS).filter((x) => !nets || nets.includes(x.net))) {
    const g = fovea.ops.conv2dGeometry([1, l.H, l.H, l.C], [3, 3, l.C, l.C], { padding: "same" });
    const flops = fovea.ops.conv2dFlops(g), size = l.H * l.H * l.C;
    const chosen = fovea.ops.convPaths(g);
    for (const be of backends) {
      const h = be.heap;
      const owned = [];
      const alloc = (n) => { const p = h.alloc(n, true); owned.push(p); return p; };
      const X = alloc(size * 4), Wt = alloc(9 * l.C * l.C * 4), B = alloc(l.C * 4), Y = alloc(size * 4), DY = alloc(size * 4), DX = alloc(size * 4), DW = alloc(9 * l.C * l.C * 4);
      fill(h.f32(X, size), 3);
      fill(h.f32(Wt, 9 * l.C * l.C), 4);
      fill(h.f32(B, l.C), 5);
      fill(h.f32(DY, size), 6);
      const geo = be.geometry(convBlock(g));
      const packed = alloc(be.kernels.f32_conv2d_packed_floats(geo) * 4);
      h.free(geo);
      const bufs = { x: X, y: Y, w: Wt, packed, bias: B, act: 1, training: false, dy: 0, dyAct: 0, dx: 0, dw: 0, db: 0 };
      const data = { ...bufs, y: 0, packed: 0, bias: 0, act: 0, training: true, dy: DY, dx: DX };
      const gemmData = "implicit"; // what convPaths takes for these "same" convs without Winograd
      const gemmFilter = l.C * l.C <= 1024 ? "implicit" : "im2col"; // the same for the filter gradient
      const filter = { ...data, dx: 0, dw: DW };
      // the filter gradient's Winograd tile: F(2) where convPaths' tile is 2, else F(4)
      const filterTile = (t) => Math.min(t, 4);
      const variants = [
        ["fwd direct", bufs, { fwd: "direct" }, "fwd"],
        ...[2, 4, 6].map((tile) => [`fwd winograd F${tile}`, { ...bufs, packed: 0 }, { fwd: "winograd", tile }, "fwd"]),
        [`bwd-data ${gemmData}`, data, { bwdData: gemmData }, "bwdData"],
        ...[2, 4, 6].map((tile) => [`bwd-data winograd F${tile}`, data, { bwdData: "winograd", tile }, "bwdData"]),
        [`bwd-filter ${gemmFilter}`, filter, { bwdFilter: gemmFilter }, "bwdFilter"],
        ...[2, 4].map((tile) => [`bwd-filter winograd F${tile}`, filter, { bwdFilter: "winograd", tile }, "bwdFilter"]),
      ].filter(([, , p, pass]) => !quick || (p.fwd ?? p.bwdData ?? p.bwdFilter) !== "winograd" || p.tile === (pass === "bwdFilter" ? filterTile(chosen.tile) : chosen.tile));
      for (const [name, b, paths, pass] of variants) {
        const c = convCalls(be, g, alloc, b, 1, paths);
        be.run(c.pack); // once, as a compiled model does (a training step transforms once per step)
        const key = pass === "fwd" ? "fwd" : pass, tileOf = pass === "bwdFilter" ? filterTile(chosen.tile) : chosen.tile;
        const isChosen = chosen[key] === paths[key] && (paths[key] !== "winograd" || tileOf === paths.tile);
        const run = pass === "bwdFilter" ? () => { be.run(c.bwdFilter); be.runInTurn(c.reduce); } : () => be.run(c[pass]);
        const m = await measure(run, { quick });
        const kase = `conv3x3 ${l.net} ${l.H}²×${l.C} ${name}${isChosen ? " (chosen)" : ""}`;
        records.push(record({ suite: "kernels", kase, engine: "fovea", build: be.build.replace(/-mt$/, ""), threads: 1, batch: 1, median_ms: m.median_ms, flops, images: 1 }));
        log(`  ${kase} b1 fovea-${be.build.replace(/-mt$/, "")} ×1 ${(m.median_ms * 1000).toFixed(0)} µs`);
      }
      owned.forEach((p) => h.free(p));
    }
  }
}
