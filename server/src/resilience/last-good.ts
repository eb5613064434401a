/**
 * The circuit breaker's "serve last good response" store: a copy of the latest successful response per
 * request key, bounded, in this process's memory or in Redis (shared by the nodes). It is a resilience
 * copy, not an HTTP cache: it is only read while the breaker is open, and the answer says how old it is.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import type { RedisConnection } from '../limits/redis-client.js';
import type { PluginLogger, ResponseTap } from '../plugins/types.js';

export interface StoredResponse {
  status: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
  /** Epoch milliseconds. */
  storedAt: number;
}

export interface LastGoodStore {
  get(key: string): StoredResponse | undefined | Promise<StoredResponse | undefined>;
  set(key: string, value: StoredResponse, ttlMs: number): void;
}

class MemoryEntry {
  constructor(
    readonly value: StoredResponse,
    readonly expiresAt: number,
    readonly size: number,
  ) {}
}

/** An LRU bounded by entry count and body bytes (a Map iterates in insertion order: first = oldest). */
export class MemoryLastGoodStore implements LastGoodStore {
  private readonly entries = new Map<string, MemoryEntry>();
  private bytes = 0;

  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): StoredResponse | undefined {
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= this.now()) {
      this.delete(key, e);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    return e.value;
  }

  set(key: string, value: StoredResponse, ttlMs: number): void {
    const size = value.body.length + 256;
    if (size > this.maxBytes) return;
    const old = this.entries.get(key);
    if (old !== undefined) this.delete(key, old);
    this.entries.set(key, new MemoryEntry(value, this.now() + ttlMs, size));
    this.bytes += size;
    for (const [k, e] of this.entries) {
      if (this.entries.size <= this.maxEntries && this.bytes <= this.maxBytes) break;
      this.delete(k, e);
    }
  }

  private delete(key: string, e: MemoryEntry): void {
    this.entries.delete(key);
    this.bytes -= e.size;
  }

  get size(): number {
    return this.entries.size;
  }
}

const REDIS_PREFIX = 'gh:lastgood:';

/**
 * Values are `<4-byte length><JSON head><body>`, binary-safe. A Redis failure is a miss (the breaker's
 * answer then falls back to fast-fail) and never fails or delays the proxied request beyond its timeout.
 */
export class RedisLastGoodStore implements LastGoodStore {
  constructor(
    private readonly client: () => RedisConnection | undefined,
    private readonly logger: PluginLogger,
  ) {}

  async get(key: string): Promise<StoredResponse | undefined> {
    const c = this.client();
    if (c === undefined) return undefined;
    try {
      const raw = await c.getBuffer(REDIS_PREFIX + key);
      if (raw === null || raw.length < 4) return undefined;
      const headLen = raw.readUInt32BE(0);
      const head = JSON.parse(raw.subarray(4, 4 + headLen).toString('utf8')) as Omit<StoredResponse, 'body'>;
      return { ...head, body: raw.subarray(4 + headLen) };
    } catch (err) {
      this.logger.warn({ err }, 'last good response: redis read failed');
      return undefined;
    }
  }

  set(key: string, value: StoredResponse, ttlMs: number): void {
    const c = this.client();
    if (c === undefined) return;
    const head = Buffer.from(JSON.stringify({ status: value.status, headers: value.headers, storedAt: value.storedAt }));
    const len = Buffer.allocUnsafe(4);
    len.writeUInt32BE(head.length, 0);
    c.set(REDIS_PREFIX + key, Buffer.concat([len, head, value.body]), 'PX', ttlMs).catch((err: unknown) => {
      this.logger.warn({ err }, 'last good response: redis write failed');
    });
  }
}

/** Response headers that describe one exchange, not the stored representation. */
const NOT_STORED = new Set(['set-cookie', 'x-request-id', 'via', 'age', 'connection', 'keep-alive', 'transfer-encoding']);

const NOT_REUSABLE = /no-store|private/i;

/** Collects a successful upstream response as it streams and stores it when complete. */
export class LastGoodCollector implements ResponseTap {
  private chunks: Buffer[] | undefined = undefined;
  private size = 0;
  private status = 0;
  private headers: Record<string, string | string[]> | undefined = undefined;

  constructor(
    private readonly store: LastGoodStore,
    private readonly key: string,
    private readonly maxBodySize: number,
    private readonly ttlMs: number,
  ) {}

  onHead(status: number, headers: Readonly<OutgoingHttpHeaders>): void {
    if (status < 200 || status > 299 || status === 206) return;
    const cc = headers['cache-control'];
    if (typeof cc === 'string' && NOT_REUSABLE.test(cc)) return;
    const kept: Record<string, string | string[]> = {};
    for (const name in headers) {
      const v = headers[name];
      if (v === undefined || NOT_STORED.has(name)) continue;
      kept[name] = typeof v === 'number' ? String(v) : v;
    }
    this.status = status;
    this.headers = kept;
    this.chunks = [];
  }

  onData(chunk: Buffer): void {
    const chunks = this.chunks;
    if (chunks === undefined) return;
    this.size += chunk.length;
    if (this.size > this.maxBodySize) this.chunks = undefined;
    else chunks.push(chunk);
  }

  onEnd(): void {
    const chunks = this.chunks;
    if (chunks === undefined) return;
    this.chunks = undefined;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size);
    this.store.set(this.key, { status: this.status, headers: this.headers!, body, storedAt: Date.now() }, this.ttlMs);
  }

  onAbort(): void {
    this.chunks = undefined;
  }
}

/** The process's memory store: survives config reloads, bounded for the whole proxy thread. */
export const LAST_GOOD_MEMORY = new MemoryLastGoodStore(10_000, 64 * 1024 * 1024);
