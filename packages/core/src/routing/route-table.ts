import { InvalidOptionError } from '../util/errors.js';

/**
 * A small segment trie from route patterns to values, for knowing a request's route at request
 * start (before the framework routes it) and for naming requests that end before routing.
 *
 * Patterns are `'METHOD /path'` or `'/path'` (any method). Segments are static text, `:param`
 * (one segment) or a trailing `*` / `*name` (the rest of the path). Static beats param beats
 * wildcard, as in the routers people use. Built once; matching allocates nothing but the segment
 * strings it compares.
 */
export class RouteTable<T> {
  private readonly roots = new Map<string, TrieNode<T>>();
  private size_ = 0;

  /** Number of patterns added. */
  get size(): number {
    return this.size_;
  }

  /**
   * Adds a pattern. Throws if it is malformed (naming `optionPath`); a later add of the same
   * pattern replaces the value.
   */
  add(pattern: string, value: T, optionPath = 'route'): void {
    const { method, path } = parsePattern(pattern, optionPath);
    let node = this.roots.get(method);
    if (node === undefined) this.roots.set(method, (node = new TrieNode<T>()));
    const segments = path === '/' ? [] : path.split('/').slice(1);
    for (let i = 0; i < segments.length; i++) {
      const seg = segments[i]!;
      if (seg.startsWith('*')) {
        if (i !== segments.length - 1) {
          throw new InvalidOptionError(optionPath, 'a route whose wildcard (*) is the last segment', pattern);
        }
        if (node.wildcard === undefined) this.size_++;
        node.wildcard = { value };
        return;
      }
      if (seg.startsWith(':')) {
        if (seg.length === 1) throw new InvalidOptionError(optionPath, 'a route whose :params are named', pattern);
        node = node.param ?? (node.param = new TrieNode<T>());
      } else {
        let next = node.statics.get(seg);
        if (next === undefined) node.statics.set(seg, (next = new TrieNode<T>()));
        node = next;
      }
    }
    if (node.terminal === undefined) this.size_++;
    node.terminal = { value };
  }

  /** The value of the best pattern matching `method` and `path`, or undefined. */
  match(method: string, path: string): T | undefined {
    const specific = this.roots.get(method);
    if (specific !== undefined) {
      const hit = matchFrom(specific, path, 1);
      if (hit !== undefined) return hit.value;
    }
    const any = this.roots.get('*');
    if (any !== undefined) {
      const hit = matchFrom(any, path, 1);
      if (hit !== undefined) return hit.value;
    }
    return undefined;
  }
}

class TrieNode<T> {
  readonly statics = new Map<string, TrieNode<T>>();
  param: TrieNode<T> | undefined;
  terminal: { value: T } | undefined;
  wildcard: { value: T } | undefined;
}

function matchFrom<T>(node: TrieNode<T>, path: string, start: number): { value: T } | undefined {
  // End of path (a trailing slash counts as the end, as in non-strict routers).
  if (start >= path.length) return node.terminal ?? node.wildcard;
  let end = path.indexOf('/', start);
  if (end === -1) end = path.length;
  const seg = path.slice(start, end);
  const st = node.statics.get(seg);
  if (st !== undefined) {
    const hit = matchFrom(st, path, end + 1);
    if (hit !== undefined) return hit;
  }
  if (node.param !== undefined && seg.length > 0) {
    const hit = matchFrom(node.param, path, end + 1);
    if (hit !== undefined) return hit;
  }
  return node.wildcard;
}

const METHOD_RE = /^[A-Z]+$|^\*$/;

/** Splits `'GET /users/:id'` into method and path; `'/x'` means any method (`*`). */
export function parsePattern(pattern: string, optionPath = 'route'): { method: string; path: string } {
  if (typeof pattern !== 'string') throw new InvalidOptionError(optionPath, "a route pattern string like 'GET /users/:id'", pattern);
  const trimmed = pattern.trim();
  const space = trimmed.indexOf(' ');
  const method = space === -1 ? '*' : trimmed.slice(0, space).toUpperCase();
  const path = space === -1 ? trimmed : trimmed.slice(space + 1).trim();
  if (!METHOD_RE.test(method) || !path.startsWith('/')) {
    throw new InvalidOptionError(optionPath, "a route pattern like 'GET /users/:id' or '/health'", pattern);
  }
  const normalized = path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
  return { method, path: normalized };
}
