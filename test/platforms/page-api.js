// Runs in Chromium (test/platforms.test.ts): fovea's API for pages where pages have it — loadImage
// on a URL (fetch + the browser's decoder), fromCanvas / fromImageData, fitAsync letting the
// page's event loop run — and the FoveaError each failure is. Returns plain JSON.
import * as fovea from "/dist/index.js";

const failure = async (f) => {
  try {
    await f();
    return null;
  } catch (e) {
    return { name: e.name, fovea: e instanceof fovea.FoveaError, message: e.message };
  }
};
const bytes = (a) => Array.from(a, (v) => Math.round(v * 255));

export async function pageApi() {
  await fovea.init({ threads: 1 });
  const out = {};

  // loadImage: a URL relative to this page, decoded by the browser; at full size and resized
  const sheetUrl = "../../examples/browser/mnist-1500.png";
  const sheet = await fovea.data.loadImage(sheetUrl, [840, 1400, 1]);
  out.sheet = { length: sheet.length, firstRows: bytes(sheet.subarray(0, 28 * 1400)) };
  out.resized = Array.from(await fovea.data.loadImage(new URL(sheetUrl, location.href), [30, 50, 1]));

  // fromCanvas (a page's canvas and an OffscreenCanvas) and fromImageData
  const page = document.createElement("canvas");
  page.width = page.height = 4;
  const off = new OffscreenCanvas(4, 4);
  for (const c of [page, off]) {
    const g = c.getContext("2d");
    g.fillStyle = "#000";
    g.fillRect(0, 0, 4, 4);
    g.fillStyle = "#fff";
    g.fillRect(0, 0, 2, 2);
    g.fillStyle = "rgb(255, 0, 0)";
    g.fillRect(3, 3, 1, 1);
  }
  out.canvas = bytes(fovea.data.fromCanvas(page, [4, 4, 1]));
  out.offscreen = bytes(fovea.data.fromCanvas(off, [4, 4, 3]));
  out.imageData = bytes(fovea.data.fromImageData(new ImageData(Uint8ClampedArray.from([0, 0, 255, 255, 255, 255, 255, 128]), 2, 1), [1, 2, 3]));

  // encodePng on a page that loads dist/ without a bundler ("#pngjs" resolves nowhere): the browser's
  // encoder, decoded back to the same pixels
  const grey = Float32Array.from({ length: 12 }, (_, i) => i / 11), rgb = Float32Array.from({ length: 36 }, (_, i) => ((i * 7) % 12) / 11);
  const png1 = await fovea.data.encodePng(grey, [3, 4, 1]), png3 = await fovea.data.encodePng(rgb, [3, 4, 3]);
  out.png = {
    signature: Array.from(png1.subarray(0, 8)),
    grey: bytes(fovea.data.fromImageData(await fovea.data.decodeImage(png1, "grey.png"), [3, 4, 1])),
    rgb: bytes(fovea.data.fromImageData(await fovea.data.decodeImage(png3, "rgb.png"), [3, 4, 3])),
  };

  // what goes wrong, as FoveaErrors
  const gl = document.createElement("canvas");
  gl.width = gl.height = 4;
  gl.getContext("webgl2");
  out.errors = {
    missing: await failure(() => fovea.data.loadImage("no-such-image.png", [4, 4, 1])),
    notAnImage: await failure(() => fovea.data.loadImage("/examples/browser/mnist-1500-labels.json", [4, 4, 1])),
    webgl: await failure(() => fovea.data.fromCanvas(gl, [4, 4, 1])),
    shortData: await failure(() => fovea.data.fromImageData({ width: 2, height: 2, data: new Uint8ClampedArray(15) }, [2, 2, 1])),
  };

  // fitAsync on a page's main thread: its timers run while the model trains
  const L = fovea.layers;
  const m = fovea.sequential([L.conv2d({ filters: 4, kernelSize: 3, activation: "relu" }), L.flatten(), L.dense({ units: 2 }), L.softmax()], { inputShape: [8, 8, 1], seed: 2 });
  m.compile({ batchSize: 4, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.1 }) });
  const x = Float32Array.from({ length: 32 * 64 }, (_, i) => ((i >> 6) % 2) * 0.8 + Math.sin(i) * 0.1), y = Int32Array.from({ length: 32 }, (_, i) => i % 2);
  let ticks = 0, events = 0;
  const timer = setInterval(() => ticks++, 0);
  const h = await m.fitAsync(x, y, { epochs: 3, yieldMs: 0, onProgress: () => events++ });
  clearInterval(timer);
  out.fitAsync = { ticks, events, losses: h.epochs.map((e) => e.loss) };
  return out;
}
