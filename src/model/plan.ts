// A Plan: one batch size, inference or training. Every activation and gradient has its buffer,
// assigned once here with liveness-based reuse; forward and backward then allocate nothing.
//   inference: an activation's buffer returns to the pool after its last consumer ran;
//   training:  activations live until the backward pass (the layers read them), and gradient
//              buffers are reused in backward order; a fan-out's second and later gradient
//              contributions go through a temporary buffer and are added in. With `inputGradient`
//              the model input is such a node too: its gradient gets a buffer of its own.
// Training runs the batch in slices, one per thread (one slice on one thread): each run of
// consecutive per-example layers (Layer.perExample) is one program per thread over that thread's
// examples — its slice of every buffer, its own copy of the parameter gradients — recorded once,
// so a whole LeNet step is three wake-ups (forward, backward, the gradients' sum) instead of one
// per kernel, and no per-example layer's JavaScript runs per step; a layer that needs the whole batch (batch
// norm's statistics, dropout's masks) runs between them as before, and the threads' parameter
// gradients are added at the end (a dense kernel's computed there instead, by rows, from every
// slice: Layer.wholeBatchGrads, the same bits for slices of up to 256 examples). (Sums differ in rounding from one thread's there, and where a
// kernel over fewer examples tiles its sums otherwise; one slice computes what the layers' own
// passes over the whole batch compute, bit for bit.)

import { BackendError, ConfigError } from "../errors.js";
import { call, type KernelCall } from "../runtime/calls.js";
import { batchNormAffine, foldCalls } from "../ops/norm.js";
import { paramCut } from "../ops/optim.js";
import { splitRange } from "../ops/split.js";
import type { Backend } from "../runtime/backend.js";
import type { LayerGrad, LayerRun, ParamBuffer } from "../layers/layer.js";
import type { BatchNorm } from "../layers/norm.js";
import type { Pool as PoolLayer } from "../layers/pool.js";
import { twoByTwo } from "../ops/pool.js";
import { size, updated } from "../layers/layer.js";
import type { Rng } from "../rng.js";
import { layerOf, paramLabel, threadGrad, tiedUpdated, tieSumCalls, type GraphNode } from "./graph.js";
import { epilogueChains, pooledGradients, reluPools } from "./fuse.js";

/** A thread's second-level cache on the machines measured (1 MB a core): see the activations' pool in Plan. */
const OWNED_BLOCKS_BYTES = 1 << 20;

/**
 * Best-fit pool of byte blocks, used only while a plan is being laid out. `exact`: a block is
 * reused only for a buffer of its own size. A plan run in slices needs that for its gradients:
 * thread t works on the bytes [a_t·s, b_t·s) of a buffer of s bytes per example, so a block reused
 * with another s would put one thread's slice of the new buffer over another's of the old one,
 * which that thread may still be reading.
 * A buffer smaller than its block sits in the block's middle (64·k bytes from its start), and
 * give() returns the whole block. Work split across two threads by halves of a buffer (rows of a
 * map, examples) then keeps each thread on the half of the block it wrote before, whatever the
 * sizes: a buffer at the block's start would put the second thread's half over bytes the first
 * wrote last, and each of its writes would take a line from the other core's caches.
 * Batch 1, two threads against one, rounds tagged by the machine's pairing, the build before and
 * this one alternating (two runs each): in the slow pairing MobileNetV2 1.51, 1.51 -> 1.72, 1.71x
 * (10.85 -> 9.55 ms; its 56²×144 expansion, at the start of a 112²×96 block, had run 639 µs on two
 * threads against 600 on one), googlenet 1.61, 1.61 -> 1.63, 1.65x, ResNet-18 level (1.78, 1.80
 * -> 1.80x, its maps' sizes repeat); in the fast pairing all three level (MobileNetV2 9.13, 9.04
 * -> 9.02 ms).
 */
