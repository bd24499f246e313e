// IDX files (the MNIST format): magic 0x0000 | type | ndims, big-endian u32 dims, then data.
import { FormatError, checkBytes } from "../errors.js";

export interface Idx {
  dims: number[];
  /** Element type code: 0x08 unsigned byte (the only one MNIST uses; others are rejected). */
  data: Uint8Array;
}

/** Parses IDX bytes of unsigned-byte data; every size is checked against the header. */
export function parseIdx(bytes: Uint8Array, source: string): Idx {
  checkBytes(bytes, source, "the bytes of an IDX file");
  if (bytes.length < 4) throw new FormatError(`${source}: ${bytes.length} bytes is too short for an IDX header`);
  if (bytes[0] !== 0 || bytes[1] !== 0) throw new FormatError(`${source}: not an IDX file (bad magic ${hex(bytes, 4)}; expected 00 00 08 0N)`);
  if (bytes[2] !== 0x08) throw new FormatError(`${source}: IDX element type 0x${bytes[2]!.toString(16)} is not supported (only unsigned bytes, 0x08)`);
  const nd = bytes[3]!;
  if (nd < 1 || nd > 4) throw new FormatError(`${source}: IDX with ${nd} dimensions is not supported`);
  if (bytes.length < 4 + 4 * nd) throw new FormatError(`${source}: truncated IDX header (${bytes.length} bytes, ${nd} dimensions)`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims = Array.from({ length: nd }, (_, i) => dv.getUint32(4 + 4 * i, false));
  const count = dims.reduce((a, b) => a * b, 1);
  const start = 4 + 4 * nd;
  if (bytes.length - start !== count) {
    throw new FormatError(`${source}: ${bytes.length - start < count ? "truncated" : "trailing bytes"}: the header says ${dims.join("×")} = ${count} bytes of data, the file has ${bytes.length - start}`);
  }
  return { dims, data: bytes.subarray(start) };
}

function hex(b: Uint8Array, n: number): string {
  return Array.from(b.subarray(0, n), (v) => v.toString(16).padStart(2, "0")).join(" ");
}

/** The byte length an IDX file's header declares (header + data), or null while the header is incomplete. */
export function idxByteLength(head: Uint8Array): number | null {
  if (head.length < 4) return null;
  const nd = head[3]!;
  if (head.length < 4 + 4 * nd) return null;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  let n = 1;
  for (let i = 0; i < nd; i++) n *= dv.getUint32(4 + 4 * i, false);
  return 4 + 4 * nd + n;
}
