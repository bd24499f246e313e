// The demo page: draw a digit and a pretrained LeNet-5 classifies it as you draw, with its class
// probabilities, the saliency map of its answer and the feature maps of its first two conv layers; a Web Worker (train-worker.js)
// trains a small model live, with its loss curve and first-layer filters.
//
// In your project: import * as fovea from "fovea". This demo imports the repository's build.
import * as fovea from "../../dist/index.js";

const $ = (id) => document.getElementById(id);
/** What the page shows, for a test (or a curious console) to read. */
const demo = (window.__demo = {
  ready: false,
  error: null,
  info: null,
  prediction: null,
  saliency: null,
  training: { ready: false, info: null, started: false, done: false, losses: [], epochs: [], error: null },
  liveGuess: null,
});

function fail(where, e) {
  const text = `${where}: ${e?.name ?? "Error"}: ${e?.message ?? e}`;
  console.error(text);
  demo.error ??= text;
  $("status").textContent = text;
  $("status").classList.add("bad");
}

// ---- the pretrained model -------------------------------------------------------------------

let model = null;

async function start() {
  await fovea.init();
  const info = (demo.info = fovea.backendInfo());
  $("status").textContent =
    `${info.build} build · ${info.threads} thread${info.threads > 1 ? "s" : ""} on this page · ` +
    (crossOriginIsolated ? "cross-origin isolated" : "not cross-origin isolated");
  $("reason").textContent = `threads: ${info.threadsReason}`;
  const bytes = await fovea.data.readBytes(new URL("./lenet5-mnist.fovea", import.meta.url));
  model = fovea.loadModel(bytes);
  demo.ready = true;
}

// ---- drawing --------------------------------------------------------------------------------

const pad = $("pad");
const pen = pad.getContext("2d", { willReadFrequently: true });
let drawing = false, last = null, pending = false;

function clearPad() {
  pen.fillStyle = "#000";
  pen.fillRect(0, 0, pad.width, pad.height);
  demo.prediction = null;
  showPrediction(null);
  drawSaliency(null);
}

function at(ev) {
  const r = pad.getBoundingClientRect();
  return { x: ((ev.clientX - r.left) * pad.width) / r.width, y: ((ev.clientY - r.top) * pad.height) / r.height };
}

pad.addEventListener("pointerdown", (ev) => {
  drawing = true;
  pad.setPointerCapture(ev.pointerId);
  last = at(ev);
  stroke(last, last);
});
pad.addEventListener("pointermove", (ev) => {
  if (!drawing) return;
  const p = at(ev);
  stroke(last, p);
  last = p;
});
for (const type of ["pointerup", "pointercancel"]) {
  pad.addEventListener(type, () => {
    drawing = false;
    classifySoon();
  });
}
$("clear").addEventListener("click", clearPad);

function stroke(a, b) {
  pen.strokeStyle = "#fff";
  pen.lineWidth = 20;
  pen.lineCap = pen.lineJoin = "round";
  pen.beginPath();
  pen.moveTo(a.x, a.y);
  pen.lineTo(b.x, b.y);
  pen.stroke();
  classifySoon();
}

/** One classification per frame at most, while drawing. */
function classifySoon() {
  if (pending || !model) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    try {
      classify();
    } catch (e) {
      fail("classify", e);
    }
  });
}

// ---- from the pad to MNIST's format ----------------------------------------------------------
// MNIST digits are white on black, scaled so the longer side of their box is 20 of 28 pixels and
// centred by their centre of mass: the same is done here, then fovea reads the small canvas.

const small = new OffscreenCanvas(28, 28);
const smallPen = small.getContext("2d", { willReadFrequently: true });

function digitInput() {
  const { width: W, height: H } = pad;
  const px = pen.getImageData(0, 0, W, H).data;
  let x0 = W, y0 = H, x1 = -1, y1 = -1, mass = 0, mx = 0, my = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const v = px[(y * W + x) * 4];
      if (v < 32) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      mass += v;
      mx += v * x;
      my += v * y;
    }
  }
  if (x1 < 0) return null;
  const side = (Math.max(x1 - x0 + 1, y1 - y0 + 1) * 28) / 20;
  const cx = mx / mass, cy = my / mass;
  smallPen.fillStyle = "#000";
  smallPen.fillRect(0, 0, 28, 28);
  smallPen.imageSmoothingEnabled = true;
  smallPen.imageSmoothingQuality = "high";
  smallPen.drawImage(pad, cx - side / 2, cy - side / 2, side, side, 0, 0, 28, 28);
  return fovea.data.fromCanvas(small, [28, 28, 1]);
}

