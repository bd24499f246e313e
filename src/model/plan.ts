// A Plan: one batch size, inference or training. Every activation and gradient has its buffer,
// assigned once here with liveness-based reuse; forward and backward then allocate nothing.
//   inference: an activation's buffer returns to the pool after its last consumer ran;
//   training:  activations live until the backward pass (the layers read them), and gradient
//              buffers are reused in backward order; a fan-out's second and later gradient
//              contributions go through a temporary buffer and are added in. With `inputGradient`
//              the model input is such a node too: its gradient gets a buffer of its own.

import { BackendError } from "../errors.js";
import { call, type KernelCall } from "../runtime/calls.js";
import { batchNormAffine, foldCalls } from "../ops/norm.js";
import type { Backend } from "../runtime/backend.js";
import type { LayerGrad, LayerRun, ParamBuffer } from "../layers/layer.js";
import type { BatchNorm } from "../layers/norm.js";
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

/**
 * The safety net for a plan never freed (its model garbage-collected without free()): its blocks
 * and its scratch hold go back. The held value references no plan and no model.
 */
const dropped = new FinalizationRegistry<{ be: Backend; owned: number[]; hold: object }>(({ be, owned, hold }) => {
  for (const p of owned) be.heap.free(p);
  be.releaseScratch(hold);
});

/** A conv/dense whose only consumer is a batch norm: at inference the norm folds into its weights. */
export interface Fold {
  conv: number;
  bn: number;
  kernel: number;
  bias: number;
  zeros: number;
  scale: number;
  shift: number;
  version: number;
}

interface FanIn {
  /** Temporary gradient buffer for input slot s, or 0 when the layer writes the gradient directly. */
  temp: number[];
}

export class Plan {
  readonly inputPtr: number;
  readonly outputPtr: number;
  /** Training plans built with `inputGradient`: d(loss)/d(input) after backward(); otherwise 0. */
  readonly inputGradPtr: number;
  readonly act: number[];
  readonly grad: number[];
  /** Bytes of activation + gradient buffers this plan holds (after reuse). */
  readonly bufferBytes: number;
  /** Bytes the same buffers would take without reuse. */
  readonly bufferBytesNoReuse: number;
  private readonly runs: LayerGrad<unknown>[];
  private readonly fan: FanIn[];
  private readonly owned: number[] = [];
  /** This plan's key for its scratch hold on the backend (an object that references nothing). */
  private readonly hold = {};
  private freed = false;
  /** Batch norms folded into the preceding conv/dense (inference plans). */
  readonly folds: Fold[] = [];
  private readonly skip: boolean[];

