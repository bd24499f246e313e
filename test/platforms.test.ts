// The built package (dist/) imported as-is by Deno and by Chromium, and bundled by rolldown for
// Node and for a page, running the smoke kernel (and a threaded gemm where threads can run).
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CHROMIUM, haveChromium, launchChromium } from "./helpers/chromium.js";
import { serve } from "./helpers/static-server.js";

interface SmokeResult {
  info: { build: string; runtime: string; wasmBytes: number; features: Record<string, unknown>; memory: { inUseBytes: number }; threads: number; threadsReason: string };
  a: number[];
  b: number[];
  out: number[];
  shapeError: string | null;
  threadedGemmEqual: boolean;
}

function checkSmoke(r: SmokeResult): void {
  expect(r.out).toHaveLength(37);
  r.out.forEach((v, i) => expect(v).toBe(Math.fround(Math.fround(r.a[i]!) + Math.fround(r.b[i]!))));
  expect(r.shapeError).toBe("ShapeError: tensor: shape [2, 2] holds 4 values, but 3 were given");
  expect(r.info.memory.inUseBytes).toBeGreaterThan(0);
  expect(r.threadedGemmEqual).toBe(true);
}

const DENO = "node_modules/deno/deno";

describe("Deno", () => {
  it("imports the package with no permissions and runs the smoke kernel on the relaxed build", () => {
    expect(existsSync(DENO), "deno@2 from the npm registry is a devDependency: run npm install").toBe(true);
    const r = spawnSync(DENO, ["run", "--no-prompt", "test/platforms/deno-main.js"], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as SmokeResult & { info: { threads: number; threadsReason: string } };
    checkSmoke(result);
    expect(result.info.runtime).toMatch(/^deno 2\./);
    expect(result.info.build).toMatch(/^relaxed/); // Deno 2 has relaxed SIMD on by default
    // without --allow-read the worker script cannot load: one thread, and the reason says why
    expect(result.info.threads).toBe(1);
    expect(result.info.threadsReason).toMatch(/Deno needs read access to .*worker\.js for the worker script \(--allow-read\)/);
    // reading without the permission: a NotFoundError with Deno's own words (its flag named)
    expect((result as unknown as { missing: string }).missing).toMatch(/^NotFoundError other: test\/platforms\/no-such-file\.bin: .*--allow-read/);
  });

  it("with --allow-read runs a threaded gemm on a worker pool and exits on its own (no shutdown())", () => {
    const r = spawnSync(DENO, ["run", "--allow-read", "--no-prompt", "test/platforms/deno-main.js"], { encoding: "utf8", timeout: 60_000 });
    expect(r.signal, "still running after 60 s: the pool's workers kept Deno alive").toBe(null);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const result = JSON.parse(r.stdout) as SmokeResult & { info: { threads: number }; missing: string };
    checkSmoke(result);
    expect(result.info.threads).toBeGreaterThanOrEqual(2);
    // FOVEA_THREADS is not visible without --allow-env: the reason says it was not read (it had been ignored silently)
    expect((result.info as { threadsReason: string }).threadsReason).toMatch(/cores reported by the runtime \(FOVEA_THREADS not read: Deno needs --allow-env for it\)/);
    // a missing file in Deno's errors (NotFound): the words Node's ENOENT gets
    expect(result.missing).toBe("NotFoundError missing: test/platforms/no-such-file.bin: no such file");
  });
});

describe("a bundler (rolldown)", () => {
  it("bundles the package; each build lands in its own lazily loaded chunk; the bundle runs", async () => {
    const { rolldown } = await import("rolldown");
    const dir = mkdtempSync(join(tmpdir(), "fovea-bundle-"));
    const bundle = await rolldown({ input: "test/platforms/bundle-entry.js", platform: "neutral", logLevel: "silent" });
    const { output } = await bundle.write({ dir, format: "esm" });
    const names = output.map((o) => o.fileName);
    for (const b of ["simd", "relaxed", "debug", "simd-mt", "relaxed-mt"]) {
      expect(names.some((n) => n.startsWith(`wasm-${b}-`))).toBe(true);
    }
    // the entry chunk carries no wasm bytes ("AGFzbQ" is base64 of the "\0asm" magic): only the
    // chosen build is ever fetched and parsed (the other builds are small deltas against simd's)
    expect(readFileSync(join(dir, "bundle-entry.js"), "utf8")).not.toContain("AGFzbQ");
    expect(output.filter((o) => "code" in o && o.code.includes("AGFzbQ")).map((o) => o.name).sort()).toEqual(["wasm-debug", "wasm-simd"]);
    const r = spawnSync(process.execPath, [join(dir, "bundle-entry.js")], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    checkSmoke(JSON.parse(r.stdout) as SmokeResult);
  });

  it("tree-shaking keeps what train/ adds to Model: a bundle of named imports compiles, fits and evaluates", async () => {
    const { rolldown } = await import("rolldown");
    const dir = mkdtempSync(join(tmpdir(), "fovea-bundle-train-"));
    const bundle = await rolldown({ input: "test/platforms/bundle-train.js", platform: "neutral", logLevel: "silent", treeshake: true });
    await bundle.write({ dir, format: "esm" });
    const r = spawnSync(process.execPath, [join(dir, "bundle-train.js")], { encoding: "utf8" });
    expect(r.stderr).toBe("");
    const out = JSON.parse(r.stdout) as { epochs: number; step: number; before: number; after: number };
    expect(out.epochs).toBe(3);
    expect(out.step).toBe(3);
    expect(out.after).toBeLessThan(out.before); // it learned something
  });
});

if (!haveChromium) {
  const bar = "!".repeat(78);
  console.warn(
    `\n${bar}\n!! Chromium not found at ${CHROMIUM}: the BROWSER tests are SKIPPED.\n` +
      `!! Install it with: apt-get install -y --no-install-recommends chromium\n${bar}\n`,
  );
}

/** Opens `path` under `root` (served with COOP/COEP or not) and returns what the smoke page reported. */
async function inChromium(isolated: boolean, root = process.cwd(), path = "/test/platforms/browser.html"): Promise<SmokeResult & { info: { threads: number; threadsReason: string } }> {
  const server = await serve(root, { isolated });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    await page.goto(`${server.url}${path}`);
    await page.waitForFunction(() => (window as unknown as { __fovea?: unknown }).__fovea !== undefined, null, { timeout: 30_000 });
    const result = (await page.evaluate(() => (window as unknown as { __fovea: unknown }).__fovea)) as SmokeResult & { error?: string; info: { threads: number; threadsReason: string } };
    expect(result.error).toBeUndefined();
    expect(errors).toEqual([]);
    return result;
  } finally {
    await browser.close();
    await server.close();
  }
}

describe.skipIf(!haveChromium)("Chromium", () => {
  it("served with COOP/COEP (cross-origin isolated): a worker pool runs a threaded gemm", async () => {
    const result = await inChromium(true);
    checkSmoke(result);
    expect(result.info.features.crossOriginIsolated).toBe(true);
    expect(result.info.build).toMatch(/-mt$/);
    expect(result.info.threads).toBeGreaterThanOrEqual(2);
  });

  it("imports dist/ from a localhost page and runs the smoke kernel", async () => {
    const server = await serve(process.cwd());
    const browser = await launchChromium();
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${server.url}/test/platforms/browser.html`);
      await page.waitForFunction(() => (window as unknown as { __fovea?: unknown }).__fovea !== undefined, null, {
        timeout: 30_000,
      });
      const result = (await page.evaluate(() => (window as unknown as { __fovea: unknown }).__fovea)) as SmokeResult & {
        error?: string;
      };
      expect(result.error).toBeUndefined();
      expect(errors).toEqual([]);
      checkSmoke(result);
      expect(result.info.build).toBe("relaxed");
      expect(result.info.runtime).toMatch(/Chrome\//);
      // a page served without COOP/COEP is not cross-origin isolated: one thread, and it says why
      expect(result.info.features.crossOriginIsolated).toBe(false);
      expect(result.info.features.threads).toBe(false);
      expect(result.info.threads).toBe(1);
      expect(result.info.threadsReason).toMatch(/not cross-origin isolated/);
    } finally {
      await browser.close();
      await server.close();
    }
  });
});

/** The smoke page bundled by rolldown for the browser, as an app would ship it, in a fresh directory. */
async function bundleForPage(options: { experimental?: { resolveNewUrlToAsset?: boolean } }): Promise<{ dir: string; files: string[] }> {
  const { rolldown } = await import("rolldown");
  const dir = mkdtempSync(join(tmpdir(), "fovea-page-bundle-"));
  const bundle = await rolldown({ input: "test/platforms/browser-entry.js", platform: "browser", logLevel: "silent", ...options });
  const { output } = await bundle.write({ dir, format: "esm" });
  writeFileSync(join(dir, "index.html"), '<!doctype html><meta charset="utf-8"><script type="module" src="./browser-entry.js"></script>\n');
  return { dir, files: output.map((o) => o.fileName) };
}

describe.skipIf(!haveChromium)("a page bundled by rolldown, in Chromium", () => {
  it("the worker is self-contained: with resolveNewUrlToAsset rolldown copies it, and the bundle runs a worker pool", async () => {
    expect(readFileSync("dist/runtime/worker.js", "utf8")).not.toMatch(/^\s*import\s*[\w{*"']/m); // no static imports: a copy runs
    const { dir, files } = await bundleForPage({ experimental: { resolveNewUrlToAsset: true } });
    expect(files.filter((f) => /^assets\/worker-.*\.js$/.test(f))).toHaveLength(1);
    const result = await inChromium(true, dir, "/index.html");
    checkSmoke(result);
    expect(result.info.features.crossOriginIsolated).toBe(true);
    expect(result.info.threads).toBeGreaterThanOrEqual(2);
  });

  it("a bundle without worker.js runs on one thread, and backendInfo() names the URL and the HTTP status", async () => {
    const { dir } = await bundleForPage({});
    expect(readdirSync(dir).some((f) => f.includes("worker"))).toBe(false); // rolldown's default: not emitted
    const result = await inChromium(true, dir, "/index.html");
    checkSmoke(result); // one thread: the same results
    expect(result.info.threads).toBe(1);
    expect(result.info.threadsReason).toMatch(/^single thread: the worker pool did not start \(worker 1 failed to start: its script http:\/\/127\.0\.0\.1:\d+\/worker\.js answered HTTP 404 Not Found/);
  });
});

describe.skipIf(!haveChromium)("the page API in Chromium", () => {
  interface PageApi {
    error?: string;
    sheet: { length: number; firstRows: number[] };
    resized: number[];
    canvas: number[];
    offscreen: number[];
    imageData: number[];
    errors: Record<string, { name: string; fovea: boolean; message: string } | null>;
    fitAsync: { ticks: number; events: number; losses: number[] };
    png: { signature: number[]; grey: number[]; rgb: number[] };
  }

  it("loadImage on a URL (fetch + createImageBitmap), fromCanvas, fromImageData, fitAsync; failures are FoveaErrors", async () => {
    const server = await serve(process.cwd(), { isolated: true });
    const browser = await launchChromium();
    let r: PageApi;
    try {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(String(e)));
      await page.goto(`${server.url}/test/platforms/page-api.html`);
      await page.waitForFunction(() => (window as unknown as { __fovea?: unknown }).__fovea !== undefined, null, { timeout: 60_000 });
      r = (await page.evaluate(() => (window as unknown as { __fovea: unknown }).__fovea)) as PageApi;
      expect(r.error).toBeUndefined();
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
      await server.close();
    }
    // the browser's decoder gives pngjs's pixels (Node), and the same wasm resize follows
    const { init, data } = await import("../src/index.js");
    await init({ build: "simd" });
    const sheet = await data.loadImage("examples/browser/mnist-1500.png", [840, 1400, 1]);
    expect(r.sheet.length).toBe(sheet.length);
    expect(r.sheet.firstRows).toEqual(Array.from(sheet.subarray(0, 28 * 1400), (v) => Math.round(v * 255)));
    const resized = await data.loadImage("examples/browser/mnist-1500.png", [30, 50, 1]);
    r.resized.forEach((v, i) => expect(v).toBeCloseTo(resized[i]!, 6));
    // white top-left 2×2, a red pixel at (3, 3): grey 0.299 · 255 = 76
    expect(r.canvas).toEqual([255, 255, 0, 0, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 76]);
    expect(r.offscreen.slice(0, 6)).toEqual([255, 255, 255, 255, 255, 255]);
    expect(r.offscreen.slice(45)).toEqual([255, 0, 0]);
    expect(r.imageData).toEqual([0, 0, 255, 128, 128, 128]); // the second pixel's alpha 128 composited on black
    const e = r.errors;
    for (const v of Object.values(e)) expect(v?.fovea).toBe(true);
    expect(e.missing).toMatchObject({ name: "NotFoundError", message: "no-such-image.png: HTTP 404 Not Found" });
    expect(e.notAnImage!.name).toBe("FormatError");
    expect(e.notAnImage!.message).toMatch(/^\/examples\/browser\/mnist-1500-labels\.json: the browser could not decode these \d+ bytes as an image/);
    expect(e.webgl).toMatchObject({ name: "ConfigError", message: "fromCanvas: the 4×4 canvas has no 2D context (one of another kind, e.g. webgl, was made first)" });
    expect(e.shortData).toMatchObject({ name: "ShapeError", message: "fromImageData: a 2×2 RGBA image has 16 bytes, this data 15" });
    // encodePng on a page without a bundler: a PNG of the values' pixels (8 bits each), as pngjs writes in Node
    expect(r.png.signature).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
    expect(r.png.grey).toEqual(Array.from({ length: 12 }, (_, i) => Math.round((255 * i) / 11)));
    expect(r.png.rgb).toEqual(Array.from({ length: 36 }, (_, i) => Math.round((255 * ((i * 7) % 12)) / 11)));
    const { encodePng, decodeImage, fromImageData } = (await import("../src/index.js")).data;
    expect(Array.from(fromImageData(await decodeImage(await encodePng(Float32Array.from({ length: 36 }, (_, i) => ((i * 7) % 12) / 11), [3, 4, 3]), "node.png"), [3, 4, 3]), (v) => Math.round(v * 255))).toEqual(r.png.rgb);
    expect(r.fitAsync.ticks).toBeGreaterThan(0); // the page's timers ran while it trained
    expect(r.fitAsync.events).toBe(3 * 8 + 3);
    expect(r.fitAsync.losses[2]).toBeLessThan(r.fitAsync.losses[0]!);
  });
});
