import type { IncomingHttpHeaders } from 'node:http';
import { LRUCache } from 'lru-cache';
import { entrySize, type MemoryEntry, type StoredResponse } from './response-entry.js';
import { variantKey } from './response-key.js';

/**
 * A stored response, or a Vary marker: when a response varies, its primary key holds a marker
 * (status 0, `vary` = the header names) and the response lives under the variant key.
 */
export type Slot = MemoryEntry;

/** True for a Vary marker. */
export function isMarker(s: StoredResponse): boolean {
  return s.status === 0;
}

/** A Vary marker for `vary`, kept as long as the entry it points to. */
export function markerFor(e: StoredResponse): StoredResponse {
  return {
    status: 0,
    headers: {},
    body: EMPTY,
    etag: undefined,
    storedAt: e.storedAt,
    freshUntil: e.freshUntil,
    revalidateUntil: e.revalidateUntil,
    errorUntil: e.errorUntil,
    tags: [],
    vary: e.vary,
    shareable: false,
    host: undefined,
  };
}
const EMPTY = Buffer.alloc(0);

/**
 * The local tier: an LRU bounded in entries and bytes, with a tag index kept in step with evictions,
 * so `invalidate({ tag })` finds its keys without scanning.
 */
export class ResponseMemory {
  private readonly lru: LRUCache<string, Slot>;
  private readonly byTag = new Map<string, Set<string>>();
  evictions = 0;

  constructor(maxEntries: number, maxBytes: number, maxEntryBytes: number) {
    this.lru = new LRUCache<string, Slot>({
      max: maxEntries,
      maxSize: maxBytes,
      // the body cap is enforced by the capture; headers and key may add a little
      maxEntrySize: Math.min(maxBytes, maxEntryBytes + 64 * 1024),
      sizeCalculation: (e, k) => entrySize(e, k),
      dispose: (e, k, reason) => {
        if (reason === 'evict') this.evictions++;
        for (const t of e.tags) {
          const keys = this.byTag.get(t);
          if (keys !== undefined && keys.delete(k) && keys.size === 0) this.byTag.delete(t);
        }
      },
    });
  }

  /** The response for `primary` (following a Vary marker with the request's headers). */
  lookup(primary: string, headers: IncomingHttpHeaders): Slot | undefined {
    const s = this.lru.get(primary);
    if (s === undefined || s.status !== 0) return s;
    return this.lru.get(variantKey(primary, s.vary!, headers));
  }

  /** The slot at `key` exactly (marker or response). */
  peek(key: string): Slot | undefined {
    return this.lru.get(key);
  }

  /** Stores a response under `primary` (behind a Vary marker when it varies). */
  put(primary: string, e: StoredResponse, headers: IncomingHttpHeaders): void {
    if (e.vary === undefined) {
      this.set(primary, e);
      return;
    }
    const existing = this.lru.peek(primary);
    if (existing === undefined || existing.status !== 0 || existing.vary!.join() !== e.vary.join() || existing.errorUntil < e.errorUntil) {
      this.set(primary, markerFor(e));
    }
    this.set(variantKey(primary, e.vary, headers), e);
  }

  /** Stores at an exact key (a response or marker from the shared tier). */
  set(key: string, e: StoredResponse): void {
    this.lru.set(key, e);
    if (!this.lru.has(key)) return; // too big for the cache: not stored, not indexed
    for (const t of e.tags) {
      let keys = this.byTag.get(t);
      if (keys === undefined) this.byTag.set(t, (keys = new Set()));
      keys.add(key);
    }
  }

  /** Deletes `primary` and its variants. */
  deleteKey(primary: string): number {
    let n = this.lru.delete(primary) ? 1 : 0;
    const variantPrefix = `${primary}\n`;
    for (const key of [...this.lru.keys()]) if (key.startsWith(variantPrefix) && this.lru.delete(key)) n++;
    return n;
  }

  /** Deletes every key starting with `prefix`. */
  deletePrefix(prefix: string): number {
    let n = 0;
    for (const key of [...this.lru.keys()]) if (key.startsWith(prefix) && this.lru.delete(key)) n++;
    return n;
  }

  /** Deletes every response tagged `tag`. */
  deleteTag(tag: string): number {
    const keys = this.byTag.get(tag);
    if (keys === undefined) return 0;
    let n = 0;
    for (const key of [...keys]) if (this.lru.delete(key)) n++;
    this.byTag.delete(tag);
    return n;
  }

  clear(): void {
    this.lru.clear();
    this.byTag.clear();
  }

  get size(): number {
    return this.lru.size;
  }

  get bytes(): number {
    return this.lru.calculatedSize;
  }

  get tagCount(): number {
    return this.byTag.size;
  }
}
