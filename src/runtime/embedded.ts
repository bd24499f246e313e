// The wasm builds embedded in the package. scripts/build-wasm.mjs generates one ES module per build
// (generated/wasm-<build>.ts, imported only when that build is chosen) and the table of them
// (generated/builds.ts). A module holds its build either whole (WASM_BASE64) or — when that is
// far smaller — as a delta against another build (WASM_BASE, WASM_DELTA, WASM_SIZE): the builds
// differ in a few hundred bytes (relaxed-SIMD instructions, a shared memory), so the package
// carries one build's bytes and small deltas for the others.
//
// Delta format: a sequence of operations up to its end, each a varint n = length·2 + kind, then
//   kind 0 (copy):   a varint offset; `length` bytes of the base build from that offset
//   kind 1 (insert): `length` bytes, as they are
// reproducing exactly WASM_SIZE bytes. test/wasm-embed.test.ts checks every build against build/.
import { BackendError } from "../errors.js";
import { WASM_BUILDS } from "./generated/builds.js";
import { base64ToBytes } from "./platform.js";

type Embedded = { WASM_BASE64: string } | { WASM_BASE: string; WASM_DELTA: string; WASM_SIZE: number };
const EMBEDDED: Record<string, () => Promise<Embedded>> = WASM_BUILDS;

/** The builds this installation has (a checkout: every build; the npm package: all but debug). */
export const embeddedBuilds = (): string[] => Object.keys(EMBEDDED);

/** One build's wasm bytes. */
export async function wasmBytes(build: string): Promise<Uint8Array<ArrayBuffer>> {
  const load = Object.hasOwn(EMBEDDED, build) ? EMBEDDED[build]! : null;
  if (!load) {
    throw new BackendError(`the ${build} build is not part of this installation (it has ${embeddedBuilds().join(", ")}): the npm package leaves the debug build out; build fovea from its repository (npm run build) to use it`);
  }
  const m = await load();
  if ("WASM_BASE64" in m) return base64ToBytes(m.WASM_BASE64);
  return applyDelta(await wasmBytes(m.WASM_BASE), base64ToBytes(m.WASM_DELTA), m.WASM_SIZE, build);
}

/** Rebuilds `size` bytes from `base` and a delta (see the format above). */
export function applyDelta(base: Uint8Array, delta: Uint8Array, size: number, build: string): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(size);
  let p = 0, o = 0;
  const damaged = (why: string): never => {
    throw new BackendError(`the ${build} build's embedded delta is damaged (${why} at byte ${p} of ${delta.length}): rebuild with npm run build`);
  };
  const varint = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      if (p >= delta.length || shift > 28) damaged("a bad varint");
      const b = delta[p++]!;
      v += (b & 0x7f) * 2 ** shift;
      if (b < 0x80) return v;
    }
  };
  while (p < delta.length) {
    const n = varint(), len = Math.floor(n / 2);
    if (len > size - o) damaged(`${len} bytes past the build's ${size}`);
    if (n % 2 === 0) {
      const from = varint();
      if (from + len > base.length) damaged(`a copy past the base's ${base.length} bytes`);
      out.set(base.subarray(from, from + len), o);
    } else {
      if (len > delta.length - p) damaged(`${len} bytes to insert where ${delta.length - p} are left`);
      out.set(delta.subarray(p, p + len), o);
      p += len;
    }
    o += len;
  }
  if (o !== size) damaged(`${o} bytes made of ${size}`);
  return out;
}
