/** One file's check: it matches PyTorch within the bound (worst: max |Δ| / max |y|; d64: fovea's and PyTorch float32's distance from float64), or why not. */
export type Check = { ok: boolean; worst?: number; d64?: [number, number] | null; error?: string };
/** One engine's timing of one file: a median, or why the engine cannot run it. */
export type Timing = { median_ms: number; samples?: number; version?: string; error?: undefined } | { error: string };
export interface Times {
  engines: string[];
  files: Map<string, { file: string; opset: string }>;
  byEngine: Map<string, Map<string, Timing>>;
}
export function zooTable(rows: Map<string, Map<string, Check>>, times?: Times | null): string[];
