// float64 reference steps of every optimiser, straight from their published update rules.
export interface OptState { [k: string]: Float64Array }

export function refStep(kind: string, w: Float64Array, g: ArrayLike<number>, st: OptState, hp: Record<string, number>, t: number): void {
  const n = w.length;
  for (let i = 0; i < n; i++) {
    const gi = g[i]!;
    switch (kind) {
      case "sgd": w[i]! -= hp.lr! * gi; break;
      case "momentum": case "nesterov": {
        const v = hp.mu! * st.v![i]! - hp.lr! * gi;
        st.v![i] = v;
        w[i]! += kind === "nesterov" ? hp.mu! * v - hp.lr! * gi : v;
        break;
      }
      // torch.optim.SGD's (its documentation's algorithm, dampening 0): b ← μ·b + g; Nesterov g ← g + μ·b; w ← w − lr·g
      case "momentum_pytorch": case "nesterov_pytorch": {
        const b = hp.mu! * st.v![i]! + gi;
        st.v![i] = b;
        w[i]! -= hp.lr! * (kind === "nesterov_pytorch" ? gi + hp.mu! * b : b);
        break;
      }
      case "adagrad": st.h![i]! += gi * gi; w[i]! -= (hp.lr! * gi) / (Math.sqrt(st.h![i]!) + hp.eps!); break;
      case "rmsprop": st.h![i] = hp.rho! * st.h![i]! + (1 - hp.rho!) * gi * gi; w[i]! -= (hp.lr! * gi) / (Math.sqrt(st.h![i]!) + hp.eps!); break;
      case "adadelta": {
        st.eg![i] = hp.rho! * st.eg![i]! + (1 - hp.rho!) * gi * gi;
        const d = (-Math.sqrt(st.edx![i]! + hp.eps!) / Math.sqrt(st.eg![i]! + hp.eps!)) * gi;
        st.edx![i] = hp.rho! * st.edx![i]! + (1 - hp.rho!) * d * d;
        w[i]! += hp.lr! * d;
        break;
      }
      case "adam": case "adamw": {
        st.m![i] = hp.b1! * st.m![i]! + (1 - hp.b1!) * gi;
        st.v![i] = hp.b2! * st.v![i]! + (1 - hp.b2!) * gi * gi;
        const mh = st.m![i]! / (1 - hp.b1! ** t), vh = st.v![i]! / (1 - hp.b2! ** t);
        if (kind === "adamw") w[i]! -= hp.lr! * hp.wd! * w[i]!;
        w[i]! -= (hp.lr! * mh) / (Math.sqrt(vh) + hp.eps!);
        break;
      }
    }
  }
}
