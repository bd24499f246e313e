// rolldown for the demo: `npx rolldown -c examples/browser/rolldown.config.mjs` writes a static site
// to examples/browser/dist-rolldown/ (serve it with COOP/COEP, e.g. with server.mjs; the tests do).
//
// rolldown bundles JavaScript only and leaves `new URL("./file", import.meta.url)` as it is: the
// page's files, its own worker (an entry of its own here) and fovea's worker.js must sit beside
// the bundle. fovea's worker is self-contained, so copying it is all it takes (the plugin below;
// in your project, from node_modules/fovea/dist/runtime/worker.js). Alternatively,
// `experimental: { resolveNewUrlToAsset: true }` makes rolldown copy every such file itself.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

const at = (p) => fileURLToPath(new URL(p, import.meta.url));

/** Emits files as they are, under the given names. */
const copy = (files) => ({
  name: "copy-files",
  generateBundle() {
    for (const [name, from] of Object.entries(files)) this.emitFile({ type: "asset", fileName: name, source: readFileSync(at(from)) });
  },
});

export default {
  input: { main: at("main.js"), "train-worker": at("train-worker.js") },
  platform: "browser",
  output: { dir: at("dist-rolldown"), format: "esm", entryFileNames: "[name].js", chunkFileNames: "[name]-[hash].js" },
  plugins: [
    copy({
      "index.html": "index.html",
      "style.css": "style.css",
      "lenet5-mnist.fovea": "lenet5-mnist.fovea",
      "mnist-1500.png": "mnist-1500.png",
      "mnist-1500-labels.json": "mnist-1500-labels.json",
      "worker.js": "../../dist/runtime/worker.js", // fovea's pool worker, beside the chunk with fovea's runtime
    }),
  ],
};
