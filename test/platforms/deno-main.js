// deno run test/platforms/deno-main.js — no permissions needed: the wasm is embedded in the package.
// (Threads need --allow-read for the worker script; without it fovea runs on one thread and says why.)
// No fovea.shutdown() at the end: the pool's idle workers do not keep Deno alive.
import * as fovea from "../../dist/index.js";
import { smoke } from "./smoke.js";
const result = await smoke(fovea);
// a file that cannot be read, in Deno's errors: the same words as in Node (or Deno's own message without --allow-read)
result.missing = await fovea.data.readBytes("test/platforms/no-such-file.bin").then(() => "read", (e) => `${e.name} ${e.reason}: ${e.message}`);
console.log(JSON.stringify(result));
