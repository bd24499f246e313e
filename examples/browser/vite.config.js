// vite for the demo: `npx vite build --config examples/browser/vite.config.js` writes a static site
// to examples/browser/dist-vite/ (serve it with COOP/COEP, e.g. with server.mjs; the tests do).
// What a project that uses fovea with vite needs is marked "fovea:".
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const isolation = { "Cross-Origin-Opener-Policy": "same-origin", "Cross-Origin-Embedder-Policy": "require-corp" };

export default {
  root: here,
  // fovea: the threads need a cross-origin isolated page, in `vite` (dev) and `vite preview` too
  server: { headers: isolation, fs: { allow: [fileURLToPath(new URL("../..", import.meta.url))] } },
  preview: { headers: isolation },
  // fovea: a worker of yours that imports fovea, as ES modules: each wasm build stays a chunk of its
  // own, fetched only when chosen (vite's default, iife, inlines all of them into the worker)
  worker: { format: "es" },
  build: { outDir: "dist-vite", emptyOutDir: true },
  logLevel: "warn",
};
