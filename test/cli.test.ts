// The fovea command as a user runs it (dist/cli/index.js in a child process).
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { tinyMnist } from "./helpers/idx.js";

const fovea = (...args: string[]) => spawnSync(process.execPath, ["dist/cli/bin.js", ...args], { encoding: "utf8", env: { ...process.env, FOVEA_BUILD: "simd" } });

describe("fovea CLI", () => {
  it("--help on the command and on every subcommand", () => {
    const top = fovea("--help");
    expect(top.status).toBe(0);
    expect(top.stdout).toMatch(/Usage: fovea/);
    for (const c of ["train", "eval", "summary"]) expect(top.stdout).toContain(c);
    for (const c of ["train", "eval", "summary"]) {
      const r = fovea(c, "--help");
      expect(r.status, c).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`Usage: fovea ${c}`));
    }
    expect(fovea("train", "--help").stdout).toContain("--optimizer");
  });

  it("a bad argument is a one-line error and exit code 2", () => {
    const cases: [string[], RegExp][] = [
      [["train", "mnist", "--batch", "0"], /--batch must be a whole number >= 1/],
      [["train", "mnist", "--optimizer", "lbfgs"], /Allowed choices are sgd, nesterov, adam/],
      [["train", "mnist", "--lr", "-1"], /--lr must be a number > 0/],
      [["train", "mnist", "--frobnicate"], /unknown option '--frobnicate'/],
      [["teach"], /unknown command 'teach'/],
    ];
    for (const [args, msg] of cases) {
      const r = fovea(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr.trim().split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(msg);
    }
  });

  it("train → eval → summary end to end on a tiny generated MNIST", () => {
    const dir = mkdtempSync(join(tmpdir(), "fovea-cli-"));
    const tr = tinyMnist(400, 1), te = tinyMnist(100, 2);
    writeFileSync(join(dir, "train-images-idx3-ubyte"), tr.images);
    writeFileSync(join(dir, "train-labels-idx1-ubyte"), tr.labels);
    writeFileSync(join(dir, "t10k-images-idx3-ubyte"), te.images);
    writeFileSync(join(dir, "t10k-labels-idx1-ubyte"), te.labels);
    const out = join(dir, "out", "m.fovea");
    const t = fovea("train", "mnist", dir, "--epochs", "4", "--batch", "32", "--no-augment", "--out", out, "--optimizer", "adam", "--lr", "0.003");
    expect(t.stderr).toBe("");
    expect(t.status).toBe(0);
    expect(t.stdout).toMatch(/MNIST: 360 training, 40 validation, 100 test images; 4 epochs, batch 32, adam lr 0.003/);
    expect(t.stdout).toMatch(/epoch  4\/4 /);
    const err = Number(/test error ([\d.]+)%/.exec(t.stdout)![1]);
    expect(err).toBeLessThan(10); // bars at distinct columns are easy
    expect(existsSync(out)).toBe(true);
    const svg = readFileSync(out.replace(/\.fovea$/, ".curves.svg"), "utf8");
    expect(svg).toMatch(/^<svg/);
    expect(svg.match(/<polyline/g)).toHaveLength(4);
    const e = fovea("eval", out, dir);
    expect(e.status).toBe(0);
    expect(Number(/test error ([\d.]+)%/.exec(e.stdout)![1])).toBe(err);
    const s = fovea("summary", out);
    expect(s.status).toBe(0);
    expect(s.stdout).toContain("trainable params: 61,706");
    const bad = fovea("eval", join(dir, "train-labels-idx1-ubyte"), dir);
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/fovea: .*train-labels-idx1-ubyte: not a fovea model \(bad magic/);
  });
});
