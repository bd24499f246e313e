// Tensor: a shape, dtype float32, and a block of wasm linear memory.

import { BackendError, ConfigError, ShapeError, checkBackend, isArrayLike, show } from "./errors.js";
import { getBackend, type Backend } from "./runtime/backend.js";

export type Shape = readonly number[];

/** Nested number arrays of any depth, e.g. [[1, 2], [3, 4]]. */
export type NestedArray = number | readonly NestedArray[];

export type TensorData = Float32Array | ArrayLike<number> | readonly NestedArray[];

/** Whether this machine stores numbers little-endian, as every file format fovea reads and writes does. */
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A rows × cols matrix, row-major, transposed (cols × rows): NCHW ⇄ NHWC images, a matrix's operand order. */
export function transposed(x: ArrayLike<number>, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c]!;
  return out;
}

/**
 * The values of a row-major tensor of shape `shape` with its axes permuted (output axis k is input
 * axis perm[k]), written into `out` (as many values): an ONNX Transpose of constants, the places of
 * a model's outputs among the values before its permutes.
 */
export function permutedAxes<T extends Float32Array | Int32Array>(v: ArrayLike<number>, shape: readonly number[], perm: readonly number[], out: T): T {
  const r = shape.length, outShape = perm.map((a) => shape[a]!);
  const strides = new Array<number>(r);
  for (let a = r - 1, s = 1; a >= 0; a--) (strides[a] = s), (s *= shape[a]!);
  const at = new Array<number>(r).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let k = 0; k < r; k++) src += at[k]! * strides[perm[k]!]!;
    out[o] = v[src]!;
    for (let k = r - 1; k >= 0 && ++at[k]! === outShape[k]; k--) at[k] = 0;
  }
  return out;
}

/** The little-endian float32s of a file's bytes (floor(length / 4) of them), copied: the bytes as they are, or swapped on a big-endian machine. */
export function readFloat32LE(bytes: Uint8Array): Float32Array {
  const out = new Float32Array(Math.floor(bytes.length / 4));
  if (LITTLE_ENDIAN) new Uint8Array(out.buffer).set(bytes.subarray(0, out.length * 4));
  else {
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    for (let i = 0; i < out.length; i++) out[i] = dv.getFloat32(i * 4, true);
  }
  return out;
}

/** The values as little-endian float32 bytes (a file's). */
export function float32LEBytes(values: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  writeFloat32LE(values instanceof Float32Array ? values : Float32Array.from(values), out);
  return out;
}

/** Writes `values` into `out` (4·values.length bytes) as little-endian float32s. */
export function writeFloat32LE(values: Float32Array, out: Uint8Array): void {
  if (LITTLE_ENDIAN) out.set(new Uint8Array(values.buffer, values.byteOffset, values.length * 4));
  else {
    const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
    for (let i = 0; i < values.length; i++) dv.setFloat32(i * 4, values[i]!, true);
  }
}

