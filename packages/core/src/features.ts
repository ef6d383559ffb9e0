import type { FeatureHost } from './pipeline/feature-host.js';
import type { Feature } from './pipeline/feature.js';
import { createDashboard } from './dashboard/dashboard-feature.js';
import { createSloFeature } from './slo/slo-feature.js';
import { createSlowLogFeature } from './slowlog/slow-log-feature.js';
import { createRateLimitFeature } from './ratelimit/rate-limit-feature.js';
import { createProfilerFeature } from './profiler/profiler-feature.js';
import { createShedFeature } from './shed/shed-feature.js';
import { createResponseCacheFeature } from './cache/cache-feature.js';

/**
 * Builds a feature from its section of the options (`options[key]`), or returns undefined when the
 * section turns it off. Validates the section and throws naming the bad option.
 */
export type FeatureFactory = (section: unknown, engine: FeatureHost) => Feature | undefined;

/**
 * Every feature that options can turn on. The engine builds them in this order and runs their
 * request-start decisions by stage (shed → rate limit → cache).
 */
export const FEATURES: readonly { key: string; create: FeatureFactory }[] = [
  { key: 'profiler', create: createProfilerFeature },
  { key: 'rateLimit', create: createRateLimitFeature },
  { key: 'shed', create: createShedFeature },
  { key: 'cache', create: createResponseCacheFeature },
  { key: 'slo', create: createSloFeature },
  { key: 'slowLog', create: createSlowLogFeature },
  // after 'slo': the page checks whether /metrics/slo exists
  { key: 'dashboard', create: createDashboard },
];
