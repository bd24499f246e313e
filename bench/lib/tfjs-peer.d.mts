/** The parts of the tfjs namespace the peer uses (tfjs is a devDependency; fovea does not import it). */
export type Tf = Record<string, any>;
/** A fovea Model (from dist/ or, in tests, from src/). */
export interface PeerModel { readonly nodes: readonly unknown[]; readonly inputShape: readonly number[]; getWeights(): unknown[] }
export function tfjsPeer(model: PeerModel, tf: Tf): { run(x: Float32Array, batch: number): Float32Array; dispose(): void };
