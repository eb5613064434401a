import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { attachRedis } from '../../limits/backends.js';
import { createRedisClient, waitReady } from '../../limits/redis-client.js';
import { startTestRedis, type TestRedis } from '../../limits/test-support/redis-server.js';
import { CacheDirectives, freshnessLifetime, ifNoneMatch, selectedQuery, varyNames } from './cache-control.js';
import { decodeItem, encodeItem, CachedResponse, VaryIndex, MemoryStore } from './store.js';
import { proxyCacheStats, purgeProxyCache } from './plugin.js';
import { ProxyCacheSchema } from './schema.js';

const quiet = { info() {}, warn() {}, error() {} };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * An origin steered by the query string (which is part of the cache key, so each instruction set is its
 * own entry): status, cc (Cache-Control), vary, cookie, etag, lm (Last-Modified), age, ct, expires,
 * size (body padding), chunked (no Content-Length), gate (send half the body, wait for `release`).
 * The body names the URL, how many times the origin served it, and the request's x-lang header.
 */
class Origin {
  readonly hits = new Map<string, number>();
  release: () => void = () => {};
  private gate: Promise<void> = Promise.resolve();

  closeGate(): void {
    this.gate = new Promise<void>((r) => (this.release = r));
  }

  count(url: string): number {
    return this.hits.get(url) ?? 0;
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url!;
    const n = this.count(url) + 1;
    this.hits.set(url, n);
    const q = new URL(url, 'http://o').searchParams;
    res.statusCode = Number(q.get('status') ?? 200);
    res.setHeader('content-type', q.get('ct') ?? 'text/plain');
    const set = (param: string, header: string) => {
      const v = q.get(param);
      if (v !== null) res.setHeader(header, v);
    };
    set('cc', 'cache-control');
    set('vary', 'vary');
    set('cookie', 'set-cookie');
    set('etag', 'etag');
    set('lm', 'last-modified');
    set('age', 'age');
    set('expires', 'expires');
    let body = `${url} #${n} lang=${String(req.headers['x-lang'])}`;
    const size = Number(q.get('size') ?? 0);
    if (size > body.length) body += '.'.repeat(size - body.length);
    if (q.has('gate')) {
      res.write(body.slice(0, body.length / 2));
      void this.gate.then(() => res.end(body.slice(body.length / 2)));
      return;
    }
    // Node adds Content-Length itself when the whole body goes in end(): write first for a chunked body.
    if (q.has('chunked')) res.write(body);
    else res.setHeader('content-length', Buffer.byteLength(body));
    res.end(q.has('chunked') ? undefined : body);
  }
}

const route = (name: string, config: object | undefined, extra: object[] = []) => ({ name, config, extra });
const ROUTES = [
  route('basic', { expose_key: true }),
  route('short', { ttl: 1 }),
  route('small', { max_body_size: 1000 }),
  route('lru', { memory_max_entries: 2 }),
  route('lrub', { memory_max_bytes: 1024 }),
  route('cookie', { cache_set_cookie: true }),
  route('auth', { cache_authorized: true }),
  route('hdr', { vary_headers: ['X-Tenant'], vary_query_params: ['b', 'a'] }),
  route('json', { content_types: ['application/json'], response_codes: [200] }),
  route('nocc', { cache_control: false, ttl: 60 }),
  route('head', { methods: ['HEAD'] }),
  route('rh', {}, [{ name: 'response-headers', config: { add: { 'x-added': '1' } } }]),
];

function gatewayDoc(up: Upstream, routes = ROUTES, strategy: 'memory' | 'redis' = 'memory') {
  return {
    services: [{ name: 's', url: `http://${up.address}` }],
    routes: routes.map((r) => ({ name: r.name, service: 's', paths: [`/${r.name}`], strip_path: false })),
    plugins: routes.flatMap((r) => [
      ...(r.config === undefined ? [] : [{ name: 'proxy-cache', route: r.name, config: { strategy, ...r.config } }]),
      ...r.extra.map((p) => ({ ...p, route: r.name })),
    ]),
  };
}

