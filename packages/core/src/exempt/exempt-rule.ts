import { RouteTable } from '../routing/route-table.js';
import type { RequestView } from '../pipeline/request-view.js';
import type { Exchange } from '../pipeline/exchange.js';

/**
 * A user's extra exemption: a route pattern (`'/health'`, `'GET /internal/*'`), matched as the
 * app's router dispatches (see `RouteMatching`), or a predicate given the request and its path
 * (absolute-form targets reduced to their path, not decoded, case as sent).
 */
export type ExemptMatcher = string | ((req: RequestView, path: string) => boolean);

/**
 * The one rule that says a request is never rate-limited, shed or cached: what the user lists (the
 * monitoring endpoints, looked up first by the engine, are exempt too). Every feature asks this
 * rule (through `Exchange.exempt`, set once per request by the engine), never a copy of its own.
 */
export class ExemptRule {
  private readonly patterns = new RouteTable<true>();
  private readonly predicates: ((req: RequestView, path: string) => boolean)[] = [];

  constructor(extra: readonly ExemptMatcher[], optionPath = 'exempt') {
    extra.forEach((m, i) => {
      if (typeof m === 'function') this.predicates.push(m);
      else this.patterns.add(m, true, `${optionPath}[${i}]`);
    });
  }

  /** True when the request must never be limited, shed or cached. */
  isExempt(ex: Exchange): boolean {
    if (this.patterns.size > 0 && this.patterns.lookup(ex) !== undefined) return true;
    for (let i = 0; i < this.predicates.length; i++) {
      try {
        if (this.predicates[i]!(ex.req, ex.path)) return true;
      } catch {
        // a throwing user predicate does not take the request down; it simply does not exempt
      }
    }
    return false;
  }
}
