// Learning-rate schedules: functions of (step, epoch) giving the learning rate.
import { ConfigError, checkOptionKeys, show } from "../errors.js";

const pos = (v: unknown, what: string) => {
  if (!(typeof v === "number" && Number.isFinite(v) && v > 0)) throw new ConfigError(`schedule: ${what} must be > 0, got ${show(v)}`);
  return v;
};
/** A count of steps or epochs: a whole number >= 1 (`hint`: what a value that is not says). */
const count = (v: unknown, what: string, hint = "") => {
  if (!(typeof v === "number" && Number.isInteger(v) && v >= 1)) throw new ConfigError(`schedule: ${what} must be a whole number >= 1, got ${show(v)}${hint}`);
  return v;
};

/** lr · gamma^⌊epoch / every⌋. */
export const stepDecay = (lr: number, o: { every: number; gamma?: number }) => {
  checkOptionKeys("stepDecay", o, ["every", "gamma"]);
  pos(lr, "lr");
  count(o.every, "every");
  const g = pos(o.gamma ?? 0.1, "gamma");
  return (_s: number, epoch: number) => lr * g ** Math.floor(epoch / o.every);
};

/** lr · rate^(step / steps). */
export const exponentialDecay = (lr: number, o: { rate: number; steps: number }) => {
  checkOptionKeys("exponentialDecay", o, ["rate", "steps"]);
  pos(lr, "lr");
  pos(o.steps, "steps");
  pos(o.rate, "rate");
  return (step: number, _epoch?: number) => lr * o.rate ** (step / o.steps);
};

/** Cosine from lr to minLr over totalSteps, then minLr. */
export const cosineDecay = (lr: number, o: { totalSteps: number; minLr?: number }) => {
  checkOptionKeys("cosineDecay", o, ["totalSteps", "minLr"]);
  pos(lr, "lr");
  count(o.totalSteps, "totalSteps");
  const m = o.minLr ?? 0;
  if (!(typeof m === "number" && m >= 0 && m <= lr)) throw new ConfigError(`schedule: minLr must be in [0, lr ${lr}], got ${show(m)}`);
  return (step: number, _epoch?: number) => m + (lr - m) * 0.5 * (1 + Math.cos(Math.PI * Math.min(step, o.totalSteps) / o.totalSteps));
};

/** Linear warmup from 0 over warmupSteps, then `after` (a number or another schedule). */
export const warmup = (warmupSteps: number, after: number | ((step: number, epoch: number) => number)) => {
  count(warmupSteps, "warmupSteps", " (warmup(steps, after): the steps come first, then the rate or schedule after them)");
  if (typeof after === "number") pos(after, "the rate after the warm-up");
  else if (typeof after !== "function") throw new ConfigError(`schedule: warmup's rate after the warm-up must be a number or a schedule, got ${show(after)}`);
  return (step: number, epoch: number) => {
    const base = typeof after === "number" ? after : after(step, epoch);
    return step < warmupSteps ? (base * (step + 1)) / warmupSteps : base;
  };
};

/**
 * One cycle (Smith & Topin 2018), as PyTorch's `OneCycleLR` with cosine annealing: from
 * lr / divFactor up to lr over the first pctStart of totalSteps, then down to
 * lr / divFactor / finalDivFactor at the last step (and there after it). Defaults are PyTorch's.
 */
export const oneCycle = (lr: number, o: { totalSteps: number; pctStart?: number; divFactor?: number; finalDivFactor?: number }) => {
  checkOptionKeys("oneCycle", o, ["totalSteps", "pctStart", "divFactor", "finalDivFactor"]);
  pos(lr, "lr");
  count(o.totalSteps, "totalSteps");
  const pct = o.pctStart ?? 0.3, div = pos(o.divFactor ?? 25, "divFactor"), finalDiv = pos(o.finalDivFactor ?? 1e4, "finalDivFactor");
  if (!(typeof pct === "number" && pct > 0 && pct < 1)) throw new ConfigError(`schedule: pctStart must be between 0 and 1, got ${show(pct)}`);
  const up = pct * o.totalSteps - 1, last = o.totalSteps - 1;
  if (!(up > 0 && last > up)) throw new ConfigError(`schedule: oneCycle over ${o.totalSteps} steps with pctStart ${pct} leaves no room to warm up and anneal (need pctStart · totalSteps > 1 and < totalSteps)`);
  const start = lr / div, end = start / finalDiv;
  const cos = (from: number, to: number, t: number) => to + ((from - to) / 2) * (1 + Math.cos(Math.PI * t));
  return (step: number, _epoch?: number) => {
    const s = Math.min(step, last);
    return s <= up ? cos(start, lr, s / up) : cos(lr, end, (s - up) / (last - up));
  };
};