// ---- classification, probabilities, feature maps ---------------------------------------------

let classified = 0;

function classify() {
  const x = digitInput();
  if (!x) return showPrediction(null);
  const probs = model.predict(x);
  let digit = 0;
  for (let k = 1; k < 10; k++) if (probs[k] > probs[digit]) digit = k;
  demo.prediction = { digit, probs: Array.from(probs), count: ++classified };
  showPrediction(demo.prediction);
  drawSaliency(fovea.inspect.saliency(model, x, { class: digit }).values);
  const acts = model.activations(x);
  drawMaps($("input-map"), { shape: [28, 28, 1], values: x });
  drawMaps($("c1-maps"), acts.find((a) => a.layer === "C1"));
  drawMaps($("c3-maps"), acts.find((a) => a.layer === "C3"));
  askLiveModel(x);
}

const bars = [];
for (let k = 0; k < 10; k++) {
  const label = document.createElement("span");
  label.textContent = String(k);
  const bar = document.createElement("div");
  bar.className = "bar";
  bar.append(document.createElement("div"));
  const pct = document.createElement("span");
  pct.className = "pct";
  $("bars").append(label, bar, pct);
  bars.push({ bar, pct });
}

function showPrediction(p) {
  $("digit").textContent = p ? String(p.digit) : "?";
  $("confidence").textContent = p ? `${(100 * p.probs[p.digit]).toFixed(1)}% sure` : "draw something";
  bars.forEach(({ bar, pct }, k) => {
    const v = p ? p.probs[k] : 0;
    bar.firstChild.style.width = `${(100 * v).toFixed(1)}%`;
    bar.classList.toggle("top", p !== null && k === p.digit);
    pct.textContent = p ? `${(100 * v).toFixed(1)}%` : "";
  });
}

/** The saliency map of the answer (28×28, |d score / d pixel|) on the heat ramp, scaled by its maximum; null: blank. */
function drawSaliency(values) {
  const g = $("saliency").getContext("2d");
  if (!values) {
    g.fillStyle = "#000";
    g.fillRect(0, 0, 28, 28);
    demo.saliency = null;
    return;
  }
  let top = 1e-12;
  for (const v of values) if (v > top) top = v;
  const img = g.createImageData(28, 28);
  for (let i = 0; i < 28 * 28; i++) heat(img.data, i, values[i] / top);
  g.putImageData(img, 0, 0);
  demo.saliency = { count: classified, digit: demo.prediction.digit, max: top };
}

