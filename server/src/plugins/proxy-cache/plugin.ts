/**
 * proxy-cache: stores upstream responses at the gateway and answers later requests from them, as a
 * shared cache in the sense of RFC 9111 (Kong's proxy-cache, with Cache-Control, Vary and conditional
 * requests honoured).
 *
 * Per request, in the upstream phase: a request that may not use the cache is a Bypass; otherwise its key
 * is looked up (synchronously in memory; one or two GETs in Redis) and a fresh entry is answered with
 * `ctx.respond` (Hit, or 304 for a matching conditional). On a Miss (or a Refresh forced by the client) a
 * CacheTap observes the upstream response: the response phase decides whether it may be stored and takes
 * the head as the origin sent it; the body is collected chunk by chunk and stored once complete. An
 * aborted or oversized response is never stored.
 *
 * The head is captured in the response phase, before the response phase plugins after this one (e.g.
 * response-headers) edit it: a hit runs the response phase again, so storing the edited head would apply
 * those edits twice (an `add` would repeat its value).
 */
import { hash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { problem, PROBLEM_CONTENT_TYPE } from '../../errors/registry.js';
import { defaultBackends, type LimiterBackends } from '../../limits/backends.js';
import { scopeTag } from '../../limits/keys.js';
import { withDeadline } from '../../limits/redis-store.js';
import { definePlugin, type PhaseResult, type PluginDeps, type PluginHandler, type PluginLogger, type RequestContext, type ResponseTap } from '../types.js';
import { ageOf, CacheDirectives, freshnessLifetime, headerString, ifNoneMatch, mediaType, selectedQuery, varyNames, varyValues } from './cache-control.js';
import { CachedResponse, counters, decodeItem, encodeItem, memoryStoreFor, REDIS_PREFIX, VaryIndex, type CacheItem, type MemoryStore } from './store.js';
import { ProxyCacheSchema, type ProxyCacheConfig } from './schema.js';

export { purgeProxyCache, proxyCacheStats, type ProxyCacheStats } from './store.js';

const NAME = 'proxy-cache';
/** At most one Redis fault log line per instance per this interval; counters carry the totals. */
const FAULT_LOG_INTERVAL_MS = 5_000;

/**
 * Headers the gateway sets per request: never stored, so a hit carries the values of its own request
 * (ours are set again on every hit; rate-limit headers by the limits that run before the cache).
 */
const PER_REQUEST_HEADERS: ReadonlySet<string> = new Set([
  'x-cache-status',
  'x-cache-key',
  'age',
  'x-request-id',
  'ratelimit',
  'ratelimit-policy',
  'x-ratelimit-limit',
  'x-ratelimit-remaining',
  'x-ratelimit-reset',
]);
/** What a 304 carries from the stored response (RFC 9110 §15.4.5). */
const NOT_MODIFIED_HEADERS = ['cache-control', 'content-location', 'date', 'etag', 'expires', 'vary'] as const;

// CacheTap states
const PENDING = 0;
const ACCEPTED = 1;
const COLLECTING = 2;
const DROPPED = 3;

/** Observes one upstream response on a miss; stores it at the end when the response phase accepted it. */
class CacheTap implements ResponseTap {
  state = PENDING;
  status = 0;
  headers: OutgoingHttpHeaders | undefined = undefined;
  storedAt = 0;
  expiresAt = 0;
  initialAge = 0;
  vary: readonly string[] = [];
  private chunks: Buffer[] | undefined = undefined;
  private size = 0;

  constructor(
    private readonly owner: ProxyCache,
    /** The request: its headers select the variant when the response has Vary. */
    readonly req: IncomingMessage,
    readonly key: string,
    private readonly maxBody: number,
  ) {}

  accept(status: number, headers: OutgoingHttpHeaders, now: number, expiresAt: number, initialAge: number, vary: readonly string[]): void {
    this.state = ACCEPTED;
    this.status = status;
    this.headers = headers;
    this.storedAt = now;
    this.expiresAt = expiresAt;
    this.initialAge = initialAge;
    this.vary = vary;
  }

  onHead(): void {
    // Only a response the response phase accepted is collected.
    if (this.state !== ACCEPTED) return this.drop();
    this.state = COLLECTING;
    this.chunks = [];
  }

  onData(chunk: Buffer): void {
    if (this.state !== COLLECTING) return;
    this.size += chunk.length;
    if (this.size > this.maxBody) return this.drop();
    this.chunks!.push(chunk);
  }

  onEnd(): void {
    if (this.state !== COLLECTING) return;
    const chunks = this.chunks!;
    this.drop();
    // Copies out of the socket buffers the chunks are views of, so the entry does not pin them.
    const body = Buffer.concat(chunks, this.size);
    // A body shorter than declared is a truncated response, whatever the transport said.
    const declared = this.headers!['content-length'];
    if (declared !== undefined && Number(declared) !== body.length) return;
    this.owner.store(this, body);
  }

  onAbort(): void {
    this.drop();
  }

  private drop(): void {
    this.state = DROPPED;
    this.chunks = undefined;
  }
}

class ProxyCache implements PluginHandler {
  private readonly methods: ReadonlySet<string>;
  private readonly codes: ReadonlySet<number>;
  private readonly types: ReadonlySet<string> | undefined;
  private readonly varyHeaders: readonly string[];
  private readonly queryParams: readonly string[] | undefined;
  private lastFaultLog = 0;
  /** Bound once: the continuation of every fire-and-forget Redis write. */
  private readonly onWriteError: (err: Error) => void;

  constructor(
    private readonly config: ProxyCacheConfig,
    private readonly namespace: string,
    /** Undefined with the `redis` strategy. */
    private readonly memory: MemoryStore | undefined,
    private readonly backends: LimiterBackends,
    private readonly logger: PluginLogger,
  ) {
    this.methods = new Set(config.methods);
    this.codes = new Set(config.response_codes);
    this.types = config.content_types === undefined ? undefined : new Set(config.content_types.map(mediaType));
    this.varyHeaders = config.vary_headers.map((n) => n.toLowerCase()).sort();
    this.queryParams = config.vary_query_params === undefined ? undefined : [...config.vary_query_params].sort();
    this.onWriteError = (err: Error) => this.fault(err);
  }

  upstream(ctx: RequestContext): PhaseResult {
    const c = this.config;
    if (!this.methods.has(ctx.method)) return this.bypass(ctx);
    const h = ctx.req.headers;
    if (h.authorization !== undefined && !c.cache_authorized) return this.bypass(ctx);
    let rq: CacheDirectives | undefined;
    let refresh = false;
    if (c.cache_control) {
      const cc = h['cache-control'];
      if (cc !== undefined) {
        rq = new CacheDirectives().parse(cc);
        if (rq.noStore) return this.bypass(ctx);
        refresh = rq.noCache;
      } else if (h.pragma !== undefined && h.pragma.includes('no-cache')) refresh = true;
    }
    const key = this.keyOf(ctx);
    if (refresh) return this.miss(ctx, key, true);
    if (this.memory === undefined) return this.lookupRedis(ctx, key, rq);
    const item = this.memory.get(key, Date.now());
    const e = item instanceof VaryIndex ? this.memory.get(variantKey(key, item.names, h), Date.now()) : item;
    this.afterLookup(ctx, key, e instanceof CachedResponse ? e : undefined, rq);
  }

  /** Records how the request's response was produced; a tap exists only for a response that may be stored. */
  response(ctx: RequestContext): void {
    const tap = ctx.locals[NAME];
    if (tap instanceof CacheTap && tap.state === PENDING) this.admit(ctx, tap);
  }

  private afterLookup(ctx: RequestContext, key: string, e: CachedResponse | undefined, rq: CacheDirectives | undefined): void {
    if (e !== undefined) {
      if (rq === undefined || acceptable(e, rq, Date.now())) return this.hit(ctx, key, e);
      return this.miss(ctx, key, true);
    }
    if (rq?.onlyIfCached === true) {
      counters.misses++;
      const p = problem('GW_ERR_NOT_CACHED', { request_id: ctx.requestId });
      ctx.respond(504, JSON.stringify(p), { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', 'x-cache-status': 'Miss' });
      return;
    }
    this.miss(ctx, key, false);
  }

  private bypass(ctx: RequestContext): void {
    counters.bypasses++;
    ctx.setResponseHeader('x-cache-status', 'Bypass');
  }

  private miss(ctx: RequestContext, key: string, refresh: boolean): void {
    if (refresh) counters.refreshes++;
    else counters.misses++;
    ctx.setResponseHeader('x-cache-status', refresh ? 'Refresh' : 'Miss');
    if (this.config.expose_key) ctx.setResponseHeader('x-cache-key', key);
    // A HEAD response has no body to store; HEAD only reads GET entries.
    if (ctx.method !== 'GET') return;
    const tap = new CacheTap(this, ctx.req, key, this.config.max_body_size);
    ctx.locals[NAME] = tap;
    ctx.tapResponse(tap);
  }

  private hit(ctx: RequestContext, key: string, e: CachedResponse): void {
    counters.hits++;
    const age = e.initialAge + Math.floor((Date.now() - e.storedAt) / 1000);
    if (e.status === 200 && notModified(e, ctx.req.headers)) {
      const h: OutgoingHttpHeaders = {};
      for (const name of NOT_MODIFIED_HEADERS) if (e.headers[name] !== undefined) h[name] = e.headers[name];
      ctx.respond(304, undefined, h);
    } else if (ctx.method === 'HEAD') {
      ctx.respond(e.status, undefined, e.headers);
      if (e.headers['content-length'] === undefined) ctx.setResponseHeader('content-length', String(e.body.length));
    } else {
      ctx.respond(e.status, e.body, e.headers);
    }
    ctx.setResponseHeader('age', String(age));
    ctx.setResponseHeader('x-cache-status', 'Hit');
    if (this.config.expose_key) ctx.setResponseHeader('x-cache-key', key);
  }

  /** The response phase's decision for a miss: may this response be stored, and until when? */
  private admit(ctx: RequestContext, tap: CacheTap): void {
    const headers = ctx.responseHeaders;
    if (headers === undefined || !this.storable(ctx.status, headers, tap)) {
      // Kong's vocabulary: a response that will not be stored is a Bypass.
      tap.onAbort();
      ctx.setResponseHeader('x-cache-status', 'Bypass');
    }
  }

  private storable(status: number, headers: OutgoingHttpHeaders, tap: CacheTap): boolean {
    const c = this.config;
    if (!this.codes.has(status)) return false;
    if (this.types !== undefined) {
      const ct = headerString(headers['content-type']);
      if (ct === undefined || !this.types.has(mediaType(ct))) return false;
    }
    if (!c.cache_set_cookie && headers['set-cookie'] !== undefined) return false;
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > c.max_body_size) return false;
    const vary = varyNames(headerString(headers.vary));
    if (vary === null) return false;
    const now = Date.now();
    const initialAge = ageOf(headers);
    let fresh = c.ttl;
    if (c.cache_control) {
      let d: CacheDirectives | undefined;
      const cc = headerString(headers['cache-control']);
      if (cc !== undefined) {
        d = new CacheDirectives().parse(cc);
        // no-cache means "revalidate before every reuse": the gateway does not revalidate, so storing is useless.
        if (d.noStore || d.private || d.noCache) return false;
      }
      fresh = freshnessLifetime(d, headers, c.ttl, now) - initialAge;
    }
    if (fresh <= 0) return false;
    const kept: OutgoingHttpHeaders = {};
    for (const name in headers) if (!PER_REQUEST_HEADERS.has(name)) kept[name] = headers[name];
    tap.accept(status, kept, now, now + fresh * 1000, initialAge, vary);
    return true;
  }

  /** Called by a tap with the complete body. */
  store(tap: CacheTap, body: Buffer): void {
    const headers = tap.headers!;
    const etag = headerString(headers.etag);
    const lm = headerString(headers['last-modified']);
    const e = new CachedResponse(tap.status, headers, body, tap.storedAt, tap.expiresAt, tap.initialAge, etag, lm === undefined ? NaN : Date.parse(lm));
    const key = tap.key;
    const vary = tap.vary;
    counters.stores++;
    if (this.memory !== undefined) {
      if (vary.length === 0) return this.memory.set(key, e);
      const prev = this.memory.get(key, Date.now());
      const until = prev instanceof VaryIndex && sameNames(prev.names, vary) ? Math.max(prev.expiresAt, e.expiresAt) : e.expiresAt;
      this.memory.set(key, new VaryIndex(vary, until));
      this.memory.set(variantKey(key, vary, tap.req.headers), e);
      return;
    }
    const redis = this.backends.redis;
    if (redis === undefined || !redis.ready) return;
    const px = e.expiresAt - Date.now();
    if (px <= 0) return;
    if (vary.length === 0) {
      redis.client.set(REDIS_PREFIX + key, encodeItem(e), 'PX', px).then(undefined, this.onWriteError);
      return;
    }
    redis.client.set(REDIS_PREFIX + key, encodeItem(new VaryIndex(vary, e.expiresAt)), 'PX', px).then(undefined, this.onWriteError);
    redis.client.set(REDIS_PREFIX + variantKey(key, vary, tap.req.headers), encodeItem(e), 'PX', px).then(undefined, this.onWriteError);
  }

  private async lookupRedis(ctx: RequestContext, key: string, rq: CacheDirectives | undefined): Promise<void> {
    let e: CachedResponse | undefined;
    const redis = this.backends.redis;
    if (redis === undefined || !redis.ready) this.fault(new Error(redis === undefined ? 'no redis configured (REDIS_URL)' : 'redis is not connected'));
    else {
      try {
        const ms = this.config.redis_timeout_ms;
        let item: CacheItem | null = decodeItem(await withDeadline(redis.client.getBuffer(REDIS_PREFIX + key), ms));
        if (item instanceof VaryIndex) item = decodeItem(await withDeadline(redis.client.getBuffer(REDIS_PREFIX + variantKey(key, item.names, ctx.req.headers)), ms));
        if (item instanceof CachedResponse && item.expiresAt > Date.now()) e = item;
      } catch (err) {
        this.fault(err as Error);
      }
    }
    this.afterLookup(ctx, key, e, rq);
  }

  private fault(err: Error): void {
    counters.redisErrors++;
    const now = Date.now();
    if (now - this.lastFaultLog < FAULT_LOG_INTERVAL_MS) return;
    this.lastFaultLog = now;
    this.logger.warn({ plugin: NAME, scope: this.namespace, err: err.message, redis_errors_total: counters.redisErrors }, 'proxy cache unavailable (redis); requests go to the upstream');
  }

  /** SHA-256 of the instance namespace, host, path, selected query, selected headers and consumer. */
  private keyOf(ctx: RequestContext): string {
    let s = this.namespace + '\n' + ctx.host + '\n' + ctx.path + '\n';
    s += this.queryParams === undefined ? ctx.query : selectedQuery(ctx.query, this.queryParams);
    const hs = this.varyHeaders;
    if (hs.length > 0) {
      const h = ctx.req.headers;
      for (let i = 0; i < hs.length; i++) {
        const v = headerString(h[hs[i]!]);
        s += v === undefined ? '\n\u0000' : '\n' + v;
      }
    }
    if (this.config.key_by_consumer) s += '\n' + (ctx.consumer?.username ?? '\u0000');
    return hash('sha256', s, 'hex');
  }
}

/** The key of the variant a request selects among a varying resource's responses. */
function variantKey(key: string, names: readonly string[], headers: IncomingHttpHeaders): string {
  return key + ':' + hash('sha1', varyValues(names, headers), 'base64url');
}

/** Request max-age / min-fresh (RFC 9111 §5.2.1): may this entry answer this request? */
function acceptable(e: CachedResponse, rq: CacheDirectives, now: number): boolean {
  if (rq.maxAge >= 0 && e.initialAge + (now - e.storedAt) / 1000 > rq.maxAge) return false;
  if (rq.minFresh >= 0 && (e.expiresAt - now) / 1000 < rq.minFresh) return false;
  return true;
}

/** If-None-Match (weak comparison) wins over If-Modified-Since (RFC 9110 §13.2.2). */
function notModified(e: CachedResponse, h: IncomingHttpHeaders): boolean {
  const inm = h['if-none-match'];
  if (inm !== undefined) return ifNoneMatch(inm, e.etag ?? '');
  const ims = h['if-modified-since'];
  if (ims === undefined || Number.isNaN(e.lastModified)) return false;
  const t = Date.parse(ims);
  return !Number.isNaN(t) && e.lastModified <= t;
}

function sameNames(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export default definePlugin({
  name: NAME,
  description: 'Caches upstream responses (memory or Redis), honouring Cache-Control, Vary and conditional requests.',
  schema: ProxyCacheSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createProxyCache(config: ProxyCacheConfig, deps: PluginDeps): PluginHandler {
    const namespace = scopeTag(deps.attachedTo);
    const memory = config.strategy === 'memory' ? memoryStoreFor(namespace, config.memory_max_entries, config.memory_max_bytes) : undefined;
    return new ProxyCache(config, namespace, memory, deps.limiters ?? defaultBackends(), deps.logger);
  },
});
