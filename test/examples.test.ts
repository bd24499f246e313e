// The examples, each run the way its README line says: examples/node (train, save, load, predict),
// examples/deno (the same, and it exits on its own: no fovea.shutdown()), examples/browser (the
// demo page in Chromium: served by its own dev server with COOP/COEP, and built with vite and
// with rolldown from its config files). The browser tests draw digits with the mouse, read the
// prediction from the page, train the live model in its Web Worker, and save screenshots to
// test/output/screenshots/.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { Page } from "playwright-core";
import { describe, expect, it } from "vitest";
import { haveChromium, launchChromium } from "./helpers/chromium.js";
import { serve } from "./helpers/static-server.js";

const DENO = "node_modules/deno/deno";
const SHOTS = "test/output/screenshots";

/** The last line of an example's output: its JSON summary. */
const summary = (stdout: string) => JSON.parse(stdout.trim().split("\n").pop() ?? "") as Record<string, unknown>;

describe("examples/node", () => {
  it("trains a small CNN on MNIST, saves it, loads it back; the loaded model predicts the same", () => {
    const r = spawnSync(process.execPath, [...process.execArgv.filter((a) => a.startsWith("--experimental-wasm")), "examples/node/train.mjs"], { encoding: "utf8", timeout: 300_000 });
    expect(r.signal).toBe(null);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^epoch 3\/3 {2}loss \d\.\d{4} {2}accuracy /m); // fit's verbose line
    const s = summary(r.stdout);
    expect(s.agree).toBe(1);
    expect(s.accuracy).toBeGreaterThan(0.85);
  }, 320_000);
});

describe("examples/finetune", () => {
  it("a PyTorch-trained CNN imported, a new head for new classes trained (frozen, then every layer), exported and run in onnxruntime-node", () => {
    const r = spawnSync(process.execPath, [...process.execArgv.filter((a) => a.startsWith("--experimental-wasm")), "examples/finetune/finetune.mjs"], { encoding: "utf8", timeout: 300_000 });
    expect(r.signal).toBe(null);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const s = summary(r.stdout) as Record<string, number>;
    expect(s.imported).toBeLessThan(1e-4); // PyTorch's logits (digits0-4.json)
    expect(Math.abs(s.old! - JSON.parse(readFileSync("examples/finetune/digits0-4.json", "utf8")).accuracy)).toBeLessThan(0.002);
    expect(s.before).toBeLessThan(0.4);
    expect(s.headOnly).toBeGreaterThan(0.8);
    expect(s.after).toBeGreaterThan(0.95);
    expect(s.ort).toBeCloseTo(s.after!, 3);
    expect(s.diff).toBeLessThan(1e-4);
  }, 320_000);
});

describe("examples/deno", () => {
  it("trains, saves, loads and predicts on a worker pool, and exits on its own", () => {
    expect(existsSync(DENO), "deno@2 from the npm registry is a devDependency: run npm install").toBe(true);
    const r = spawnSync(DENO, ["run", "--allow-read", "--no-prompt", "examples/deno/main.js"], { encoding: "utf8", timeout: 120_000 });
    expect(r.signal, "still running after 120 s: something kept Deno alive").toBe(null);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const s = summary(r.stdout);
    expect(s.runtime).toMatch(/^deno 2\./);
    expect(s.threads).toBeGreaterThanOrEqual(2);
    expect(s.agree).toBe(1);
    expect(s.accuracy).toBeGreaterThan(0.9);
  }, 130_000);
});

interface DemoState {
  ready: boolean;
  error: string | null;
  info: { threads: number; build: string; threadsReason: string } | null;
  prediction: { digit: number; probs: number[]; count: number } | null;
  saliency: { digit: number; count: number; max: number } | null;
  training: { ready: boolean; info: { threads: number; build: string } | null; done: boolean; losses: number[]; epochs: { loss: number; valAccuracy: number }[]; error: string | null };
  liveGuess: { digit: number; probs: number[] } | null;
}
const state = (page: Page) => page.evaluate(() => (window as unknown as { __demo: DemoState }).__demo);

/** Strokes on the drawing pad, in fractions of its size: the mouse goes down, through the points, up. */
async function draw(page: Page, strokes: [number, number][][]): Promise<void> {
  const box = (await page.locator("#pad").boundingBox())!;
  const at = ([x, y]: [number, number]) => [box.x + x * box.width, box.y + y * box.height] as const;
  for (const s of strokes) {
    await page.mouse.move(...at(s[0]!));
    await page.mouse.down();
    for (const p of s.slice(1)) await page.mouse.move(...at(p), { steps: 14 });
    await page.mouse.up();
  }
  // the page classifies once per frame: two frames later the last stroke is in
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
}
const SEVEN: [number, number][][] = [[[0.27, 0.24], [0.73, 0.24], [0.44, 0.82]]];
const ONE: [number, number][][] = [[[0.52, 0.17], [0.48, 0.83]]];

