// Limits checked before anything is allocated: a file that declares more than these is refused
// with the numbers, instead of running the machine out of memory. Sensible for wasm32 (4 GiB of
// linear memory at most); raise them with setLimits() for big models or images.
import { ConfigError } from "../errors.js";

export interface Limits {
  /**
   * Bytes a model may need for its parameters plus one example's activations (every layer's
   * output), checked when a model is built or imported. Default 2 GiB, half of wasm32's memory.
   */
  maxModelBytes: number;
  /** Pixels (width × height) of an image to decode. Default 2²⁶ (about 67 megapixels: 256 MiB as RGBA). */
  maxImagePixels: number;
}

const DEFAULTS: Limits = { maxModelBytes: 2 ** 31, maxImagePixels: 2 ** 26 };
/** wasm32 addresses 4 GiB; an image beyond 2^30 pixels could not even be held as RGBA. */
const MAX: Limits = { maxModelBytes: 2 ** 32, maxImagePixels: 2 ** 30 };
const current: Limits = { ...DEFAULTS };

/** The limits in force. */
export function getLimits(): Readonly<Limits> {
  return { ...current };
}

/** Changes some limits (the others stay); `setLimits("defaults")` restores them all. Returns the limits now in force. */
export function setLimits(limits: Partial<Limits> | "defaults"): Readonly<Limits> {
  if (limits === "defaults") return { ...Object.assign(current, DEFAULTS) };
  if (typeof limits !== "object" || limits === null) throw new ConfigError(`setLimits: expected an object of limits or "defaults"`);
  for (const [k, v] of Object.entries(limits)) {
    if (!Object.hasOwn(DEFAULTS, k)) throw new ConfigError(`setLimits: unknown limit "${k}" (${Object.keys(DEFAULTS).join(", ")})`);
    const max = MAX[k as keyof Limits];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1 || v > max) throw new ConfigError(`setLimits: ${k} must be a whole number in [1, ${max}], got ${String(v)}`);
  }
  return { ...Object.assign(current, limits) };
}
