// The build's up-to-date checks (build-wasm.mjs for build/ and the generated modules, build.mjs for
// dist/): every file under a folder, and a stamp of what a build was made from.
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createRequire } from "node:module";

/** Every file under dir, sorted. */
export function files(dir) {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  }).sort();
}

/**
 * A hash of the paths (relative to root) and contents of `paths`, and of the version of the
 * package `tool` (read from its package.json: importing a compiler takes most of a second).
 */
export function stampOf(root, paths, tool) {
  const hash = createHash("sha256");
  for (const f of paths) hash.update(f.slice(root.length)).update(readFileSync(f));
  hash.update(JSON.parse(readFileSync(createRequire(import.meta.url).resolve(`${tool}/package.json`), "utf8")).version);
  return hash.digest("hex");
}
