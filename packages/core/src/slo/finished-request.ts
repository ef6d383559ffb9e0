import { parsePattern } from '../routing/route-table.js';

/**
 * Values keyed by `'METHOD /template'` (or `'/template'` for any method), looked up with the
 * request's method and route template: two Map reads, no string building per request.
 */
export class RouteKeyMap<T> {
  private readonly byMethod = new Map<string, Map<string, T>>();

  /** Adds or replaces the value of `pattern`; throws naming `optionPath` when it is malformed. */
  set(pattern: string, value: T, optionPath: string): void {
    const { method, path } = parsePattern(pattern, optionPath);
    let routes = this.byMethod.get(method);
    if (routes === undefined) this.byMethod.set(method, (routes = new Map<string, T>()));
    routes.set(path, value);
  }

  /** The value for `'METHOD /template'` as given to {@link set}. */
  getPattern(pattern: string): T | undefined {
    const { method, path } = parsePattern(pattern);
    return this.byMethod.get(method)?.get(path);
  }

  /** The value for this method and template (a method-specific entry beats an any-method one). */
  get(method: string, route: string): T | undefined {
    const hit = this.byMethod.get(method)?.get(route);
    return hit !== undefined ? hit : this.byMethod.get('*')?.get(route);
  }

  /** The method-specific value, then the any-method one, for patterns that both apply. */
  both(method: string, route: string): [T | undefined, T | undefined] | undefined {
    const a = this.byMethod.get(method)?.get(route);
    const b = this.byMethod.get('*')?.get(route);
    return a === undefined && b === undefined ? undefined : [a, b];
  }

  get size(): number {
    let n = 0;
    for (const m of this.byMethod.values()) n += m.size;
    return n;
  }
}
