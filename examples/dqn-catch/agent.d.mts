// Types of agent.mjs, for the TypeScript tests that import it.
import type * as Fovea from "../../src/index.js";
export function qNetwork(fovea: typeof Fovea, seed?: number): Fovea.Model;
export const DQN_OPTIONS: Fovea.rl.DQNOptions;
export function train(fovea: typeof Fovea, options: { steps: number; seed?: number; lr?: number; onEpisode?: (episodes: { step: number; return: number }[], agent: Fovea.rl.DQN) => void }): { agent: Fovea.rl.DQN; model: Fovea.Model; episodes: { step: number; return: number }[] };
export function evaluate(policy: (obs: Float32Array) => number, options?: { episodes?: number; seed?: number }): number;