const status = (r: { headers: Record<string, unknown> }) => r.headers['x-cache-status'];

describe('proxy-cache: HTTP caching rules (unit)', () => {
  it('fills defaults', () => {
    const v = validate(ProxyCacheSchema, {});
    expect(v.ok && v.value).toMatchObject({
      strategy: 'memory',
      methods: ['GET', 'HEAD'],
      response_codes: [200, 301, 404],
      ttl: 300,
      cache_control: true,
      cache_set_cookie: false,
      cache_authorized: false,
      vary_headers: [],
      key_by_consumer: false,
      max_body_size: 1_048_576,
      expose_key: false,
    });
    expect(v.ok && v.value.content_types).toBeUndefined();
    expect(validate(ProxyCacheSchema, { methods: ['POST'] }).ok).toBe(false);
  });

  it('parses Cache-Control, including quoted values with commas', () => {
    const d = new CacheDirectives().parse('public, max-age=60, s-maxage="30", no-cache="set-cookie, x-a", Max-Age=90');
    expect(d).toMatchObject({ maxAge: 60, sMaxAge: 30, noCache: true, noStore: false, private: false });
    expect(new CacheDirectives().parse('max-age=abc').maxAge).toBe(0);
    expect(new CacheDirectives().parse('no-store,private , only-if-cached, min-fresh=5')).toMatchObject({ noStore: true, private: true, onlyIfCached: true, minFresh: 5 });
  });

  it('computes the freshness lifetime: s-maxage, max-age, Expires - Date, then the fallback', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(freshnessLifetime(new CacheDirectives().parse('max-age=10, s-maxage=20'), {}, 300, now)).toBe(20);
    expect(freshnessLifetime(new CacheDirectives().parse('max-age=10'), {}, 300, now)).toBe(10);
    const h = { date: 'Wed, 01 Jan 2025 00:00:00 GMT', expires: 'Wed, 01 Jan 2025 00:01:00 GMT' };
    expect(freshnessLifetime(undefined, h, 300, now)).toBe(60);
    expect(freshnessLifetime(undefined, { expires: '0' }, 300, now)).toBe(0);
    expect(freshnessLifetime(new CacheDirectives().parse('public'), {}, 300, now)).toBe(300);
  });

  it('reads Vary, If-None-Match and selected query parameters', () => {
    expect(varyNames('Accept-Language, accept-encoding,Accept-Language')).toEqual(['accept-encoding', 'accept-language']);
    expect(varyNames('accept, *')).toBeNull();
    expect(ifNoneMatch('"a", W/"b"', '"b"')).toBe(true);
    expect(ifNoneMatch('W/"b"', 'W/"b"')).toBe(true);
    expect(ifNoneMatch('"a", ', '')).toBe(false);
    expect(ifNoneMatch('*', '"x"')).toBe(true);
    expect(selectedQuery('b=2&z=9&a=1&a=3&bb=5', ['a', 'b'])).toBe('a=1=3&b=2&');
    expect(selectedQuery('a&x=1', ['a', 'b'])).not.toBe(selectedQuery('x=1', ['a', 'b']));
  });

  it('encodes entries binary-safe for Redis', () => {
    const body = Buffer.from([0, 255, 10, 13, 0x80]);
    const e = new CachedResponse(200, { etag: '"x"', 'content-type': 'application/octet-stream' }, body, 1, 2, 3, '"x"', NaN);
    const back = decodeItem(encodeItem(e));
    expect(back).toBeInstanceOf(CachedResponse);
    expect((back as CachedResponse).body.equals(body)).toBe(true);
    expect(back).toMatchObject({ status: 200, storedAt: 1, expiresAt: 2, initialAge: 3, etag: '"x"' });
    expect(decodeItem(encodeItem(new VaryIndex(['accept'], 9)))).toEqual(new VaryIndex(['accept'], 9));
    expect(decodeItem(Buffer.from('garbage'))).toBeNull();
  });

  it('the memory LRU evicts the least recently used by count and by bytes, and drops expired items', () => {
    const mk = (n: number, exp = Infinity) => new CachedResponse(200, {}, Buffer.alloc(n), 0, exp, 0, undefined, NaN);
    const s = new MemoryStore(2, 10_000);
    s.set('a', mk(1));
    s.set('b', mk(1));
    s.get('a', 0);
    s.set('c', mk(1));
    expect([s.get('a', 0) !== undefined, s.get('b', 0) !== undefined, s.get('c', 0) !== undefined]).toEqual([true, false, true]);
    s.resize(10, 1_000);
    s.set('big', mk(2_000));
    expect(s.get('big', 0)).toBeUndefined();
    // a and c (~200 bytes each with bookkeeping) + d (~700) exceed 1000: the least recent (a) goes.
    s.set('d', mk(500));
    expect([s.get('a', 0), s.get('c', 0) !== undefined, s.get('d', 0) !== undefined]).toEqual([undefined, true, true]);
    expect(s.bytes).toBeLessThanOrEqual(1_000);
    s.clear();
    s.set('old', mk(1, 5));
    expect(s.get('old', 4)).toBeDefined();
    expect(s.get('old', 5)).toBeUndefined();
    expect([s.size, s.responses, s.bytes]).toEqual([0, 0, 0]);
  });
});

