// A lane-changing traffic simulator in the spirit of MIT's DeepTraffic: a ring road of `lanes`
// lanes, other cars at their own cruising speeds, and the agent's car. Each step the agent picks
// one of DeepTraffic's five actions (0 no action, 1 accelerate, 2 decelerate, 3 go left, 4 go
// right); a safety system, as in DeepTraffic, slows it behind a slower car and refuses a lane
// change into an occupied gap. It sees a grid of patches around itself — lanesSide lanes on each
// side, patchesAhead cells ahead and patchesBehind behind — each holding the speed one could drive
// there (1 free, a car's speed / max speed where a car is, 0 off the road). Its reward is its
// speed (0 … 1 of the 80 mph maximum). No dependencies; its randomness is its own seeded generator.
import { mulberry32 } from "./random.mjs";

export const ACTIONS = ["noAction", "accelerate", "decelerate", "goLeft", "goRight"];
export const MAX_MPH = 80;

const CAR = 1; // a car's length, in cells
const ACCEL = 0.1; // speed change of one accelerate / decelerate, in units of the maximum speed
const GAP = 0.5; // the safety system keeps this much room to the car ahead (cells)

export class Traffic {
  /**
   * lanes, length (cells of the ring), cars (others), lanesSide / patchesAhead / patchesBehind
   * (the agent's view), seed (the world's generator).
   */
  constructor({ lanes = 7, length = 70, cars = 28, lanesSide = 2, patchesAhead = 10, patchesBehind = 3, seed = 1 } = {}) {
    Object.assign(this, { lanes, length, lanesSide, patchesAhead, patchesBehind });
    this.rnd = mulberry32(seed);
    this.numInputs = (2 * lanesSide + 1) * (patchesAhead + patchesBehind);
    // the agent, then the others: lane, position on the ring, speed, cruising speed (others)
    this.agent = { lane: Math.floor(lanes / 2), pos: 0, v: 0.5 };
    this.cars = [];
    for (let i = 0; i < cars; i++) {
      for (let tries = 0; ; tries++) {
        const lane = Math.floor(this.rnd() * lanes), pos = this.rnd() * length;
        if (tries > 1000) throw new Error(`Traffic: no room for ${cars} cars on ${lanes} lanes of ${length} cells`);
        if (this.free(lane, pos, 2 * CAR, null)) {
          const cruise = 0.3 + 0.45 * this.rnd();
          this.cars.push({ lane, pos, v: cruise, cruise });
          break;
        }
      }
    }
    this.state = new Float64Array(this.numInputs);
  }

  /** Signed distance from a to b along the ring, in [−length/2, length/2). */
  ahead(a, b) {
    const L = this.length;
    return ((((b - a) % L) + 1.5 * L) % L) - L / 2;
  }

  /** No car (other than `self`, nor the agent unless it is `self`'s lane mate) within `room` of pos in lane. */
  free(lane, pos, room, self) {
    for (const c of this.cars) if (c !== self && c.lane === lane && Math.abs(this.ahead(pos, c.pos)) < room) return false;
    const a = this.agent;
    return self === a || a.lane !== lane || Math.abs(this.ahead(pos, a.pos)) >= room;
  }

  /** The nearest car ahead of `me` in its lane (the agent counts): { gap, v }, or null. */
  leader(me) {
    let best = null;
    const consider = (c) => {
      if (c === me || c.lane !== me.lane) return;
      const d = this.ahead(me.pos, c.pos);
      if (d > 0 && (!best || d - CAR < best.gap)) best = { gap: d - CAR, v: c.v };
    };
    for (const c of this.cars) consider(c);
    consider(this.agent);
    return best;
  }

  /** The speed the safety system allows behind a leader: its speed plus the room beyond GAP. */
  static safe(v, leader) {
    return leader ? Math.max(0, Math.min(v, leader.v + leader.gap - GAP)) : v;
  }

  /** The agent's view: (2·lanesSide + 1) lanes × (patchesBehind + patchesAhead) cells, lane by lane. */
  observe() {
    const s = this.state, a = this.agent, P = this.patchesAhead + this.patchesBehind;
    for (let l = 0; l < 2 * this.lanesSide + 1; l++) {
      const lane = a.lane - this.lanesSide + l;
      s.fill(lane < 0 || lane >= this.lanes ? 0 : 1, l * P, (l + 1) * P);
    }
    for (const c of this.cars) {
      const l = c.lane - a.lane + this.lanesSide;
      if (l < 0 || l > 2 * this.lanesSide) continue;
      const d = this.ahead(a.pos, c.pos) + this.patchesBehind;
      // the cells the car covers, [d, d + CAR)
      for (let cell = Math.floor(d); cell < d + CAR; cell++) if (cell >= 0 && cell < P) s[l * P + cell] = Math.min(s[l * P + cell], c.v);
    }
    return Array.from(s);
  }

  /** One step with the agent's action; returns its reward, its speed (0 … 1). */
  step(action) {
    const a = this.agent;
    if (action === 1) a.v = Math.min(1, a.v + ACCEL);
    else if (action === 2) a.v = Math.max(0, a.v - ACCEL);
    else if (action === 3 || action === 4) {
      const lane = a.lane + (action === 3 ? -1 : 1);
      if (lane >= 0 && lane < this.lanes && this.free(lane, a.pos, 1.5 * CAR, a)) a.lane = lane;
    }
    for (const c of this.cars) {
      // now and then a car changes lanes where there is room
      if (this.rnd() < 0.004) {
        const lane = c.lane + (this.rnd() < 0.5 ? -1 : 1);
        if (lane >= 0 && lane < this.lanes && this.free(lane, c.pos, 2 * CAR, c)) c.lane = lane;
      }
      c.v = Math.min(c.cruise, c.v + ACCEL);
    }
    // the safety system, twice over, so a slowdown reaches the cars behind within the step
    for (let pass = 0; pass < 2; pass++) {
      a.v = Traffic.safe(a.v, this.leader(a));
      for (const c of this.cars) c.v = Traffic.safe(c.v, this.leader(c));
    }
    a.pos = (a.pos + a.v) % this.length;
    for (const c of this.cars) c.pos = (c.pos + c.v) % this.length;
    return a.v;
  }

  get mph() {
    return this.agent.v * MAX_MPH;
  }
}
