// Small statistics for the bench: percentiles, medians, spreads over repeated runs, targets and rounding.

/** The p-th percentile (0–100) by nearest rank; NaN for no values. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

/** The median (the lower middle value for an even count). */
export function median(values: readonly number[]): number {
  return percentile(values, 50);
}

/** Rounds to `digits` decimals. */
export function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** One figure over repeated runs: its median and its spread (min–max), with the run count. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  readonly runs: number;
}

/** The median and min–max of one figure's per-run values, rounded to `digits`. */
export function spread(values: readonly number[], digits = 2): Spread {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, runs: 0 };
  return {
    median: round(median(values), digits),
    min: round(Math.min(...values), digits),
    max: round(Math.max(...values), digits),
    runs: values.length,
  };
}

/** `median (min–max, n runs)`, each value passed through `format`. */
export function formatSpread(s: Spread, format: (value: number) => string = String): string {
  return `${format(s.median)} (${format(s.min)}–${format(s.max)}, ${s.runs} runs)`;
}

/** A target a figure is held to: at most or at least `limit`, or strictly below it. */
export interface Target {
  readonly op: "<=" | ">=" | "<";
  readonly limit: number;
}

/** Whether `value` meets `target`; NaN never does. */
export function meets(value: number, target: Target): boolean {
  if (Number.isNaN(value)) return false;
  if (target.op === "<=") return value <= target.limit;
  if (target.op === ">=") return value >= target.limit;
  return value < target.limit;
}

/** `MET` or `MISSED`. */
export function verdict(met: boolean): "MET" | "MISSED" {
  return met ? "MET" : "MISSED";
}
