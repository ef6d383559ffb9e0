import { InvalidOptionError, systemClock, type CacheRecord, type CacheStore, type Clock, type StoreHost } from '@autom8/core';
import type { Cluster, Redis } from 'ioredis';

/** Options of {@link RedisCacheStore}. */
export interface RedisCacheStoreOptions {
  /** Your ioredis client (standalone or Cluster). Give it `enableOfflineQueue: false` so an outage fails fast. */
  client: Redis | Cluster;
  /** Prefix of every key. Default `'autom8:cache:'`. */
  prefix?: string;
  /** Largest record stored, bytes; bigger ones are skipped. Default 1 MiB. */
  maxEntryBytes?: number;
  /** Time source the records' timestamps are read against. Default: the clock of the engine the store is given to, else the system clock. */
  clock?: Clock;
  /**
   * Broadcast invalidations to every instance's local tier over Redis pub/sub (one extra
   * connection, `client.duplicate()`, opened on first use). Default true.
   */
  broadcast?: boolean;
}

// Adds a key to a tag set and keeps the set alive as long as its longest-lived member.
const TAG_SCRIPT = `redis.call('SADD', KEYS[1], ARGV[1])
local t = redis.call('PTTL', KEYS[1])
if t < tonumber(ARGV[2]) then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 1`;

const HEADER = 20; // expiresAt f64, staleUntil f64, tags length u32

/**
 * The shared cache tier on Redis: one string per entry (`<prefix>e:<key>`, binary: timestamps,
 * tags, value) expiring with its stale window, and one set per tag (`<prefix>t:<tag>`) naming the
 * entries to delete on `invalidate({ tag })`. Records larger than `maxEntryBytes` are not stored;
 * bound the whole tier with Redis's own `maxmemory` + `allkeys-lru`.
 *
 * Every call is a plain command on one key (no multi-key scripts), so it works on Redis Cluster;
 * `deleteByPrefix` scans every master of a Cluster.
 */
