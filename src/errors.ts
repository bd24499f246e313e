// Typed errors. Every user-facing failure is one of these; messages name the layer / tensor,
// the shapes and the numbers involved.

/** Base class of every error fovea throws on purpose. */
export class FoveaError extends Error {
  // each class names itself in a string, not by its own name (new.target.name): a minifier renames classes
  override name = "FoveaError";
}

/** A shape does not fit: wrong element count, rank, or an output size that is not whole. */
export class ShapeError extends FoveaError {
  override name = "ShapeError";
}

/** A bad option, unknown option key, or a value outside its range. */
export class ConfigError extends FoveaError {
  override name = "ConfigError";
}

/** A file or byte stream is not what it claims to be (bad magic, truncated, corrupt). */
export class FormatError extends FoveaError {
  override name = "FormatError";
}

/** The runtime cannot do what was asked: a build it cannot run, memory exhausted, use after free. */
export class BackendError extends FoveaError {
  override name = "BackendError";
}

/** Throws ConfigError naming every key of `options` that is not in `known`. */
export function checkOptionKeys(where: string, options: object, known: readonly string[]): void {
  if (!isRecord(options)) {
    throw new ConfigError(`${where}: options must be an object (known: ${known.join(", ")}), got ${show(options)}`);
  }
  const unknown = Object.keys(options).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(
      `${where}: unknown option${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `"${k}"`).join(", ")} ` +
        `(known: ${known.join(", ")})`,
    );
  }
}

/** An optional boolean option: undefined, true or false (a truthy string would read as true). `where`: the call or layer. */
export function checkBoolean(where: string, name: string, v: unknown): void {
  if (v !== undefined && typeof v !== "boolean") throw new ConfigError(`${where}: ${name} must be true or false, got ${show(v)}`);
}

/** An optional name: undefined or a non-empty string (another value is saved and then refused when loaded). */
export function checkName(where: string, v: unknown): void {
  if (v !== undefined && !(typeof v === "string" && v !== "")) throw new ConfigError(`${where}: name must be a non-empty string, got ${show(v)}`);
}

/**
 * A model where a call takes one, and live (checked by its checkLive, since errors.ts imports
 * nothing); anything else is a ConfigError naming the call, a freed model checkLive's BackendError.
 */
export function checkModel(m: unknown, where: string): void {
  const live = isRecord(m) ? m.checkLive : undefined;
  if (typeof live !== "function") throw new ConfigError(`${where}: expected a fovea Model, got ${show(m)}`);
  live.call(m);
}

/** An array or a typed array (a DataView too): what the API takes as a list of numbers. */
export function isArrayLike(v: unknown): v is ArrayLike<number> {
  return Array.isArray(v) || ArrayBuffer.isView(v);
}

/** A plain object: not null, not an array. */
/** The index of the first value that is NaN or ±Inf, or -1: the one scan every finiteness check shares. */
export function firstNonFinite(values: ArrayLike<number>): number {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i])) return i;
  return -1;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A backend where a call takes one (checked by its heap, since errors.ts imports nothing); else a ConfigError naming the call. */
export function checkBackend(where: string, be: unknown): void {
  if (!isRecord(be) || !isRecord(be.heap)) throw new ConfigError(`${where}: expected a fovea Backend (fovea.getBackend(), or a model's backend), got ${show(be)}`);
}

/** A file path (or, where `url`, a URL) where a loader takes one; anything else (a Promise not awaited, null) is a ConfigError naming the call. */
export function checkPath(where: string, p: unknown, url = false): void {
  const ok = (typeof p === "string" && p !== "") || (url && typeof URL !== "undefined" && p instanceof URL);
  if (!ok) throw new ConfigError(`${where}: expected a ${url ? "path or URL" : "path"} (a non-empty string${url ? " or a URL" : ""}), got ${show(p)}`);
}

/** Bytes where a reader takes them; anything else is a FormatError naming `source`. */
export function checkBytes(b: unknown, source: string, what = "bytes"): void {
  if (b instanceof Uint8Array) return;
  // the two mistakes a caller makes most: a file's path or URL where its bytes go, and the
  // ArrayBuffer a fetch or a file read returns
  const hint = typeof b === "string" ? `; a path or URL is read first: await fovea.data.readBytes(${show(b)})`
    : b instanceof ArrayBuffer ? "; wrap it: new Uint8Array(buffer)"
    : typeof Response === "function" && b instanceof Response ? "; a fetch Response: read its bytes, new Uint8Array(await response.arrayBuffer()), or use fovea.data.readBytes(url)" : "";
  throw new FormatError(`${source}: expected ${what} (a Uint8Array), got ${typeof b === "string" ? "the string " : ""}${show(b)}${hint}`);
}

/**
 * "; …an HTML page…" where bytes that should be a file are a web page (a dev server such as vite's
 * answers a missing file with its index.html and HTTP 200), for a message's end; else "".
 */
export function htmlHint(bytes: Uint8Array): string {
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().toLowerCase();
  return head.startsWith("<!doctype html") || head.startsWith("<html") ? "; these bytes are an HTML page (a web server's answer for a file it does not have?)" : "";
}

/** A value for an error message: JSON, cut at 80 characters; never throws (cycles, deep nesting, BigInt). */
export function show(v: unknown): string {
  // typed arrays, buffers and long arrays by kind and size: never serialised whole (a data set's
  // 47 million values took 50 s), inside objects too
  const brief = (x: unknown): unknown =>
    x instanceof Promise ? "a Promise (not awaited?)" : ArrayBuffer.isView(x) ? `${x.constructor.name}(${"length" in x && typeof x.length === "number" ? x.length : x.byteLength})` : x instanceof ArrayBuffer ? `ArrayBuffer(${x.byteLength})` : Array.isArray(x) && x.length > 16 ? `[array of ${x.length}]` : x;
  let s: string;
  try {
    const b = brief(v);
    s = typeof b === "string" && b !== v ? b : typeof v === "bigint" ? `${v}n` : typeof v === "number" && !Number.isFinite(v) ? String(v) : (JSON.stringify(v, (_, x: unknown) => brief(x)) ?? String(v));
  } catch {
    s = Array.isArray(v) ? `[array of ${v.length}]` : `[${typeof v}]`;
  }
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

/**
 * Runs a step of reading `source` so that every FoveaError it throws names it: a layer's
 * ConfigError or ShapeError about a value read from the file becomes a FormatError "<source>: …";
 * a BackendError (memory) stays a BackendError, prefixed with the source.
 */
export function naming<T>(source: string, step: () => T): T {
  try {
    return step();
  } catch (e) {
    if (!(e instanceof FoveaError) || e.message.startsWith(`${source}:`)) throw e;
    if (e instanceof BackendError) throw new BackendError(`${source}: ${e.message}`);
    throw new FormatError(`${source}: ${e.message}`);
  }
}