describe('proxy-cache (memory, real proxy)', () => {
  const origin = new Origin();
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream((req, res) => origin.handle(req, res));
    gw = await startGateway(gatewayDoc(up));
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('a miss then a hit: the upstream is not asked again, the body and headers are replayed with Age', async () => {
    const a = await send(gw.port, '/basic/a?etag=%22v1%22');
    expect(a.status).toBe(200);
    expect(status(a)).toBe('Miss');
    expect(a.body).toBe('/basic/a?etag=%22v1%22 #1 lang=undefined');
    const b = await send(gw.port, '/basic/a?etag=%22v1%22');
    expect(status(b)).toBe('Hit');
    expect(b.body).toBe(a.body);
    expect(b.headers['content-type']).toBe('text/plain');
    expect(b.headers['etag']).toBe('"v1"');
    expect(b.headers['age']).toBe('0');
    expect(b.headers['x-cache-key']).toBe(a.headers['x-cache-key']);
    expect(b.headers['x-cache-key']).toMatch(/^[0-9a-f]{64}$/);
    expect(b.headers['x-request-id']).not.toBe(a.headers['x-request-id']);
    expect(b.headers['via']).toBe('1.1 gatehouse');
    expect(origin.count('/basic/a?etag=%22v1%22')).toBe(1);
    // An uncached route has no cache headers.
    expect(status(await send(gw.port, '/none'))).toBeUndefined();
  });

  it('the default key is the whole query string; vary_query_params selects and orders parameters', async () => {
    await send(gw.port, '/basic/q?x=1');
    expect(status(await send(gw.port, '/basic/q?x=2'))).toBe('Miss');
    expect(status(await send(gw.port, '/hdr/q?a=1&b=2&utm=x'))).toBe('Miss');
    expect(status(await send(gw.port, '/hdr/q?b=2&a=1&utm=y'))).toBe('Hit');
    expect(status(await send(gw.port, '/hdr/q?b=3&a=1'))).toBe('Miss');
  });

  it('expires after the configured ttl, and after the response max-age', async () => {
    expect(status(await send(gw.port, '/short/t'))).toBe('Miss');
    expect(status(await send(gw.port, '/short/t'))).toBe('Hit');
    expect(status(await send(gw.port, '/basic/ma?cc=max-age%3D1'))).toBe('Miss');
    const hit = await send(gw.port, '/basic/ma?cc=max-age%3D1');
    expect(status(hit)).toBe('Hit');
    expect(hit.headers['cache-control']).toBe('max-age=1');
    // s-maxage (shared caches) wins over max-age=0.
    expect(status(await send(gw.port, '/basic/sm?cc=max-age%3D0%2C%20s-maxage%3D60'))).toBe('Miss');
    expect(status(await send(gw.port, '/basic/sm?cc=max-age%3D0%2C%20s-maxage%3D60'))).toBe('Hit');
    await sleep(1_100);
    expect(status(await send(gw.port, '/short/t'))).toBe('Miss');
    expect(status(await send(gw.port, '/basic/ma?cc=max-age%3D1'))).toBe('Miss');
    expect(origin.count('/short/t')).toBe(2);
    expect(status(await send(gw.port, '/basic/sm?cc=max-age%3D0%2C%20s-maxage%3D60'))).toBe('Hit');
  });

  it('adds the origin Age to the time spent in the cache; a response already older than its max-age is not stored', async () => {
    await send(gw.port, '/basic/age?age=10&cc=max-age%3D60');
    const hit = await send(gw.port, '/basic/age?age=10&cc=max-age%3D60');
    expect(status(hit)).toBe('Hit');
    expect(hit.headers['age']).toBe('10');
    await send(gw.port, '/basic/old?age=70&cc=max-age%3D60');
    expect(status(await send(gw.port, '/basic/old?age=70&cc=max-age%3D60'))).toBe('Bypass');
  });

  it.each([['no-store'], ['private'], ['no-cache'], ['max-age%3D0'], ['no-cache%3D%22set-cookie%22']])('does not store a response with Cache-Control: %s', async (cc) => {
    const url = `/basic/cc?cc=${cc}`;
    const first = await send(gw.port, url);
    expect(first.status).toBe(200);
    expect(status(first)).toBe('Bypass');
    expect(status(await send(gw.port, url))).toBe('Bypass');
    expect(origin.count(url)).toBe(2);
  });

  it('an invalid Expires means already expired; a future one sets the freshness', async () => {
    await send(gw.port, '/basic/exp?expires=0');
    expect(status(await send(gw.port, '/basic/exp?expires=0'))).toBe('Bypass');
    const future = encodeURIComponent(new Date(Date.now() + 60_000).toUTCString());
    await send(gw.port, `/basic/exp?expires=${future}`);
    expect(status(await send(gw.port, `/basic/exp?expires=${future}`))).toBe('Hit');
  });

  it('with cache_control off, directives are ignored and ttl applies', async () => {
    await send(gw.port, '/nocc/x?cc=no-store');
    expect(status(await send(gw.port, '/nocc/x?cc=no-store'))).toBe('Hit');
    expect(status(await send(gw.port, '/nocc/x?cc=no-store', { headers: { 'cache-control': 'no-cache' } }))).toBe('Hit');
  });

  it('request no-cache refreshes the entry, Pragma: no-cache too; request no-store bypasses the cache', async () => {
    const url = '/basic/refresh';
    expect((await send(gw.port, url)).body).toContain('#1');
    const r = await send(gw.port, url, { headers: { 'cache-control': 'no-cache' } });
    expect(status(r)).toBe('Refresh');
    expect(r.body).toContain('#2');
    const hit = await send(gw.port, url);
    expect(status(hit)).toBe('Hit');
    expect(hit.body).toContain('#2');
    const p = await send(gw.port, url, { headers: { pragma: 'no-cache' } });
    expect(status(p)).toBe('Refresh');
    expect(p.body).toContain('#3');
    const ns = await send(gw.port, url, { headers: { 'cache-control': 'no-store' } });
    expect(status(ns)).toBe('Bypass');
    expect(ns.body).toContain('#4');
    expect((await send(gw.port, url)).body).toContain('#3');
  });

  it('request max-age, min-fresh and only-if-cached', async () => {
    const url = '/basic/rq?cc=max-age%3D60&age=5';
    await send(gw.port, url);
    expect(status(await send(gw.port, url, { headers: { 'cache-control': 'max-age=10' } }))).toBe('Hit');
    expect(status(await send(gw.port, url, { headers: { 'cache-control': 'max-age=2' } }))).toBe('Refresh');
    expect(status(await send(gw.port, url, { headers: { 'cache-control': 'min-fresh=30' } }))).toBe('Hit');
    expect(status(await send(gw.port, url, { headers: { 'cache-control': 'min-fresh=120' } }))).toBe('Refresh');
    expect(status(await send(gw.port, url, { headers: { 'cache-control': 'only-if-cached' } }))).toBe('Hit');
    const none = await send(gw.port, '/basic/never-seen', { headers: { 'cache-control': 'only-if-cached' } });
    expect(none.status).toBe(504);
    expect(none.json()).toMatchObject({ code: 'GW_ERR_NOT_CACHED' });
    expect(origin.count('/basic/never-seen')).toBe(0);
  });

  it('Vary on a request header keeps one entry per variant', async () => {
    const url = '/basic/v?vary=X-Lang';
    const en = await send(gw.port, url, { headers: { 'x-lang': 'en' } });
    const fr = await send(gw.port, url, { headers: { 'x-lang': 'fr' } });
    expect([status(en), status(fr)]).toEqual(['Miss', 'Miss']);
    const en2 = await send(gw.port, url, { headers: { 'x-lang': 'en' } });
    const fr2 = await send(gw.port, url, { headers: { 'x-lang': 'fr' } });
    const none = await send(gw.port, url);
    expect([status(en2), status(fr2), status(none)]).toEqual(['Hit', 'Hit', 'Miss']);
    expect(en2.body).toContain('lang=en');
    expect(fr2.body).toContain('lang=fr');
    expect(none.body).toContain('lang=undefined');
    expect(origin.count(url)).toBe(3);
  });

  it('vary_headers makes a request header part of the key', async () => {
    await send(gw.port, '/hdr/t', { headers: { 'x-tenant': 'acme' } });
    expect(status(await send(gw.port, '/hdr/t', { headers: { 'x-tenant': 'globex' } }))).toBe('Miss');
    expect(status(await send(gw.port, '/hdr/t', { headers: { 'X-Tenant': 'acme' } }))).toBe('Hit');
    expect(status(await send(gw.port, '/hdr/t'))).toBe('Miss');
  });

  it('Vary: * is never stored', async () => {
    await send(gw.port, '/basic/star?vary=*');
    expect(status(await send(gw.port, '/basic/star?vary=*'))).toBe('Bypass');
    expect(origin.count('/basic/star?vary=*')).toBe(2);
  });

  it('Set-Cookie is not stored unless cache_set_cookie', async () => {
    await send(gw.port, '/basic/c?cookie=s%3D1');
    expect(status(await send(gw.port, '/basic/c?cookie=s%3D1'))).toBe('Bypass');
    await send(gw.port, '/cookie/c?cookie=s%3D1');
    const hit = await send(gw.port, '/cookie/c?cookie=s%3D1');
    expect(status(hit)).toBe('Hit');
    expect(hit.headers['set-cookie']).toEqual(['s=1']);
  });

  it('requests with Authorization bypass the cache unless cache_authorized', async () => {
    const auth = { headers: { authorization: 'Bearer x' } };
    expect(status(await send(gw.port, '/basic/auth', auth))).toBe('Bypass');
    expect(status(await send(gw.port, '/basic/auth', auth))).toBe('Bypass');
    expect(status(await send(gw.port, '/auth/a', auth))).toBe('Miss');
    expect(status(await send(gw.port, '/auth/a', auth))).toBe('Hit');
  });

  it('statuses, methods and content types outside the lists are not stored; 404 and 301 are by default', async () => {
    for (const s of [500, 201]) {
      await send(gw.port, `/basic/s?status=${s}`);
      expect(status(await send(gw.port, `/basic/s?status=${s}`))).toBe('Bypass');
    }
    await send(gw.port, '/basic/s?status=404');
    expect(status(await send(gw.port, '/basic/s?status=404'))).toBe('Hit');
    const post = await send(gw.port, '/basic/post', { method: 'POST', body: 'x' });
    expect(status(post)).toBe('Bypass');
    await send(gw.port, '/json/t?ct=text%2Fhtml');
    expect(status(await send(gw.port, '/json/t?ct=text%2Fhtml'))).toBe('Bypass');
    await send(gw.port, '/json/t?ct=application%2Fjson%3B%20charset%3Dutf-8');
    expect(status(await send(gw.port, '/json/t?ct=application%2Fjson%3B%20charset%3Dutf-8'))).toBe('Hit');
    await send(gw.port, '/json/t?status=404');
    expect(status(await send(gw.port, '/json/t?status=404'))).toBe('Bypass');
  });

  it('a body over max_body_size is delivered complete but not stored', async () => {
    for (const url of ['/small/big?size=5000&chunked', '/small/big?size=5000']) {
      const a = await send(gw.port, url);
      expect(a.body.length).toBe(5000);
      const b = await send(gw.port, url);
      expect(b.body.length).toBe(5000);
      expect(status(b)).not.toBe('Hit');
      expect(origin.count(url)).toBe(2);
    }
    // A declared length over the limit is known up front: Bypass at once.
    expect(status(await send(gw.port, '/small/big?size=5000'))).toBe('Bypass');
    await send(gw.port, '/small/fits?size=900&chunked');
    expect(status(await send(gw.port, '/small/fits?size=900&chunked'))).toBe('Hit');
  });

  it('answers a matching conditional request from the cache with 304', async () => {
    const lm = 'Wed, 01 Jan 2025 00:00:00 GMT';
    const url = `/basic/cond?etag=${encodeURIComponent('"abc"')}&lm=${encodeURIComponent(lm)}`;
    await send(gw.port, url);
    const nm = await send(gw.port, url, { headers: { 'if-none-match': 'W/"zzz", W/"abc"' } });
    expect(nm.status).toBe(304);
    expect(nm.body).toBe('');
    expect(nm.headers['etag']).toBe('"abc"');
    expect(status(nm)).toBe('Hit');
    expect(nm.headers['content-type']).toBeUndefined();
    const other = await send(gw.port, url, { headers: { 'if-none-match': '"zzz"', 'if-modified-since': lm } });
    expect(other.status).toBe(200);
    expect(other.body).toContain('#1');
    expect((await send(gw.port, url, { headers: { 'if-modified-since': lm } })).status).toBe(304);
    expect((await send(gw.port, url, { headers: { 'if-modified-since': 'Tue, 31 Dec 2024 00:00:00 GMT' } })).status).toBe(200);
    expect(origin.count(url)).toBe(1);
  });

  it('HEAD is answered from the GET entry; a HEAD miss stores nothing', async () => {
    const get = await send(gw.port, '/basic/h');
    const head = await send(gw.port, '/basic/h', { method: 'HEAD' });
    expect(status(head)).toBe('Hit');
    expect(head.body).toBe('');
    expect(head.headers['content-length']).toBe(String(get.body.length));
    expect(origin.count('/basic/h')).toBe(1);
    await send(gw.port, '/basic/h?chunked');
    const h2 = await send(gw.port, '/basic/h?chunked', { method: 'HEAD' });
    expect(h2.headers['content-length']).toBe(String('/basic/h?chunked #1 lang=undefined'.length));
    expect(status(await send(gw.port, '/basic/h2', { method: 'HEAD' }))).toBe('Miss');
    expect(status(await send(gw.port, '/basic/h2'))).toBe('Miss');
    // methods: [HEAD] only: GET is not cached at all, so HEAD never finds an entry.
    expect(status(await send(gw.port, '/head/x'))).toBe('Bypass');
    expect(status(await send(gw.port, '/head/x', { method: 'HEAD' }))).toBe('Miss');
  });

  it('purges everything or one key, and reports stats', async () => {
    const a = await send(gw.port, '/basic/pa');
    await send(gw.port, '/basic/pb');
    const before = proxyCacheStats();
    expect(before.entries).toBeGreaterThanOrEqual(2);
    expect(before.bytes).toBeGreaterThan(0);
    expect(before.hits).toBeGreaterThan(0);
    expect(before.misses).toBeGreaterThan(0);
    expect(await purgeProxyCache('not-a-key*')).toBe(0);
    expect(await purgeProxyCache(a.headers['x-cache-key'] as string)).toBe(1);
    expect(status(await send(gw.port, '/basic/pa'))).toBe('Miss');
    expect(status(await send(gw.port, '/basic/pb'))).toBe('Hit');
    expect(await purgeProxyCache()).toBeGreaterThanOrEqual(2);
    expect(proxyCacheStats()).toMatchObject({ entries: 0, bytes: 0 });
    expect(status(await send(gw.port, '/basic/pb'))).toBe('Miss');
  });

  it('purging a varying key removes all its variants', async () => {
    const url = '/basic/pv?vary=x-lang';
    const en = await send(gw.port, url, { headers: { 'x-lang': 'en' } });
    await send(gw.port, url, { headers: { 'x-lang': 'fr' } });
    expect(await purgeProxyCache(en.headers['x-cache-key'] as string)).toBe(2);
    expect(status(await send(gw.port, url, { headers: { 'x-lang': 'fr' } }))).toBe('Miss');
  });

  it('evicts the least recently used entries by count and by bytes', async () => {
    await send(gw.port, '/lru/a');
    await send(gw.port, '/lru/b');
    expect(status(await send(gw.port, '/lru/a'))).toBe('Hit');
    await send(gw.port, '/lru/c');
    expect(status(await send(gw.port, '/lru/b'))).toBe('Miss');
    expect(status(await send(gw.port, '/lru/c'))).toBe('Hit');
    // ~400 body bytes plus headers and bookkeeping: two do not fit in 1024 bytes.
    await send(gw.port, '/lrub/a?size=400');
    expect(status(await send(gw.port, '/lrub/a?size=400'))).toBe('Hit');
    await send(gw.port, '/lrub/b?size=400');
    expect(status(await send(gw.port, '/lrub/b?size=400'))).toBe('Hit');
    expect(status(await send(gw.port, '/lrub/a?size=400'))).toBe('Miss');
    // Bigger than the whole store: never stored.
    await send(gw.port, '/lrub/huge?size=2000');
    expect(status(await send(gw.port, '/lrub/huge?size=2000'))).toBe('Miss');
  });

  it('a client that goes away mid-body leaves no truncated entry', async () => {
    const url = '/basic/abort?gate&size=20000';
    origin.closeGate();
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: url, agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (err.message.includes('socket hang up') || (err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
      req.end();
    });
    await sleep(50);
    origin.release();
    await sleep(50);
    const again = await send(gw.port, url);
    expect(status(again)).toBe('Miss');
    expect(again.body.length).toBe(20000);
    expect(origin.count(url)).toBe(2);
    const hit = await send(gw.port, url);
    expect(status(hit)).toBe('Hit');
    expect(hit.body).toBe(again.body);
  });

  it('an upstream that breaks off mid-body leaves no entry', async () => {
    const url = '/basic/cut?gate&size=20000';
    origin.closeGate();
    const pending = send(gw.port, url).catch((err: Error) => err);
    await sleep(50);
    // The origin dies with half of the body sent: its connection is reset.
    up.server.closeAllConnections();
    const r = await pending;
    expect(r instanceof Error || r.body.length < 20000).toBe(true);
    origin.release();
    expect(status(await send(gw.port, url))).toBe('Miss');
  });

  it('a hit replays the origin head: response-phase plugins are applied once, not twice', async () => {
    await send(gw.port, '/rh/x');
    const hit = await send(gw.port, '/rh/x');
    expect(status(hit)).toBe('Hit');
    expect(hit.headers['x-added']).toBe('1');
  });

  it('entries survive a config reload (memory stores are per worker, per instance namespace)', async () => {
    await send(gw.port, '/basic/reload');
    gw.apply(gatewayDoc(up));
    expect(status(await send(gw.port, '/basic/reload'))).toBe('Hit');
  });
});

