// matmul: the matrix product of two computed tensors over their last two axes, batched over the
// axes before (the same on both): [..., M, K] · [..., K, N] → [..., M, N] (attention scores,
// batched MatMul of an ONNX graph). No parameters.
import { ConfigError, ShapeError } from "../errors.js";
import { batchedMatmulCalls } from "../ops/gemm.js";
import { formatShape, type Shape } from "../tensor.js";
import { PlannedLayer, size, type LayerGrad, type PassCalls, type Planned } from "./layer.js";

export interface MatmulConfig { type: "matmul"; name?: string }

export class Matmul extends PlannedLayer {
  readonly type = "matmul";

  constructor(config: MatmulConfig, name: string) {
    super(name);
    for (const k of Object.keys(config)) if (k !== "type" && k !== "name") throw new ConfigError(`matmul "${name}": unknown option "${k}"`);
  }

  override get arity(): number {
    return 2;
  }

  outputShape(inputs: Shape[]): Shape {
    const [a, b] = inputs as [Shape, Shape];
    const r = a.length;
    if (r < 2 || b.length !== r || formatShape(a.slice(0, -2)) !== formatShape(b.slice(0, -2)) || a[r - 1] !== b[r - 2]) {
      throw new ShapeError(`${this.label}: ${formatShape(a)} · ${formatShape(b)}: [..., M, K] · [..., K, N] with the same leading axes expected`);
    }
    return [...a.slice(0, -1), b[r - 1]!];
  }

  override flops(inputs: Shape[], out: Shape): number {
    const a = inputs[0]!;
    return 2 * size(out) * a[a.length - 1]!;
  }

  protected calls(r: LayerGrad<Planned<object>>): PassCalls {
    const a = r.inShapes[0]!, b = r.inShapes[1]!, n = a.length;
    const M = a[n - 2]!, K = a[n - 1]!, N = b[n - 1]!;
    return { ...batchedMatmulCalls(r.be, r.batch * (size(a) / (M * K)), M, K, N, { a: r.x[0]!, b: r.x[1]!, y: r.y, dy: r.dy, da: r.dx[0] ?? 0, db: r.dx[1] ?? 0 }), inTurn: true };
  }

  config() {
    return { type: this.type, name: this.name };
  }
}