/** Opens the demo at `url` and checks what the issue asks of it; screenshots go to SHOTS/<name>-*.png. */
async function checkDemo(url: string, name: string): Promise<void> {
  mkdirSync(SHOTS, { recursive: true });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1200, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (e) => errors.push(String(e)));
    page.on("console", (m) => void (m.type() === "error" && errors.push(m.text())));
    await page.goto(url);
    await page.waitForFunction(() => { const d = (window as unknown as { __demo?: DemoState }).__demo; return d?.ready || d?.error; }, null, { timeout: 60_000 });
    let s = await state(page);
    expect(s.error).toBe(null);
    expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
    expect(s.info!.threads).toBeGreaterThanOrEqual(2);

    // a 7, then a 1: the pretrained LeNet-5's answers and its probabilities, as the page shows them
    await draw(page, SEVEN);
    s = await state(page);
    expect(s.prediction!.digit).toBe(7);
    expect(s.prediction!.probs).toHaveLength(10);
    expect(s.prediction!.probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(s.prediction!.probs[7]).toBeGreaterThan(0.5);
    expect(await page.locator("#digit").textContent()).toBe("7");
    expect(await page.locator("#c1-maps canvas").count()).toBe(6); // the feature maps of the drawn digit
    expect(await page.locator("#c3-maps canvas").count()).toBe(16);
    // the saliency map of the answer, drawn for this very prediction: a heat ramp with a white-hot maximum
    expect(s.saliency).toMatchObject({ digit: 7, count: s.prediction!.count });
    expect(s.saliency!.max).toBeGreaterThan(0);
    const lit = await page.evaluate(() => {
      const d = (document.getElementById("saliency") as HTMLCanvasElement).getContext("2d")!.getImageData(0, 0, 28, 28).data;
      let hot = 0, blank = 0;
      for (let i = 0; i < d.length; i += 4) {
        if (d[i]! > 128) hot++;
        if (d[i]! + d[i + 1]! + d[i + 2]! === 0) blank++;
      }
      return { hot, blank, top: Math.max(...Array.from({ length: d.length / 4 }, (_, i) => d[i * 4]!)) };
    });
    expect(lit.blank).toBe(0); // every pixel drawn (the ramp's floor is dark blue, not black)
    expect(lit.hot).toBeGreaterThan(0);
    expect(lit.top).toBe(255);
    await page.screenshot({ path: join(SHOTS, `${name}-seven.png`) });
    await page.click("#clear");
    await draw(page, ONE);
    s = await state(page);
    expect(s.prediction!.digit).toBe(1);
    expect(await page.locator("#digit").textContent()).toBe("1");
    expect(s.saliency).toMatchObject({ digit: 1, count: s.prediction!.count });

    // the live model: trained in the Web Worker, on threads; its loss falls
    await page.waitForFunction(() => { const t = (window as unknown as { __demo: DemoState }).__demo.training; return t.ready || t.error; }, null, { timeout: 60_000 });
    s = await state(page);
    expect(s.training.error).toBe(null);
    expect(s.training.info!.threads).toBeGreaterThanOrEqual(2);
    await page.selectOption("#epochs", "3");
    await page.click("#train");
    await page.waitForFunction(() => { const t = (window as unknown as { __demo: DemoState }).__demo.training; return t.done || t.error; }, null, { timeout: 180_000 });
    s = await state(page);
    expect(s.training.error).toBe(null);
    const losses = s.training.losses;
    expect(losses.length).toBeGreaterThan(40);
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
    expect(mean(losses.slice(-10))).toBeLessThan(0.5 * mean(losses.slice(0, 10)));
    expect(s.training.epochs).toHaveLength(3);
    expect(s.training.epochs[2]!.loss).toBeLessThan(s.training.epochs[0]!.loss);
    expect(s.training.epochs[2]!.valAccuracy).toBeGreaterThan(0.7);
    expect(await page.locator("#filters canvas").count()).toBe(8);
    await page.waitForFunction(() => (window as unknown as { __demo: DemoState }).__demo.liveGuess !== null, null, { timeout: 30_000 });
    expect((await state(page)).liveGuess!.probs).toHaveLength(10);
    await page.screenshot({ path: join(SHOTS, `${name}-trained.png`), fullPage: true });
    expect(errors).toEqual([]);
  } finally {
    await browser.close();
  }
}

describe.skipIf(!haveChromium)("examples/browser, the demo in Chromium", () => {
  it("served by its dev server (npm run demo): classifies drawn digits, shows feature maps, trains live on threads", async () => {
    const server = await serve(process.cwd(), { isolated: true });
    try {
      await checkDemo(`${server.url}/examples/browser/`, "demo");
    } finally {
      await server.close();
    }
  }, 300_000);

  it("built with vite (examples/browser/vite.config.js): the same, threaded, from vite's chunks", async () => {
    const { build } = await import("vite");
    const out = mkdtempSync(join(tmpdir(), "fovea-demo-vite-"));
    await build({ configFile: "examples/browser/vite.config.js", build: { outDir: out, emptyOutDir: true }, logLevel: "error" });
    const server = await serve(out, { isolated: true });
    try {
      await checkDemo(`${server.url}/`, "vite");
    } finally {
      await server.close();
    }
  }, 300_000);

  it("built with rolldown (examples/browser/rolldown.config.mjs): the same, threaded", async () => {
    const { rolldown } = await import("rolldown");
    const file = pathToFileURL(resolve("examples/browser/rolldown.config.mjs")).href; // plain JavaScript: imported by URL
    const { default: config } = (await import(file)) as { default: import("rolldown").RolldownOptions & { output: import("rolldown").OutputOptions } };
    const out = mkdtempSync(join(tmpdir(), "fovea-demo-rolldown-"));
    const bundle = await rolldown(config);
    await bundle.write({ ...config.output, dir: out });
    const server = await serve(out, { isolated: true });
    try {
      await checkDemo(`${server.url}/`, "rolldown");
    } finally {
      await server.close();
    }
  }, 300_000);
});
