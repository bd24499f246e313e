// Put arrays into a backend's memory and read them back, for kernel-level tests.
import type { Backend } from "../../src/index.js";

export class Mem {
  private ptrs: number[] = [];
  constructor(readonly be: Backend) {}

  f32(data: ArrayLike<number> | number): number {
    const n = typeof data === "number" ? data : data.length;
    const p = this.be.heap.alloc(Math.max(n, 1) * 4, true);
    if (typeof data !== "number") this.be.heap.f32(p, n).set(data);
    this.ptrs.push(p);
    return p;
  }

  i32(n: number): number {
    const p = this.be.heap.alloc(Math.max(n, 1) * 4, true);
    this.ptrs.push(p);
    return p;
  }

  read(p: number, n: number): Float32Array {
    return this.be.heap.f32(p, n).slice();
  }

  readI32(p: number, n: number): Int32Array {
    return this.be.heap.i32(p, n).slice();
  }

  freeAll(): void {
    for (const p of this.ptrs) this.be.heap.free(p);
    this.ptrs = [];
  }
}
