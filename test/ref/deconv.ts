// float64 oracle for Zeiler & Fergus's deconvnet (2014) on a chain of layers, from the paper's
// definition: the forward pass records max-pooling switches; the projection starts from the
// strongest activation of one channel of the last layer (every other activation zero) and goes
// back layer by layer — unpooling puts each value where the switch says, rectification is ReLU
// applied to the signal (not gated by the forward input), filtering is the conv's transpose
// (the filters flipped, input and output channels exchanged: its backward-data pass).
import { refConvBwdData, refConvFwd, type RefConv } from "./conv.js";
import { refMaxPool, type RefPool } from "./pool.js";

export type RefDeconvLayer =
  | { type: "conv"; p: RefConv; w: ArrayLike<number>; bias: ArrayLike<number> | null; relu: boolean }
  | { type: "relu" }
  | { type: "maxPool"; p: RefPool };

export interface RefDeconvNet {
  layers: RefDeconvLayer[];
  /** Values per example of the input. */
  inputSize: number;
}

const relu = (v: Float64Array) => v.map((x) => Math.max(x, 0));

/** The projection of `unit` of the last layer (one example) to the input, and the activation projected. */
export function refDeconvnet(net: RefDeconvNet, x: ArrayLike<number>, unit: number): { projection: Float64Array; activation: number } {
  // forward, keeping the switches
  let a: Float64Array = Float64Array.from(x);
  const switches: (Int32Array | null)[] = [];
  let C = 0;
  for (const l of net.layers) {
    if (l.type === "conv") {
      a = refConvFwd(l.p, a, l.w, l.bias);
      if (l.relu) a = relu(a);
      C = l.p.OC;
      switches.push(null);
    } else if (l.type === "relu") {
      a = relu(a);
      switches.push(null);
    } else {
      const r = refMaxPool(l.p, a);
      a = r.y;
      C = l.p.C;
      switches.push(r.argmax);
    }
  }
  // the strongest activation of the unit, alone
  let best = unit;
  for (let i = unit; i < a.length; i += C) if (a[i]! > a[best]!) best = i;
  let s: Float64Array = new Float64Array(a.length);
  s[best] = a[best]!;
  // back down
  for (let k = net.layers.length - 1; k >= 0; k--) {
    const l = net.layers[k]!;
    if (l.type === "conv") {
      if (l.relu) s = relu(s);
      s = refConvBwdData(l.p, s, l.w);
    } else if (l.type === "relu") {
      s = relu(s);
    } else {
      const up = new Float64Array(l.p.N * l.p.H * l.p.W * l.p.C);
      switches[k]!.forEach((at, i) => (up[at]! += s[i]!));
      s = up;
    }
  }
  return { projection: s, activation: a[best]! };
}
