import type { Autom8 } from './pipeline/autom8.js';
import type { Feature } from './pipeline/feature.js';

/**
 * Builds a feature from its section of the options (`options[key]`), or returns undefined when the
 * section turns it off. Validates the section and throws naming the bad option.
 */
export type FeatureFactory = (section: unknown, engine: Autom8) => Feature | undefined;

/**
 * Every feature that options can turn on. The engine builds them in this order and runs their
 * request-start decisions by stage (shed → rate limit → cache).
 */
export const FEATURES: readonly { key: string; create: FeatureFactory }[] = [];
