// A Plan: one batch size, inference or training. Every activation and gradient has its buffer,
// assigned once here with liveness-based reuse; forward and backward then allocate nothing.
//   inference: an activation's buffer returns to the pool after its last consumer ran;
//   training:  activations live until the backward pass (the layers read them), and gradient
//              buffers are reused in backward order; a fan-out's second and later gradient
//              contributions go through a temporary buffer and are added in.

import type { Backend } from "../runtime/backend.js";
import type { LayerGrad, LayerRun, ParamBuffer } from "../layers/layer.js";
import { size } from "../layers/layer.js";
import type { Rng } from "../rng.js";
import type { GraphNode } from "./graph.js";

/** Best-fit pool of byte blocks, used only while a plan is being laid out. */
class Pool {
  private free: { ptr: number; bytes: number }[] = [];
  constructor(private readonly alloc: (bytes: number) => number) {}
  take(bytes: number): number {
    let best = -1;
    this.free.forEach((b, i) => {
      if (b.bytes >= bytes && (best < 0 || b.bytes < this.free[best]!.bytes)) best = i;
    });
    if (best >= 0) return this.free.splice(best, 1)[0]!.ptr;
    return this.alloc(bytes);
  }
  give(ptr: number, bytes: number): void {
    this.free.push({ ptr, bytes });
  }
}

interface FanIn {
  /** Temporary gradient buffer for input slot s, or 0 when the layer writes the gradient directly. */
  temp: number[];
}

export class Plan {
  readonly inputPtr: number;
  readonly outputPtr: number;
  readonly act: number[];
  readonly grad: number[];
  /** Bytes of activation + gradient buffers this plan holds (after reuse). */
  readonly bufferBytes: number;
  /** Bytes the same buffers would take without reuse. */
  readonly bufferBytesNoReuse: number;
  private readonly runs: LayerGrad<unknown>[];
  private readonly fan: FanIn[];
  private readonly owned: number[] = [];
  private freed = false;

  constructor(
    readonly be: Backend,
    readonly nodes: readonly GraphNode[],
    readonly inputSize: number,
    readonly batch: number,
    readonly training: boolean,
    rng: Rng,
    /** Training: the node whose output gradient the loss writes (a fused softmax is skipped). */
    readonly lossNode: number = nodes.length - 1,
  ) {
    const heap = be.heap;
    let total = 0;
    const alloc = (bytes: number) => {
      const p = heap.alloc(Math.max(bytes, 16), true);
      this.owned.push(p);
      return p;
    };
    /** Activation and gradient buffers (counted in bufferBytes). */
    const allocBuffer = (bytes: number) => {
      total += Math.max(bytes, 16);
      return alloc(bytes);
    };
    const bytesOf = (i: number) => batch * size(nodes[i]!.outShape) * 4;
    this.bufferBytesNoReuse = nodes.reduce((a, _, i) => a + bytesOf(i) * (training ? 2 : 1), 0);
    this.inputPtr = alloc(batch * inputSize * 4);

    // ---- activations ----
    this.act = new Array<number>(nodes.length).fill(0);
    const lastUse = nodes.map(() => -1);
    nodes.forEach((n, j) => n.inputs.forEach((i) => i >= 0 && (lastUse[i] = Math.max(lastUse[i]!, j))));
    lastUse[nodes.length - 1] = Infinity;
    const actPool = new Pool(allocBuffer);
    nodes.forEach((n, j) => {
      this.act[j] = training ? allocBuffer(bytesOf(j)) : actPool.take(bytesOf(j));
      if (!training) n.inputs.forEach((i) => { if (i >= 0 && lastUse[i] === j) actPool.give(this.act[i]!, bytesOf(i)); });
    });
    this.outputPtr = this.act[nodes.length - 1]!;

    // ---- gradients (training) ----
    this.grad = new Array<number>(nodes.length).fill(0);
    this.fan = nodes.map((n) => ({ temp: n.inputs.map(() => 0) }));
    if (training) {
      const gradPool = new Pool(allocBuffer);
      this.grad[lossNode] = gradPool.take(bytesOf(lossNode));
      for (let j = lossNode; j >= 0; j--) {
        const n = nodes[j]!;
        if (this.grad[j] === 0) continue; // does not reach the loss
        n.inputs.forEach((i, s) => {
          if (i < 0) return;
          if (this.grad[i] === 0) this.grad[i] = gradPool.take(bytesOf(i));
          else this.fan[j]!.temp[s] = gradPool.take(bytesOf(i));
        });
        n.inputs.forEach((i, s) => { if (this.fan[j]!.temp[s]) gradPool.give(this.fan[j]!.temp[s]!, bytesOf(i)); });
        gradPool.give(this.grad[j]!, bytesOf(j));
      }
    }

    // ---- per-layer resources and the run records (reused every call) ----
    this.runs = nodes.map((n, j) => {
      const inShapes = n.inShapes;
      const state = n.layer.prepare({ be, batch, training, inShapes, outShape: n.outShape, alloc });
      const run: LayerGrad<unknown> = {
        be, k: be.kernels, batch, training, inShapes, outShape: n.outShape,
        x: n.inputs.map((i) => (i < 0 ? this.inputPtr : this.act[i]!)),
        y: this.act[j]!, params: n.params as ParamBuffer[], state, rng,
        dy: this.grad[j]!,
        dx: n.inputs.map((i, s) => (i < 0 ? 0 : this.fan[j]!.temp[s] || this.grad[i]!)),
      };
      return run;
    });
    this.bufferBytes = total; // (the state allocations after the buffers are not counted)
  }

  /** Runs every layer's forward pass on the batch already in inputPtr. */
  forward(): void {
    this.check();
    for (const r of this.runs) r.training = this.training;
    this.nodes.forEach((n, j) => n.layer.forward(this.runs[j] as LayerRun<unknown>));
  }

  /** Backward from the gradient the loss wrote at grad[lossNode]; fills every parameter's g. */
  backward(): void {
    this.check();
    const k = this.be.kernels;
    for (let j = this.lossNode; j >= 0; j--) {
      const run = this.runs[j]!;
      if (!run.dy) continue;
      this.nodes[j]!.layer.backward(run);
      const n = this.nodes[j]!;
      n.inputs.forEach((i, s) => {
        const t = this.fan[j]!.temp[s];
        if (t) k.f32_add_fwd(this.grad[i]!, t, this.grad[i]!, this.batch * size(this.nodes[i]!.outShape));
      });
    }
  }

  /** Values of node j's output for this batch (a view: valid until the next allocation). */
  activation(j: number): Float32Array {
    return this.be.heap.f32(this.act[j]!, this.batch * size(this.nodes[j]!.outShape));
  }

  free(): void {
    if (this.freed) return;
    for (const p of this.owned) this.be.heap.free(p);
    this.freed = true;
  }

  private check(): void {
    if (this.freed) throw new Error("plan used after free");
  }
}
