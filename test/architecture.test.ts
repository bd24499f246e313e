// The module structure ARCHITECTURE.md describes, checked: no import cycles in src/ (type imports
// count), and the layering: runtime below ops below layers below model below train / io, rl, cli.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { describe, expect, it } from "vitest";

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith(".ts") ? [p] : [];
  });
}

const SRC = "src";
const graph = new Map<string, string[]>();
for (const f of files(SRC)) {
  const text = readFileSync(f, "utf8");
  const deps = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"(\.[^"]+)"/g)].map((m) => relative(SRC, join(dirname(f), m[1]!.replace(/\.js$/, ".ts"))));
  graph.set(relative(SRC, f), deps);
}

describe("module structure", () => {
  it("src/ has no import cycles (type imports included)", () => {
    const state = new Map<string, 1 | 2>();
    const cycles: string[] = [];
    const visit = (n: string, path: string[]) => {
      if (state.get(n) === 2) return;
      if (state.get(n) === 1) {
        cycles.push([...path.slice(path.indexOf(n)), n].join(" → "));
        return;
      }
      state.set(n, 1);
      for (const d of graph.get(n) ?? []) visit(d, [...path, n]);
      state.set(n, 2);
    };
    for (const n of graph.keys()) visit(n, []);
    expect(cycles).toEqual([]);
  });

  it("each folder imports only the folders below it", () => {
    // a folder may import itself, anything to its left, and the shared files at the top of src/
    const order = ["runtime", "ops", "layers", "model", "train", "data", "io", "rl", "cli"];
    const top = (p: string) => (p.includes("/") ? p.split("/")[0]! : "");
    const bad: string[] = [];
    for (const [f, deps] of graph) {
      const from = top(f);
      if (!order.includes(from)) continue;
      for (const d of deps) {
        const to = top(d);
        if (!order.includes(to) || to === from) continue;
        const allowed = order.indexOf(to) < order.indexOf(from) && !(from === "train" && (to === "data" || to === "io")) && !(from === "data" && to === "train");
        if (!allowed) bad.push(`${f} → ${d}`);
      }
    }
    expect(bad).toEqual([]);
  });
});
