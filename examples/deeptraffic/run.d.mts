// Types of run.mjs, for the TypeScript tests that import it.
export interface TrainedAgent {
  brain: { value_net: { toJSON(): unknown }; learning: boolean; epsilon: number };
  act(state: number[]): number;
  free(): void;
}
export function trainAgent(deepqlearn: { Brain: new (...args: never[]) => unknown }, options: { steps: number; seed?: number; onStep?: (i: number, brain: never) => void }): TrainedAgent;
export function simulate(policy: (state: number[]) => number, options?: { steps?: number; seed?: number; warmup?: number }): { averageSpeed: number; laneChanges: number };
export function randomPolicy(): number;
export function keepLane(): number;
