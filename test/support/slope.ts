/** A straight line fitted to samples: `y ≈ intercept + slope · x`. */
export interface LineFit {
  slope: number;
  intercept: number;
  /** Coefficient of determination (1 = every point on the line; 0 = the line explains nothing). */
  r2: number;
}

/**
 * Ordinary least-squares fit of `y` on `x`. The soak test fits memory (MB) on time (minutes), so
 * `slope` reads as growth in MB/min; a least-squares slope over many samples is not fooled by the
 * saw-tooth of garbage collection the way "last minus first" is.
 */
export function fitLine(points: readonly { x: number; y: number }[]): LineFit {
  const n = points.length;
  if (n < 2) throw new RangeError(`a line needs at least 2 points, got ${n}`);
  let sx = 0;
  let sy = 0;
  for (const p of points) {
    sx += p.x;
    sy += p.y;
  }
  const mx = sx / n;
  const my = sy / n;
  // Centred sums: no cancellation when x is a large timestamp.
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const p of points) {
    const dx = p.x - mx;
    const dy = p.y - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx === 0) throw new RangeError('every x is the same: the slope is undefined');
  const slope = sxy / sxx;
  return { slope, intercept: my - slope * mx, r2: syy === 0 ? 1 : (sxy * sxy) / (sxx * syy) };
}
