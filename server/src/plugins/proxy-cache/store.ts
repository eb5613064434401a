/**
 * Where proxy-cache entries live. Two kinds of item share one key space:
 *  - a CachedResponse (status, headers, body, freshness), under `<key>` or, for a response with Vary,
 *    under `<key>:<variant>`;
 *  - a VaryIndex under `<key>` when the resource varies: the field names to read from the next request to
 *    find its variant (RFC 9111 §4.1). A lookup of a varying resource reads two items.
 * `<key>` is a SHA-256 (hex) of the instance namespace and the request parts, so it is unique across
 * instances and safe in a Redis key, an X-Cache-Key header and an admin URL.
 *
 * The memory stores are module state: one per worker and per plugin instance namespace, so entries
 * outlive config snapshots (an admin edit does not empty the cache). Redis items are `gh:cache:<key>…`
 * strings with a PX expiry, encoded binary-safe (below).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { Redis } from 'ioredis';
import type { RedisConnection } from '../../limits/redis-client.js';
import { defaultBackends } from '../../limits/backends.js';

export const REDIS_PREFIX = 'gh:cache:';
/** A cache key as `X-Cache-Key` shows it: SHA-256 in lower-case hex (purge refuses anything else). */
export const KEY_SHAPE = /^[0-9a-f]{64}$/;
/** Bookkeeping bytes counted per item besides body and headers (map slot, object, strings). */
const ITEM_OVERHEAD = 200;

export class CachedResponse {
  constructor(
    readonly status: number,
    /** As the origin sent them (plus access-phase headers), without the ones the gateway sets per request. */
    readonly headers: OutgoingHttpHeaders,
    readonly body: Buffer,
    /** Epoch ms when stored. */
    readonly storedAt: number,
    /** Epoch ms when it stops being fresh. */
    readonly expiresAt: number,
    /** Seconds the response had already spent in caches upstream (its Age). */
    readonly initialAge: number,
    readonly etag: string | undefined,
    /** Last-Modified in epoch ms; NaN when absent. */
    readonly lastModified: number,
  ) {}

  get size(): number {
    let n = this.body.length + ITEM_OVERHEAD;
    const h = this.headers;
    for (const k in h) {
      const v = h[k];
      n += k.length + (Array.isArray(v) ? v.join('').length : String(v).length);
    }
    return n;
  }
}

export class VaryIndex {
  constructor(
    readonly names: readonly string[],
    readonly expiresAt: number,
  ) {}

  get size(): number {
    return ITEM_OVERHEAD + this.names.join('').length;
  }
}

export type CacheItem = CachedResponse | VaryIndex;

/** An LRU over a Map (insertion order = recency), bounded by item count and bytes. */
export class MemoryStore {
  private readonly map = new Map<string, { item: CacheItem; size: number }>();
  bytes = 0;
  /** Stored responses (VaryIndex items excluded). */
  responses = 0;

  constructor(
    public maxEntries: number,
    public maxBytes: number,
  ) {}

  get size(): number {
    return this.map.size;
  }

  /** The item if present and fresh at `now`; a hit becomes the most recently used. Expired items are dropped. */
  get(key: string, now: number): CacheItem | undefined {
    const slot = this.map.get(key);
    if (slot === undefined) return undefined;
    if (slot.item.expiresAt <= now) {
      this.remove(key);
      return undefined;
    }
    this.map.delete(key);
    this.map.set(key, slot);
    return slot.item;
  }

  set(key: string, item: CacheItem): void {
    const size = item.size;
    if (size > this.maxBytes) return;
    this.remove(key);
    this.map.set(key, { item, size });
    this.bytes += size;
    if (item instanceof CachedResponse) this.responses++;
    this.trim();
  }

  /** Removes one item; returns the number of responses removed (0 or 1). */
  remove(key: string): number {
    const slot = this.map.get(key);
    if (slot === undefined) return 0;
    this.map.delete(key);
    this.bytes -= slot.size;
    if (slot.item instanceof CachedResponse) {
      this.responses--;
      return 1;
    }
    return 0;
  }

  /** Removes `key` and its variants. */
  purgeKey(key: string): number {
    let n = this.remove(key);
    const prefix = key + ':';
    for (const k of [...this.map.keys()]) if (k.startsWith(prefix)) n += this.remove(k);
    return n;
  }

  clear(): number {
    const n = this.responses;
    this.map.clear();
    this.bytes = 0;
    this.responses = 0;
    return n;
  }

  /** Applies new bounds (a config change) and evicts down to them. */
  resize(maxEntries: number, maxBytes: number): void {
    this.maxEntries = maxEntries;
    this.maxBytes = maxBytes;
    this.trim();
  }

  private trim(): void {
    while (this.map.size > this.maxEntries || this.bytes > this.maxBytes) {
      const oldest = this.map.keys().next();
      if (oldest.done === true) return;
      this.remove(oldest.value);
    }
  }
}

const memoryStores = new Map<string, MemoryStore>();

/** The worker's store for an instance namespace, created on first use; later configs resize it. */
export function memoryStoreFor(namespace: string, maxEntries: number, maxBytes: number): MemoryStore {
  let s = memoryStores.get(namespace);
  if (s === undefined) memoryStores.set(namespace, (s = new MemoryStore(maxEntries, maxBytes)));
  else s.resize(maxEntries, maxBytes);
  return s;
}

