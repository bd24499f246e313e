#!/usr/bin/env node
// The `fovea` executable (package bin): relaxed SIMD on (Node 20), then the commands.
import { enableRelaxedSimd } from "./relaxed.js";
import { proc } from "./proc.js";

await enableRelaxedSimd();
const { main } = await import("./main.js");
proc.exitCode = await main(proc.argv.slice(2));