describe('proxy-cache (redis strategy)', () => {
  const origin = new Origin();
  let up: Upstream;
  let gw: Gateway;
  let redis: TestRedis;
  let client: Redis;
  beforeAll(async () => {
    up = await startUpstream((req, res) => origin.handle(req, res));
    redis = await startTestRedis();
    client = createRedisClient(redis.url, quiet);
    await waitReady(client, 5_000);
    attachRedis(client);
    gw = await startGateway(gatewayDoc(up, [route('basic', { expose_key: true, redis_timeout_ms: 1_000 }), route('short', { ttl: 1, redis_timeout_ms: 1_000 })], 'redis'));
  });
  afterAll(async () => {
    await gw.close();
    attachRedis(undefined);
    client.disconnect();
    await redis.stop();
    await up.close();
  });

  it('a miss then a hit through Redis, binary body intact, with the PX expiry', async () => {
    const a = await send(gw.port, '/basic/a?etag=%22r1%22');
    expect(status(a)).toBe('Miss');
    await sleep(20);
    const b = await send(gw.port, '/basic/a?etag=%22r1%22');
    expect(status(b)).toBe('Hit');
    expect(b.body).toBe(a.body);
    expect(b.headers['etag']).toBe('"r1"');
    expect(origin.count('/basic/a?etag=%22r1%22')).toBe(1);
    const key = a.headers['x-cache-key'] as string;
    const pttl = await client.pttl(`gh:cache:${key}`);
    expect(pttl).toBeGreaterThan(290_000);
    expect(pttl).toBeLessThanOrEqual(300_000);
    expect((await send(gw.port, '/basic/a?etag=%22r1%22', { headers: { 'if-none-match': '"r1"' } })).status).toBe(304);
  });

  it('keeps variants apart and purges by key and all', async () => {
    const url = '/basic/v?vary=X-Lang';
    const en = await send(gw.port, url, { headers: { 'x-lang': 'en' } });
    await send(gw.port, url, { headers: { 'x-lang': 'fr' } });
    await sleep(20);
    const fr = await send(gw.port, url, { headers: { 'x-lang': 'fr' } });
    expect(status(fr)).toBe('Hit');
    expect(fr.body).toContain('lang=fr');
    expect((await send(gw.port, url, { headers: { 'x-lang': 'en' } })).body).toContain('lang=en');
    // The index key and two variants.
    expect(await purgeProxyCache(en.headers['x-cache-key'] as string)).toBe(3);
    expect(status(await send(gw.port, url, { headers: { 'x-lang': 'en' } }))).toBe('Miss');
    await send(gw.port, '/short/p');
    await sleep(20);
    expect(await purgeProxyCache()).toBeGreaterThanOrEqual(3);
    expect(await client.keys('gh:cache:*')).toEqual([]);
  });

  it('expires through the Redis TTL', async () => {
    await send(gw.port, '/short/t');
    await sleep(20);
    expect(status(await send(gw.port, '/short/t'))).toBe('Hit');
    await sleep(1_100);
    expect(status(await send(gw.port, '/short/t'))).toBe('Miss');
  });

  it('with Redis down every request is a miss served by the upstream, and the fault is logged', async () => {
    await send(gw.port, '/basic/down');
    await sleep(20);
    expect(status(await send(gw.port, '/basic/down'))).toBe('Hit');
    await redis.stop();
    const t0 = performance.now();
    for (let i = 0; i < 3; i++) {
      const r = await send(gw.port, '/basic/down');
      expect(r.status).toBe(200);
      expect(status(r)).toBe('Miss');
    }
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(origin.count('/basic/down')).toBe(4);
    expect(gw.logger.lines.some((l) => l.msg?.includes('proxy cache unavailable'))).toBe(true);
    expect(proxyCacheStats().redis_errors).toBeGreaterThan(0);
  });
});
