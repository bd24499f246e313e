// dense (fully connected): y = act(x·W + b), W [in, out].
import { ConfigError } from "../errors.js";
import { actCode, type Activation } from "../ops/gemm.js";
import { gemmCalls } from "../ops/parallel.js";
import type { Call } from "../runtime/pool.js";
import type { Shape } from "../tensor.js";
import { checkInitializer, type Initializer } from "../train/initializers.js";
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

interface DenseState { dyAct: number; scratch: number; fwd: Call[] | null; dW: Call[] | null; dX: Call[] | null }

export class Dense extends Layer<DenseState> {
  readonly type = "dense";
  readonly cfg: DenseConfig & { useBias: boolean; activation: Activation };
  readonly act: number;

  constructor(config: DenseConfig, name: string) {
    super(name);
    const where = `dense "${name}"`;
    for (const k of Object.keys(config)) if (!KEYS.includes(k)) throw new ConfigError(`${where}: unknown option "${k}"`);
    positiveInt(config.units, "units", where);
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
    return {
      dyAct: ctx.training && this.act !== 0 ? ctx.alloc(ctx.batch * this.cfg.units * 4) : 0,
      scratch: ctx.be.kernels.f32_gemm_scratch_bytes(), fwd: null, dW: null, dX: null,
    };
  }

  override bind(r: LayerGrad<DenseState>, ctx: PrepareContext): void {
    if (ctx.be.threads < 2) return;
    const K = r.inShapes[0]![0]!, N = this.cfg.units, B = r.batch, be = ctx.be;
    const dy = this.act !== 0 ? r.state.dyAct : r.dy;
    r.state.fwd = gemmCalls(be, 0, 0, B, N, K, 1, r.x[0]!, K, r.params[0]!.w, N, 0, r.y, N, r.params[1] ? r.params[1].w : 0, this.act);
    if (!r.training) return;
    r.state.dW = gemmCalls(be, 1, 0, K, N, B, 1, r.x[0]!, K, dy, N, 0, r.params[0]!.g, N, 0, 0);
    r.state.dX = r.dx[0] ? gemmCalls(be, 0, 1, B, K, N, 1, dy, N, r.params[0]!.w, N, 0, r.dx[0], K, 0, 0) : null;
  }

  forward(r: LayerRun<DenseState>): void {
    const K = r.inShapes[0]![0]!, N = this.cfg.units;
    if (r.state.fwd && r.state.fwd.length > 1) return r.be.run(r.state.fwd);
    r.k.f32_gemm(0, 0, r.batch, N, K, 1, r.x[0]!, K, r.params[0]!.w, N, 0, r.y, N, r.params[1] ? r.params[1].w : 0, this.act, r.be.scratch(r.state.scratch));
  }

  backward(r: LayerGrad<DenseState>): void {
    const K = r.inShapes[0]![0]!, N = this.cfg.units, B = r.batch;
    let dy = r.dy;
    if (this.act === 1) r.k.f32_relu_bwd(r.y, r.dy, (dy = r.state.dyAct), B * N);
    else if (this.act === 2) r.k.f32_relu6_bwd(r.y, r.dy, (dy = r.state.dyAct), B * N);
    const scratch = r.be.scratch(r.state.scratch);
    // dW[K×N] = xᵀ·dy, dx[B×K] = dy·Wᵀ, db = Σ dy
    if (r.state.dW && r.state.dW.length > 1) r.be.run(r.state.dW);
    else r.k.f32_gemm(1, 0, K, N, B, 1, r.x[0]!, K, dy, N, 0, r.params[0]!.g, N, 0, 0, scratch);
    if (r.dx[0] && r.state.dX && r.state.dX.length > 1) r.be.run(r.state.dX);
    else if (r.dx[0]) r.k.f32_gemm(0, 1, B, K, N, 1, dy, N, r.params[0]!.w, N, 0, r.dx[0], K, 0, 0, scratch);
    if (this.cfg.useBias) r.k.f32_bias_bwd(dy, B, N, r.params[1]!.g);
  }

  config() {
    return { ...this.cfg, name: this.name };
  }
}