class Pool {
  private free: { ptr: number; bytes: number }[] = [];
  /** The block each buffer handed out lies in, by the buffer's pointer. */
  private readonly blockOf = new Map<number, { ptr: number; bytes: number }>();
  constructor(private readonly alloc: (bytes: number) => number, private readonly exact = false) {}
  take(bytes: number): number {
    let best = -1;
    this.free.forEach((b, i) => {
      if ((this.exact ? b.bytes === bytes : b.bytes >= bytes) && (best < 0 || b.bytes < this.free[best]!.bytes)) best = i;
    });
    const block = best >= 0 ? this.free.splice(best, 1)[0]! : { ptr: this.alloc(bytes), bytes };
    const ptr = block.ptr + 64 * Math.floor((block.bytes - bytes) / 128);
    this.blockOf.set(ptr, block);
    return ptr;
  }
  give(ptr: number): void {
    const block = this.blockOf.get(ptr);
    if (!block) throw new BackendError(`plan: a buffer at ${ptr} given back to a pool that did not hand it out (internal error)`);
    this.blockOf.delete(ptr);
    this.free.push(block);
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

/**
 * The parameters whose gradients a sliced plan computes over the whole batch in the sum's dispatch
 * (Layer.wholeBatchGrads), of those the layer has trainable: the plan keeps the layer's dy for them.
 */
const wholeBatchGradsOf = (n: GraphNode): number[] =>
  n.layer.perExample ? n.layer.wholeBatchGrads.filter((k) => n.params[k]?.g && n.params[k]!.spec.trainable) : [];

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

/** A step of a sliced pass: one node on the whole batch, one program per thread, or work on this thread between programs (Layer.sliceSteps). */
type Step = { node: number } | { programs: KernelCall[][] } | { run: () => void };

/**
 * Calls that write examples [a, b) of a batch into the batch at `dst`, each at its place: an input
 * made on its way in (fit's augmentation, data/augment.ts), run in line with the forward pass.
 */
export type InputMaker = (a: number, b: number, dst: number) => KernelCall[];

/**
 * What makes a batch's input on its way in (data.augmenter's Augmenter): stage() takes `count`
 * examples of x and returns the maker of the batch; fit hands it to the forward pass when the
 * backend is the model's and the examples' shape [H, W, C] holds the model's input size.
 */
export interface InputStager {
  readonly backend: Backend;
  readonly shape: readonly [number, number, number];
  stage(x: Float32Array, count: number, rng: Rng): InputMaker;
}

/** The sliced passes of a training plan (see the comment at the top). */
interface Sliced {
  fwd: Step[];
  bwd: Step[];
  /** Adds threads 1… parameter gradients into thread 0's, by element ranges: one program per thread. */
  reduce: KernelCall[][];
  /** The slices' runs ([thread][node], null for a layer run on the whole batch). */
  runs: (LayerGrad<unknown> | null)[][];
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
  /** Fusions this plan runs (model/fuse.ts) — inference: convs running the layers after them; training: max pools running the ReLU before them (both passes of a ReLU layer, the backward of a layer's own ReLU) and, each one more, a batch norm's output pass before that ReLU and (2×2 windows) the pool's own backward, done by the norm's; a conv's gradients from the pool after it, whose own backward then does not run (ConvBuffers.pooledDy). */
  readonly fused: number = 0;
  /** Training: ReLU layers whose backward the max pool after them does (model/fuse.ts; their forward is in `skip`), and max pools whose backward the batch norm or the conv before them does. */
  private readonly skipBwd: boolean[] = [];
  /** Training: convs whose gradients come from the max pool after them (model/fuse.ts pooledGradients). */
  private readonly pooled: { conv: number; pool: number }[] = [];
  /** Training: nodes whose output buffer forward() never writes (a ReLU, a batch norm's last pass, run by the max pool after them). */
  private readonly unwritten: boolean[] = [];
  /** Training: the batch in slices (null: layer by layer on the whole batch — inference, inputGradient, no per-example layer). */
  private readonly sliced: Sliced | null = null;

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
    /**
     * Run residual adds, activations and max pools in the conv before them (inference), a ReLU's
     * backward in the max pool's after it and a conv's gradients from the 2×2 max pool's after its
     * ReLU (training): model/fuse.ts.
     */
    fuse = true,
    /** Inference: a node whose output stays readable after the layers after it run (the one evaluate's loss reads); -1: none. */
    keep = -1,
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
      const bytesOf = (i: number) => batch * this.valuesOf(i) * 4;
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

      // ---- fused epilogues (inference): the layers a conv's kernel runs share its buffer ----
      // next[i]: the node whose output is written into node i's buffer in its place (a folded norm, a fused layer)
      const next = [...foldedInto];
      const chains = !training && fuse && !keepAll ? epilogueChains(nodes, foldedInto, batch) : [];
      for (const c of chains) {
        let prev = foldedInto[c.head]! >= 0 ? foldedInto[c.head]! : c.head;
        for (const m of c.members) {
          next[prev] = m;
          this.skip[m] = true;
          prev = m;
        }
      }
      // ---- views (inference): a flatten or reshape reads its input's buffer as its output ----
      // (Layer.view) where it is that buffer's only reader and nothing else continues it, or the
      // model's input (ofInput); the layer then runs nothing
      const ofInput = nodes.map(() => false);
      if (!training && !keepAll) {
        const readers = nodes.map(() => 0);
        nodes.forEach((n) => new Set(n.inputs).forEach((i) => { if (i >= 0) readers[i]!++; }));
        nodes.forEach((n, j) => {
          const i = n.inputs[0]!;
          if (!n.layer.view || n.inputs.length !== 1) return;
          if (this.valuesOf(i) !== this.valuesOf(j)) throw new BackendError(`plan: ${n.layer.label} is a view but changes its input's size (${this.valuesOf(i)} -> ${this.valuesOf(j)} values an example; internal error)`);
          if (i < 0 || ofInput[i]) ofInput[j] = true;
          else if (readers[i] === 1 && next[i]! < 0) next[i] = j;
          else return;
          this.skip[j] = true;
        });
      }
      const prevOf = nodes.map(() => -1);
      next.forEach((k, i) => { if (k >= 0) prevOf[k] = i; });
      /** The last node writing into node j's buffer: the buffer has its size. */
      const tail = (j: number): number => (next[j]! >= 0 ? tail(next[j]!) : j);

      // ---- activations ----
      this.act = new Array<number>(nodes.length).fill(0);
      const lastUse = nodes.map(() => -1);
      nodes.forEach((n, j) => n.inputs.forEach((i) => i >= 0 && (lastUse[i] = Math.max(lastUse[i]!, j))));
      lastUse[nodes.length - 1] = Infinity;
      // with at least an example per thread the layers split by examples, so thread t keeps writing
      // the same bytes of a buffer, layer after layer, only if blocks are reused at their own size:
      // else a block holding one layer's output for examples [0, 32) is another's for [0, 16) and
      // [16, 32) on the other thread, and each write takes the lines over from the other core's
      // cache (LeNet-5 at batch 64, two threads against one, one process, the machine's slow
      // pairing: 1.35 -> 1.45x; with the dense layers split by rows, packedParts, 1.50x). Only
      // where every activation fits in the threads' second-level caches (OWNED_BLOCKS_BYTES each):
      // larger ones leave those caches anyway, and the blocks would cost memory (ResNet-18 at
      // batch 8 on two threads: 18.4 -> 34.5 MiB)
      const unshared = nodes.reduce((a, _, j) => a + (prevOf[j]! >= 0 || ofInput[j] ? 0 : bytesOf(tail(j))), 0); // every buffer its own block
      const owned = !training && be.threads >= 2 && batch >= be.threads && unshared <= be.threads * OWNED_BLOCKS_BYTES;
      const actPool = new Pool(allocBuffer, owned);
      nodes.forEach((n, j) => {
        // a folded norm's or fused layer's output is its conv's buffer (taken while the conv's inputs were still live)
        if (prevOf[j]! >= 0) this.act[j] = this.act[prevOf[j]!]!;
        else if (ofInput[j]) this.act[j] = this.inputPtr;
        else this.act[j] = training || keepAll ? allocBuffer(bytesOf(j)) : actPool.take(bytesOf(tail(j)));
        // each input once: a layer reading one tensor twice (x·x) must not give its buffer back twice
        if (!training && !keepAll) new Set(n.inputs).forEach((i) => { if (i >= 0 && i !== keep && lastUse[i] === j && next[i] !== j && !ofInput[i]) actPool.give(this.act[i]!); });
      });
      this.outputPtr = this.act[nodes.length - 1]!;

      // ---- gradients (training) ----
      this.grad = new Array<number>(nodes.length).fill(0);
      this.fan = nodes.map((n) => ({ temp: n.inputs.map(() => 0) }));
      this.inputGradPtr = training && inputGradient ? allocBuffer(bytesOf(-1)) : 0; // never reused: read after backward
      // training runs the batch in slices (see slice()), whose gradients must not share blocks of other sizes
      const slicing = training && !inputGradient && nodes.some((n) => n.layer.perExample);
      const sliceCount = slicing ? Math.min(be.threads, batch) : 0;
      if (training && fuse) this.pooled = pooledGradients(be, nodes, batch);
      if (training) {
        // (blocks of other sizes may be reused where one slice is the whole batch: no other thread's slice lies there)
        const gradPool = new Pool(allocBuffer, sliceCount >= 2);
        // a conv whose gradients come from the max pool after it reads the pool's dy in its own
        // step: that block is given back after the conv's step, not the pool's. So is a max pool's
        // that runs a ReLU layer's backward (reluPools, below): it writes the gradient of the
        // ReLU's input, whose block is taken at the ReLU's step, while it reads its dy — or, with a
        // batch norm before the ReLU, the norm's backward reads that dy at the norm's step. A block
        // comes back whole (Pool), so a larger gradient could otherwise take it.
        const held = new Map<number, number[]>(), holder = new Map<number, number>();
        for (const f of this.pooled) holder.set(f.pool, f.conv);
        if (fuse) for (const f of reluPools(nodes)) if (f.standalone) holder.set(f.pool, f.norm >= 0 ? f.norm : f.input);
        // and nothing writes or reads that conv's own output gradient (the pool's backward does not
        // run): it gets no block, only a pointer that marks it as reaching the loss (checked below)
        const noBlock = this.pooled.length ? alloc(16) : 0;
        // a node's output gradient is needed only where something before it learns: a layer the
        // optimiser updates (trainable, not frozen), or the input's gradient. Behind a frozen
        // backbone (fine-tuning a new head) the backbone's backward does not run at all; the
        // gradients of what learns are the same, bit for bit (the skipped work never reached them)
        // a tied batch norm (one module run twice) moves its statistics at each run in PyTorch; its copies here would each follow their own
        const moving = nodes.flatMap((n) => n.params.filter((p) => p.tied?.[0] === p && p.spec.running));
        if (moving.length) throw new ConfigError(`training: ${moving.map((p) => p.tied!.map((q) => paramLabel(nodes, q)).join(" and ")).join("; ")} are one tensor of moving statistics read by several layers (a batch norm run twice); fovea cannot train it as one (it can run the model)`);
        // one tensor of the file that layers hold differently (ParamBuffer.apart): training would part its copies
        const apart = nodes.flatMap((n) => n.params.filter((p) => p.apart !== undefined && updated(p)));
        if (apart.length) {
          const layers = [...new Set(apart.map((p) => layerOf(nodes, p)))];
          throw new ConfigError(`training: ${apart.map((p) => `${paramLabel(nodes, p)} (the file's "${p.apart}")`).join(", ")}: one tensor that these layers hold differently (fovea ties only layers that hold it alike), so training would part it where PyTorch trains one; freeze ${layers.map((l) => `"${l}"`).join(", ")} to train the rest`);
        }
        const learns = nodes.map((n) => n.params.some(updated));
        const needs: boolean[] = [];
        nodes.forEach((n, j) => { needs[j] = learns[j]! || n.inputs.some((i) => (i < 0 ? inputGradient : needs[i]!)); });
        this.grad[lossNode] = gradPool.take(bytesOf(lossNode));
        let inputWritten = false; // the input's first consumer in backward order writes, later ones add
        for (let j = lossNode; j >= 0; j--) {
          const n = nodes[j]!;
          if (this.grad[j] === 0) continue; // does not reach the loss
          n.inputs.forEach((i, s) => {
            if (i >= 0 && !needs[i]) return; // nothing before it learns: no gradient flows there
            if (i < 0) {
              if (!this.inputGradPtr) return;
              if (!inputWritten) inputWritten = true;
              else this.fan[j]!.temp[s] = gradPool.take(bytesOf(i));
              return;
            }
            if (this.grad[i] === 0) this.grad[i] = this.pooled.some((f) => f.pool === j && f.conv === i) ? noBlock : gradPool.take(bytesOf(i));
            else this.fan[j]!.temp[s] = gradPool.take(bytesOf(i));
          });
          n.inputs.forEach((i, s) => { if (this.fan[j]!.temp[s]) gradPool.give(this.fan[j]!.temp[s]!); });
          const by = holder.get(j);
          if (by !== undefined) held.set(by, [...(held.get(by) ?? []), j]);
          // a layer whose slices leave gradients to the sum reads its dy there (wholeBatchGradsOf): kept
          else if (!(slicing && wholeBatchGradsOf(n).length) && this.grad[j] !== noBlock) gradPool.give(this.grad[j]!);
          for (const k of held.get(j) ?? []) gradPool.give(this.grad[k]!);
        }
      }

      // ---- per-layer resources and the run records (reused every call) ----
      let scratch = 0;
      const needScratch = (bytes: number) => void (scratch = Math.max(scratch, bytes));
      this.runs = nodes.map((n, j) => {
        const inShapes = n.inShapes;
        // a sliced plan never runs a per-example layer on the whole batch: its slices have the state
        const state = slicing && n.layer.perExample ? undefined : n.layer.prepare({ be, batch, training, inShapes, outShape: n.outShape, alloc, needScratch });
        const run: LayerGrad<unknown> = {
          be, k: be.kernels, batch, training, inShapes, outShape: n.outShape,
          x: n.inputs.map((i) => (i < 0 ? this.inputPtr : this.act[i]!)),
          y: this.act[j]!, params: n.params as ParamBuffer[], state, rng, weightsVersion: 0,
          dy: this.grad[j]!,
          dx: n.inputs.map((i, s) => this.fan[j]!.temp[s] || this.gradOf(i)),
        };
        return run;
      });
      for (const c of chains) {
        const res = c.residual === null ? 0 : c.residual < 0 ? this.inputPtr : this.act[c.residual]!;
        this.runs[c.head]!.fused = { res, pool: c.pool, ...(c.act === null ? {} : { act: c.act }) };
      }
      this.fused = chains.length;
      // ---- fused backward (training): a ReLU's backward done by the max pool after it ----
      if (training && fuse) {
        for (const f of reluPools(nodes)) {
          const pr = this.runs[f.pool]!, rr = this.runs[f.input]!;
          if (!pr.dy || !pr.dx[0] || (f.standalone && !rr.dx[0])) continue; // no gradient flows there
          if (f.standalone) {
            pr.dx = [rr.dx[0]!];
            this.skipBwd[f.input] = true;
            // and its forward: the pool reads the ReLU's input and applies the ReLU to the maxima
            pr.x = [rr.x[0]!];
            pr.reluIn = true;
            this.skip[f.input] = true;
            this.unwritten[f.input] = true;
            // and a batch norm's last pass before the ReLU: the pool reads the norm's input and applies its affine
            const nr = f.norm >= 0 ? this.runs[f.norm]! : null, affine = nr && (nodes[f.norm]!.layer as BatchNorm).affineOf(nr);
            if (nr && affine) {
              pr.x = [nr.x[0]!];
              pr.affineIn = affine;
              nr.outputUnread = true;
              this.unwritten[f.norm] = true;
              this.fused++;
              // and the pool's backward: over 2×2 windows the norm's reads the pool's dy (the
              // gradient layout above keeps that buffer through the norm's step) — which needs the
              // three nodes next to each other
              const pn = nodes[f.pool]!, pg = (pn.layer as PoolLayer).geometry(pn.inShapes[0]!, batch);
              if (twoByTwo(pg) && f.input === f.pool - 1 && f.norm === f.input - 1) {
                pr.tapCodes = alloc(batch * this.valuesOf(f.pool)); // a byte an output (slices write theirs at their offset)
                nr.poolGrad = { geometry: pg, dy: pr.dy, codes: pr.tapCodes };
                this.skipBwd[f.pool] = true;
                this.fused++;
              }
            }
          } else {
            rr.reluApplied = true;
            // and the conv's gradients from the pool's dy: nothing reads the conv's dy, and the
            // pool's backward does not run
            if (this.pooled.some((q) => q.conv === f.input)) {
              rr.pooledDy = pr.dy;
              pr.gradByConv = true;
              this.skipBwd[f.pool] = true;
              this.fused++;
            }
          }
          pr.reluMask = true;
          this.fused++;
        }
      }
      // a pooled conv's output gradient has no block: its gradients must come from the pool's dy
      for (const f of this.pooled) {
        if (this.grad[f.conv] !== 0 && !(this.runs[f.conv]!.pooledDy && this.skipBwd[f.pool])) {
          throw new BackendError(`plan: ${nodes[f.conv]!.layer.label} has no output-gradient buffer, but its max pool's backward would write one (internal error)`);
        }
      }
      this.bufferBytes = total; // activation and gradient buffers only
      this.bindCtx = { be, batch, training, alloc, needScratch, ...(slicing ? { slices: splitRange(batch, sliceCount) } : {}) };

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
      nodes.forEach((n, j) => { if (!(slicing && n.layer.perExample)) n.layer.bind(this.runs[j]!, { ...this.bindCtx, inShapes: n.inShapes, outShape: n.outShape }); });
      if (slicing) this.sliced = this.slice(alloc, needScratch, rng);
      be.holdScratch(this.hold, scratch); // every thread's block: running the plan allocates nothing
      dropped.register(this, { be, owned: this.owned, hold: this.hold }, this);
    } catch (e) {
      this.release(); // a layer that cannot bind (or memory that ran out) leaves nothing behind
      throw e;
    }
  }

  private readonly fanAdds: KernelCall[][] = [];
  private readonly bindCtx: Omit<import("../layers/layer.js").PrepareContext, "inShapes" | "outShape">;

  /**
   * Runs every layer's forward pass on the batch in inputPtr, or, given `make`, on the batch it
   * writes there: a sliced plan's threads each make their own slice at the head of their first
   * program, otherwise the threads make it by example ranges first.
   */
  forward(make?: InputMaker): void {
    this.check();
    if (this.folds.length) this.refold();
    const v = this.weightsVersion();
    for (const r of this.runs) r.weightsVersion = v;
    const sl = this.sliced;
    if (sl) {
      for (const rs of sl.runs) for (const r of rs) if (r) r.weightsVersion = v;
      const ranges = this.bindCtx.slices!, made = (t: number) => make!(ranges[t]![0], ranges[t]![1], this.inputPtr);
      const first = sl.fwd[0];
      if (make && !(first && "programs" in first)) this.be.runPrograms(ranges.map((_, t) => made(t)));
      sl.fwd.forEach((st) => {
        if ("node" in st) this.nodes[st.node]!.layer.forward(this.runs[st.node] as LayerRun<unknown>);
        else if ("run" in st) st.run();
        else this.be.runPrograms(make && st === first ? st.programs.map((p, t) => [...made(t), ...p]) : st.programs);
      });
      return;
    }
    if (make) this.be.runPrograms(splitRange(this.batch, this.be.threads).map(([a, b]) => make(a, b, this.inputPtr)));
    this.nodes.forEach((n, j) => { if (!this.skip[j]) n.layer.forward(this.runs[j] as LayerRun<unknown>); });
  }

  /**
   * The sliced passes (built for every training plan with a per-example layer and no input
   * gradient: as many slices as threads, at most one per example). Each slice's runs are bound like the whole batch's, on a one-thread
   * recorder of the backend, over the slice's part of every buffer; their passes are recorded
   * once here into the programs.
   */
  private slice(alloc: (bytes: number) => number, needScratch: (bytes: number) => void, rng: Rng): Sliced {
    const { be, nodes, batch } = this;
    const ranges = this.bindCtx.slices!, T = ranges.length;
    let sink: KernelCall[] = [];
    const record = (f: () => void) => {
      sink = [];
      f();
      return sink;
    };
    const recorders = ranges.map(() => be.recorder((calls) => void sink.push(...calls)));
    // gradients a layer computes over the whole batch in the sum's dispatch (Layer.wholeBatchGrads):
    // the slices see them as g = 0. Threads 1… write their own copies of the others, kept with the
    // parameters (graph.ts threadGrad): one set per model, not per plan
    const whole = nodes.map((n) => new Set(wholeBatchGradsOf(n)));
    const priv = ranges.map((_, t) => nodes.map((n, j) => (!n.layer.perExample ? n.params : n.params.map((p, k) => (whole[j]!.has(k) ? { ...p, g: 0 } : t > 0 ? { ...p, g: p.g ? threadGrad(be, p, t) : 0 } : p)))));
    const runs = ranges.map(([a, b], t) => nodes.map((n, j): LayerGrad<unknown> | null => {
      if (!n.layer.perExample) return null;
      const full = this.runs[j]!, rb = recorders[t]!;
      const off = (i: number) => a * this.valuesOf(i) * 4;
      const ctx = { be: rb, batch: b - a, training: true, inShapes: n.inShapes, outShape: n.outShape, alloc, needScratch };
      const run: LayerGrad<unknown> = {
        ...full, be: rb, batch: b - a, state: n.layer.prepare(ctx), params: priv[t]![j]!, rng,
        x: n.inputs.map((i, s) => full.x[s]! + off(i)), y: full.y + off(j),
        dy: full.dy ? full.dy + off(j) : 0, dx: n.inputs.map((i, s) => (full.dx[s] ? full.dx[s]! + off(i) : 0)),
        ...(full.tapCodes ? { tapCodes: full.tapCodes + a * this.valuesOf(j) } : {}),
        ...(full.pooledDy ? { pooledDy: full.pooledDy + off(this.pooled.find((q) => q.conv === j)!.pool) } : {}),
      };
      n.layer.bind(run, ctx);
      return run;
    }));
    // a layer that is not per-example runs whole between the programs, or (Layer.sliceSteps) its
    // program steps join the slices' programs and its functions run between them; a layer the
    // plan skips in this pass (fused into another) adds only its fan-in adds
    const passes = (order: number[], pass: "fwd" | "bwd", skipped: readonly boolean[], slicePass: (j: number, t: number, run: LayerGrad<unknown>) => KernelCall[], after: (j: number, t: number) => KernelCall[]): Step[] => {
      const steps: Step[] = [];
      let open: KernelCall[][] | null = null;
      const programs = (f: (t: number) => KernelCall[]) => {
        if (!open) steps.push({ programs: (open = ranges.map(() => [])) });
        ranges.forEach((_, t) => open![t]!.push(...f(t)));
      };
      for (const j of order) {
        const layer = nodes[j]!.layer;
        if (layer.perExample) {
          programs((t) => [...(skipped[j] ? [] : slicePass(j, t, runs[t]![j]!)), ...after(j, t)]);
          continue;
        }
        const own = skipped[j] ? [] : layer.sliceSteps(this.runs[j]!, pass);
        if (!own) {
          open = null;
          steps.push({ node: j });
          continue;
        }
        for (const s of own) {
          if (typeof s === "function") {
            open = null;
            steps.push({ run: s });
          } else if (s.length !== ranges.length) {
            throw new BackendError(`layer "${layer.name}": ${s.length} programs in a step of its sliced ${pass} pass, for ${ranges.length} slices`);
          } else programs((t) => s[t]!);
        }
        if (after(j, 0).length) programs((t) => after(j, t));
      }
      return steps;
    };
    const fwd = passes(nodes.map((_, j) => j), "fwd", this.skip, (j, _t, r) => record(() => nodes[j]!.layer.forward(r)), () => []);
    const reached: number[] = [];
    for (let j = this.lossNode; j >= 0; j--) if (this.grad[j]) reached.push(j);
    const bwd = passes(reached, "bwd", this.skipBwd, (j, _t, r) => record(() => nodes[j]!.layer.backward(r)), (j, t) => this.fanInAdds(j, ranges[t]![0], ranges[t]![1] - ranges[t]![0]));
    const reduce: KernelCall[][] = ranges.map(() => []);
    for (const j of reached) {
      if (!nodes[j]!.layer.perExample) continue;
      nodes[j]!.params.forEach((p, k) => {
        if (!p.g || !p.spec.trainable) return; // the optimiser reads only trainable gradients
        paramCut(p, T).forEach(([lo, hi], u) => {
          if (whole[j]!.has(k)) reduce[u]!.push(...nodes[j]!.layer.wholeBatchGradCalls(this.runs[j]!, k, lo, hi, ranges));
          else for (let t = 1; t < T; t++) reduce[u]!.push(call("f32_add_fwd", p.g + 4 * lo, priv[t]![j]![k]!.g + 4 * lo, p.g + 4 * lo, hi - lo));
        });
      });
    }
    // tied copies (ParamBuffer.tied): each range's sums done, the group's sum in every copy (the copies have one shape, so one cut)
    for (const p of tiedUpdated(nodes)) paramCut(p, T).forEach(([lo, hi], u) => reduce[u]!.push(...tieSumCalls(p, lo, hi)));
    return { fwd, bwd, reduce, runs };
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
   * Only plans not run in slices take a step: those with inputGradient (as the deconvnet's twin
   * builds them) or without a per-example layer; a sliced plan given one throws a BackendError.
   * `then(parts)` (sliced plans only: `sliced`), asked before anything runs, gives at most
   * `parts` programs to run once every gradient is whole, program u reading and writing only range
   * u (paramCut) of each parameter: they run in the gradient sum's dispatch, each right after that
   * thread's sums of the same ranges (the optimiser's update: trainStep).
   */
  backward(step?: (j: number, run: LayerGrad<unknown>) => boolean, then?: (parts: number) => readonly (readonly KernelCall[])[]): void {
    this.check();
    const sl = this.sliced;
    if (sl) {
      if (step) throw new BackendError("a training plan run in slices takes no backward step of the caller's (plans with inputGradient are not sliced)");
      const after = then?.(sl.reduce.length);
      if (after && after.length > sl.reduce.length) throw new BackendError(`${after.length} programs to run after the gradient sum of ${sl.reduce.length} parts`);
      for (const st of sl.bwd) {
        if ("node" in st) this.backwardNode(st.node);
        else if ("run" in st) st.run();
        else this.be.runPrograms(st.programs);
      }
      this.be.runPrograms(after ? sl.reduce.map((r, u) => [...r, ...(after[u] ?? [])]) : sl.reduce);
      return;
    }
    if (then) throw new BackendError("programs after the gradient sum are for a training plan run in slices");
    for (let j = this.lossNode; j >= 0; j--) if (this.runs[j]!.dy) this.backwardNode(j, step);
    this.be.runInTurn((this.tieSums ??= tiedUpdated(this.nodes).flatMap((p) => tieSumCalls(p, 0, p.size))));
  }

  /** A plan not run in slices: the tied copies' gradient sums after its backward pass (see slice). */
  private tieSums: KernelCall[] | undefined;

  /** Whether this training plan runs the batch in slices (its backward takes a `then`). */
  get isSliced(): boolean {
    return this.sliced !== null;
  }

  /** Node j's backward pass on the whole batch (or the caller's step), then its fan-in adds. */
  private backwardNode(j: number, step?: (j: number, run: LayerGrad<unknown>) => boolean): void {
    const run = this.runs[j]!;
    if (!step?.(j, run) && !this.skipBwd[j]) this.nodes[j]!.layer.backward(run);
    this.be.runInTurn((this.fanAdds[j] ??= this.fanInAdds(j, 0, this.batch)));
  }

  /**
   * An input read by several layers: node j's share of its gradient (written to a temporary
   * buffer) added in, for examples [first, first + count).
   */
  private fanInAdds(j: number, first: number, count: number): KernelCall[] {
    return this.nodes[j]!.inputs.flatMap((i, s) => {
      const t = this.fan[j]!.temp[s];
      if (!t) return [];
      const n = this.valuesOf(i), at = (p: number) => p + 4 * first * n;
      return [call("f32_add_fwd", at(this.gradOf(i)), at(t), at(this.gradOf(i)), count * n)];
    });
  }

  /** Values per example of node i's output (i = -1: the model input). */
  private valuesOf(i: number): number {
    return i < 0 ? this.inputSize : size(this.nodes[i]!.outShape);
  }

  /** Whether forward() writes node j's output buffer (not where a max pool after it runs the layer's work: model/fuse.ts). */
  writes(j: number): boolean {
    return !this.unwritten[j];
  }

  /** Values of node j's output for this batch (a view: valid until the next allocation); stale where the plan does not write them (writes(j)). */
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