export function shapeSize(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function formatShape(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

/** The tensor arguments of an op (`fovea.ops`): each a Tensor, those named `optional` may be undefined or null; else a ConfigError naming the op and the argument. */
export function checkTensors(op: string, args: Record<string, unknown>, optional: readonly string[] = []): void {
  for (const [name, t] of Object.entries(args)) {
    if (t instanceof Tensor || (optional.includes(name) && (t === undefined || t === null))) continue;
    throw new ConfigError(`${op}: ${name} must be a Tensor${optional.includes(name) ? " (or left out)" : ""}, got ${show(t)}`);
  }
}

/** Throws ShapeError unless every dimension is a whole number >= 0. */
export function checkShape(shape: Shape, what = "tensor"): void {
  if (!Array.isArray(shape)) throw new ShapeError(`${what}: shape must be an array of dimensions, got ${String(shape)}`);
  shape.forEach((d, i) => {
    if (!Number.isInteger(d) || d < 0) {
      throw new ShapeError(`${what}: dimension ${i} of shape ${formatShape(shape)} is ${d}; dimensions are whole numbers >= 0`);
    }
  });
}

function isNested(data: TensorData): data is readonly NestedArray[] {
  return Array.isArray(data) && data.length > 0 && Array.isArray(data[0]);
}

/** Shape and flat values of a rectangular nested array; ShapeError on ragged input. */
function flattenNested(data: readonly NestedArray[]): { shape: number[]; values: number[] } {
  const shape: number[] = [];
  let level: NestedArray = data;
  while (Array.isArray(level)) {
    shape.push(level.length);
    level = (level as readonly NestedArray[])[0]!;
  }
  const values: number[] = [];
  const walk = (x: NestedArray, depth: number, path: number[]): void => {
    if (depth === shape.length) {
      if (typeof x !== "number") throw new ShapeError(`tensor: element [${path.join("][")}] is not a number`);
      values.push(x);
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new ShapeError(
        `tensor: ragged nested array: [${path.join("][")}] has ${Array.isArray(x) ? x.length : "no"} elements, expected ${shape[depth]} (shape ${formatShape(shape)})`,
      );
    }
    (x as readonly NestedArray[]).forEach((y, i) => walk(y, depth + 1, [...path, i]));
  };
  walk(data, 0, []);
  return { shape, values };
}

const registry = new FinalizationRegistry<{ backend: Backend; ptr: number }>(({ backend, ptr }) => {
  if (backend.heap.isLive(ptr)) backend.heap.free(ptr);
});

/**
 * A float32 tensor in wasm memory. Values go in with `Tensor.from` / `set` and come out as a
 * plain Float32Array copy with `toArray()`. `view()` is a zero-copy view valid until the next
 * allocation. `free()` returns the memory at once; forgetting it only delays that until GC.
 */
export class Tensor {
  readonly dtype = "float32" as const;
  readonly shape: Shape;
  readonly size: number;
  readonly backend: Backend;
  private _ptr: number;

  private constructor(backend: Backend, shape: Shape) {
    checkShape(shape);
    checkBackend("tensor", backend);
    this.backend = backend;
    this.shape = Object.freeze([...shape]);
    this.size = shapeSize(shape);
    this._ptr = backend.heap.alloc(this.size * 4, true);
    registry.register(this, { backend, ptr: this._ptr }, this);
  }

  /** A zero-filled tensor. */
  static zeros(shape: Shape, backend: Backend = getBackend()): Tensor {
    return new Tensor(backend, shape);
  }

  /**
   * A tensor holding `data`. With a shape, `data` is flat and must have exactly shapeSize(shape)
   * elements; without one, a nested array gives its own shape and a flat array is 1-D.
   */
  static from(data: TensorData, shape?: Shape, backend: Backend = getBackend()): Tensor {
    let values: ArrayLike<number>;
    let s: Shape;
    if (isNested(data)) {
      const flat = flattenNested(data);
      values = flat.values;
      s = flat.shape;
      if (shape !== undefined && formatShape(shape) !== formatShape(s)) {
        throw new ShapeError(`tensor: nested data has shape ${formatShape(s)}, but shape ${formatShape(shape)} was given`);
      }
    } else {
      if (!isArrayLike(data)) throw new ConfigError(`tensor: data must be an array of numbers (nested or flat) or a typed array, got ${show(data)}`);
      values = data as ArrayLike<number>;
      s = shape ?? [values.length];
    }
    checkShape(s);
    if (values.length !== shapeSize(s)) {
      throw new ShapeError(
        `tensor: shape ${formatShape(s)} holds ${shapeSize(s)} values, but ${values.length} were given`,
      );
    }
    const t = new Tensor(backend, s);
    t.view().set(values);
    return t;
  }

  /** Byte address in wasm memory (for kernels). */
  get ptr(): number {
    if (this._ptr < 0) throw new BackendError(`tensor ${formatShape(this.shape)}: used after free()`);
    return this._ptr;
  }

  get freed(): boolean {
    return this._ptr < 0;
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Zero-copy view of the values; valid until the next allocation may grow memory. */
  view(): Float32Array {
    return this.backend.heap.f32(this.ptr, this.size);
  }

  /** A copy of the values as a plain Float32Array. */
  toArray(): Float32Array {
    return this.view().slice();
  }

  /** Overwrites the values; `data` must have exactly `size` elements. */
  set(data: ArrayLike<number>): this {
    if (!isArrayLike(data)) throw new ConfigError(`tensor ${formatShape(this.shape)}: set() takes an array of numbers, got ${show(data)}`);
    if (data.length !== this.size) {
      throw new ShapeError(`tensor ${formatShape(this.shape)}: set() got ${data.length} values, expected ${this.size}`);
    }
    this.view().set(data);
    return this;
  }

  /** Returns the memory now. Further use throws a BackendError. Freeing twice is a no-op. */
  free(): void {
    if (this._ptr < 0) return;
    registry.unregister(this);
    this.backend.heap.free(this._ptr);
    this._ptr = -1;
  }
}
