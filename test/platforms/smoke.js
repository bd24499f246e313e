// Runs in Deno and in Chromium (and Node): import the built package, init, run the smoke kernel.
// Returns plain JSON so the Node-side test can check it against float64.
export async function smoke(fovea) {
  const backend = await fovea.init();
  const n = 37;
  const a = [], b = [];
  for (let i = 0; i < n; i++) {
    a.push(Math.sin(i) * 3);
    b.push(i / 7);
  }
  const ta = fovea.Tensor.from(a, [n]);
  const tb = fovea.Tensor.from(b, [n]);
  const out = fovea.Tensor.zeros([n]);
  backend.kernels.f32_add_fwd(ta.ptr, tb.ptr, out.ptr, n);
  let shapeError = null;
  try {
    fovea.Tensor.from([1, 2, 3], [2, 2]);
  } catch (e) {
    shapeError = `${e.name}: ${e.message}`;
  }
  return { info: fovea.backendInfo(), a, b, out: Array.from(out.toArray()), shapeError };
}