  constructor(
    readonly be: Backend,
    readonly nodes: readonly GraphNode[],
    readonly inputSize: number,
    readonly batch: number,
    readonly training: boolean,
    rng: Rng,
    /** Training: the node whose output gradient the loss writes (a fused softmax is skipped). */
    readonly lossNode: number = nodes.length - 1,
    /** Inference: the model's weight version, so folded weights are recomputed after training. */
    private readonly weightsVersion: () => number = () => 0,
    foldBatchNorm = true,
    /** Inference without buffer reuse: every layer's output stays readable (visualisation). */
    keepAll = false,
    /** Training: backward() also writes the gradient with respect to the model input (inputGradPtr). */
    inputGradient = false,
  ) {
    try {
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
      const bytesOf = (i: number) => (i < 0 ? batch * inputSize : batch * size(nodes[i]!.outShape)) * 4;
      this.bufferBytesNoReuse = nodes.reduce((a, _, i) => a + bytesOf(i) * (training ? 2 : 1), 0);
      this.inputPtr = alloc(batch * inputSize * 4);

      // ---- batch norms to fold (inference): conv/dense → BN where the BN is the only consumer ----
      this.skip = nodes.map(() => false);
      const foldedInto = nodes.map(() => -1);
      if (!training && foldBatchNorm) {
        const consumers = nodes.map(() => [] as number[]);
        nodes.forEach((n, j) => n.inputs.forEach((i) => i >= 0 && consumers[i]!.push(j)));
        nodes.forEach((n, k) => {
          const j = n.inputs[0]!;
          if (n.layer.type !== "batchNorm" || j < 0 || consumers[j]!.length !== 1 || !nodes[j]!.layer.absorbsChannelAffine) return;
          this.folds.push({ conv: j, bn: k, kernel: 0, bias: 0, zeros: 0, scale: 0, shift: 0, version: -1 });
          this.skip[k] = true;
          foldedInto[j] = k;
        });
      }

      // ---- activations ----
      this.act = new Array<number>(nodes.length).fill(0);
      const lastUse = nodes.map(() => -1);
      nodes.forEach((n, j) => n.inputs.forEach((i) => i >= 0 && (lastUse[i] = Math.max(lastUse[i]!, j))));
      lastUse[nodes.length - 1] = Infinity;
      const actPool = new Pool(allocBuffer);
      nodes.forEach((n, j) => {
        // a folded norm's output is its conv's buffer (taken while the conv's inputs were still live)
        if (this.skip[j]) this.act[j] = this.act[n.inputs[0]!]!;
        else this.act[j] = training || keepAll ? allocBuffer(bytesOf(j)) : actPool.take(bytesOf(j));
        if (!training && !keepAll) n.inputs.forEach((i) => { if (i >= 0 && lastUse[i] === j && foldedInto[i] !== j) actPool.give(this.act[i]!, bytesOf(i)); });
      });
      this.outputPtr = this.act[nodes.length - 1]!;

      // ---- gradients (training) ----
      this.grad = new Array<number>(nodes.length).fill(0);
      this.fan = nodes.map((n) => ({ temp: n.inputs.map(() => 0) }));
      this.inputGradPtr = training && inputGradient ? allocBuffer(bytesOf(-1)) : 0; // never reused: read after backward
      if (training) {
        const gradPool = new Pool(allocBuffer);
        this.grad[lossNode] = gradPool.take(bytesOf(lossNode));
        let inputWritten = false; // the input's first consumer in backward order writes, later ones add
        for (let j = lossNode; j >= 0; j--) {
          const n = nodes[j]!;
          if (this.grad[j] === 0) continue; // does not reach the loss
          n.inputs.forEach((i, s) => {
            if (i < 0) {
              if (!this.inputGradPtr) return;
              if (!inputWritten) inputWritten = true;
              else this.fan[j]!.temp[s] = gradPool.take(bytesOf(i));
              return;
            }
            if (this.grad[i] === 0) this.grad[i] = gradPool.take(bytesOf(i));
            else this.fan[j]!.temp[s] = gradPool.take(bytesOf(i));
          });
          n.inputs.forEach((i, s) => { if (this.fan[j]!.temp[s]) gradPool.give(this.fan[j]!.temp[s]!, bytesOf(i)); });
          gradPool.give(this.grad[j]!, bytesOf(j));
        }
      }

      // ---- per-layer resources and the run records (reused every call) ----
      let scratch = 0;
      const needScratch = (bytes: number) => void (scratch = Math.max(scratch, bytes));
      this.runs = nodes.map((n, j) => {
        const inShapes = n.inShapes;
        const state = n.layer.prepare({ be, batch, training, inShapes, outShape: n.outShape, alloc, needScratch });
        const run: LayerGrad<unknown> = {
          be, k: be.kernels, batch, training, inShapes, outShape: n.outShape,
          x: n.inputs.map((i) => (i < 0 ? this.inputPtr : this.act[i]!)),
          y: this.act[j]!, params: n.params as ParamBuffer[], state, rng, weightsVersion: 0,
          dy: this.grad[j]!,
          dx: n.inputs.map((i, s) => this.fan[j]!.temp[s] || this.gradOf(i)),
        };
        return run;
      });
      this.bufferBytes = total; // activation and gradient buffers only
      this.bindCtx = { be, batch, training, alloc, needScratch };

      // ---- batch norm folding (inference): the conv writes straight into the norm's buffer ----
      for (const f of this.folds) {
        const conv = nodes[f.conv]!;
        const C = conv.outShape[conv.outShape.length - 1]!;
        const kernel = conv.params[0]!;
        f.kernel = alloc(kernel.size * 4);
        f.bias = alloc(C * 4);
        f.zeros = alloc(C * 4);
        f.scale = alloc(C * 4);
        f.shift = alloc(C * 4);
        this.runs[f.conv]!.params = [{ ...kernel, w: f.kernel }, { spec: { name: "bias", shape: [C], init: "zeros", trainable: false, regularize: false }, size: C, w: f.bias, g: 0 }];
      }
      // every buffer is fixed: layers lay out their thread splits, then scratch is sized once for all
      nodes.forEach((n, j) => n.layer.bind(this.runs[j]!, { ...this.bindCtx, inShapes: n.inShapes, outShape: n.outShape }));
      be.holdScratch(this.hold, scratch); // every thread's block: running the plan allocates nothing
      dropped.register(this, { be, owned: this.owned, hold: this.hold }, this);
    } catch (e) {
      this.release(); // a layer that cannot bind (or memory that ran out) leaves nothing behind
      throw e;
    }
  }

