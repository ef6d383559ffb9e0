import { InvalidOptionError } from '../util/errors.js';
import type { Exchange } from '../pipeline/exchange.js';
import type { RouteMatching } from './request-target.js';

/**
 * A small segment trie from route patterns to values, for knowing a request's route at request
 * start (before the framework routes it) and for naming requests that end before routing.
 *
 * Patterns are `'METHOD /path'` or `'/path'` (any method). Segments are static text, `:param`
 * (one segment) or a trailing `*` / `*name` (the rest of the path). Static beats param beats
 * wildcard, as in the routers people use. A request is matched as the app's router dispatches it
 * (see {@link RouteMatching}): HEAD by GET patterns unless a HEAD pattern matches, case folded
 * unless routes are case sensitive, a trailing slash ignored unless routing is strict. Built once;
 * matching allocates nothing but the segment strings it compares.
 */
export class RouteTable<T> {
  /** Patterns by method, static segments as written (case-sensitive routing). */
  private readonly roots = new Map<string, TrieNode<T>>();
  /** The same patterns with static segments in lower case (case-insensitive routing). */
  private readonly foldedRoots = new Map<string, TrieNode<T>>();
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
    const { method, path, slash } = parseRulePattern(pattern, optionPath);
    const segments = path === '/' ? [] : path.split('/').slice(1);
    const wildcard = segments.findIndex((seg) => seg.startsWith('*'));
    if (wildcard !== -1 && wildcard !== segments.length - 1) {
      throw new InvalidOptionError(optionPath, 'a route whose wildcard (*) is the last segment', pattern);
    }
    if (segments.some((seg) => seg === ':')) throw new InvalidOptionError(optionPath, 'a route whose :params are named', pattern);
    if (insert(this.roots, method, segments, value, slash, false)) this.size_++;
    insert(this.foldedRoots, method, segments, value, slash, true);
  }

  /**
   * The value of the best pattern matching `method` and `path` (taken as written: case-sensitive,
   * non-strict), or undefined. For a request, use {@link lookup}.
   */
  match(method: string, path: string): T | undefined {
    return this.find(this.roots, method, path, false);
  }

  /**
   * The value of the best pattern for this request as the app's router would dispatch it: its
   * {@link Exchange.rulePath} under its {@link Exchange.routing}, for `method` (default the
   * request's own; the cache asks for GET).
   */
  lookup(ex: Exchange, method: string = ex.method): T | undefined {
    const m: RouteMatching = ex.routing;
    return this.find(m.caseSensitive ? this.roots : this.foldedRoots, method, ex.rulePath, m.strict);
  }

  private find(roots: Map<string, TrieNode<T>>, method: string, path: string, strict: boolean): T | undefined {
    const specific = roots.get(method);
    if (specific !== undefined) {
      const hit = matchFrom(specific, path, 1, strict);
      if (hit !== undefined) return hit.value;
    }
    // Both routers run a GET route's handler for HEAD when no HEAD route matches.
    if (method === 'HEAD') {
      const get = roots.get('GET');
      if (get !== undefined) {
        const hit = matchFrom(get, path, 1, strict);
        if (hit !== undefined) return hit.value;
      }
    }
    const any = roots.get('*');
    if (any !== undefined) {
      const hit = matchFrom(any, path, 1, strict);
      if (hit !== undefined) return hit.value;
    }
    return undefined;
  }
}

/** Adds one pattern's segments under `method`; true when it is a new pattern there. */
function insert<T>(roots: Map<string, TrieNode<T>>, method: string, segments: readonly string[], value: T, slash: boolean, fold: boolean): boolean {
  let node = roots.get(method);
  if (node === undefined) roots.set(method, (node = new TrieNode<T>()));
  for (const seg of segments) {
    if (seg.startsWith('*')) {
      const added = node.wildcard === undefined;
      node.wildcard = { value };
      return added;
    }
    if (seg.startsWith(':')) {
      node = node.param ?? (node.param = new TrieNode<T>());
    } else {
      const key = fold ? seg.toLowerCase() : seg;
      let next = node.statics.get(key);
      if (next === undefined) node.statics.set(key, (next = new TrieNode<T>()));
      node = next;
    }
  }
  if (slash) {
    const added = node.slashTerminal === undefined;
    node.slashTerminal = { value };
    return added;
  }
  const added = node.terminal === undefined;
  node.terminal = { value };
  return added;
}

class TrieNode<T> {
  readonly statics = new Map<string, TrieNode<T>>();
  param: TrieNode<T> | undefined;
  /** A pattern ending here without a trailing slash (`/x`). */
  terminal: { value: T } | undefined;
  /** A pattern ending here with a trailing slash (`/x/`): the same route unless routing is strict. */
  slashTerminal: { value: T } | undefined;
  wildcard: { value: T } | undefined;
}

function matchFrom<T>(node: TrieNode<T>, path: string, start: number, strict: boolean): { value: T } | undefined {
  // End of path: `start` is past the end, or at it when the path ends with a slash (but `/` itself).
  if (start >= path.length) {
    const trailingSlash = start === path.length && path.length > 1;
    if (strict) return (trailingSlash ? node.slashTerminal : node.terminal) ?? node.wildcard;
    return node.terminal ?? node.slashTerminal ?? node.wildcard;
  }
  let end = path.indexOf('/', start);
  if (end === -1) end = path.length;
  const seg = path.slice(start, end);
  const st = node.statics.get(seg);
  if (st !== undefined) {
    const hit = matchFrom(st, path, end + 1, strict);
    if (hit !== undefined) return hit;
  }
  if (node.param !== undefined && seg.length > 0) {
    const hit = matchFrom(node.param, path, end + 1, strict);
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

/** {@link parsePattern}, plus whether the pattern ends with a slash (a different route under strict routing). */
function parseRulePattern(pattern: string, optionPath: string): { method: string; path: string; slash: boolean } {
  const { method, path } = parsePattern(pattern, optionPath);
  return { method, path, slash: path !== '/' && pattern.trim().endsWith('/') };
}
