// npm run check:onnx's zoo table (scripts/zoo-table.mjs) and its timing path (one process per engine,
// bench/lib/engines.mjs) on the small checked-in fixtures. Timings are printed, never asserted.
import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { zooTable, type Check } from "../scripts/zoo-table.mjs";

const ENGINES = ["fovea", "ort-web", "ort-node", "tfjs-wasm"];

function checkOnnx(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ["scripts/check-onnx.mjs", ...args], { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    c.stdout.on("data", (d) => (stdout += d));
    c.stderr.on("data", (d) => (stderr += d));
    c.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const cells = (line: string) => line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());

describe("check:onnx zoo table", () => {
  it("a row per model: opsets, errors, one ms column per engine, a numbered note per reason an engine cannot run a model", () => {
    const rows = new Map<string, Map<string, Check>>([
      ["a", new Map([["11", { ok: true, worst: 2e-7, d64: [1e-6, 2e-6] }], ["13", { ok: true, worst: 3e-7, d64: [1e-6, 3e-6] }]])],
      ["b", new Map([["13", { ok: false, error: "unsupported ops Foo" }]])],
      ["c", new Map([["11", { ok: true, worst: 1e-7, d64: null }]])],
    ]);
    const times = {
      engines: ENGINES,
      files: new Map([["a", { file: "/d/a_opset13.onnx", opset: "13" }], ["b", { file: "/d/b_opset13.onnx", opset: "13" }], ["c", { file: "/d/c_opset11.onnx", opset: "11" }]]),
      byEngine: new Map([
        ["fovea", new Map([["/d/a_opset13.onnx", { median_ms: 12.345 }], ["/d/b_opset13.onnx", { error: "node \"x\" (Foo): unsupported | op" }], ["/d/c_opset11.onnx", { median_ms: 0.5 }]])],
        ["ort-web", new Map([["/d/a_opset13.onnx", { median_ms: 123.4 }], ["/d/b_opset13.onnx", { median_ms: 1 }], ["/d/c_opset11.onnx", { median_ms: 2 }]])],
        ["ort-node", new Map([["/d/a_opset13.onnx", { median_ms: 3 }], ["/d/b_opset13.onnx", { median_ms: 1 }], ["/d/c_opset11.onnx", { median_ms: 2 }]])],
        // the same reason with other node names: one note
        ["tfjs-wasm", new Map([["/d/a_opset13.onnx", { error: "tfjs peer: layer hardSwish \"/f/1\": no tfjs equivalent" }], ["/d/b_opset13.onnx", { error: "tfjs peer: layer hardSwish \"/g/7\": no tfjs equivalent" }], ["/d/c_opset11.onnx", { median_ms: 4 }]])],
      ]),
    };
    const lines = zooTable(rows, times);
    expect(cells(lines[0]!)).toEqual(["model", "opsets matching", "max \\|Δ\\| / max \\|y\\| (batch 1 and 2)", "from float64: fovea / PyTorch float32", "fovea ms", "ort-web ms", "ort-node ms", "tfjs-wasm ms", "not matching, and why"]);
    expect(cells(lines[2]!)).toEqual(["a", "11, 13", "3.0e-7", "1.0e-6 / 3.0e-6", "12.35", "123", "3.00", "—¹", ""]);
    expect(cells(lines[3]!)).toEqual(["b", "none", "", "", "—²", "1.00", "1.00", "—¹", "13: unsupported ops Foo"]);
    expect(cells(lines[4]!)).toEqual(["c³", "11", "1.0e-7", "", "0.500", "2.00", "2.00", "4.00", ""]);
    expect(lines.slice(6)).toEqual([
      "¹ tfjs-wasm: tfjs peer: layer hardSwish: no tfjs equivalent<br>",
      "² fovea: node (Foo): unsupported \\| op<br>",
      "³ c: timed on c_opset11.onnx (no opset-13 file)",
    ]);
    // accuracy only (--no-timing): no ms columns, no notes
    const plain = zooTable(rows);
    expect(cells(plain[0]!)).toHaveLength(5);
    expect(plain).toHaveLength(5);
  });

  it("npm run check:onnx -- --markdown --quick on the LRN fixtures: every engine times the opset-13 file in its own process; tfjs-wasm cannot (an even LRN window) and says why", async () => {
    const r = await checkOnnx("--torchvision", "test/fixtures/onnx", "lrn_torch", "--markdown", "--quick");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("3 of 3 match PyTorch");
    for (const e of ENGINES) expect(r.stdout).toMatch(new RegExp(`time ${e} +lrn_torch_opset13\\.onnx `));
    const lines = r.stdout.split("\n");
    const head = lines.findIndex((l) => l.startsWith("| model |"));
    expect(cells(lines[head]!).slice(4, 8)).toEqual(ENGINES.map((e) => `${e} ms`));
    const row = cells(lines[head + 2]!);
    expect(row.slice(0, 2)).toEqual(["lrn_torch", "11, 13, 17"]);
    for (const c of row.slice(4, 7)) expect(c).toMatch(/^\d+\.\d+$/);
    expect(row[7]).toBe("—¹");
    expect(lines[head + 4]).toBe("¹ tfjs-wasm: tfjs peer: layer lrn: an even LRN window (size 4) has no tfjs equivalent");
    expect(r.stdout).toMatch(/timed in \d+ s: medians of \d+ to \d+ runs after warm-up; commit \S+, Node /);
  }, 180_000);

  it("--no-timing: accuracy only, no engine processes, no ms columns", async () => {
    const r = await checkOnnx("--torchvision", "test/fixtures/onnx", "convnext_mini", "--markdown", "--no-timing");
    expect(r.status).toBe(0);
    expect(r.stdout).not.toContain("timing");
    const head = r.stdout.split("\n").find((l) => l.startsWith("| model |"))!;
    expect(head).not.toContain(" ms |");
  }, 60_000);

  it("a folder, model name or reference that is not there is a usage error before anything runs (exit 2); a file that imports but does not run is a FAIL line and the rest go on", async () => {
    const usage = /\nusage: npm run check:onnx -- --torchvision <dir>/;
    const cases: [string[], RegExp][] = [
      [["--torchvision", "test/fixtures/no-such-dir"], /^check:onnx: test\/fixtures\/no-such-dir: no such folder\n/],
      [["--torchvision", "test/fixtures/onnx", "no_such_model"], /^check:onnx: no file for no_such_model in test\/fixtures\/onnx \(its models: argmax, batch_value_fixed, branches, ceil_pool_declared, consts, conv_bn_pool, /],
      [["--torchvision", "examples/finetune"], /^check:onnx: examples\/finetune\/digits0-4\.json: no input \(or a \.input\.f32 beside it\), inputShape, output: not a PyTorch reference/],
      [["--torchvision", "test/fixtures"], /^check:onnx: test\/fixtures has no \.onnx files/],
    ];
    for (const [args, msg] of cases) {
      const r = await checkOnnx(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(msg);
      expect(r.stderr).toMatch(usage);
      expect(r.stdout).toBe("");
    }
    // a reference whose input is a .input.f32 beside it (as make-onnx-fixtures.py writes large ones), not in the .json
    const { mkdtempSync, readFileSync, writeFileSync, copyFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "fovea-check-f32-"));
    const { input, ...rest } = JSON.parse(readFileSync("test/fixtures/onnx/se_block.json", "utf8")) as { input: number[] };
    copyFileSync("test/fixtures/onnx/se_block.onnx", join(dir, "se_block.onnx"));
    writeFileSync(join(dir, "se_block.json"), JSON.stringify(rest));
    writeFileSync(join(dir, "se_block.input.f32"), new Uint8Array(Float32Array.from(input).buffer));
    const f32 = await checkOnnx("--torchvision", dir, "--no-timing");
    expect(f32.stderr).toBe("");
    expect(f32.status).toBe(0);
    expect(f32.stdout).toMatch(/^ok {3}se_block /m);
    const help = await checkOnnx("--help");
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^usage: npm run check:onnx/);
    // pool_indices: MaxPool's indices count across the batch, so fovea imports its batch as one example and the
    // check's batch-1 run does not fit: a FAIL line; se_block after it still runs
    const r = await checkOnnx("--torchvision", "test/fixtures/onnx", "pool_indices", "se_block", "--no-timing");
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^FAIL pool_indices +predict: model "pool_indices"\.predict: 126 values are not a whole number of \[2, 3, 7, 6\] examples/m);
    expect(r.stdout).toMatch(/^ok {3}se_block /m);
    expect(r.stdout).toMatch(/^1 of 2 match PyTorch within 0\.0001 relative$/m);
  }, 60_000);
});