  private readonly fanAdds: KernelCall[][] = [];
  private readonly bindCtx: Omit<import("../layers/layer.js").PrepareContext, "inShapes" | "outShape">;

  /** Runs every layer's forward pass on the batch already in inputPtr. */
  forward(): void {
    this.check();
    if (this.folds.length) this.refold();
    const v = this.weightsVersion();
    for (const r of this.runs) r.weightsVersion = v;
    this.nodes.forEach((n, j) => { if (!this.skip[j]) n.layer.forward(this.runs[j] as LayerRun<unknown>); });
  }

  /** Folded weights: W' = W·s per output channel, b' = b·s + t, s = γ/√(σ² + ε), t = β − μ·s. */
  private refold(): void {
    const v = this.weightsVersion();
    const h = this.be.heap;
    for (const f of this.folds) {
      if (f.version === v) continue;
      const conv = this.nodes[f.conv]!, bn = this.nodes[f.bn]!;
      const C = conv.outShape[conv.outShape.length - 1]!;
      const [g, b, mm, mv] = bn.params;
      batchNormAffine(h, C, (bn.layer as BatchNorm).epsilon, g!.w, b!.w, mm!.w, mv!.w, f.scale, f.shift);
      const kernel = conv.params[0]!;
      this.be.runInTurn(foldCalls(C, kernel.w, kernel.size, conv.params[1] ? conv.params[1].w : 0, f.scale, f.shift, f.zeros, f.kernel, f.bias));
      f.version = v;
    }
  }

  /** Where node i's output gradient lives (i = -1: the model input's, 0 unless inputGradient). */
  private gradOf(i: number): number {
    return i < 0 ? this.inputGradPtr : this.grad[i]!;
  }

  /**
   * Backward from the gradient the loss wrote at grad[lossNode]; fills every parameter's g (and
   * inputGradPtr). `step(j, run)`, when given, may run node j's backward itself (from run.dy to
   * run.dx, overwriting) and return true: a backward pass with rules of its own (the deconvnet's).
   */
  backward(step?: (j: number, run: LayerGrad<unknown>) => boolean): void {
    this.check();
    for (let j = this.lossNode; j >= 0; j--) {
      const run = this.runs[j]!;
      if (!run.dy) continue;
      if (!step?.(j, run)) this.nodes[j]!.layer.backward(run);
      // an input read by several layers: add this layer's share of its gradient (built once)
      const adds = (this.fanAdds[j] ??= this.nodes[j]!.inputs.flatMap((i, s) => {
        const t = this.fan[j]!.temp[s];
        return t ? [call("f32_add_fwd", this.gradOf(i), t, this.gradOf(i), this.batch * (i < 0 ? this.inputSize : size(this.nodes[i]!.outShape)))] : [];
      }));
      this.be.runInTurn(adds);
    }
  }

  /** Values of node j's output for this batch (a view: valid until the next allocation). */
  activation(j: number): Float32Array {
    return this.be.heap.f32(this.act[j]!, this.batch * size(this.nodes[j]!.outShape));
  }

  /** Returns every block of the plan and its hold on the backend's scratch. */
  free(): void {
    if (this.freed) return;
    this.release();
  }

  private release(): void {
    this.freed = true;
    dropped.unregister(this);
    for (const p of this.owned) this.be.heap.free(p);
    this.owned.length = 0;
    this.be.releaseScratch(this.hold);
  }

  private check(): void {
    if (this.freed) throw new BackendError(`a plan (batch ${this.batch}, ${this.training ? "training" : "inference"}) was used after it was freed`);
  }
}