/** Per-worker counters since start (all strategies). */
export const counters = { hits: 0, misses: 0, refreshes: 0, bypasses: 0, stores: 0, redisErrors: 0 };

export interface ProxyCacheStats {
  /** Responses held in this worker's memory stores (Redis entries are not counted). */
  entries: number;
  /** Bytes held in this worker's memory stores. */
  bytes: number;
  hits: number;
  misses: number;
  refreshes: number;
  bypasses: number;
  stores: number;
  redis_errors: number;
}

/** This worker's cache figures; the admin API sums them over workers. */
export function proxyCacheStats(): ProxyCacheStats {
  let entries = 0;
  let bytes = 0;
  for (const s of memoryStores.values()) {
    entries += s.responses;
    bytes += s.bytes;
  }
  return {
    entries,
    bytes,
    hits: counters.hits,
    misses: counters.misses,
    refreshes: counters.refreshes,
    bypasses: counters.bypasses,
    stores: counters.stores,
    redis_errors: counters.redisErrors,
  };
}

/**
 * Removes every entry (no key) or the entry `key` with its variants, from this worker's memory stores and
 * from Redis when the node has it. Returns the number of responses removed from memory plus the number of
 * Redis keys deleted (Redis cannot tell a variant index from a response without reading it). An ill-formed
 * key removes nothing: it never becomes a SCAN pattern. Redis is shared, so one worker's call purges it
 * for the whole cluster; calling it on every worker is harmless.
 */
export async function purgeProxyCache(key?: string, redis: RedisConnection | undefined = defaultBackends().redis?.client): Promise<number> {
  if (key !== undefined && !KEY_SHAPE.test(key)) return 0;
  let n = 0;
  for (const s of memoryStores.values()) n += key === undefined ? s.clear() : s.purgeKey(key);
  if (redis !== undefined && redis.status === 'ready') {
    if (key !== undefined) n += await redis.del(REDIS_PREFIX + key);
    n += await unlinkMatching(redis, REDIS_PREFIX + (key === undefined ? '*' : key + ':*'));
  }
  return n;
}

async function unlinkMatching(redis: RedisConnection, pattern: string, perKey = false): Promise<number> {
  // SCAN sees one node's keys: on a Redis Cluster, scan every primary.
  if (redis.isCluster) {
    let total = 0;
    for (const node of (redis as import('ioredis').Cluster).nodes('master')) total += await unlinkMatching(node, pattern, true);
    return total;
  }
  const one = redis as Redis;
  let n = 0;
  let cursor = '0';
  do {
    const [next, keys] = await one.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length === 0) continue;
    // A cluster node refuses a multi-key UNLINK across slots (CROSSSLOT): one key per command there.
    if (perKey) for (const c of await Promise.all(keys.map((k) => one.unlink(k)))) n += c;
    else n += await one.unlink(...keys);
  } while (cursor !== '0');
  return n;
}

// ---- Redis encoding -----------------------------------------------------------------------------
// One byte kind, a 4-byte big-endian length, the JSON metadata, then the raw body: bodies stay bytes
// (no base64), and a reader can tell a VaryIndex from a response without parsing the body.

const KIND_RESPONSE = 1;
const KIND_VARY = 2;

interface ResponseMeta {
  s: number;
  h: OutgoingHttpHeaders;
  t: number;
  x: number;
  a: number;
  e?: string;
  l?: number;
}

export function encodeItem(item: CacheItem): Buffer {
  let kind: number;
  let meta: string;
  let body: Buffer | undefined;
  if (item instanceof CachedResponse) {
    kind = KIND_RESPONSE;
    const m: ResponseMeta = { s: item.status, h: item.headers, t: item.storedAt, x: item.expiresAt, a: item.initialAge };
    if (item.etag !== undefined) m.e = item.etag;
    if (!Number.isNaN(item.lastModified)) m.l = item.lastModified;
    meta = JSON.stringify(m);
    body = item.body;
  } else {
    kind = KIND_VARY;
    meta = JSON.stringify({ v: item.names, x: item.expiresAt });
  }
  const metaLen = Buffer.byteLength(meta);
  const out = Buffer.allocUnsafe(5 + metaLen + (body?.length ?? 0));
  out[0] = kind;
  out.writeUInt32BE(metaLen, 1);
  out.write(meta, 5, 'utf8');
  body?.copy(out, 5 + metaLen);
  return out;
}

/** Decodes an item; null for anything unreadable (treated as a miss, then overwritten). */
export function decodeItem(buf: Buffer | null): CacheItem | null {
  if (buf === null || buf.length < 5) return null;
  const metaLen = buf.readUInt32BE(1);
  if (5 + metaLen > buf.length) return null;
  try {
    const meta = JSON.parse(buf.toString('utf8', 5, 5 + metaLen)) as Record<string, unknown>;
    if (buf[0] === KIND_VARY) return new VaryIndex(meta.v as string[], meta.x as number);
    if (buf[0] !== KIND_RESPONSE) return null;
    const m = meta as unknown as ResponseMeta;
    return new CachedResponse(m.s, m.h, buf.subarray(5 + metaLen), m.t, m.x, m.a, m.e, m.l ?? NaN);
  } catch {
    return null;
  }
}
