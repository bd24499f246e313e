// The benchmark nets as ONNX graphs (NCHW, opset 13, random weights), for onnxruntime: the same
// layers and parameter counts as fovea's zoo models. Built with onnx-proto; weights are the
// seeded pseudo-random values below (speed comparisons only).

function rand(n, seed) {
  let s = seed >>> 0;
  const a = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 32 - 0.5) * 0.2;
  }
  return a;
}

class Graph {
  constructor(onnx) {
    this.onnx = onnx;
    this.nodes = [];
    this.inits = [];
    this.n = 0;
  }
  init(dims) {
    const name = `w${this.inits.length}`;
    const data = rand(dims.reduce((a, b) => a * b, 1), this.inits.length + 1);
    this.inits.push({ name, dims, dataType: 1, rawData: new Uint8Array(data.buffer) });
    return name;
  }
  op(opType, inputs, attrs = {}) {
    const out = `t${this.n++}`;
    const A = this.onnx.AttributeProto.AttributeType;
    const attribute = Object.entries(attrs).map(([name, v]) => (Array.isArray(v) ? { name, type: A.INTS, ints: v } : { name, type: A.INT, i: v }));
    this.nodes.push({ opType, input: inputs, output: [out], attribute });
    return out;
  }
  conv(x, cin, cout, k, pad) {
    return this.op("Conv", [x, this.init([cout, cin, k, k]), this.init([cout])], { kernel_shape: [k, k], pads: [pad, pad, pad, pad], strides: [1, 1] });
  }
  dense(x, fin, fout) {
    return this.op("Gemm", [x, this.init([fin, fout]), this.init([fout])]);
  }
  model(input, inShape, output, outDims) {
    const vi = (name, dims) => ({ name, type: { tensorType: { elemType: 1, shape: { dim: dims.map((d) => (typeof d === "string" ? { dimParam: d } : { dimValue: d })) } } } });
    const m = this.onnx.ModelProto.create({
      irVersion: 7, opsetImport: [{ domain: "", version: 13 }],
      graph: { name: "net", node: this.nodes, initializer: this.inits, input: [vi(input, ["N", ...inShape])], output: [vi(output, ["N", ...outDims])] },
    });
    return this.onnx.ModelProto.encode(m).finish();
  }
}

export function onnxNet(onnx, name) {
  const g = new Graph(onnx);
  const pool = (x) => g.op("MaxPool", [x], { kernel_shape: [2, 2], strides: [2, 2] });
  const relu = (x) => g.op("Relu", [x]);
  if (name === "lenet5") {
    let x = pool(relu(g.conv("x", 1, 6, 5, 2)));
    x = pool(relu(g.conv(x, 6, 16, 5, 0)));
    x = g.op("Flatten", [x], { axis: 1 });
    x = relu(g.dense(x, 400, 120));
    x = relu(g.dense(x, 120, 84));
    x = g.op("Softmax", [g.dense(x, 84, 10)], { axis: -1 });
    return { bytes: g.model("x", [1, 28, 28], x, [10]), inShape: [1, 28, 28] };
  }
  let x = pool(relu(g.conv("x", 3, 16, 5, 2)));
  x = pool(relu(g.conv(x, 16, 20, 5, 2)));
  x = pool(relu(g.conv(x, 20, 20, 5, 2)));
  x = g.op("Flatten", [x], { axis: 1 });
  x = g.op("Softmax", [g.dense(x, 320, 10)], { axis: -1 });
  return { bytes: g.model("x", [3, 32, 32], x, [10]), inShape: [3, 32, 32] };
}