export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis';
  private readonly client: Redis | Cluster;
  private readonly prefix: string;
  private readonly maxEntryBytes: number;
  private clock: Clock;
  /** Whether `options.clock` was given (an engine's clock does not replace it). */
  private readonly ownClock: boolean;
  private attached = false;
  private readonly broadcast: boolean;
  private readonly channel: string;
  private subscriber: (Redis | Cluster) | undefined;
  private readonly listeners = new Set<(message: string) => void>();

  constructor(options: RedisCacheStoreOptions) {
    if (options === null || typeof options !== 'object') throw new InvalidOptionError('options', 'an object { client, ... }', options);
    const c = options.client as Redis | undefined;
    if (c === undefined || c === null || typeof c.getBuffer !== 'function' || typeof c.set !== 'function') {
      throw new InvalidOptionError('client', 'an ioredis client (new Redis(...) or new Cluster(...))', c);
    }
    if (options.prefix !== undefined && (typeof options.prefix !== 'string' || options.prefix.length === 0)) {
      throw new InvalidOptionError('prefix', 'a non-empty string', options.prefix);
    }
    const max = options.maxEntryBytes ?? 1024 * 1024;
    if (!Number.isInteger(max) || max <= 0) throw new InvalidOptionError('maxEntryBytes', 'a positive integer', max);
    if (options.clock !== undefined && (options.clock === null || typeof options.clock.now !== 'function'))
      throw new InvalidOptionError('clock', 'a Clock (an object with now())', options.clock);
    this.client = options.client;
    this.prefix = options.prefix ?? 'autom8:cache:';
    this.maxEntryBytes = max;
    this.ownClock = options.clock !== undefined;
    this.clock = options.clock ?? systemClock;
    if (options.broadcast !== undefined && typeof options.broadcast !== 'boolean') throw new InvalidOptionError('broadcast', 'a boolean', options.broadcast);
    this.broadcast = options.broadcast ?? true;
    this.channel = `${this.prefix}invalidate`;
  }

  /**
   * Reads record timestamps against the engine's clock (the one that wrote them), unless
   * `options.clock` was given. Called by the engine; the first engine wins.
   */
  attach(host: StoreHost): void {
    if (this.attached) return;
    this.attached = true;
    if (!this.ownClock) this.clock = host.clock;
  }

  /** Publishes an invalidation to the other instances (no-op when `broadcast` is off). */
  async publishInvalidation(message: string): Promise<void> {
    if (this.broadcast) await this.client.publish(this.channel, message);
  }

  /**
   * Listens to invalidations of every instance. The subscriber connection is opened with the first
   * listener and closed with the last.
   */
  onInvalidation(listener: (message: string) => void): () => void {
    if (!this.broadcast) return () => {};
    this.listeners.add(listener);
    if (this.subscriber === undefined) {
      const sub = (this.subscriber = this.client.duplicate());
      sub.on('error', () => {}); // reconnects on its own; outages are reported by the command path
      sub.on('message', (channel: string, message: string) => {
        if (channel !== this.channel) return;
        for (const l of this.listeners) {
          try {
            l(message);
          } catch {
            // a listener's failure is its own
          }
        }
      });
      // on every (re)connection: with enableOfflineQueue off a SUBSCRIBE sent earlier would fail
      sub.on('ready', () => void sub.subscribe(this.channel).catch(() => {}));
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.subscriber !== undefined) {
        this.subscriber.disconnect();
        this.subscriber = undefined;
      }
    };
  }

  /** Closes the subscriber connection it opened (never the client you passed). */
  close(): void {
    this.listeners.clear();
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  async get(key: string): Promise<CacheRecord | undefined> {
    const buf = await this.client.getBuffer(`${this.prefix}e:${key}`);
    if (buf === null || buf.length < HEADER) return undefined;
    const tagsLen = buf.readUInt32BE(16);
    if (HEADER + tagsLen > buf.length) return undefined;
    let tags: string[] = [];
    if (tagsLen > 0) {
      try {
        const parsed: unknown = JSON.parse(buf.subarray(HEADER, HEADER + tagsLen).toString('utf8'));
        if (Array.isArray(parsed)) tags = parsed.filter((t): t is string => typeof t === 'string');
      } catch {
        return undefined;
      }
    }
    return { expiresAt: buf.readDoubleBE(0), staleUntil: buf.readDoubleBE(8), tags, value: buf.subarray(HEADER + tagsLen) };
  }

  async set(key: string, record: CacheRecord): Promise<void> {
    const ttl = Math.ceil(Math.max(record.staleUntil, record.expiresAt) - this.clock.now());
    if (ttl <= 0) return;
    const tags = record.tags.length === 0 ? undefined : Buffer.from(JSON.stringify(record.tags));
    const size = HEADER + (tags?.length ?? 0) + record.value.length;
    if (size > this.maxEntryBytes) return;
    const head = Buffer.allocUnsafe(HEADER);
    head.writeDoubleBE(record.expiresAt, 0);
    head.writeDoubleBE(record.staleUntil, 8);
    head.writeUInt32BE(tags?.length ?? 0, 16);
    const entryKey = `${this.prefix}e:${key}`;
    await this.client.set(entryKey, tags === undefined ? Buffer.concat([head, record.value]) : Buffer.concat([head, tags, record.value]), 'PX', ttl);
    if (tags !== undefined) {
      await Promise.all(record.tags.map((t) => this.client.eval(TAG_SCRIPT, 1, `${this.prefix}t:${t}`, entryKey, String(ttl))));
    }
  }

  async delete(key: string): Promise<void> {
    await this.client.del(`${this.prefix}e:${key}`);
  }

  async deleteByTag(tag: string): Promise<number> {
    const tagKey = `${this.prefix}t:${tag}`;
    const members = await this.client.smembers(tagKey);
    const deleted = await this.deleteKeys(members);
    await this.client.del(tagKey);
    return deleted;
  }

  /**
   * Deletes every entry whose key starts with `prefix`, by SCAN: on standalone Redis over the one
   * server; on a Cluster over every master (`client.nodes('master')`), since each holds only its
   * own slots. Matching keys are deleted one by one (they lie in different slots). Not atomic: an
   * entry written while the scan runs may survive.
   */
  async deleteByPrefix(prefix: string): Promise<number> {
    const match = `${escapeGlob(`${this.prefix}e:${prefix}`)}*`;
    const servers = this.client.isCluster ? (this.client as Cluster).nodes('master') : [this.client as Redis];
    let deleted = 0;
    for (const server of servers) {
      let cursor = '0';
      do {
        const [next, keys] = await server.scan(cursor, 'MATCH', match, 'COUNT', 500);
        cursor = next;
        deleted += await this.deleteKeys(keys);
      } while (cursor !== '0');
    }
    return deleted;
  }

  // One DEL per key: multi-key DEL would fail across Cluster slots.
  private async deleteKeys(keys: string[]): Promise<number> {
    let deleted = 0;
    for (let i = 0; i < keys.length; i += 200) {
      const counts = await Promise.all(keys.slice(i, i + 200).map((k) => this.client.del(k)));
      for (const n of counts) deleted += n;
    }
    return deleted;
  }
}

function escapeGlob(s: string): string {
  return s.replace(/[*?[\]\\]/g, '\\$&');
}
