// deno run test/platforms/deno-main.js — no permissions needed: the wasm is embedded in the package.
// (Threads need --allow-read for the worker script; without it fovea runs on one thread and says why.)
// No fovea.shutdown() at the end: the pool's idle workers do not keep Deno alive.
import * as fovea from "../../dist/index.js";
import { smoke } from "./smoke.js";
const result = await smoke(fovea);
console.log(JSON.stringify(result));
