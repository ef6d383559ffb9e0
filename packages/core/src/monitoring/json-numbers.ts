/**
 * How the monitoring endpoints write numbers, so one answer does not mix `241.749023` with `1.2`
 * or show float noise (`0.6000000000000001`): whole numbers (counts, bytes, timestamps) as they
 * are; durations (keys ending in `Ms`) to 3 significant digits, and to the whole ms from 100 ms up;
 * any other fraction (ratios, rates, shares) to 6 significant digits, which removes the noise and
 * keeps a compliance of 0.999951 apart from 1.
 */
export function roundJsonNumber(this: unknown, key: string, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isInteger(value) || !Number.isFinite(value)) return value;
  if (key.endsWith('Ms')) return Math.abs(value) >= 100 ? Math.round(value) : Number(value.toPrecision(3));
  return Number(value.toPrecision(6));
}
