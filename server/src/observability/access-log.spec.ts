// The access log on a real ProxyServer: real upstreams, real plugins; lines are collected by a LineSink
// that keeps them in memory (the sinks themselves are tested in log-sinks.spec.ts).
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadPort, send, startGateway, startUpstream, MemoryLogger, type Gateway, type Upstream } from '../proxy/test-support/harness.js';
import { AccessLineFormatter, AccessLog, createAccessLog, DEFAULT_ACCESS_LOG_FIELDS, isoNow, jsonString, ms3, redactQuery, SECRET_QUERY_PARAMS, type AccessLogField } from './access-log.js';
import type { LineSink, SinkStats } from './log-sinks.js';
import type { ProxyRequest } from '../proxy/proxy-request.js';

class MemorySink implements LineSink {
  readonly name = 'memory';
  readonly lines: string[] = [];
  write(line: string): void {
    this.lines.push(line);
  }
  stats(): SinkStats {
    return { lines: this.lines.length, dropped: 0 };
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

type Line = Record<string, unknown>;

function post(port: number, pathAndQuery: string, body: string, headers: Record<string, string>): Promise<{ status: number; requestId: string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: pathAndQuery, headers: { 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode!, requestId: String(res.headers['x-request-id']) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('access log', () => {
  let up: Upstream;
  let gw: Gateway;
  let dead: number;
  const all = new MemorySink();
  const some = new MemorySink();
  const withQuery = new MemorySink();
  const logs = [
    new AccessLog(new AccessLineFormatter(DEFAULT_ACCESS_LOG_FIELDS, 'node-a'), [all]),
    new AccessLog(new AccessLineFormatter(['status', 'route', 'latency_ms'], 'node-a'), [some]),
    new AccessLog(new AccessLineFormatter([...DEFAULT_ACCESS_LOG_FIELDS, 'query'], 'node-a', ['Custom_Key']), [withQuery]),
  ];

  async function lastLine(sink: MemorySink, count: number): Promise<Line> {
    for (let i = 0; i < 100 && sink.lines.length < count; i++) await new Promise((r) => setTimeout(r, 5));
    expect(sink.lines).toHaveLength(count);
    const raw = sink.lines[count - 1]!;
    expect(raw.endsWith('}\n')).toBe(true);
    expect(raw.indexOf('\n')).toBe(raw.length - 1);
    return JSON.parse(raw) as Line;
  }

  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      req.resume();
      req.on('end', () => {
        res.setHeader('set-cookie', 'upstream-session=SETCOOKIESECRET');
        res.end('twelve bytes');
      });
    });
    dead = await deadPort();
    gw = await startGateway(
      {
        services: [
          { name: 'svc', url: `http://${up.address}` },
          { name: 'gone', url: `http://127.0.0.1:${dead}` },
        ],
        routes: [
          { name: 'ok', service: 'svc', paths: ['/ok'] },
          { name: 'gone', service: 'gone', paths: ['/gone'] },
          { name: 'limited', service: 'svc', paths: ['/limited'] },
          { name: 'cached', service: 'svc', paths: ['/cached'] },
        ],
        plugins: [
          { name: 'rate-limiting', route: 'limited', config: { limit_by: ['ip'], minute: 1 } },
          { name: 'proxy-cache', route: 'cached', config: { cache_set_cookie: true } },
        ],
      },
      [],
      {
        observer: {
          begin() {},
          end(r) {
            for (const l of logs) l.end(r);
          },
        },
      },
    );
  });
  afterAll(async () => {
    await gw?.close();
    await up?.close();
  });

  let n = 0;

  it('writes one JSON line per request with identity, timing, size and upstream fields, and no secrets', async () => {
    const body = '{"hello":"world"}';
    const { status, requestId } = await post(gw.port, '/ok/items?apikey=QUERYSECRET&page=2', body, {
      authorization: 'Bearer AUTHSECRET',
      cookie: 'session=COOKIESECRET',
      'x-api-key': 'HEADERSECRET',
      'user-agent': 'spec-agent/1.0',
    });
    expect(status).toBe(200);
    const line = await lastLine(all, ++n);
    expect(line).toMatchObject({
      type: 'access',
      request_id: requestId,
      node: 'node-a',
      client_ip: '127.0.0.1',
      route: 'ok',
      service: 'svc',
      method: 'POST',
      path: '/ok/items',
      status: 200,
      bytes_in: Buffer.byteLength(body),
      bytes_out: 12,
      upstream: up.address,
      user_agent: 'spec-agent/1.0',
    });
    expect(new Date(line.time as string).toISOString()).toBe(line.time);
    expect(line).not.toHaveProperty('query');
    expect(line).not.toHaveProperty('error_code');
    const total = line.latency_ms as number;
    const upstream = line.upstream_latency_ms as number;
    const gateway = line.gateway_latency_ms as number;
    expect(total).toBeGreaterThan(0);
    expect(upstream).toBeGreaterThan(0);
    expect(upstream).toBeLessThanOrEqual(total);
    expect(Math.abs(total - upstream - gateway)).toBeLessThan(0.0025);
    // Three decimals at most.
    expect(String(total)).toMatch(/^\d+(\.\d{1,3})?$/);
    const raw = all.lines[n - 1]!;
    for (const secret of ['QUERYSECRET', 'AUTHSECRET', 'COOKIESECRET', 'HEADERSECRET', 'SETCOOKIESECRET', 'Bearer']) expect(raw).not.toContain(secret);
  });

  it('logs only the configured fields', async () => {
    await send(gw.port, '/ok');
    const line = await lastLine(some, n + 1);
    expect(Object.keys(line).sort()).toEqual(['latency_ms', 'route', 'status', 'type']);
    expect(line).toMatchObject({ type: 'access', route: 'ok', status: 200 });
    n++;
    await lastLine(all, n);
  });

  it('logs the query only when enabled, with secret parameters redacted', async () => {
    await send(gw.port, '/ok?apikey=K1&API%5FKEY=K2&access_token=T1&token=T2&page=3&q=a%20b&custom_key=C1');
    const line = await lastLine(withQuery, 3);
    expect(line.query).toBe('apikey=[redacted]&API%5FKEY=[redacted]&access_token=[redacted]&token=[redacted]&page=3&q=a%20b&custom_key=[redacted]');
    const plain = await lastLine(all, ++n);
    expect(plain).not.toHaveProperty('query');
    expect(all.lines[n - 1]).not.toContain('K1');
  });

  it('records the gateway’s own answers: no route, dead upstream, rate limit, cache', async () => {
    await send(gw.port, '/nowhere?token=x');
    const miss = await lastLine(all, ++n);
    expect(miss).toMatchObject({ status: 404, error_code: 'GW_ERR_ROUTE_NOT_FOUND', path: '/nowhere' });
    expect(miss).not.toHaveProperty('route');
    expect(miss).not.toHaveProperty('upstream_latency_ms');
    expect(miss.gateway_latency_ms).toBe(miss.latency_ms);

    await send(gw.port, '/gone');
    const gone = await lastLine(all, ++n);
    expect(gone).toMatchObject({ status: 502, route: 'gone', service: 'gone', error_code: 'GW_ERR_UPSTREAM_UNAVAILABLE', upstream_error: 'connect', upstream: `127.0.0.1:${dead}` });

    expect((await send(gw.port, '/limited')).status).toBe(200);
    expect(await lastLine(all, ++n)).not.toHaveProperty('rate_limit');
    expect((await send(gw.port, '/limited')).status).toBe(429);
    expect(await lastLine(all, ++n)).toMatchObject({ status: 429, error_code: 'GW_ERR_RATE_LIMITED', rate_limit: 'limited' });

    await send(gw.port, '/cached');
    expect(await lastLine(all, ++n)).toMatchObject({ status: 200, cache: 'Miss' });
    await send(gw.port, '/cached');
    const hit = await lastLine(all, ++n);
    expect(hit).toMatchObject({ status: 200, cache: 'Hit' });
    expect(hit).not.toHaveProperty('upstream_latency_ms');
  });
});

