// Symbolic tensors of the functional API (defined with the Layer that produces them, in layer.ts).
export { SymbolicTensor, input } from "./layer.js";
