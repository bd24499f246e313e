// The linear-memory allocator. The TS host owns every byte above the module's __heap_base:
// 16-byte aligned blocks, best-fit reuse of freed blocks with coalescing, growth on demand.
// Every typed view is made through f32()/i32()/u8(), which re-read memory.buffer, so a view
// is never taken from a buffer that memory.grow has detached.

import { BackendError } from "../errors.js";

export const ALIGN = 16;
export const PAGE = 65536;
/** wasm32's limit and the -mt builds' declared maximum: 65536 pages = 4 GiB. */
export const MAX_PAGES = 65536;

const alignUp = (n: number, a: number) => Math.ceil(n / a) * a;

export interface HeapStats {
  /** Bytes of linear memory (memory.buffer.byteLength). */
  capacityBytes: number;
  /** Bytes in live blocks (rounded up to the alignment). */
  inUseBytes: number;
  /** Highest inUseBytes seen. */
  peakBytes: number;
  /** Number of live blocks. */
  liveBlocks: number;
  /** Freed bytes below the top, kept for reuse. */
  freeBytes: number;
  freeBlocks: number;
  /** How many times memory.grow ran. */
  grows: number;
}

interface Block {
  ptr: number;
  size: number;
}

export class Heap {
  readonly memory: WebAssembly.Memory;
  readonly base: number;
  private top: number;
  private readonly live = new Map<number, number>();
  /** Free blocks below `top`, sorted by address, never adjacent to each other (coalesced). */
  private readonly freeList: Block[] = [];
  private inUse = 0;
  private peak = 0;
  private grows = 0;

  constructor(memory: WebAssembly.Memory, heapBase: number) {
    this.memory = memory;
    this.base = alignUp(Math.max(heapBase, ALIGN), ALIGN);
    this.top = this.base;
  }

  /** Allocates `bytes` (>= 0) bytes, 16-byte aligned. Contents are unspecified unless `zero`. */
  alloc(bytes: number, zero = false): number {
    if (!Number.isSafeInteger(bytes) || bytes < 0) throw new BackendError(`alloc: bad byte count ${bytes}`);
    const size = alignUp(Math.max(bytes, 1), ALIGN);
    let ptr = this.takeFree(size);
    if (ptr < 0) {
      ptr = this.top;
      this.ensureCapacity(ptr + size);
      this.top = ptr + size;
    }
    this.live.set(ptr, size);
    this.inUse += size;
    if (this.inUse > this.peak) this.peak = this.inUse;
    if (zero) this.u8(ptr, size).fill(0);
    return ptr;
  }

  /** Returns a block to the heap. Freeing an unknown or already-freed pointer throws. */
  free(ptr: number): void {
    const size = this.live.get(ptr);
    if (size === undefined) throw new BackendError(`free: ${ptr} is not a live block (double free?)`);
    this.live.delete(ptr);
    this.inUse -= size;
    this.insertFree({ ptr, size });
  }

  /** Size in bytes of a live block. */
  sizeOf(ptr: number): number {
    const size = this.live.get(ptr);
    if (size === undefined) throw new BackendError(`sizeOf: ${ptr} is not a live block`);
    return size;
  }

  isLive(ptr: number): boolean {
    return this.live.has(ptr);
  }

  /** A Float32Array over [ptr, ptr + 4·length). Valid until the next alloc (which may grow memory). */
  f32(ptr: number, length: number): Float32Array {
    return new Float32Array(this.memory.buffer, ptr, length);
  }

  i32(ptr: number, length: number): Int32Array {
    return new Int32Array(this.memory.buffer, ptr, length);
  }

  u8(ptr: number, length: number): Uint8Array {
    return new Uint8Array(this.memory.buffer, ptr, length);
  }

  stats(): HeapStats {
    let freeBytes = 0;
    for (const b of this.freeList) freeBytes += b.size;
    return {
      capacityBytes: this.memory.buffer.byteLength,
      inUseBytes: this.inUse,
      peakBytes: this.peak,
      liveBlocks: this.live.size,
      freeBytes,
      freeBlocks: this.freeList.length,
      grows: this.grows,
    };
  }

  /** Best fit among the free blocks; splits the rest off. -1 when none fits. */
  private takeFree(size: number): number {
    let best = -1;
    for (let i = 0; i < this.freeList.length; i++) {
      const b = this.freeList[i]!;
      if (b.size >= size && (best < 0 || b.size < this.freeList[best]!.size)) {
        best = i;
        if (b.size === size) break;
      }
    }
    if (best < 0) return -1;
    const b = this.freeList[best]!;
    const ptr = b.ptr;
    if (b.size === size) this.freeList.splice(best, 1);
    else {
      b.ptr += size;
      b.size -= size;
    }
    return ptr;
  }

  private insertFree(block: Block): void {
    const list = this.freeList;
    let i = 0;
    while (i < list.length && list[i]!.ptr < block.ptr) i++;
    list.splice(i, 0, block);
    // coalesce with the next, then with the previous
    const next = list[i + 1];
    if (next && block.ptr + block.size === next.ptr) {
      block.size += next.size;
      list.splice(i + 1, 1);
    }
    const prev = list[i - 1];
    if (prev && prev.ptr + prev.size === block.ptr) {
      prev.size += block.size;
      list.splice(i, 1);
      i--;
    }
    // a free block that ends at the top gives its bytes back to the bump region
    const last = list[list.length - 1];
    if (last && last.ptr + last.size === this.top) {
      this.top = last.ptr;
      list.pop();
    }
  }

  private ensureCapacity(end: number): void {
    const have = this.memory.buffer.byteLength;
    if (end <= have) return;
    const needPages = Math.ceil((end - have) / PAGE);
    const havePages = have / PAGE;
    // grow geometrically (x1.5, at most +256 MiB at a time) so many small allocations stay cheap
    const wantPages = Math.min(MAX_PAGES - havePages, Math.max(needPages, Math.min(havePages >> 1, 4096)));
    if (havePages + needPages > MAX_PAGES) {
      throw new BackendError(
        `out of wasm memory: need ${end} bytes, the limit is ${MAX_PAGES * PAGE} bytes ` +
          `(${this.inUse} bytes in use in ${this.live.size} blocks)`,
      );
    }
    try {
      this.memory.grow(wantPages);
    } catch {
      try {
        this.memory.grow(needPages);
      } catch (e) {
        throw new BackendError(
          `out of wasm memory: growing by ${needPages} pages (${needPages * PAGE} bytes) to ${end} bytes failed ` +
            `(${this.inUse} bytes in use): ${(e as Error).message}`,
        );
      }
    }
    this.grows++;
  }
}
