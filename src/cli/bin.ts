#!/usr/bin/env node
// The `fovea` executable (package bin).
import { main } from "./main.js";
import { proc } from "./proc.js";

proc.exitCode = await main(proc.argv.slice(2));
