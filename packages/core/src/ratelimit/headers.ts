import type { ConsumeResult, LimitPolicy } from '../store/contracts.js';
import { InvalidOptionError } from '../util/errors.js';

/**
 * Which rate-limit header fields to send:
 * - `'draft-10'` (default): draft-ietf-httpapi-ratelimit-headers-10 structured fields, every policy in
 *   one `RateLimit-Policy` (`"default";q=5000;w=60, "login";q=5;w=60`) and every applied limit in
 *   one `RateLimit` (`"default";r=4999;t=60, "login";r=4;t=60`);
 * - `'draft-7'`: `RateLimit-Policy: 5000;w=60` and `RateLimit: limit=5, remaining=4, reset=60`
 *   (the most restrictive limit);
 * - `'draft-6'`: `RateLimit-Policy` plus `RateLimit-Limit` / `-Remaining` / `-Reset`;
 * - `'legacy'`: `X-RateLimit-Limit` / `-Remaining` / `-Reset` (reset as epoch seconds).
 * An array combines formats; `false` sends none (Retry-After on a 429 is always sent).
 */
export type HeaderFormat = 'draft-10' | 'draft-7' | 'draft-6' | 'legacy';

const FORMATS: readonly HeaderFormat[] = ['draft-10', 'draft-7', 'draft-6', 'legacy'];

/** Validates the `headers` option into a list of formats. */
export function resolveHeaderFormats(path: string, value: unknown): readonly HeaderFormat[] {
  if (value === undefined) return ['draft-10'];
  if (value === false) return [];
  const list = Array.isArray(value) ? value : [value];
  list.forEach((f, i) => {
    if (!FORMATS.includes(f as HeaderFormat)) {
      throw new InvalidOptionError(Array.isArray(value) ? `${path}[${i}]` : path, `false or one of ${FORMATS.map((x) => `'${x}'`).join(', ')}`, f);
    }
  });
  if (list.includes('draft-10') && (list.includes('draft-7') || list.includes('draft-6'))) {
    // both would write a different RateLimit-Policy syntax into the same field
    throw new InvalidOptionError(path, "either 'draft-10' or the older drafts, not both", value);
  }
  return list as HeaderFormat[];
}

function seconds(ms: number): number {
  return ms <= 0 ? 0 : Math.ceil(ms / 1000);
}

/** Where header fields go: a `ServerResponse`, or anything with the same `setHeader`. */
export interface HeaderTarget {
  setHeader(name: string, value: string): unknown;
}

/**
 * Writes the header fields of a set of policies (the limits that apply to one route). Everything
 * that does not depend on the counters (the policy fields) is built once, here.
 */
export class HeaderSet {
  private readonly draft10: boolean;
  private readonly draft7: boolean;
  private readonly draft6: boolean;
  private readonly legacy: boolean;
  /** The `RateLimit-Policy` value of the newest draft (all policies), or undefined. */
  readonly policy10: string | undefined;
  /** The `RateLimit-Policy` value of drafts 6/7. */
  readonly policy7: string | undefined;
  /** Per policy, its draft-10 `RateLimit` item up to the remaining count: `"default";r=`. */
  private readonly items: readonly string[];
  /** True when {@link write} needs the clock (the legacy reset is an epoch time). */
  readonly needsClock: boolean;

  constructor(formats: readonly HeaderFormat[], policies: readonly LimitPolicy[]) {
    this.draft10 = formats.includes('draft-10');
    this.draft7 = formats.includes('draft-7');
    this.draft6 = formats.includes('draft-6');
    this.legacy = formats.includes('legacy');
    this.needsClock = this.legacy;
    this.items = policies.map((p) => `"${p.name}";r=`);
    const q = (p: LimitPolicy) => (Number.isInteger(p.limit) ? p.limit : Math.floor(p.limit));
    const w = (p: LimitPolicy) => Math.max(1, Math.round(p.windowMs / 1000));
    this.policy10 = this.draft10 ? policies.map((p) => `"${p.name}";q=${q(p)};w=${w(p)}`).join(', ') : undefined;
    this.policy7 = this.draft7 || this.draft6 ? policies.map((p) => `${q(p)};w=${w(p)}`).join(', ') : undefined;
  }

  /** True when no header is sent at all. */
  get empty(): boolean {
    return !this.draft10 && !this.draft7 && !this.draft6 && !this.legacy;
  }

  /**
   * Sets every field on `target` (the response, or a reply's header collector), given the results
   * of the applied policies in the order given at construction (undefined: not consumed). `now` is
   * read only when {@link needsClock}.
   */
  // eslint-disable-next-line @typescript-eslint/unbound-method -- always called as setHeader.call(target, …)
  write(results: readonly (ConsumeResult | undefined)[], now: number, target: HeaderTarget, setHeader: HeaderTarget['setHeader'] = target.setHeader): void {
    // `setHeader` is looked up once, then called on `target` for each field.
    if (this.draft10) {
      setHeader.call(target, 'ratelimit-policy', this.policy10!);
      let rl = '';
      for (let i = 0; i < results.length; i++) {
        const r = results[i];
        if (r === undefined) continue;
        const item = `${this.items[i]}${r.remaining};t=${seconds(r.allowed ? r.resetMs : Math.max(r.resetMs, r.retryAfterMs))}`;
        rl = rl === '' ? item : `${rl}, ${item}`;
      }
      setHeader.call(target, 'ratelimit', rl);
    }
    if (this.draft7 || this.draft6 || this.legacy) {
      const r = mostRestrictive(results);
      if (r === undefined) return;
      const reset = seconds(r.allowed ? r.resetMs : Math.max(r.resetMs, r.retryAfterMs));
      if (this.draft7) {
        setHeader.call(target, 'ratelimit-policy', this.policy7!);
        setHeader.call(target, 'ratelimit', `limit=${r.limit}, remaining=${r.remaining}, reset=${reset}`);
      }
      if (this.draft6) {
        setHeader.call(target, 'ratelimit-policy', this.policy7!);
        setHeader.call(target, 'ratelimit-limit', String(r.limit));
        setHeader.call(target, 'ratelimit-remaining', String(r.remaining));
        setHeader.call(target, 'ratelimit-reset', String(reset));
      }
      if (this.legacy) {
        setHeader.call(target, 'x-ratelimit-limit', String(r.limit));
        setHeader.call(target, 'x-ratelimit-remaining', String(r.remaining));
        setHeader.call(target, 'x-ratelimit-reset', String(Math.ceil(now / 1000) + reset));
      }
    }
  }
}

/** The result with the least remaining (a denied one first). */
function mostRestrictive(results: readonly (ConsumeResult | undefined)[]): ConsumeResult | undefined {
  let best: ConsumeResult | undefined;
  for (let i = 0; i < results.length; i++) {
    const r = results[i];
    if (r === undefined) continue;
    if (best === undefined || (best.allowed && !r.allowed) || (best.allowed === r.allowed && r.remaining < best.remaining)) best = r;
  }
  return best;
}
