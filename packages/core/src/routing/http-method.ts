/**
 * HTTP methods as OTel's semantic conventions name them. Anything else is reported as `_OTHER`, so
 * that a client sending random methods cannot create series or attribute values.
 */
const KNOWN = ['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE', 'QUERY'] as const;

/** A method name we keep as is, or `_OTHER`. */
export type NormalizedMethod = (typeof KNOWN)[number] | '_OTHER';

const known = new Set<string>(KNOWN);

/** Upper-cases known methods (node already does) and folds the rest into `_OTHER`. */
export function normalizeMethod(method: string | undefined): NormalizedMethod {
  if (method === undefined) return '_OTHER';
  if (known.has(method)) return method as NormalizedMethod;
  const upper = method.toUpperCase();
  return known.has(upper) ? (upper as NormalizedMethod) : '_OTHER';
}

/** The method as a span name starts with it: `HTTP` for `_OTHER`, as the HTTP semantic conventions say. */
export function spanMethod(method: NormalizedMethod): string {
  return method === '_OTHER' ? 'HTTP' : method;
}
