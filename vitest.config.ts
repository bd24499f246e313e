import { defineConfig } from "vitest/config";

// Node 20 runs the relaxed-SIMD build only with this V8 flag; Node 22+ has it on by default.
const nodeMajor = Number(process.versions.node.split(".")[0]);
const execArgv = nodeMajor < 22 ? ["--experimental-wasm-relaxed-simd"] : [];

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    pool: "forks",
    // the run's temporary files under one folder, removed at the end (test/helpers/temp-dir.ts)
    globalSetup: ["./test/helpers/temp-dir.ts"],
    execArgv,
    // the pool keeps its workers whatever the load (the fallback to one thread is off): tests count
    // its dispatches while vitest's other forks keep the cores busy (threadpool.test turns it on)
    env: { FOVEA_POOL_FALLBACK: "0" },
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
