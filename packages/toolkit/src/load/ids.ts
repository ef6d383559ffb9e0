import { UsageError } from './parse.js';

/**
 * Pulls IDs out of a JSON document along `path`: dot-separated keys, `*` (or `[]`) for "every
 * element". Without a path: a top-level array's elements (their `id` when they are objects), or the
 * first array property of a top-level object (e.g. `{ "items": [...] }`).
 *
 * @example extractIds({ data: [{ id: 1 }, { id: 2 }] }, 'data.*.id') → ['1', '2']
 */
export function extractIds(doc: unknown, path?: string): string[] {
  let nodes: unknown[];
  if (path === undefined || path === '') {
    let arr: unknown = doc;
    if (!Array.isArray(doc) && doc !== null && typeof doc === 'object') arr = Object.values(doc).find(Array.isArray);
    if (!Array.isArray(arr)) return [];
    nodes = (arr as unknown[]).map((e) => (e !== null && typeof e === 'object' && 'id' in e ? e.id : e));
  } else {
    nodes = [doc];
    for (const seg of path
      .replace(/\[\]/g, '.*')
      .split('.')
      .filter((s) => s !== '')) {
      const next: unknown[] = [];
      for (const n of nodes) {
        if (seg === '*') {
          if (Array.isArray(n)) next.push(...(n as unknown[]));
          else if (n !== null && typeof n === 'object') next.push(...(Object.values(n) as unknown[]));
        } else if (n !== null && typeof n === 'object' && seg in n) {
          next.push((n as Record<string, unknown>)[seg]);
        }
      }
      nodes = next;
    }
  }
  const ids: string[] = [];
  for (const n of nodes) if (typeof n === 'string' || (typeof n === 'number' && Number.isFinite(n))) ids.push(String(n));
  return [...new Set(ids)];
}

/**
 * Fetches a JSON list endpoint and returns the IDs found along `path` (see {@link extractIds}).
 * Throws a {@link UsageError} when it is unreachable, not JSON, or yields no IDs.
 */
export async function discoverIds(url: string, path?: string, headers?: Record<string, string>): Promise<string[]> {
  let res: Response;
  try {
    res = await fetch(url, { headers: { accept: 'application/json', ...headers }, signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new UsageError(`cannot fetch IDs from ${url}: ${describeNetworkError(err)}`);
  }
  if (!res.ok) throw new UsageError(`cannot fetch IDs from ${url}: HTTP ${res.status}`);
  let doc: unknown;
  try {
    doc = await res.json();
  } catch {
    throw new UsageError(`cannot fetch IDs from ${url}: the response is not JSON`);
  }
  const ids = extractIds(doc, path);
  if (ids.length === 0) throw new UsageError(`no IDs found in ${url}${path ? ` at '${path}'` : ''} (give --ids-path, e.g. 'items.*.id')`);
  return ids;
}

/** One line describing a fetch/http error (`connection refused`, `host not found`…). */
export function describeNetworkError(err: unknown): string {
  const e = err as { code?: string; cause?: { code?: string; message?: string }; name?: string; message?: string };
  const code = e?.code ?? e?.cause?.code;
  switch (code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    case 'ECONNRESET':
      return 'connection reset';
    case 'ETIMEDOUT':
    case 'UND_ERR_CONNECT_TIMEOUT':
      return 'timed out';
  }
  if (e?.name === 'TimeoutError') return 'timed out';
  return code ?? e?.cause?.message ?? e?.message ?? String(err);
}
