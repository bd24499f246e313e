// Entry for the browser bundle tests: the smoke run as a page's bundled script would run it.
import * as fovea from "../../dist/index.js";
import { smoke } from "./smoke.js";
smoke(fovea).then(
  (r) => { window.__fovea = r; },
  (e) => { window.__fovea = { error: String((e && e.stack) || e) }; },
);
