// deno run test/platforms/deno-main.js — no permissions needed: the wasm is embedded in the package.
import * as fovea from "../../dist/index.js";
import { smoke } from "./smoke.js";
console.log(JSON.stringify(await smoke(fovea)));
