// Seeded randomness for the examples, the test and the benchmark: ConvNetJS's deepqlearn (and
// fovea's Brain, which follows it) draw from Math.random, so a run is repeatable when Math.random
// is a seeded generator for its duration.

/** mulberry32: a seeded uniform [0, 1) generator. */
export function mulberry32(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Runs f with Math.random replaced by `random`, and puts Math.random back after. */
export function withRandom(random, f) {
  const saved = Math.random;
  Math.random = random;
  try {
    return f();
  } finally {
    Math.random = saved;
  }
}
