// The API reference is generated from the types (TypeDoc), in CI as part of `npm test`: every
// exported symbol documented from its declaration, and a warning (a type referenced from the
// public API but not exported, a broken link) fails the build.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

describe("API reference (npm run docs)", () => {
  it("TypeDoc builds it from src/index.ts with warnings as errors", () => {
    const out = mkdtempSync(join(tmpdir(), "fovea-api-"));
    const r = spawnSync(process.execPath, ["node_modules/typedoc/bin/typedoc", "--out", out], { encoding: "utf8" });
    expect(r.stdout + r.stderr, "typedoc output").not.toMatch(/\[warning\]|\[error\]/);
    expect(r.status).toBe(0);
    for (const page of ["index.html", "classes/Model.html", "functions/init.html"]) expect(existsSync(join(out, page)), page).toBe(true);
    expect(readFileSync(join(out, "classes/Model.html"), "utf8")).toContain("predict");
  }, 180_000);
});
