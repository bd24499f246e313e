// Entry for the bundler test: the package as an app would import it, through a bundler.
import * as fovea from "../../dist/index.js";
import { smoke } from "./smoke.js";
console.log(JSON.stringify(await smoke(fovea)));
