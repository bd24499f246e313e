// The worker pool's protocol under attack (the invariant is written at the top of
// src/runtime/pool.ts). Each attack runs in a process of its own with a timeout: a hang fails the
// test instead of stopping vitest. On the pool before exactly-once dispatch, "delayed notifies"
// hung with 2 threads and ran a call twice with 3 and 4 (a counter one too high after run 4 / 35),
// and "spurious notifies" hung with 2, 3 and 4 threads.
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

const WATCHDOG_MS = 90_000;

function attack(script: string, args: (string | number)[]): Record<string, unknown> {
  const r = spawnSync(process.execPath, [`test/helpers/${script}`, ...args.map(String)], { encoding: "utf8", timeout: WATCHDOG_MS });
  if (r.error || r.signal) throw new Error(`${script} ${args.join(" ")}: no answer within ${WATCHDOG_MS / 1000} s (a hang): ${r.stderr}`);
  const line = r.stdout.trim().split("\n").pop() ?? "";
  expect(line.startsWith("{"), `${script} ${args.join(" ")} printed: ${r.stdout}\n${r.stderr}`).toBe(true);
  return JSON.parse(line) as Record<string, unknown>;
}

describe("exactly-once dispatch", () => {
  it.each([2, 3, 4])("caller's notifies delayed 1-2 ms, a long call 0 and short calls: %i threads, 1,500 runs, each call counted after every run", (t) => {
    const r = attack("pool-stress.mjs", ["delay", t, 1500, t]);
    expect(r.wrong).toBe(null);
    expect(r.ok).toBe(true);
  }, WATCHDOG_MS + 10_000);

  it.each([2, 3, 4])("random call sizes and counts, a thread sending spurious notifies to every control word: %i threads, 20,000 runs", (t) => {
    const r = attack("pool-stress.mjs", ["spurious", t, 20000, 10 + t]);
    expect(r.wrong).toBe(null);
    expect(r.ok).toBe(true);
  }, WATCHDOG_MS + 10_000);
});

describe("exactly-once programs", () => {
  it.each([2, 3, 4])("programs of 0-150 calls each (posted in pieces past 64), under spurious notifies: %i threads, 3,000 runs, each call counted after every run", (t) => {
    const r = attack("pool-stress.mjs", ["programs", t, 3000, 20 + t]);
    expect(r.wrong).toBe(null);
    expect(r.ok).toBe(true);
  }, WATCHDOG_MS + 10_000);
});

describe("falling back to the calling thread", () => {
  it.each([2, 3])("a pool slower than one thread (every notify 5 ms late, calls of 0.4 ms) runs its programs on the calling thread for a stretch, tries the workers again, and each call runs once: %i threads, 1,200 runs or more, until it tries them again", (t) => {
    const r = attack("pool-stress.mjs", ["fallback", t, 1200, 30 + t]);
    expect(r.wrong).toBe(null);
    expect(r.ok).toBe(true);
    expect(r.serialRuns as number).toBeGreaterThan(0);
    expect(r.triedAgain).toBe(true);
    expect(r.dispatches as number).toBeGreaterThan(50); // the windows lost before the first stretch, and the tries after
  }, WATCHDOG_MS + 10_000);
});

describe("a worker that dies is an error, never a hang", () => {
  const died = /^BackendError: thread pool: worker 1 (died|stopped running).*call fovea\.setThreads\(n\) to start a new one$/;

  it.each([
    ["terminate", "terminated between two runs; the next run() starts at once, with no turn of the event loop"],
    ["throw", "throws outside a kernel while the caller waits for it"],
    ["exit", "calls process.exit while the caller waits for it"],
    ["oom", "runs out of heap (a 32 MB limit) while the caller waits for it"],
  ])("worker 1 %s: %s", (fault) => {
    const r = attack("pool-faults.mjs", [fault, 3]);
    expect(r.runs).toBe(2); // the two runs before the fault
    const errors = r.errors as string[];
    expect(errors).toHaveLength(2); // the run it died in, and every run after
    for (const e of errors) expect(e).toMatch(died);
    if (fault === "throw") expect(errors[0]).toContain("injected fault outside a kernel");
  }, WATCHDOG_MS + 10_000);

  it("a kernel that traps in a worker is a BackendError naming it; the pool goes on", () => {
    const r = attack("pool-faults.mjs", ["trap", 3]);
    expect(r.errors).toEqual(["BackendError: thread pool: worker 1: f32_axpby: RuntimeError: memory access out of bounds"]);
    expect(r.runs).toBe(1);
    expect(r.counts).toEqual([2, 1, 2]); // the trapped call did nothing, every other ran once per run
  }, WATCHDOG_MS + 10_000);

  it("a kernel that traps in the middle of a worker's program ends that program, names the kernel; the pool goes on", () => {
    const r = attack("pool-faults.mjs", ["trap-program", 3]);
    expect(r.errors).toEqual(["BackendError: thread pool: worker 1: f32_axpby: RuntimeError: memory access out of bounds"]);
    expect(r.runs).toBe(1);
    expect(r.counts).toEqual([4, 2, 4]); // worker 1 ran its first call, not the trapped one nor the third
  }, WATCHDOG_MS + 10_000);

  it("generation counters that wrap around int32, with a stale failure word, change nothing", () => {
    const r = attack("pool-faults.mjs", ["wrap", 3]);
    expect(r.errors).toEqual([]);
    expect(r.runs).toBe(8);
    expect(r.counts).toEqual([8, 8, 8]);
    // 8 posts each: 0x7ffffffd wraps to -2^31 + 5; -4 skips -2 and -1 and ends at 6
    expect(r.gens).toEqual([-2147483643, 6]);
  }, WATCHDOG_MS + 10_000);

  it("shutdown wakes and stops every worker; a later run() says the pool is shut down", () => {
    const r = attack("pool-faults.mjs", ["shutdown", 4]);
    expect(r.exited).toBe(3);
    expect(r.errors).toEqual(["BackendError: the thread pool was shut down"]);
  }, WATCHDOG_MS + 10_000);
});
