import { createHash, timingSafeEqual } from 'node:crypto';
import type { FeatureHost } from '../pipeline/feature-host.js';
import type { Exchange } from '../pipeline/exchange.js';
import type { Feature } from '../pipeline/feature.js';
import type { Reply } from '../pipeline/request-view.js';
import { InvalidOptionError } from '../util/errors.js';
import * as v from '../util/validate.js';
import { captureCpuProfileFor, isCpuProfiling, summarizeCpuProfile } from './cpu-profile.js';

/**
 * Options of the `profiler` section: `GET {prefix}/profile?seconds=N` records a CPU profile of the
 * running process and returns the `.cpuprofile` (or `&format=summary` for the top functions).
 * Off unless the section is given; always exempt; needs the token.
 */
export interface ProfilerOptions {
  /** Default true when the section is given. */
  enabled?: boolean;
  /**
   * Secret callers send as `Authorization: Bearer <token>` or `x-autom8-token` (either may carry
   * it; `monitoring.authorize` is checked too, before this). Required, at
   * least 16 characters: a profile exposes function names and source paths.
   */
  token: string;
  /** Longest profile a request may ask for, seconds. Default 30. */
  maxSeconds?: number;
  /** Duration when `seconds` is not given. Default 5. */
  defaultSeconds?: number;
  /** Sampling interval, microseconds. Default 1000. */
  samplingIntervalUs?: number;
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** Builds the profiler feature from `options.profiler`, or undefined when it is off. */
export function createProfilerFeature(section: unknown, engine: FeatureHost): Feature | undefined {
  const o = v.optionalObject('profiler', section);
  if (o === undefined) return undefined;
  v.knownKeys('profiler', o, ['enabled', 'token', 'maxSeconds', 'defaultSeconds', 'samplingIntervalUs']);
  if (!v.boolean('profiler.enabled', o.enabled, true)) return undefined;
  if (typeof o.token !== 'string' || o.token.length < 16) {
    throw new InvalidOptionError(
      'profiler.token',
      'a string of at least 16 characters',
      o.token === undefined ? undefined : typeof o.token === 'string' ? '(too short)' : o.token,
    );
  }
  const maxSeconds = v.numberInRange('profiler.maxSeconds', o.maxSeconds, 30, 0.1, 600);
  const defaultSeconds = v.numberInRange('profiler.defaultSeconds', o.defaultSeconds, Math.min(5, maxSeconds), 0.1, maxSeconds);
  const samplingIntervalUs = v.numberInRange('profiler.samplingIntervalUs', o.samplingIntervalUs, 1000, 10, 100_000);
  // Compare digests: equal lengths for timingSafeEqual, and no early exit revealing the prefix.
  const expected = digest(o.token);
  const logger = engine.logger;
  let taken = 0;
  let refused = 0;

  function reply(status: number, body: unknown, extra?: Record<string, string>): Reply {
    return { status, headers: { 'content-type': JSON_TYPE, 'cache-control': 'no-store', ...extra }, body: JSON.stringify(body) };
  }

  function handle(ex: Exchange): Reply | Promise<Reply> {
    // HEAD must not start a profile as a side effect.
    if (ex.method !== 'GET') return reply(405, { error: 'use GET' }, { allow: 'GET' });
    // Either header may carry the token: with `monitoring.authorize` reading a bearer token of its
    // own, the profiler's comes in `x-autom8-token`.
    const auth = ex.header('authorization');
    const bearer = auth !== undefined && auth.startsWith('Bearer ') ? auth.slice(7) : undefined;
    const other = ex.header('x-autom8-token');
    if (!(bearer !== undefined && timingSafeEqual(digest(bearer), expected)) && !(other !== undefined && timingSafeEqual(digest(other), expected))) {
      refused++;
      return reply(401, { error: 'a valid profiler token is required' }, { 'www-authenticate': 'Bearer' });
    }
    const params = new URLSearchParams(ex.query);
    const s = params.get('seconds');
    const seconds = s === null ? defaultSeconds : Number(s);
    if (!(seconds > 0 && seconds <= maxSeconds)) return reply(400, { error: `seconds must be a number in (0, ${maxSeconds}]` });
    const format = params.get('format') ?? 'cpuprofile';
    if (format !== 'cpuprofile' && format !== 'summary') return reply(400, { error: "format must be 'cpuprofile' or 'summary'" });
    if (isCpuProfiling()) return reply(409, { error: 'a CPU profile is already being recorded' });
    logger.info({ seconds, client: engine.clientAddress(ex) }, 'autom8: CPU profile requested');
    return captureCpuProfileFor(seconds * 1000, { samplingIntervalUs }).then((profile) => {
      taken++;
      if (format === 'summary') return reply(200, summarizeCpuProfile(profile, 20));
      return reply(200, profile, { 'content-disposition': `attachment; filename="autom8-${process.pid}-${Date.now()}.cpuprofile"` });
    });
  }

  engine.addMonitoringEndpoint('/profile', handle);
  return {
    name: 'profiler',
    stage: 0,
    snapshot: () => ({ busy: isCpuProfiling(), profilesTaken: taken, unauthorized: refused, maxSeconds }),
  };
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}
