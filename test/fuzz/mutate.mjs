// Mutators for the fuzz campaign: seeded (one mulberry32 stream per input, so any input is
// reproducible from the campaign seed and its index), byte-level and structure-aware.

/** A small seeded generator: next() in [0, 1), int(n) in [0, n), pick(list). */
export function rng(seed) {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n) => Math.floor(next() * n);
  return { next, int, pick: (list) => list[int(list.length)] };
}

/** The seed of input `i` of a campaign with seed `seed`. */
export const inputSeed = (seed, i) => (Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) + Math.imul(i + 1, 0xc2b2ae35)) >>> 0;

const U32 = [0, 1, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff, 0x10000, 0x0fffffff];

// ---- bytes ----

/** One to a few byte-level edits: bit flips, interesting bytes, lying u32s, truncation, splices. */
export function mutateBytes(r, src, { bigEndian = false } = {}) {
  let b = Uint8Array.from(src);
  const edits = 1 + r.int(r.next() < 0.7 ? 2 : 8);
  for (let e = 0; e < edits; e++) {
    const at = b.length ? r.int(b.length) : 0;
    switch (r.int(9)) {
      case 0: if (b.length) b[at] ^= 1 << r.int(8); break;
      case 1: if (b.length) b[at] = r.pick([0, 1, 0x7f, 0x80, 0xff, 0xfe]); break;
      case 2: { // a lying 32-bit length / dimension
        if (b.length < 4) break;
        const p = r.int(b.length - 3), v = r.pick(U32);
        new DataView(b.buffer).setUint32(p, v, !bigEndian);
        break;
      }
      case 3: b = b.slice(0, r.int(b.length + 1)); break; // truncation
      case 4: { // insert random bytes
        const ins = Uint8Array.from({ length: 1 + r.int(16) }, () => r.int(256));
        b = concat([b.subarray(0, at), ins, b.subarray(at)]);
        break;
      }
      case 5: { // delete a run
        const n = 1 + r.int(Math.max(1, b.length >> 3));
        b = concat([b.subarray(0, at), b.subarray(at + n)]);
        break;
      }
      case 6: { // duplicate a run
        const n = 1 + r.int(Math.max(1, Math.min(256, b.length - at)));
        b = concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]);
        break;
      }
      case 7: // a lying varint (protobuf lengths): 0xff… continuation bytes
        if (b.length) b.set([0xff, 0xff, 0xff, 0xff, 0x0f].slice(0, Math.min(5, b.length - at)), at);
        break;
      default: // random byte
        if (b.length) b[at] = r.int(256);
    }
  }
  return b;
}

export function concat(parts) {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

// ---- JSON-like values ----

const WEIRD = [null, true, false, 0, -1, 1.5, -0.5, 1e308, -1e308, 2147483648, 4294967296, 9007199254740993, 1e-320,
  "", "x", "__proto__", "constructor", "toString", "hasOwnProperty", "NaN", [], [0], [-1, -1], [1e9, 1e9, 3], {}, { type: "x" }];

/** Every [parent, key] path in a JSON value (depth-first, iterative). */
function paths(root) {
  const out = [], stack = [root];
  while (stack.length) {
    const v = stack.pop();
    if (v && typeof v === "object") for (const k of Object.keys(v)) {
      out.push([v, k]);
      if (v[k] && typeof v[k] === "object") stack.push(v[k]);
    }
  }
  return out;
}

/**
 * Structure-aware edits on a parsed JSON value (mutated in place and returned): delete a key,
 * a weird value, numbers scaled to absurd sizes or signs, a duplicated or removed array element,
 * swapped siblings, a key renamed. `numbers` lets a target prefer special numbers (NaN for weights).
 */
export function mutateJson(r, value, { extra = [] } = {}) {
  const edits = 1 + r.int(r.next() < 0.7 ? 2 : 5);
  for (let e = 0; e < edits; e++) {
    const all = paths(value);
    if (all.length === 0) return value;
    const [parent, key] = r.pick(all);
    const v = parent[key];
    switch (r.int(8)) {
      case 0: if (Array.isArray(parent)) parent.splice(Number(key), 1); else delete parent[key]; break;
      case 1: parent[key] = structuredClone(r.pick([...WEIRD, ...extra])); break;
      case 2: if (typeof v === "number") parent[key] = r.pick([v * 1e9, -v, v + 0.5, v === 0 ? 1e9 : v * 65536, 2 ** 31, 2 ** 32 - 1, Number.MAX_SAFE_INTEGER]); else parent[key] = structuredClone(r.pick(WEIRD)); break;
      case 3: if (Array.isArray(v) && v.length) v.push(structuredClone(v[r.int(v.length)])); else parent[key] = [v, v]; break;
      case 4: if (Array.isArray(v) && v.length > 1) { const i = r.int(v.length), j = r.int(v.length); [v[i], v[j]] = [v[j], v[i]]; } break;
      case 5: if (!Array.isArray(parent)) { parent[`${key}_`] = v; delete parent[key]; } break;
      case 6: if (typeof v === "string") parent[key] = r.pick(["", "__proto__", "constructor", v + v, v.toUpperCase(), "@input", "relu"]); break;
      default: if (Array.isArray(v) && v.length) v.length = r.int(v.length); else parent[key] = r.pick([[], {}, "", 0]);
    }
  }
  return value;
}

/** JSON text of `value`, sometimes with one value replaced by 200,000-deep nesting. */
export function jsonText(r, value) {
  const text = JSON.stringify(value);
  if (r.next() < 0.03) {
    const deep = "[".repeat(200000) + "]".repeat(200000);
    const at = text.indexOf(":");
    return at < 0 ? deep : text.slice(0, at + 1) + deep + text.slice(at + 1).replace(/^[^,}\]]*/, "");
  }
  return text;
}

/** Pick a mutation family: mostly structure-aware, sometimes bytes of the encoded text. */
export function mutateJsonText(r, value, opts) {
  if (r.next() < 0.25) return new TextDecoder().decode(mutateBytes(r, new TextEncoder().encode(JSON.stringify(value))));
  return jsonText(r, mutateJson(r, structuredClone(value), opts));
}
