// The short version of `npm run soak:memory` (scripts/soak-memory.mjs, whose loops it runs on the
// sources): 10³ predicts, 50 create/compile/free cycles, 50 ONNX imports, 50 short fits and 5
// thread-pool restarts. After each loop the wasm heap holds exactly the bytes it held before,
// and the wasm memory has not grown after the loop's first cycle.
import { beforeAll, describe, expect, it } from "vitest";
import * as fovea from "../src/index.js";
import { memoryLoops, soak } from "../scripts/soak-memory.mjs";

beforeAll(async () => {
  await fovea.init({ threads: 2 });
});

describe("memory stays flat", () => {
  it("predict, models, ONNX imports, fits and pool restarts return every byte, and the memory stops growing after the first cycle", async () => {
    const loops = memoryLoops(fovea, { predict: 1000, models: 50, onnx: 50, fit: 50, pools: 5 });
    expect(loops.map((l) => l.name)).toEqual(["predict", "models", "onnx", "fit", "pools"]);
    const before = fovea.getBackend().heap.stats().inUseBytes;
    for (const loop of loops) {
      const r = await soak(fovea.getBackend(), loop);
      expect(r.inUseAfter, `${loop.name}: inUseBytes`).toBe(r.inUseBefore);
      expect(r.capEnd, `${loop.name}: wasm memory after the first cycle`).toBe(r.capFirst);
      expect(r.problems, loop.name).toEqual([]);
    }
    expect(fovea.getBackend().heap.stats().inUseBytes).toBe(before);
  });
});
