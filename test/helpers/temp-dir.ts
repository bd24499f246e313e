// vitest's globalSetup: every temporary file the tests make (os.tmpdir() in the test processes and
// in the programs they start: the CLI, bundlers, Chromium, Deno) goes under one folder of this
// run, removed when the run ends, so `npm test` leaves nothing in the system's temporary folder.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "fovea-test-run-"));
  process.env.TMPDIR = dir;
  process.env.TMP = dir;
  process.env.TEMP = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}
