import { describe, expect, it } from "vitest";
import { BackendError, Rng, ShapeError, Tensor, loadBackend } from "../src/index.js";

const backend = await loadBackend("simd");

describe("Tensor", () => {
  it("copies in from flat arrays with a shape, nested arrays, and typed arrays", () => {
    const a = Tensor.from([1, 2, 3, 4, 5, 6], [2, 3], backend);
    expect(a.shape).toEqual([2, 3]);
    expect(a.size).toBe(6);
    expect(a.dtype).toBe("float32");
    expect(Array.from(a.toArray())).toEqual([1, 2, 3, 4, 5, 6]);
    const b = Tensor.from([[[1], [2]], [[3], [4]]], undefined, backend);
    expect(b.shape).toEqual([2, 2, 1]);
    expect(Array.from(b.toArray())).toEqual([1, 2, 3, 4]);
    const c = Tensor.from(new Float32Array([0.5, -1]), undefined, backend);
    expect(c.shape).toEqual([2]);
    expect(c.ptr % 16).toBe(0);
  });

  it("toArray is a copy; view is live", () => {
    const a = Tensor.from([1, 2, 3], [3], backend);
    const copy = a.toArray();
    copy[0] = 100;
    expect(a.view()[0]).toBe(1);
    a.view()[1] = 9;
    expect(a.toArray()[1]).toBe(9);
  });

  it("a count that does not fit the shape is a ShapeError naming both", () => {
    expect(() => Tensor.from([1, 2, 3, 4, 5], [2, 3], backend)).toThrow(ShapeError);
    expect(() => Tensor.from([1, 2, 3, 4, 5], [2, 3], backend)).toThrow(
      "tensor: shape [2, 3] holds 6 values, but 5 were given",
    );
    expect(() => Tensor.zeros([2, -1], backend)).toThrow("tensor: dimension 1 of shape [2, -1] is -1");
    expect(() => Tensor.zeros([2.5], backend)).toThrow(ShapeError);
    expect(() => Tensor.from([[1, 2], [3]], undefined, backend)).toThrow(/ragged nested array: \[1\] has 1 elements, expected 2/);
    expect(() => Tensor.from([[1, 2]], [2, 1], backend)).toThrow(/nested data has shape \[1, 2\], but shape \[2, 1\]/);
    const t = Tensor.zeros([3], backend);
    expect(() => t.set([1, 2])).toThrow("tensor [3]: set() got 2 values, expected 3");
  });

  it("a failed construction allocates nothing", () => {
    const before = backend.heap.stats().inUseBytes;
    expect(() => Tensor.from([1, 2, 3], [2, 2], backend)).toThrow(ShapeError);
    expect(backend.heap.stats().inUseBytes).toBe(before);
  });

  it("free returns the memory; use after free is a BackendError", () => {
    const before = backend.heap.stats().inUseBytes;
    const t = Tensor.zeros([10, 10], backend);
    expect(backend.heap.stats().inUseBytes).toBe(before + 400);
    t.free();
    expect(backend.heap.stats().inUseBytes).toBe(before);
    expect(t.freed).toBe(true);
    expect(() => t.toArray()).toThrow(BackendError);
    t.free(); // twice is a no-op
  });

  it("values survive memory growth (views are re-made)", () => {
    const t = Tensor.from([1, 2, 3], [3], backend);
    const big = Tensor.zeros([64 * 1024 * 1024 / 4], backend); // 64 MiB forces memory.grow
    expect(Array.from(t.toArray())).toEqual([1, 2, 3]);
    big.free();
  });
});

/** Two generators in the same state — seeded, or seeded and one normal() in (a spare waiting) — for counts 0…1001; check(a, b, n) compares a loop of draws on a with the bulk call on b. */
function sameStarts(check: (a: Rng, b: Rng, n: number) => void): void {
  for (const n of [0, 1, 2, 3, 4, 7, 1001]) {
    for (const spareFirst of [false, true]) {
      const a = new Rng(5 + n), b = new Rng(5 + n);
      if (spareFirst) { a.normal(); b.normal(); }
      check(a, b, n);
      expect(b.state()).toEqual(a.state());
      expect(b.normal()).toBe(a.normal());
    }
  }
}

describe("Rng.skipNormal / skipUniform", () => {
  it("leave the generator where as many normal() / uniform() calls leave it, with or without a spare normal at the start", () => {
    sameStarts((a, b, n) => {
      for (let i = 0; i < n; i++) a.normal();
      b.skipNormal(n);
      expect(b.state()).toEqual(a.state());
      for (let i = 0; i < n; i++) a.uniform();
      b.skipUniform(n);
    });
  });

  it("skipNormal draws again where a pair's first uniform is 0, as normal() does", () => {
    // the one state whose next draw is 0 (mulberry32's output is a bijection of its state; found
    // by trying all 2^32 states in a C loop)
    const zeroNext = { s: 2463401483, spare: null };
    const a = new Rng(0), b = new Rng(0), probe = new Rng(0);
    probe.setState(zeroNext);
    expect(probe.nextU32()).toBe(0);
    a.setState(zeroNext);
    b.setState(zeroNext);
    for (let i = 0; i < 4; i++) a.normal();
    b.skipNormal(4);
    expect(b.state()).toEqual(a.state());
    const bulk = new Float32Array(4);
    probe.setState(zeroNext);
    probe.fillNormal(bulk, 0, 1);
    a.setState(zeroNext);
    expect(Array.from(bulk)).toEqual(Array.from({ length: 4 }, () => Math.fround(a.normal())));
  });

  it("skipNormal counts the states in one step (not one per pair) and still finds state 0 on a pair's first draw, at any distance", () => {
    // state 0 j steps ahead: on a first draw where j is odd (counting the pairs before it), else on a second (no redraw)
    const STEP = 0x6d2b79f5;
    const cases: [number, number][] = [];
    for (let j = 1; j <= 9; j++) for (let n = 0; n <= 13; n++) cases.push([j, n]);
    cases.push([400_001, 1_000_000], [400_002, 1_000_000], [999_999, 1_000_000], [1_000_001, 1_000_001]);
    for (const [j, n] of cases) {
      const start = { s: (0 - Math.imul(j, STEP)) >>> 0, spare: null };
      const a = new Rng(0), b = new Rng(0);
      a.setState(start);
      b.setState(start);
      for (let i = 0; i < n; i++) a.normal();
      b.skipNormal(n);
      expect(b.state(), `state 0 ${j} steps ahead, ${n} normals`).toEqual(a.state());
    }
  });
});

describe("Rng.fillNormal", () => {
  it("gives the values and leaves the state of out[i] = mean + std·normal() over the same array, with or without a spare normal at the start", () => {
    sameStarts((a, b, n) => {
      const loop = new Float32Array(n), bulk = new Float32Array(n);
      for (let i = 0; i < n; i++) loop[i] = 0.25 + 1.5 * a.normal();
      b.fillNormal(bulk, 0.25, 1.5);
      expect(Array.from(bulk)).toEqual(Array.from(loop));
    });
  });
});
