// The embedded wasm builds (src/runtime/embedded.ts): every build, whole or rebuilt from its delta,
// is byte for byte the compiler's output in build/; a damaged delta is a BackendError.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { BackendError } from "../src/errors.js";
import { applyDelta, embeddedBuilds, wasmBytes } from "../src/runtime/embedded.js";

const config = JSON.parse(readFileSync("asconfig.json", "utf8")) as { targets: Record<string, { outFile: string }> };

describe("embedded wasm builds", () => {
  it("a checkout embeds every build of asconfig.json", () => {
    expect(embeddedBuilds().sort()).toEqual(Object.keys(config.targets).sort());
  });

  it.each(Object.keys(config.targets))("the %s build's bytes are build/'s", async (build) => {
    const want = readFileSync(config.targets[build]!.outFile);
    const got = await wasmBytes(build);
    expect(got.length).toBe(want.length);
    expect(Buffer.from(got).equals(want)).toBe(true);
  });

  it("most builds are small deltas against the first", () => {
    const sizes = Object.keys(config.targets).map((b) => [b, readFileSync(`src/runtime/generated/wasm-${b}.ts`).length] as const);
    const [first, ...rest] = sizes;
    // every build but the first and the debug build (compiled differently) is a delta of a few hundred bytes
    for (const [b, n] of rest) if (b !== "debug") expect(n, b).toBeLessThan(first![1] / 20);
  });

  it("a damaged delta or an unknown build is a BackendError naming the build", async () => {
    const base = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // copy 4 bytes from 2, insert [42, 43]
    expect(Array.from(applyDelta(base, new Uint8Array([8, 2, 5, 42, 43]), 6, "t"))).toEqual([3, 4, 5, 6, 42, 43]);
    expect(() => applyDelta(base, new Uint8Array([8, 7]), 4, "t")).toThrow(/the t build's embedded delta is damaged \(a copy past the base's 9 bytes/);
    expect(() => applyDelta(base, new Uint8Array([9, 1]), 4, "t")).toThrow(/4 bytes to insert where 1 are left/);
    expect(() => applyDelta(base, new Uint8Array([8, 0]), 6, "t")).toThrow(/4 bytes made of 6/);
    expect(() => applyDelta(base, new Uint8Array([20, 0]), 6, "t")).toThrow(/10 bytes past the build's 6/);
    expect(() => applyDelta(base, new Uint8Array([0x80]), 6, "t")).toThrow(BackendError);
    await expect(wasmBytes("avx512")).rejects.toThrow(/the avx512 build is not part of this installation \(it has simd, /);
    await expect(wasmBytes("toString")).rejects.toThrow(BackendError);
  });
});
