// dense (fully connected): y = act(x·W + b), W [in, out].
import { ConfigError, show, checkBoolean } from "../errors.js";
import { actCode, denseCalls, denseKernelGrad, type Activation, type DenseCalls } from "../ops/gemm.js";
import type { KernelCall } from "../runtime/calls.js";
import { ACT } from "../runtime/generated/layout.js";
import type { Shape } from "../tensor.js";
import { checkInitializer, type Initializer } from "./initializers.js";
import { Layer, positiveInt, type LayerGrad, type LayerRun, type ParamSpec, type PrepareContext } from "./layer.js";

export interface DenseConfig {
  type: "dense";
  name?: string;
  units: number;
  useBias?: boolean;
  activation?: Activation;
  kernelInitializer?: Initializer;
  biasInitializer?: Initializer;
}
const KEYS = ["type", "name", "units", "useBias", "activation", "kernelInitializer", "biasInitializer"];

interface DenseState { packed: number; packedVersion: number; calls: DenseCalls | null }

/**
 * Dense weights of at most this many bytes are packed once for inference plans: packing them every
 * call took LeNet-5's inference at batch 64 1.059 -> 1.031 ms; a copy of a VGG-sized layer (400 MB)
 * would cost more memory than its packing costs time (a 64th of its gemm at batch 64).
 */
const DENSE_PACK_BYTES = 8 << 20;

export class Dense extends Layer<DenseState> {
  readonly type = "dense";
  readonly cfg: DenseConfig & { useBias: boolean; activation: Activation };
  readonly act: number;

  constructor(config: DenseConfig, name: string) {
    super(name);
    const where = `dense "${name}"`;
    for (const k of Object.keys(config)) if (!KEYS.includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    positiveInt(config.units, "units", where);
    checkBoolean(where, "useBias", config.useBias);
    this.cfg = { useBias: true, activation: "none", ...config };
    this.act = actCode(this.cfg.activation, where);
    checkInitializer(this.cfg.kernelInitializer ?? "heNormal", where);
    checkInitializer(this.cfg.biasInitializer ?? "zeros", where);
  }

  outputShape(inputs: Shape[]): Shape {
    this.rank(inputs, 1);
    return [this.cfg.units];
  }

  override params(inputs: Shape[]): ParamSpec[] {
    const p: ParamSpec[] = [{ name: "kernel", shape: [inputs[0]![0]!, this.cfg.units], init: this.cfg.kernelInitializer ?? "heNormal", trainable: true, regularize: true }];
    if (this.cfg.useBias) p.push({ name: "bias", shape: [this.cfg.units], init: this.cfg.biasInitializer ?? "zeros", trainable: true, regularize: false });
    return p;
  }

  override flops(inputs: Shape[]): number {
    return 2 * inputs[0]![0]! * this.cfg.units;
  }

  override prepare(ctx: PrepareContext): DenseState {
    ctx.needScratch(ctx.be.kernels.f32_gemm_scratch_bytes());
    // inference at 4 examples or more: the weights packed into gemm panels once per weight version,
    // a second copy, so only where they are small (DENSE_PACK_BYTES)
    const K = ctx.inShapes[0]![0]!, pack = !ctx.training && ctx.batch >= 4 && K * this.cfg.units * 4 <= DENSE_PACK_BYTES;
    const packed = pack ? ctx.alloc(ctx.be.kernels.f32_gemm_packed_b_floats(K, this.cfg.units) * 4) : 0;
    return { packed, packedVersion: -1, calls: null };
  }

  override bind(r: LayerGrad<DenseState>, ctx: PrepareContext): void {
    const [w, b] = r.params;
    r.state.calls = denseCalls(ctx.be, {
      B: r.batch, K: r.inShapes[0]![0]!, N: this.cfg.units, x: r.x[0]!, w: w!.w, bias: b ? b.w : 0, act: this.act, y: r.y,
      // the activation's backward in place (LayerGrad.dy may be overwritten): dy over the whole
      // batch is then what the kernel gradient reads, slice by slice or at once (wholeBatchGrads)
      training: r.training, dy: r.dy, dyAct: r.dy, dx: r.dx[0] ?? 0, dw: w!.g, db: b ? b.g : 0, packed: r.state.packed,
    });
  }

  forward(r: LayerRun<DenseState>): void {
    const st = r.state, c = st.calls!;
    if (c.pack.length && st.packedVersion !== r.weightsVersion) {
      r.be.run(c.pack);
      st.packedVersion = r.weightsVersion;
    }
    r.be.run(c.fwd);
  }

  backward(r: LayerGrad<DenseState>): void {
    const c = r.state.calls!;
    r.be.run(c.actBwd);
    r.be.run(c.dW);
    r.be.run(c.dX);
    r.be.run(c.db);
  }

  /**
   * The kernel's gradient at the gradient sum, by rows of its cut: each thread writes its rows
   * once, and no thread keeps a copy of the kernel's gradient (a VGG-sized 25088 × 4096 layer's
   * is 411 MB). Training a 2048 → 2048 → 1024 → 10 MLP at batch 64 on 2 threads: 33.6 -> 32.8 ms
   * a step (two one-process A/B runs, both orders); LeNet-5's step the same within noise.
   */
  override get wholeBatchGrads(): readonly number[] {
    return [0];
  }

  override wholeBatchGradCalls(r: LayerGrad<DenseState>, k: number, lo: number, hi: number, slices: readonly (readonly [number, number])[]): KernelCall[] {
    const K = r.inShapes[0]![0]!, N = this.cfg.units, kernel = r.params[0]!;
    if (k !== 0 || lo % N !== 0 || hi % N !== 0 || hi > K * N) throw new ConfigError(`${this.label}: no whole-batch gradient for values [${lo}, ${hi}) of parameter ${k} (the kernel's gradient goes by rows of ${N})`);
    return denseKernelGrad(r.be, r.batch, K, N, r.x[0]!, r.dy, kernel.g, [lo / N, hi / N], slices);
  }

  override get absorbsChannelAffine(): boolean {
    return this.act === ACT.NONE;
  }


  /** Every example's outputs and gradients are its own; both passes are the calls built at bind. */
  override get perExample(): boolean {
    return true;
  }
  config() {
    return { ...this.cfg, name: this.name };
  }
}
