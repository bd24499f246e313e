// Reinforcement learning on fovea models: ConvNetJS's deepqlearn Brain (fovea.deepqlearn) and the
// Q-learning pieces it shares with the DQN agent (fovea.rl).
export { annealedEpsilon, greedy, TDBatch } from "./qlearning.js";
export { DQN } from "./dqn.js";
export type { DQNOptions } from "./dqn.js";
export { Window } from "./window.js";
