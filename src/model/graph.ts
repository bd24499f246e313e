// The model graph: layers in topological order with their input indices, shapes and parameter
// buffers (values and gradients in wasm memory, initialised from the model's seeded RNG).
import { ConfigError } from "../errors.js";
import type { Layer, ParamBuffer } from "../layers/layer.js";
import { size } from "../layers/layer.js";
import type { Backend } from "../runtime/backend.js";
import type { Rng } from "../rng.js";
import type { Shape } from "../tensor.js";
import { initialize } from "../layers/initializers.js";
import type { SymbolicTensor } from "../layers/symbolic.js";

export interface GraphNode {
  layer: Layer;
  /** Indices of the producing nodes; -1 is the model input. */
  inputs: number[];
  inShapes: Shape[];
  outShape: Shape;
  params: ParamBuffer[];
}

/** Topological order of the layers between `input` and `output`. */
export function buildGraph(input: SymbolicTensor, output: SymbolicTensor): GraphNode[] {
  const order: SymbolicTensor[] = [];
  const seen = new Set<SymbolicTensor>();
  const visit = (t: SymbolicTensor, path: Set<SymbolicTensor>): void => {
    if (seen.has(t)) return;
    if (t.layer === null) {
      if (t !== input) throw new ConfigError(`model: the output depends on ${t.name}, which is not the model's input ${input.name}`);
      return;
    }
    path.add(t);
    for (const x of t.inputs) visit(x, path);
    path.delete(t);
    seen.add(t);
    order.push(t);
  };
  visit(output, new Set());
  if (order.length === 0) throw new ConfigError("model: the output is the input itself; add at least one layer");
  const names = new Set<string>();
  for (const t of order) {
    if (names.has(t.layer!.name)) throw new ConfigError(`model: two layers are named "${t.layer!.name}"; layer names must be unique`);
    names.add(t.layer!.name);
  }
  const index = new Map(order.map((t, i) => [t, i]));
  return order.map((t) => ({
    layer: t.layer!,
    inputs: t.inputs.map((x) => (x === input ? -1 : index.get(x)!)),
    inShapes: t.inputs.map((x) => x.shape),
    outShape: t.shape,
    params: [],
  }));
}

/** Allocates and initialises every parameter value, in graph order (gradients come with training). */
export function allocateParams(be: Backend, nodes: GraphNode[], rng: Rng): void {
  for (const n of nodes) {
    n.params = n.layer.params(n.inShapes).map((spec) => {
      const count = size(spec.shape);
      const w = be.heap.alloc(count * 4, true);
      initialize(spec.init, spec.shape, be.heap.f32(w, count), rng);
      return { spec, size: count, w, g: 0 };
    });
  }
}

/** Gradient buffers for every parameter, on the first training plan (inference never pays for them). */
export function allocateGrads(be: Backend, nodes: readonly GraphNode[]): void {
  for (const n of nodes) for (const p of n.params) if (p.g === 0) p.g = be.heap.alloc(p.size * 4, true);
}

export function freeParams(be: Backend, nodes: GraphNode[]): void {
  for (const n of nodes) for (const p of n.params) {
    be.heap.free(p.w);
    if (p.g) be.heap.free(p.g);
  }
}
