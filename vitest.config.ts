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
    reporters: ["default", "./test/helpers/summary-reporter.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
  },
});
