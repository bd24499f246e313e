// The model graph: layers in topological order with their input indices, shapes and parameter
// buffers (values and gradients in wasm memory, initialised from the model's seeded RNG; those a
// loader sets from a file are left zeros, the RNG moved on past their draws).
import { BackendError, ConfigError } from "../errors.js";
import { call, type KernelCall } from "../runtime/calls.js";
import { getLimits } from "../runtime/limits.js";
import type { Layer, ParamBuffer } from "../layers/layer.js";
import { size, updated } from "../layers/layer.js";
import type { Backend } from "../runtime/backend.js";
import type { Rng } from "../rng.js";
import type { Shape } from "../tensor.js";
import { initialize, skipInitialize } from "../layers/initializers.js";
import type { SymbolicTensor } from "../layers/symbolic.js";

export interface GraphNode {
  layer: Layer;
  /** Indices of the producing nodes; -1 is the model input. */
  inputs: number[];
  inShapes: Shape[];
  outShape: Shape;
  params: ParamBuffer[];
}

/** Topological order of the layers between `input` and `output` (iterative: any depth). */
export function buildGraph(input: SymbolicTensor, output: SymbolicTensor): GraphNode[] {
  const order: SymbolicTensor[] = [];
  const seen = new Set<SymbolicTensor>();
  // depth-first post-order with an explicit stack: [tensor, index of the next input to visit]
  const stack: [SymbolicTensor, number][] = [];
  const enter = (t: SymbolicTensor): void => {
    if (seen.has(t)) return;
    if (t.layer === null) {
      if (t !== input) throw new ConfigError(`model: the output depends on ${t.name}, which is not the model's input ${input.name}`);
      return;
    }
    seen.add(t);
    stack.push([t, 0]);
  };
  enter(output);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    if (i < t.inputs.length) {
      top[1] = i + 1;
      enter(t.inputs[i]!);
    } else {
      stack.pop();
      order.push(t);
    }
  }
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

/** Which parameters (by layer name and parameter name) a loader sets right after building the model. */
export type Preset = (layer: string, param: string) => boolean;

/**
 * Allocates and initialises every parameter value, in graph order (gradients come with training).
 * Parameters `preset` names stay zeros: their values come from a file, and drawing them first
 * (ResNet-18's 11.7 million normals) would be thrown away; the generator moves on past their
 * draws all the same (skipInitialize), so what it draws after — a new head, shuffles, dropout —
 * is what it always was. What a model needs for its parameters and one example's activations is
 * checked against the limit first; if an allocation fails, the ones before it are freed (nothing
 * is left behind).
 */
export function allocateParams(be: Backend, nodes: GraphNode[], rng: Rng, name: string, preset?: Preset): void {
  const specs = nodes.map((n) => n.layer.params(n.inShapes));
  const paramBytes = specs.flat().reduce((a, s) => a + size(s.shape) * 4, 0);
  const actBytes = nodes.reduce((a, n) => a + size(n.outShape) * 4, size(nodes[0]!.inShapes[0]!) * 4);
  const limit = getLimits().maxModelBytes;
  if (paramBytes + actBytes > limit) {
    throw new BackendError(`model "${name}" needs ${paramBytes + actBytes} bytes (parameters ${paramBytes}, one example's activations ${actBytes}); ` +
      `the limit is ${limit} (setLimits({ maxModelBytes }))`);
  }
  try {
    nodes.forEach((n, i) => {
      n.params = [];
      for (const spec of specs[i]!) {
        const count = size(spec.shape);
        const w = be.heap.alloc(count * 4, true);
        n.params.push({ spec, size: count, w, g: 0 });
        if (preset?.(n.layer.name, spec.name)) skipInitialize(spec.init, spec.shape, count, rng);
        else initialize(spec.init, spec.shape, be.heap.f32(w, count), rng);
      }
    });
  } catch (e) {
    freeParams(be, nodes);
    for (const n of nodes) n.params = [];
    throw e;
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
    for (const g of p.gt ?? []) be.heap.free(g);
  }
}

/** Thread t's (≥ 1) own copy of a parameter's gradient, for training in slices: made once, kept with the parameter. */
export function threadGrad(be: Backend, p: ParamBuffer, t: number): number {
  const gt = (p.gt ??= []);
  while (gt.length < t) gt.push(be.heap.alloc(p.size * 4, true));
  return gt[t - 1]!;
}

/** The first copy of each group of tied parameters (ParamBuffer.tied) that training updates, in graph order. */
export function tiedUpdated(nodes: readonly GraphNode[]): ParamBuffer[] {
  return nodes.flatMap((n) => n.params.filter((p) => p.tied?.[0] === p && updated(p)));
}

/**
 * Values [lo, hi) of a tied group's gradient (p its first copy) made the group's sum in every copy:
 * the others added into the first, in the group's order, then the first copied to them (the
 * gradient of the one tensor PyTorch trains; each copy's update then has the same inputs).
 */
export function tieSumCalls(p: ParamBuffer, lo: number, hi: number): KernelCall[] {
  const others = p.tied!.slice(1), at = (q: ParamBuffer) => q.g + 4 * lo, n = hi - lo;
  if (n <= 0) return [];
  return [...others.map((q) => call("f32_add_fwd", at(p), at(q), at(p), n)), ...others.map((q) => call("f32_copy_rows", at(p), n, at(q), n, 1, n, 0))];
}

/** Layer `layer`'s parameter `name`, if it has one. */
export const paramAt = (nodes: readonly GraphNode[], layer: string, name: string): ParamBuffer | undefined =>
  nodes.find((n) => n.layer.name === layer)?.params.find((p) => p.spec.name === name);

/** The name of the layer a parameter is of. */
export const layerOf = (nodes: readonly GraphNode[], p: ParamBuffer): string => nodes.find((q) => q.params.includes(p))?.layer.name ?? "?";

/** Layer "name"'s parameter, for messages: `"conv1".kernel`. */
export const paramLabel = (nodes: readonly GraphNode[], p: ParamBuffer): string => `"${layerOf(nodes, p)}".${p.spec.name}`;