describe('access log formatting helpers', () => {
  it('ms3 writes what String(Math.round(x * 1000) / 1000) writes', () => {
    const xs = [0, -0, 1, 1.5, 0.1, 0.01, 0.001, 0.0004, 0.0005, -0.0004, -0.5, -12.0345, 12.3456, 100, 99.9999, 1e9 + 0.123, NaN, Infinity, -Infinity, 1e300];
    for (let i = 0; i < 2_000; i++) xs.push(Math.random() * 10 ** ((i % 8) - 3), -Math.random() * 100, i / 8);
    for (const x of xs) expect(ms3(x), String(x)).toBe(String(Math.round(x * 1000) / 1000));
  });

  it('isoNow writes what toISOString writes, across seconds, days and years', () => {
    const ts = [0, 999, 1000, 1001, -1, -1000, -1001, Date.UTC(2026, 11, 31, 23, 59, 59, 999), Date.UTC(2027, 0, 1), 253402300799999, 253402300800000, -62198755200000];
    for (let i = 0; i < 2_000; i++) ts.push(Math.floor(Math.random() * 4e12) - 1e12, 1_800_000_000_000 + i * 7);
    for (const t of ts) expect(isoNow(t), String(t)).toBe(new Date(t).toISOString());
    expect(Date.parse(isoNow())).toBeLessThanOrEqual(Date.now());
  });

  it('formats a line exactly as JSON.stringify would, escapes and non-ASCII included', () => {
    const fields = DEFAULT_ACCESS_LOG_FIELDS.filter((f) => f !== 'time');
    const fmt = new AccessLineFormatter([...fields, 'query'], 'nöde "1"');
    const values = ['plain', 'quote " and back\\slash', 'tab\tnl\n\u0001', 'é€😀', 'lone \ud800', '\u007f', 'x'.repeat(20_000)];
    for (const v of values) {
      const r = {
        requestId: 'req-1',
        traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
        clientIp: '203.0.113.7',
        consumer: { username: v },
        route: { name: 'r' },
        serviceName: 's',
        method: 'GET',
        host: 'h.example',
        path: `/p/${v}`,
        query: `a=${v}`,
        status: 503,
        declaredBodyLength: 12,
        bytesOut: 2 ** 40,
        startedAt: 1000,
        upstreamStartAt: 1000.25,
        upstreamHeadAt: 1003,
        upstreamEndAt: 1003.5,
        endedAt: 1004.125,
        targetAddress: '10.0.0.1:80',
        upstreamFailure: 'timeout',
        errorCode: 'GW_ERR_RATE_LIMITED',
        responseHeaders: { 'x-cache-status': 'Miss' },
        userAgent: v,
        req: { url: '/' },
      } as unknown as ProxyRequest;
      const expected = {
        type: 'access',
        request_id: 'req-1',
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        node: 'nöde "1"',
        client_ip: '203.0.113.7',
        consumer: v,
        route: 'r',
        service: 's',
        method: 'GET',
        host: 'h.example',
        path: `/p/${v}`,
        query: `a=${v}`,
        status: 503,
        bytes_in: 12,
        bytes_out: 2 ** 40,
        latency_ms: 4.125,
        upstream_latency_ms: 3.25,
        gateway_latency_ms: 0.875,
        upstream: '10.0.0.1:80',
        upstream_error: 'timeout',
        error_code: 'GW_ERR_RATE_LIMITED',
        rate_limit: 'limited',
        cache: 'Miss',
        user_agent: v,
      };
      expect(fmt.format(r), v.slice(0, 20)).toBe(`${JSON.stringify(expected)}\n`);
    }
  });

  it('jsonString escapes what JSON requires and passes the rest through', () => {
    for (const s of ['plain', 'with "quotes"', 'back\\slash', 'tab\tnew\nline\u0001', 'lone \ud800 surrogate', 'pair 😀', 'unicode é']) {
      const lit = jsonString(s);
      expect(JSON.parse(lit)).toBe(JSON.parse(JSON.stringify(s)));
      expect(lit).toBe(JSON.stringify(s));
    }
  });

  it('redactQuery keeps the order and the other parameters, and handles names without values', () => {
    const secret = new Set(SECRET_QUERY_PARAMS);
    expect(redactQuery('', secret)).toBe('');
    expect(redactQuery('a=1&Token=abc&b&apikey&x%ZZ=1', secret)).toBe('a=1&Token=[redacted]&b&apikey&x%ZZ=1');
    expect(redactQuery('api+key=1&api_key=2', secret)).toBe('api+key=1&api_key=[redacted]');
  });

  it('createAccessLog builds the sinks the settings name, and none when all are off', async () => {
    const logger = new MemoryLogger();
    const base = { fields: [...DEFAULT_ACCESS_LOG_FIELDS] as AccessLogField[], maxSize: 1024 * 1024, maxFiles: 2, httpUrl: undefined, httpAuthorization: undefined, redactParams: [], nodeId: 'n' };
    expect(createAccessLog({ ...base, destination: 'off' }, logger)).toBeUndefined();
    const dir = mkdtempSync(path.join(tmpdir(), 'gh-access-'));
    const file = path.join(dir, 'sub', 'access.log');
    const log = createAccessLog({ ...base, destination: file, httpUrl: 'http://127.0.0.1:9/' }, logger)!;
    expect(Object.keys(log.stats().sinks).sort()).toEqual(['file', 'http']);
    await log.close();
    expect(readFileSync(file, 'utf8')).toBe('');
  });
});
