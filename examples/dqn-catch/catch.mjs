// Catch from pixels: a ball falls from the top row of a 10×10 board, drifting left, straight or
// right and bouncing off the walls; the agent moves a paddle two cells wide along the bottom row
// (0 left, 1 stay, 2 right). Reward +1 when the ball lands on the paddle, −1 when it does not; the
// episode ends there (9 steps). The agent sees pixels: each cell is 2×2 pixels of a 20×20 frame,
// and an observation stacks the last two frames ([20, 20, 2], NHWC), so the ball's drift is visible.
import { mulberry32 } from "../deeptraffic/random.mjs";

export const N = 10, SCALE = 2, SIZE = N * SCALE, FRAMES = 2, ACTIONS = 3, PADDLE = 2;

export class Catch {
  constructor(seed = 1) {
    this.rnd = mulberry32(seed);
    this.frames = [new Float32Array(SIZE * SIZE), new Float32Array(SIZE * SIZE)];
    this.obs = new Float32Array(SIZE * SIZE * FRAMES);
    this.reset();
  }

  /** A new episode; returns its first observation. */
  reset() {
    this.ball = { row: 0, col: Math.floor(this.rnd() * N), dx: Math.floor(this.rnd() * 3) - 1 };
    this.paddle = Math.floor(this.rnd() * (N - PADDLE + 1)); // its left cell
    this.render(0);
    this.frames[1].set(this.frames[0]);
    return this.observation();
  }

  /** Draws the board into frames[which]: the ball and the paddle lit (1), the rest dark (0). */
  render(which) {
    const f = this.frames[which];
    f.fill(0);
    const cell = (r, c) => {
      for (let y = 0; y < SCALE; y++) for (let x = 0; x < SCALE; x++) f[(r * SCALE + y) * SIZE + c * SCALE + x] = 1;
    };
    cell(this.ball.row, this.ball.col);
    for (let k = 0; k < PADDLE; k++) cell(N - 1, this.paddle + k);
  }

  /** [20, 20, 2]: channel 0 the current frame, channel 1 the one before. */
  observation() {
    const [now, before] = this.frames, o = this.obs;
    for (let i = 0; i < SIZE * SIZE; i++) {
      o[2 * i] = now[i];
      o[2 * i + 1] = before[i];
    }
    return o;
  }

  /** One step; returns { obs, reward, done }. */
  step(action) {
    this.paddle = Math.min(N - PADDLE, Math.max(0, this.paddle + action - 1));
    const b = this.ball;
    let col = b.col + b.dx;
    if (col < 0 || col >= N) {
      b.dx = -b.dx;
      col = b.col + b.dx;
    }
    b.col = col;
    b.row++;
    this.frames[1].set(this.frames[0]);
    this.render(0);
    const done = b.row === N - 1;
    const reward = done ? (b.col >= this.paddle && b.col < this.paddle + PADDLE ? 1 : -1) : 0;
    return { obs: this.observation(), reward, done };
  }
}