/** Each channel of an H×W×C activation as a small canvas (black → blue → white, scaled per map). */
function drawMaps(holder, act) {
  const [h, w, c] = act.shape;
  while (holder.children.length < c) {
    const cv = document.createElement("canvas");
    cv.width = w;
    cv.height = h;
    holder.append(cv);
  }
  for (let ch = 0; ch < c; ch++) {
    const g = holder.children[ch].getContext("2d");
    const img = g.createImageData(w, h);
    let lo = Infinity, hi = -Infinity;
    for (let i = 0; i < h * w; i++) {
      const v = act.values[i * c + ch];
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    const span = hi - lo || 1;
    for (let i = 0; i < h * w; i++) heat(img.data, i, (act.values[i * c + ch] - lo) / span);
    g.putImageData(img, 0, 0);
  }
}

/** A dark-blue-to-white ramp. */
function heat(out, i, t) {
  out[i * 4] = Math.round(255 * Math.max(0, 2 * t - 1));
  out[i * 4 + 1] = Math.round(255 * Math.max(0, Math.min(1, 1.6 * t - 0.35)));
  out[i * 4 + 2] = Math.round(255 * Math.min(1, 0.25 + 1.2 * t));
  out[i * 4 + 3] = 255;
}

// ---- the live model, trained in a Web Worker -------------------------------------------------

const worker = new Worker(new URL("./train-worker.js", import.meta.url), { type: "module" });
const losses = demo.training.losses;
let asked = 0;

worker.addEventListener("error", (ev) => {
  demo.training.error = ev.message || "the training worker did not start";
  $("train-status").textContent = demo.training.error;
});
worker.addEventListener("message", ({ data: m }) => {
  const t = demo.training;
  if (m.type === "ready") {
    t.ready = true;
    t.info = m.info;
    $("train-threads").textContent = `${m.info.threads} thread${m.info.threads > 1 ? "s" : ""}, ${m.info.build} build`;
    $("train-status").textContent = `${m.examples.toLocaleString("en-US")} digits loaded: ${m.train} to train on, ${m.examples - m.train} to validate`;
    $("train").disabled = false;
  } else if (m.type === "progress") {
    losses.push(m.loss);
    if (m.filters) drawFilters(m.filters);
    $("train-status").textContent = `epoch ${m.epoch + 1}/${m.epochs} · batch ${m.batch}/${m.batches} · loss ${m.loss.toFixed(3)}`;
    drawLoss();
  } else if (m.type === "epoch") {
    t.epochs.push(m.logs);
    drawLoss();
  } else if (m.type === "done") {
    t.done = true;
    const l = t.epochs[t.epochs.length - 1];
    $("train-status").textContent = `done: ${t.epochs.length} epochs in ${m.seconds.toFixed(1)} s · validation accuracy ${(100 * l.valAccuracy).toFixed(1)}%`;
    $("train").disabled = false;
    if (demo.prediction) askLiveModel(digitInput());
  } else if (m.type === "guess") {
    if (m.id !== asked) return; // an older digit
    let d = 0;
    for (let k = 1; k < 10; k++) if (m.probs[k] > m.probs[d]) d = k;
    demo.liveGuess = { digit: d, probs: m.probs };
    $("live-guess").innerHTML = `the live model says <b>${d}</b> (${(100 * m.probs[d]).toFixed(0)}%)`;
  } else if (m.type === "error") {
    t.error = m.message;
    $("train-status").textContent = m.message;
    $("train").disabled = false;
  }
});

$("train").addEventListener("click", () => {
  $("train").disabled = true;
  losses.length = 0;
  demo.training.epochs.length = 0;
  demo.training.done = false;
  demo.training.started = true;
  worker.postMessage({ type: "train", epochs: Number($("epochs").value) });
});

function askLiveModel(x) {
  if (x && demo.training.epochs.length > 0) worker.postMessage({ type: "guess", id: ++asked, x });
}

/** conv1's kernels (HWIO, one input channel): blue below zero, orange above, white at zero, one scale for all. */
function drawFilters({ shape: [kh, kw, , n], values }) {
  const holder = $("filters");
  let scale = 1e-6;
  for (const v of values) scale = Math.max(scale, Math.abs(v));
  const [neg, pos] = [[47, 111, 237], [232, 89, 12]];
  for (let f = 0; f < n; f++) {
    if (holder.children.length <= f) {
      const cv = document.createElement("canvas");
      cv.width = kw;
      cv.height = kh;
      holder.append(cv);
    }
    const g = holder.children[f].getContext("2d");
    const img = g.createImageData(kw, kh);
    for (let i = 0; i < kh * kw; i++) {
      const t = values[i * n + f] / scale, c = t < 0 ? neg : pos, a = Math.abs(t);
      for (let k = 0; k < 3; k++) img.data[i * 4 + k] = Math.round(255 + (c[k] - 255) * a);
      img.data[i * 4 + 3] = 255;
    }
    g.putImageData(img, 0, 0);
  }
}

function drawLoss() {
  const cv = $("loss"), g = cv.getContext("2d");
  const W = cv.width, H = cv.height, L = 44, R = 12, T = 14, B = 28;
  g.clearRect(0, 0, W, H);
  g.font = "11px system-ui, sans-serif";
  g.fillStyle = "#6b7385";
  g.strokeStyle = "#e3e6ec";
  const top = Math.max(2.5, ...losses.slice(0, 3));
  const n = Math.max(losses.length, 20);
  const x = (i) => L + ((W - L - R) * i) / (n - 1);
  const y = (v) => T + (H - T - B) * (1 - Math.min(v, top) / top);
  for (const v of [0, 0.5, 1, 1.5, 2, 2.5].filter((v) => v <= top)) {
    g.beginPath();
    g.moveTo(L, y(v));
    g.lineTo(W - R, y(v));
    g.stroke();
    g.fillText(v.toFixed(1), 12, y(v) + 4);
  }
  g.fillText("batches →", W - R - 60, H - 8);
  g.fillStyle = "rgba(47, 111, 237, 0.35)";
  losses.forEach((v, i) => g.fillRect(x(i) - 1.5, y(v) - 1.5, 3, 3));
  g.strokeStyle = "#2f6fed";
  g.lineWidth = 2;
  g.beginPath();
  let mean = losses[0] ?? 0;
  losses.forEach((v, i) => {
    mean = i === 0 ? v : 0.9 * mean + 0.1 * v;
    if (i === 0) g.moveTo(x(i), y(mean));
    else g.lineTo(x(i), y(mean));
  });
  g.stroke();
  g.lineWidth = 1;
}

clearPad();
drawLoss();
start().catch((e) => fail("start", e));
