// The generated kernel table (src/runtime/generated/kernels.ts) must say exactly what each
// compiled module exports: same names, same arities, same parameter names as the bindings.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { KERNEL_SIGNATURES } from "../src/runtime/generated/kernels.js";
import { hasAllKernels } from "../src/runtime/backend.js";
import { ALL_BUILDS } from "./helpers/backends.js";

const config = JSON.parse(readFileSync("asconfig.json", "utf8"));

describe("kernel table", () => {
  it.each(ALL_BUILDS)("matches the exports of build/%s", (build) => {
    const file = config.targets[build].outFile as string;
    const module = new WebAssembly.Module(readFileSync(file));
    const fns = WebAssembly.Module.exports(module).filter((e) => e.kind === "function").map((e) => e.name).sort();
    expect(fns).toEqual(Object.keys(KERNEL_SIGNATURES).sort());
    // imports: the memory and nothing else
    expect(WebAssembly.Module.imports(module)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
  });

  it.each(ALL_BUILDS)("agrees with the compiler's .d.ts for %s", (build) => {
    const dts = readFileSync((config.targets[build].outFile as string).replace(/\.wasm$/, ".d.ts"), "utf8");
    const declared = [...dts.matchAll(/export function (\w+)\(([^)]*)\)/g)].map((m) => [
      m[1],
      m[2]!.trim() === "" ? [] : m[2]!.split(",").map((p) => p.split(":")[0]!.trim()),
    ]);
    const table = Object.entries(KERNEL_SIGNATURES).map(([n, s]) => [n, [...s.params]]);
    expect(declared.sort()).toEqual(table.sort());
  });

  it("arity check catches a module that disagrees", () => {
    const good = Object.fromEntries(
      Object.entries(KERNEL_SIGNATURES).map(([n, s]) => [n, new Function(...s.params, "") as (...a: number[]) => void]),
    );
    expect(hasAllKernels(good)).toBe(true);
    const bad = { ...good, f32_add_fwd: (a: number) => a };
    expect(hasAllKernels(bad)).toBe(false);
    const { f32_add_fwd: _, ...missing } = good;
    expect(hasAllKernels(missing)).toBe(false);
  });
});
