// What summary and saving read of a model: model.ts's Model has all of it. A structural type, so
// those modules never import model.ts (which calls them).
import type { ParamBuffer } from "../layers/layer.js";
import type { Backend } from "../runtime/backend.js";
import type { Shape } from "../tensor.js";
import type { GraphNode } from "./graph.js";
import type { NamedIO } from "./named.js";

export interface ModelView {
  readonly name: string;
  readonly nodes: readonly GraphNode[];
  readonly inputShape: Shape;
  readonly classes: string[] | null;
  /** Named inputs and outputs (an imported model's), saved with it. */
  readonly io?: NamedIO | null;
  readonly params: ParamBuffer[];
  /** Tied parameters (Model.tie) as [layer, parameter] groups. */
  readonly ties: [layer: string, param: string][][];
  /** Parameters held apart from others of one tensor of the source file (Model.apart). */
  readonly apart: [layer: string, param: string, tensor: string][];
  readonly backend: Backend;
  countParams(trainableOnly?: boolean): number;
}
