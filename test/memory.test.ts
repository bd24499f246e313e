import { describe, expect, it } from "vitest";
import { BackendError, loadBackend } from "../src/index.js";
import { Heap, PAGE } from "../src/runtime/memory.js";

function heapOf(pages = 1, base = 1024) {
  const memory = new WebAssembly.Memory({ initial: pages, maximum: 65536 });
  return new Heap(memory, base);
}

describe("Heap", () => {
  it("hands out 16-byte aligned, non-overlapping blocks above __heap_base", () => {
    const h = heapOf(1, 1030);
    const sizes = [1, 3, 16, 17, 100, 4096, 5];
    const ptrs = sizes.map((s) => h.alloc(s));
    ptrs.forEach((p) => expect(p % 16).toBe(0));
    expect(Math.min(...ptrs)).toBeGreaterThanOrEqual(1030);
    const spans = ptrs.map((p, i) => [p, p + sizes[i]!] as const).sort((a, b) => a[0] - b[0]);
    for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
  });

  it("reuses a freed block of the same size (best fit) and splits larger ones", () => {
    const h = heapOf();
    const a = h.alloc(64), b = h.alloc(256), c = h.alloc(64);
    void c;
    h.free(b);
    expect(h.alloc(256)).toBe(b);
    h.free(b);
    const d = h.alloc(100); // 112 bytes from the 256-byte hole
    expect(d).toBe(b);
    const e = h.alloc(128); // the remaining 144 bytes fit 128
    expect(e).toBe(b + 112);
    expect(h.stats().freeBytes).toBe(16);
    void a;
  });

  it("coalesces neighbours and returns the top to the bump region", () => {
    const h = heapOf();
    const a = h.alloc(32), b = h.alloc(32), c = h.alloc(32);
    h.free(a);
    h.free(c); // c touches the top: the top moves back
    expect(h.stats()).toMatchObject({ freeBlocks: 1, freeBytes: 32, liveBlocks: 1 });
    h.free(b); // b joins a, and both reach the top
    expect(h.stats()).toMatchObject({ freeBlocks: 0, freeBytes: 0, liveBlocks: 0, inUseBytes: 0, peakBytes: 96 });
    expect(h.alloc(96)).toBe(a);
  });

  it("grows memory on demand and views made after growth see the new buffer", () => {
    const h = heapOf(1);
    const p = h.alloc(1000);
    const before = h.f32(p, 250);
    before.fill(7);
    const big = h.alloc(3 * PAGE); // does not fit one page: memory.grow
    expect(h.stats().grows).toBe(1);
    expect(h.stats().capacityBytes).toBeGreaterThanOrEqual(big + 3 * PAGE);
    expect(before.byteLength).toBe(0); // the old view is detached by grow...
    const after = h.f32(p, 250); // ...and the accessor re-reads memory.buffer
    expect(after.length).toBe(250);
    expect(Array.from(after.subarray(0, 3))).toEqual([7, 7, 7]);
    h.f32(big, 3 * PAGE / 4).fill(1);
  });

  it("zero-fills on request, also when reusing a dirty block", () => {
    const h = heapOf();
    const a = h.alloc(64);
    h.f32(a, 16).fill(3);
    h.free(a);
    const b = h.alloc(64, true);
    expect(b).toBe(a);
    expect(Array.from(h.f32(b, 16))).toEqual(new Array(16).fill(0));
  });

  it("double free and unknown pointers throw", () => {
    const h = heapOf();
    const a = h.alloc(8);
    h.free(a);
    expect(() => h.free(a)).toThrow(BackendError);
    expect(() => h.free(12345)).toThrow(/not a live block/);
    expect(() => h.alloc(-1)).toThrow(BackendError);
  });

  it("a request past 4 GiB is a BackendError and leaves the heap as it was", () => {
    const h = heapOf();
    h.alloc(100);
    const before = h.stats();
    expect(() => h.alloc(2 ** 32)).toThrow(/out of wasm memory/);
    expect(h.stats()).toEqual(before);
  });

  it("stays consistent under a random alloc/free workload", () => {
    const h = heapOf(1);
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const live = new Map<number, number>();
    for (let step = 0; step < 3000; step++) {
      if (live.size > 0 && rand() < 0.45) {
        const keys = [...live.keys()];
        const p = keys[Math.floor(rand() * keys.length)]!;
        // the block still holds its own tag: nobody else wrote over it
        expect(h.u8(p, 1)[0]).toBe(live.get(p)! & 255);
        h.free(p);
        live.delete(p);
      } else {
        const size = 1 + Math.floor(rand() * 5000);
        const p = h.alloc(size);
        expect(p % 16).toBe(0);
        h.u8(p, size).fill(step & 255);
        live.set(p, step);
      }
    }
    const s = h.stats();
    expect(s.liveBlocks).toBe(live.size);
    let sum = 0;
    for (const p of live.keys()) sum += h.sizeOf(p);
    expect(s.inUseBytes).toBe(sum);
  });

  it("works the same on the module's own memory", async () => {
    const b = await loadBackend("simd");
    const base = b.kernels.heap_base();
    const p = b.heap.alloc(4);
    expect(p).toBeGreaterThanOrEqual(base);
    expect(p % 16).toBe(0);
  });
});

describe("a plan that does not fit in wasm memory", () => {
  it("drops the model's other plans (a training plan's, after fit) and tries once more; else a BackendError naming the model, the plan and what to do", async () => {
    const fovea = await import("../src/index.js");
    const be = await loadBackend("simd");
    const m = fovea.withBackend(be, () => fovea.zoo.lenet5({ seed: 1 }));
    m.compile({ batchSize: 16, loss: "softmaxCrossEntropy", optimizer: fovea.train.sgd({ lr: 0.01 }) });
    const x = Float32Array.from({ length: 16 * 784 }, (_, i) => Math.sin(i)), y = Int32Array.from({ length: 16 }, (_, i) => i % 10);
    m.trainOnBatch(x, y);
    const trained = m.planBytes();
    expect(trained).toBeGreaterThan(0);
    // the heap refuses the next allocation once (as a full 4 GB memory would), then gives again
    const twin = fovea.withBackend(be, () => fovea.loadModel(m.save()));
    const want = Array.from(twin.predict(x.subarray(0, 3 * 784), { batchSize: 3 }));
    twin.free();
    const alloc = be.heap.alloc.bind(be.heap);
    let refuse = 0;
    be.heap.alloc = (n: number, zero?: boolean) => {
      if (refuse > 0) { refuse--; throw new BackendError(`out of wasm memory: need ${n} bytes (a test's)`); }
      return alloc(n, zero);
    };
    const before = Array.from(m.getWeights()[0]!.values);
    refuse = 1;
    const got = m.predict(x.subarray(0, 3 * 784), { batchSize: 3 });
    expect(Array.from(got)).toEqual(want);
    expect(m.planBytes()).toBeLessThan(trained); // the training plan went; the inference plan for 3 is all that is left
    m.trainOnBatch(x, y); // and the training plan rebuilds on use
    expect(Array.from(m.getWeights()[0]!.values)).not.toEqual(before);
    // refused however often: the error says which plan and what to do
    refuse = Infinity;
    expect(() => m.predict(x.subarray(0, 5 * 784), { batchSize: 5 })).toThrow(/^model "lenet5": its inference plan for batches of 5 needs more wasm memory than is left, with its other plans dropped: out of wasm memory: need \d+ bytes \(a test's\)\. A smaller batch size needs less/);
    be.heap.alloc = alloc;
    m.free();
  });
});
