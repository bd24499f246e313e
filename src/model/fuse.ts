// Fused epilogues of inference plans: the layers after a conv whose work its kernel does while the
// output tile is in registers, so their passes (and the conv's full-size output) are skipped.
//   conv [→ batch norm, folded] [→ relu/relu6] → maxPool2d     the conv computes pool-window rows
//                                                              into scratch and writes the pool's output
//                                                              (Winograd: 2×2, stride-2 windows in its
//                                                              output transform; ops/conv poolFuses)
//   conv [→ batch norm, folded] → add(·, r) [→ relu/relu6]     the conv's epilogue adds r, then activates
//   conv [→ batch norm, folded] → relu/relu6                   the conv's epilogue activates (depthwise too)
// Each link holds only where the earlier node's one consumer is the next (nothing else reads the
// values never written), a ReLU follows only a conv without an activation of its own (an activation
// goes after the residual, as in ResNet's relu(bn(conv(x)) + x)), the add has two inputs and its
// other operand r is computed before the conv runs. Every fused chain computes the same float
// operations in the same order as the layers one by one (f32_add_fwd's a + b is commutative;
// ReLU is f32x4.max in both), so a fused plan's outputs are bit-identical to an unfused one's.
// Training plans fuse around max pools (reluPools, pooledGradients below): a ReLU's backward and
// forward in the pool's, bit-identical; and a conv's gradients from the pool's dy, the same sums
// in another order (equal within float32 rounding).

import type { Fused } from "../layers/layer.js";
import type { Pool } from "../layers/pool.js";
import { twoByTwo } from "../ops/pool.js";
import { ACT } from "../runtime/generated/layout.js";
import type { GraphNode } from "./graph.js";
import type { Backend } from "../runtime/backend.js";

/** A conv and the nodes after it that its kernel runs. */
export interface Chain {
  head: number;
  /** The nodes fused in, in order (batch norms folded into the head not among them): the last one's buffer is the chain's output. */
  members: number[];
  /** The add's other operand (its output buffer; -1 the model input), or null. */
  residual: number | null;
  /** The activation the head's kernel applies (null: its own). */
  act: number | null;
  pool: Fused["pool"];
}

const ACTIVATION: Record<string, number> = { relu: ACT.RELU, relu6: ACT.RELU6 };

/**
 * The fusable chains of an inference plan. `foldedInto[j]`: the batch norm folded into node j's
 * weights, or -1.
 */
export function epilogueChains(nodes: readonly GraphNode[], foldedInto: readonly number[], batch: number): Chain[] {
  const consumers = nodes.map(() => [] as number[]);
  nodes.forEach((n, j) => n.inputs.forEach((i) => i >= 0 && consumers[i]!.push(j)));
  const only = (j: number): number => (consumers[j]!.length === 1 ? consumers[j]![0]! : -1);
  const chains: Chain[] = [];
  nodes.forEach((n, h) => {
    const can = n.layer.fusible(n.inShapes, batch);
    if (!can.act && !can.pool) return;
    let out = foldedInto[h]! >= 0 ? foldedInto[h]! : h;
    const members: number[] = [];
    let act: number | null = can.act ? ACT.NONE : null, residual: number | null = null, pool: Fused["pool"] = null;
    const next = () => only(out);
    const take = (k: number) => void members.push((out = k));
    let k = next();
    if (can.residual && k >= 0 && nodes[k]!.layer.type === "add" && nodes[k]!.inputs.length === 2) {
      const other = nodes[k]!.inputs[nodes[k]!.inputs[0] === out ? 1 : 0]!;
      if (other < h && other !== out) {
        residual = other;
        take(k);
        k = next();
      }
    }
    if (can.act && act === ACT.NONE && k >= 0 && ACTIVATION[nodes[k]!.layer.type] !== undefined) {
      act = ACTIVATION[nodes[k]!.layer.type]!;
      take(k);
      k = next();
    }
    if (can.pool && residual === null && k >= 0 && nodes[k]!.layer.type === "maxPool2d") {
      const p = nodes[k]!, pg = (p.layer as Pool).geometry(p.inShapes[0]!, batch);
      if (can.pool(pg)) {
        pool = pg;
        take(k);
      }
    }
    if (members.length) chains.push({ head: h, members, residual, act, pool });
  });
  return chains;
}

/**
 * Training: max pools whose input is a ReLU's output that only the pool reads — a ReLU layer's
 * (`standalone`: both its passes are skipped, the pool reads its input, applies the ReLU to the
 * maxima — max(relu(a), relu(b)) = relu(max(a, b)) — and writes its input's gradient) or a layer's
 * own (Layer.endsInRelu: it starts its backward from the masked dy). The pool's backward applies
 * the ReLU's, dy·[x_argmax > 0] (f32_maxpool_bwd_relu): the same sums, +0 where masked (where a
 * window's maximum is not positive its argmax may differ, and is masked either way), so outputs
 * and gradients are bit-identical to the two layers. `norm`: a standalone ReLU's input is a batch
 * norm's output that only the ReLU reads — the pool then reads the norm's input and applies its
 * affine, (x − mean)·scale + shift with the same float operations as the norm's own pass (so the
 * same values, and argmax at the same positions), and the norm's output is never written (its
 * backward reads x, not y); otherwise -1.
 */
export function reluPools(nodes: readonly GraphNode[]): { pool: number; input: number; standalone: boolean; norm: number }[] {
  const readers = nodes.map(() => 0);
  nodes.forEach((n) => n.inputs.forEach((i) => i >= 0 && readers[i]!++));
  const out: { pool: number; input: number; standalone: boolean; norm: number }[] = [];
  nodes.forEach((n, p) => {
    const i = n.inputs[0]!;
    if (n.layer.type !== "maxPool2d" || i < 0 || readers[i] !== 1) return;
    const standalone = nodes[i]!.layer.type === "relu";
    const b = standalone ? nodes[i]!.inputs[0]! : -1;
    const norm = b >= 0 && readers[b] === 1 && nodes[b]!.layer.type === "batchNorm" ? b : -1;
    if (standalone || nodes[i]!.layer.endsInRelu) out.push({ pool: p, input: i, standalone, norm });
  });
  return out;
}

/**
 * Training: the convs (layers with gradsFromPool) whose own ReLU output only a 2×2, stride-2 max
 * pool reads, covering all but a last odd row or column: their data, filter and bias gradients
 * come from the pool's output gradient (ConvBuffers.pooledDy), whose windows pass each gradient to
 * one conv output, and the pool's backward (the conv's output gradient, mostly zeros) does not run.
 */
export function pooledGradients(be: Backend, nodes: readonly GraphNode[], batch: number): { conv: number; pool: number }[] {
  return reluPools(nodes).filter((f) => {
    if (f.standalone || !nodes[f.input]!.layer.gradsFromPool(be, nodes[f.input]!.inShapes[0]!, batch)) return false;
    const pn = nodes[f.pool]!, pg = (pn.layer as Pool).geometry(pn.inShapes[0]!, batch);
    return twoByTwo(pg) && pg.OH === pg.H >> 1 && pg.OW === pg.W >> 1;
  }).map((f) => ({ conv: f.input, pool: f.pool }));
}
