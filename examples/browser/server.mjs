// The demo's dev server: static files on 127.0.0.1, with the two headers a page needs for threads
// (Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp make
// it cross-origin isolated, which SharedArrayBuffer needs). It serves the repository, so the page
// imports the built package from /dist/ (run `npm run build` once).
//
//   npm run demo                       → http://127.0.0.1:8080/examples/browser/
//   node examples/browser/server.mjs --port 3000 --no-isolation   (one thread, and the page says why)
//
// The tests serve their pages with it too (test/helpers/static-server.ts).
import { createServer } from "node:http";
import { readFile, stat } from "node:fs/promises";
import { extname, join, normalize } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

const TYPES = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".json": "application/json",
  ".map": "application/json",
  ".wasm": "application/wasm",
  ".png": "image/png",
  ".jpg": "image/jpeg",
  ".svg": "image/svg+xml",
};

/**
 * Serves the files under `root` on 127.0.0.1 (port 0: any free one); `isolated` adds COOP/COEP.
 * A directory answers with its index.html. Resolves once listening.
 */
export async function serve(root, { isolated = false, port = 0 } = {}) {
  const server = createServer(async (req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? "/", "http://x").pathname));
    if (path.includes("..")) return void res.writeHead(403).end();
    const headers = { "cache-control": "no-store" };
    if (isolated) {
      headers["cross-origin-opener-policy"] = "same-origin";
      headers["cross-origin-embedder-policy"] = "require-corp";
    }
    try {
      let file = join(root, path);
      if ((await stat(file)).isDirectory()) file = join(file, "index.html");
      const body = await readFile(file);
      res.writeHead(200, { ...headers, "content-type": TYPES[extname(file)] ?? "application/octet-stream" }).end(body);
    } catch {
      res.writeHead(404, { ...headers, "content-type": "text/plain" }).end(`not found: ${path}`);
    }
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  const addr = server.address();
  return {
    url: `http://127.0.0.1:${addr.port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const fail = (why, code) => {
    console.error(`demo server: ${why}`);
    process.exit(code);
  };
  let values;
  try {
    ({ values } = parseArgs({ options: { port: { type: "string", default: "8080" }, "no-isolation": { type: "boolean", default: false } } }));
  } catch (e) {
    fail(`${e.message} (options: --port N, --no-isolation)`, 2);
  }
  const port = Number(values.port);
  if (!/^\d+$/.test(values.port) || port > 65535) fail(`--port must be a whole number from 0 (any free port) to 65535, got "${values.port}"`, 2);
  const isolated = !values["no-isolation"];
  const root = fileURLToPath(new URL("../..", import.meta.url));
  let url;
  try {
    ({ url } = await serve(root, { isolated, port }));
  } catch (e) {
    fail(e.code === "EADDRINUSE" ? `port ${port} of 127.0.0.1 is in use (another demo server?): npm run demo -- --port N takes another (0: any free one)` : e.message, 1);
  }
  console.log(`fovea demo: ${url}/examples/browser/  (${isolated ? "COOP/COEP: threads on" : "no COOP/COEP: one thread"}; Ctrl-C stops)`);
}
