// Small models and data shared by the model tests.
import { Rng } from "../../src/index.js";
import { crc32 } from "../../src/model/save.js";

export function toyImages(n: number, [H, W, C]: [number, number, number], classes: number, seed: number) {
  const rng = new Rng(seed);
  const x = new Float32Array(n * H * W * C);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    y[i] = i % classes;
    for (let j = 0; j < H * W * C; j++) x[i * H * W * C + j] = rng.normal() * 0.5 + (j % classes === y[i] ? 0.8 : 0);
  }
  return { x, y };
}

/**
 * A native model file (model.save()'s bytes) with its topology JSON replaced by `text` and its
 * weights edited by `weights` (the header's length rewritten, the CRC-32 at the end computed
 * again), so that the checks behind the CRC see the change.
 */
export function withTopologyText(bytes: Uint8Array, text: string, weights: (w: Uint8Array) => Uint8Array = (w) => w): Uint8Array {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  const w = weights(bytes.slice(16 + n + ((4 - ((16 + n) % 4)) % 4), bytes.length - 4));
  const json = new TextEncoder().encode(text);
  const pad = (4 - ((16 + json.length) % 4)) % 4;
  const end = 16 + json.length + pad + w.length;
  const out = new Uint8Array(end + 4).fill(0x20);
  out.set(bytes.subarray(0, 16));
  const dv = new DataView(out.buffer);
  dv.setUint32(12, json.length, true);
  out.set(json, 16);
  out.set(w, 16 + json.length + pad);
  dv.setUint32(end, crc32(out.subarray(0, end)), true);
  return out;
}

/** The topology JSON of a native model file. */
export function topologyOf(bytes: Uint8Array): string {
  const n = new DataView(bytes.buffer, bytes.byteOffset).getUint32(12, true);
  return new TextDecoder().decode(bytes.subarray(16, 16 + n));
}
