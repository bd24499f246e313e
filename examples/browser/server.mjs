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
  const args = process.argv.slice(2);
  const at = args.indexOf("--port");
  const port = at >= 0 ? Number(args[at + 1]) : 8080;
  const isolated = !args.includes("--no-isolation");
  const root = fileURLToPath(new URL("../..", import.meta.url));
  const { url } = await serve(root, { isolated, port });
  console.log(`fovea demo: ${url}/examples/browser/  (${isolated ? "COOP/COEP: threads on" : "no COOP/COEP: one thread"}; Ctrl-C stops)`);
}
