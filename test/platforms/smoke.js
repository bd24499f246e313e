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
  // a threaded gemm through the pool (one call per thread, rows split), checked against one call
  const M = 67, N = 45, K = 129, threads = backend.threads;
  const A = fovea.Tensor.from(Array.from({ length: M * K }, (_, i) => Math.sin(i)), [M, K]);
  const B = fovea.Tensor.from(Array.from({ length: K * N }, (_, i) => Math.cos(i)), [K, N]);
  const C1 = fovea.Tensor.zeros([M, N]), C2 = fovea.Tensor.zeros([M, N]);
  const sb = backend.kernels.f32_gemm_scratch_bytes();
  const rows = [[0, 36], [36, 48], [48, 67]].slice(0, threads);
  rows[rows.length - 1][1] = M;
  backend.run(rows.map(([m0, m1]) => ({ fn: "f32_gemm", scratchBytes: sb,
    args: [0, 0, m1 - m0, N, K, 1, A.ptr + 4 * m0 * K, K, B.ptr, N, 0, C1.ptr + 4 * m0 * N, N, 0, 0, 0] })));
  backend.kernels.f32_gemm(0, 0, M, N, K, 1, A.ptr, K, B.ptr, N, 0, C2.ptr, N, 0, 0, backend.scratch(sb));
  const threadedGemmEqual = Array.from(C1.toArray()).every((v, i) => v === C2.toArray()[i]);
  return { info: fovea.backendInfo(), a, b, out: Array.from(out.toArray()), shapeError, threadedGemmEqual };
}
