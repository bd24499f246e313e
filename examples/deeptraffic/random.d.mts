export function mulberry32(seed: number): () => number;
export function withRandom<T>(random: () => number, f: () => T): T;
