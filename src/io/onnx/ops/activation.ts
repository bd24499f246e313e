// Relu, LeakyRelu, Elu, Sigmoid, Tanh, Clip (ReLU6 / ReLU, and Relu followed by Clip(max 6) as old
// opsets export ReLU6), Softmax / LogSoftmax over channels ⇄ the activation layers.
import * as L from "../../../layers/index.js";
import type { ActivationLayer } from "../../../layers/activation.js";
import type { Layer } from "../../../layers/layer.js";
import { ACT } from "../../../runtime/generated/layout.js";
import { ConfigError } from "../../../errors.js";
import type { Exporter, Importer } from "../context.js";

const activation: Importer = (x) => {
  const t = x.tensor(0);
  x.noPad(t);
  let layer: Layer;
  const lname = x.uniq(x.op.toLowerCase());
  if (x.op === "Clip") {
    const lo = x.has(1) ? Array.from(x.constant(1).data)[0]! : x.flt("min", -3.4e38);
    const hi = x.has(2) ? Array.from(x.constant(2).data)[0]! : x.flt("max", 3.4e38);
    if (lo <= 0 && hi === 6 && t.reluOf && !t.pad?.some((p) => p)) {
      // Relu then Clip(·, 6): one ReLU6 on the Relu's input (the Relu itself is left unused)
      x.out({ kind: "tensor", sym: x.apply(L.relu6({ name: lname }), t.reluOf), onnx: t.onnx, ...(t.flatOf ? { flatOf: t.flatOf } : {}) });
      return;
    }
    if (lo === 0 && hi === 6) layer = L.relu6({ name: lname });
    else if (lo === 0 && hi >= 3.4e38) layer = L.relu({ name: lname });
    else x.fail(`Clip(${lo}, ${hi}): only ReLU6 (0, 6), ReLU (0, ∞) and Relu followed by Clip(·, 6) are supported`);
  } else if (x.op === "Softmax" || x.op === "LogSoftmax") {
    const rank = t.onnx.length + 1, axis = x.int("axis", x.opset >= 13 ? -1 : 1);
    const a = axis < 0 ? axis + rank : axis;
    if (a !== 1 || (rank === 4 && x.opset >= 13 && axis === -1)) x.fail(`softmax over axis ${axis}: only the channel / feature axis is supported`);
    layer = x.op === "Softmax" ? L.softmax({ name: lname }) : L.logSoftmax({ name: lname });
  } else {
    const map: Record<string, () => Layer> = {
      Relu: () => L.relu({ name: lname }), LeakyRelu: () => L.leakyRelu({ alpha: x.flt("alpha", 0.01), name: lname }),
      Elu: () => L.elu({ alpha: x.flt("alpha", 1), name: lname }), Sigmoid: () => L.sigmoid({ name: lname }), Tanh: () => L.tanh({ name: lname }),
    };
    layer = map[x.op]!();
  }
  const { reluOf: _, ...rest } = t;
  x.out({ ...rest, sym: x.apply(layer!, t.sym), ...(x.op === "Relu" ? { reluOf: t.sym } : {}) });
};

export const importers: Record<string, Importer> = Object.fromEntries(
  ["Relu", "LeakyRelu", "Elu", "Sigmoid", "Tanh", "Clip", "Softmax", "LogSoftmax"].map((op) => [op, activation]),
);

const activationExport: Exporter = (x) => {
  const l = x.layer as ActivationLayer, t = l.type, xin = x.inputs[0]!;
  if ((t === "softmax" || t === "logSoftmax") && x.node.outShape.length !== 1) throw new ConfigError(`${x.label}: channel softmax of images does not export`);
  const out = t === "relu" ? x.op("Relu", [xin]) : t === "relu6" ? x.act(xin, ACT.RELU6) : t === "leakyRelu" ? x.op("LeakyRelu", [xin], { alpha: { f: l.alpha } })
    : t === "elu" ? x.op("Elu", [xin], { alpha: { f: l.alpha } }) : t === "sigmoid" ? x.op("Sigmoid", [xin]) : t === "tanh" ? x.op("Tanh", [xin])
    : x.op(t === "softmax" ? "Softmax" : "LogSoftmax", [xin], { axis: 1 });
  return { out, flatOf: x.inputFlatOf[0] };
};

export const exporters: Record<string, Exporter> = Object.fromEntries(
  ["relu", "relu6", "leakyRelu", "elu", "sigmoid", "tanh", "softmax", "logSoftmax"].map((t) => [t, activationExport]),
);
