/**
 * Faults not covered elsewhere (Redis killed: rate-limit.e2e; PostgreSQL down: store-loss.e2e; JWKS
 * down: plugins/jwt/jwks.spec; 100 entity changes: postgres-nodes.e2e): Redis flushed (data and scripts)
 * mid-run, Redis paused with SIGSTOP, an upstream host that does not resolve, 100 whole-config reloads
 * (PUT /config) under load, secrets kept out of the access log, and a graceful SIGTERM with requests in
 * flight. 100 whole-config reloads under load: faults-reload.e2e.ts.
 */
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect, createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, type RedisServer } from '../support/redis.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { agent, call, problemOf, sleep, startFileGateway, until, type FileGateway } from './resilience-helpers.js';

/** One RESP command over a fresh connection; resolves with the raw reply. */
function redisCommand(port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = createConnection({ port, host: '127.0.0.1' }, () => s.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString());
    });
    s.once('error', reject);
  });
}

const SECRET_BEARER = 'Bearer s3cret-bearer-f4a1b2c3d4';
const SECRET_QUERY = 's3cret-query-9e8d7c6b';
const SECRET_BASIC = Buffer.from('alice:s3cret-basic-pw-77').toString('base64');

describe('faults (real gateway, real Redis)', () => {
  let redis: RedisServer;
  let up: Upstream;
  let slow: Server;
  let slowPort: number;
  let gw: FileGateway;
  let logDir: string;

  beforeAll(async () => {
    redis = await startRedis();
    up = await startUpstream('steady');
    slow = createServer((req, res) => {
      const ms = Number(new URL(req.url ?? '/', 'http://x').searchParams.get('ms') ?? 0);
      setTimeout(() => res.end('slow done'), ms);
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    slowPort = (slow.address() as { port: number }).port;
    logDir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-faults-'));
    const lim = (extra: object) => ({ limit_by: ['ip'], policy: 'redis', inherit_global: false, ...extra });
    gw = await startFileGateway(
      {
        services: [
          { name: 'steady', url: up.url },
          { name: 'slow', url: `http://127.0.0.1:${slowPort}`, read_timeout: 10_000 },
          // .invalid never resolves (RFC 6761).
          { name: 'nxdomain', url: 'http://gatehouse-e2e-missing.invalid:8080', retries: 0 },
        ],
        routes: [
          { name: 'lim', service: 'steady', paths: ['/lim'] },
          { name: 'open', service: 'steady', paths: ['/open'] },
          { name: 'plain', service: 'steady', paths: ['/plain'] },
          { name: 'slow', service: 'slow', paths: ['/slow'] },
          { name: 'nx', service: 'nxdomain', paths: ['/nx'] },
        ],
        plugins: [
          { name: 'rate-limiting', route: 'lim', config: lim({ hour: 5, redis_timeout_ms: 1_000, fault_policy: 'fail-closed' }) },
          { name: 'rate-limiting', route: 'open', config: lim({ hour: 1000, redis_timeout_ms: 200, fault_policy: 'fail-open' }) },
        ],
      },
      {
        REDIS_URL: redis.url,
        GATEHOUSE_TRUSTED_PROXIES: '127.0.0.1',
        GATEHOUSE_ACCESS_LOG: path.join(logDir, 'access.log'),
        GATEHOUSE_ACCESS_LOG_FIELDS: 'time,request_id,client_ip,route,method,host,path,query,status,user_agent,error_code,upstream_error',
      },
    );
  });

  afterAll(async () => {
    if (redis?.pid) process.kill(redis.pid, 'SIGCONT');
    await gw?.cleanup();
    await agent.close().catch(() => undefined);
    await redis?.stop();
    await up?.close();
    slow?.closeAllConnections();
    await new Promise<void>((r) => (slow ? slow.close(() => r()) : r()));
    if (logDir) rmSync(logDir, { recursive: true, force: true });
  });

  const get = (p: string, ip: string, headers: Record<string, string> = {}) => call(gw.proxyUrl, p, { headers: { 'x-forwarded-for': ip, ...headers } });
  const seq = async (p: string, ip: string, n: number) => {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await get(p, ip)).status);
    return out;
  };

  it('Redis FLUSHALL and SCRIPT FLUSH mid-run: limits keep working (scripts reloaded on NOSCRIPT), budgets restart', async () => {
    expect(await seq('/lim', '10.9.0.1', 6)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await redisCommand(redis.port, 'FLUSHALL')).toBe('+OK\r\n');
    expect(await redisCommand(redis.port, 'SCRIPT', 'FLUSH')).toBe('+OK\r\n');
    // Counters are gone, so the client starts over; the limiter's scripts must be loaded again, not fail.
    expect(await seq('/lim', '10.9.0.1', 6)).toEqual([200, 200, 200, 200, 200, 429]);
    expect(await seq('/lim', '10.9.0.2', 6)).toEqual([200, 200, 200, 200, 200, 429]);
  });

  it('Redis paused (SIGSTOP for 2 s): latency bounded by redis_timeout_ms, fail-open passes, service recovers after SIGCONT', async () => {
    const pid = redis.pid!;
    process.kill(pid, 'SIGSTOP');
    const t0 = Date.now();
    const results: { status: number; ms: number }[] = [];
    try {
      await Promise.all(
        Array.from({ length: 10 }, async (_, c) => {
          while (Date.now() - t0 < 2_000) {
            const r = await get('/open', `10.9.1.${c}`);
            results.push({ status: r.status, ms: r.ms });
          }
        }),
      );
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    expect(results.length).toBeGreaterThan(10);
    expect(results.every((r) => r.status === 200)).toBe(true);
    const worst = Math.max(...results.map((r) => r.ms));
    // redis_timeout_ms 200 plus scheduling slack on a loaded machine; an unbounded wait would be ~2 s.
    expect(worst).toBeLessThan(1_200);
    // After SIGCONT the limiter answers from Redis again and still enforces limits.
    await until('redis answers again', async () => (await get('/lim', '10.9.1.99')).status === 200, 10_000, 100);
    expect(await seq('/lim', '10.9.1.99', 5)).toEqual([200, 200, 200, 200, 429]);
  });

  it('an upstream host that does not resolve: 502 GW_ERR_UPSTREAM_UNAVAILABLE naming the DNS failure, fast, and other routes unaffected', async () => {
    const r = await get('/nx', '10.9.2.1');
    expect(r.status).toBe(502);
    const p = problemOf(r);
    expect(p.code).toBe('GW_ERR_UPSTREAM_UNAVAILABLE');
    expect(p.detail ?? '').toMatch(/ENOTFOUND|EAI_AGAIN|getaddrinfo/);
    expect(r.ms).toBeLessThan(5_000);
    expect((await get('/plain', '10.9.2.1')).status).toBe(200);
    // The next request resolves again (no negative entry stuck in a cache) and fails the same clear way.
    expect((await get('/nx', '10.9.2.1')).status).toBe(502);
  });

  it('keeps bearer tokens, basic credentials and secret query parameters out of the access log', async () => {
    const r = await get(`/plain/x?apikey=${SECRET_QUERY}&access_token=${SECRET_QUERY}&page=2`, '10.9.3.1', { authorization: SECRET_BEARER, 'user-agent': 'faults-e2e' });
    expect(r.status).toBe(200);
    await get('/plain/y', '10.9.3.1', { authorization: `Basic ${SECRET_BASIC}`, 'user-agent': 'faults-e2e' });
    const file = path.join(logDir, 'access.log');
    await until('access log lines written', () => {
      try {
        return readFileSync(file, 'utf8').includes('/plain/y');
      } catch {
        return false;
      }
    }, 10_000, 100);
    const log = readFileSync(file, 'utf8');
    expect(log).toContain('page=2');
    expect(log).not.toContain(SECRET_QUERY);
    expect(log).not.toContain('s3cret-bearer');
    expect(log).not.toContain(SECRET_BASIC);
    expect(gw.logs()).not.toContain('s3cret');
  });

  it('SIGTERM with requests in flight: they complete, new connections are refused, the process exits 0', async () => {
    const inflight = Array.from({ length: 5 }, () => call(gw.proxyUrl, '/slow?ms=3000', { headers: { 'x-forwarded-for': '10.9.4.1' } }));
    await sleep(300);
    const exited = new Promise<number | null>((resolve) => gw.process.once('exit', (code) => resolve(code)));
    gw.process.kill('SIGTERM');
    await until(
      'the proxy listener refuses new connections',
      () =>
        new Promise<boolean>((resolve) => {
          const s = connect(gw.proxyPort, '127.0.0.1');
          s.once('connect', () => {
            s.destroy();
            resolve(false);
          });
          s.once('error', () => resolve(true));
        }),
      2_500,
      50,
    );
    const done = await Promise.all(inflight);
    expect(done.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(done.every((r) => r.body === 'slow done')).toBe(true);
    expect(await exited).toBe(0);
  }, 30_000);
});
