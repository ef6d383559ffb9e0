/**
 * Request priorities, most important first. Monitoring and exempt requests are never shed at all
 * (the engine's exempt rule); among the rest, `critical` is shed last.
 */
export type ShedPriority = 'critical' | 'high' | 'normal' | 'low';

/** Priorities by index (0 = critical … 3 = low), the order the probabilities are kept in. */
export const PRIORITIES: readonly ShedPriority[] = Object.freeze(['critical', 'high', 'normal', 'low']);

/** Index of a priority in {@link PRIORITIES}; unknown values count as `normal`. */
export function priorityIndex(p: unknown): number {
  switch (p) {
    case 'critical':
      return 0;
    case 'high':
      return 1;
    case 'low':
      return 3;
    default:
      return 2;
  }
}

/**
 * Shedding probability of each priority at `load`, written into `out` (indexed like
 * {@link PRIORITIES}). With x = (load − soft) / (hard − soft) clamped to [0, 1]:
 * low sheds at 2x, normal at x, high at 2x − 1 (so below the hard threshold low goes first and high
 * last, and at it all three are shed), critical only above the hard threshold, ramping to 1 at
 * load 1. Probabilities rather than a cliff, so the admitted rate eases down as load rises.
 */
export function shedProbabilities(load: number, soft: number, hard: number, out: number[]): void {
  const x = clamp01((load - soft) / (hard - soft));
  out[0] = hard >= 1 ? 0 : clamp01((load - hard) / (1 - hard));
  out[1] = clamp01(2 * x - 1);
  out[2] = x;
  out[3] = clamp01(2 * x);
}

function clamp01(v: number): number {
  return v <= 0 || Number.isNaN(v) ? 0 : v >= 1 ? 1 : v;
}
