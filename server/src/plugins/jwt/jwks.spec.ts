import { createServer, type Server } from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLogger, send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { RemoteJwks } from './jwks.js';
import { PinnedKey } from './jws.js';
import { makeKeys, nowSec, sign, type AlgKeys } from './test-keys.js';

/** A real JWKS endpoint whose key set, Cache-Control, status and latency the test controls. */
class JwksServer {
  server!: Server;
  url = '';
  hits = 0;
  keys: Record<string, unknown>[] = [];
  cacheControl: string | undefined = undefined;
  status = 200;
  delayMs = 0;
  async start(): Promise<void> {
    this.server = createServer((_req, res) => {
      this.hits++;
      setTimeout(() => {
        const headers: Record<string, string> = { 'content-type': 'application/json' };
        if (this.cacheControl) headers['cache-control'] = this.cacheControl;
        res.writeHead(this.status, headers).end(JSON.stringify({ keys: this.keys }));
      }, this.delayMs);
    });
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    this.url = `http://127.0.0.1:${(this.server.address() as { port: number }).port}/jwks.json`;
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

const jwkOf = (k: AlgKeys, kid: string) => ({ ...(k.publicKey!.export({ format: 'jwk' }) as object), kid, use: 'sig' });

describe('RemoteJwks', () => {
  const srv = new JwksServer();
  const k1 = makeKeys('ES256');
  const k2 = makeKeys('ES256');
  let clock = 1_000_000;
  let jwks: RemoteJwks | undefined;
  const logger = new MemoryLogger();
  const make = (over: Partial<ConstructorParameters<typeof RemoteJwks>[0]> = {}) =>
    (jwks = new RemoteJwks({
      uri: srv.url,
      algorithms: ['ES256'],
      timeoutMs: 500,
      defaultTtlMs: 600_000,
      minTtlMs: 60_000,
      maxTtlMs: 3_600_000,
      cooldownMs: 30_000,
      logger,
      now: () => clock,
      ...over,
    }));

  beforeAll(() => srv.start());
  afterAll(() => srv.close());
  afterEach(() => {
    jwks?.close();
    srv.hits = 0;
    srv.status = 200;
    srv.delayMs = 0;
    srv.cacheControl = undefined;
    srv.keys = [jwkOf(k1, 'k1')];
  });

  it('100 concurrent lookups of unknown kids cause exactly one fetch, then the cooldown refuses at once', async () => {
    srv.keys = [jwkOf(k1, 'k1')];
    const j = make();
    await j.lookup('k1', 'ES256');
    expect(srv.hits).toBe(1);
    clock += 31_000; // past the cooldown, still inside the TTL
    srv.delayMs = 50;
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => j.lookup(`evil-${i}`, 'ES256')));
    expect(srv.hits).toBe(2);
    expect(new Set(results)).toEqual(new Set(['unknown-kid']));
    // Within the cooldown: answered synchronously, no fetch.
    const again = j.lookup('evil-x', 'ES256');
    expect(again).toBe('unknown-kid');
    expect(srv.hits).toBe(2);
    // Known kids keep working synchronously.
    expect(j.lookup('k1', 'ES256')).toBeInstanceOf(PinnedKey);
  });

  it('rotation: an unknown kid after the cooldown refetches; removed keys stop working', async () => {
    const j = make();
    expect(await j.lookup('k1', 'ES256')).toBeInstanceOf(PinnedKey);
    srv.keys = [jwkOf(k2, 'k2')];
    clock += 31_000;
    expect(await j.lookup('k2', 'ES256')).toBeInstanceOf(PinnedKey);
    expect(j.lookup('k1', 'ES256')).toBe('unknown-kid');
    expect(j.generation).toBe(2);
  });

  it.each([
    ['max-age=120', 120_000],
    ['public, max-age=5', 60_000], // clamped up to min
    ['max-age=999999', 3_600_000], // clamped down to max
    [undefined, 600_000], // default
  ])('Cache-Control %s → refetch after %d ms', async (cc, ttl) => {
    srv.cacheControl = cc;
    const j = make();
    await j.lookup('k1', 'ES256');
    clock += ttl - 1;
    expect(j.lookup('k1', 'ES256')).toBeInstanceOf(PinnedKey);
    expect(srv.hits).toBe(1);
    clock += 1;
    expect(await j.lookup('k1', 'ES256')).toBeInstanceOf(PinnedKey);
    expect(srv.hits).toBe(2);
  });

  it('a failing refresh keeps the last good keys; an issuer that never answered is unavailable without a storm', async () => {
    const j = make();
    await j.lookup('k1', 'ES256');
    clock += 700_000;
    srv.status = 500;
    expect(await j.lookup('k1', 'ES256')).toBeInstanceOf(PinnedKey);
    expect(srv.hits).toBe(2);
    expect(j.lookup('k1', 'ES256')).toBeInstanceOf(PinnedKey); // cooling down: no third fetch
    expect(srv.hits).toBe(2);

    const fresh = make({ uri: srv.url });
    expect(await fresh.lookup('k1', 'ES256')).toBe('unavailable');
    expect(await Promise.all(Array.from({ length: 20 }, () => fresh.lookup('k1', 'ES256')))).toEqual(Array(20).fill('unavailable'));
    expect(srv.hits).toBe(3);
  });

  it('times out a slow JWKS endpoint', async () => {
    srv.delayMs = 400;
    const j = make({ timeoutMs: 100 });
    const t0 = Date.now();
    expect(await j.lookup('k1', 'ES256')).toBe('unavailable');
    expect(Date.now() - t0).toBeLessThan(350);
  });

  it('without a kid, only an unambiguous key is used', async () => {
    srv.keys = [jwkOf(k1, 'k1'), jwkOf(k2, 'k2')];
    const j = make();
    expect(await j.lookup(undefined, 'ES256')).toBe('ambiguous');
    srv.keys = [jwkOf(k1, 'k1')];
    const one = make();
    expect(await one.lookup(undefined, 'ES256')).toBeInstanceOf(PinnedKey);
  });
});

describe('jwt with a remote JWKS, end to end', () => {
  const srv = new JwksServer();
  const k1 = makeKeys('ES256');
  const rogue = makeKeys('ES256');
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    await srv.start();
    srv.keys = [jwkOf(k1, 'k1')];
    up = await startUpstream();
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [{ name: 'r', service: 's', paths: ['/r'] }],
      plugins: [{ name: 'jwt', route: 'r', config: { issuers: [{ iss: 'idp', algorithms: ['ES256'], jwks_uri: srv.url, audiences: ['api'] }], consumer_credentials: false } }],
    });
  });
  afterAll(async () => {
    await gw?.close();
    await up?.close();
    await srv.close();
  });

  it('verifies tokens by kid; 100 concurrent unknown kids cost at most one more fetch', async () => {
    const ok = await sign(k1, { iss: 'idp', aud: 'api', exp: nowSec() + 60 }, { kid: 'k1' });
    expect((await send(gw.port, '/r', { headers: { authorization: `Bearer ${ok}` } })).status).toBe(200);
    const hitsBefore = srv.hits;
    expect(hitsBefore).toBe(1);
    const bad = await Promise.all(
      Array.from({ length: 100 }, async (_, i) => {
        const t = await sign(rogue, { iss: 'idp', aud: 'api' }, { kid: `rogue-${i}` });
        return send(gw.port, '/r', { headers: { authorization: `Bearer ${t}` } });
      }),
    );
    expect(bad.every((r) => r.status === 401 && r.json<{ code: string }>().code === 'GW_ERR_AUTH_KID_UNKNOWN')).toBe(true);
    // The prefetch at start happened less than the cooldown ago, so not even one refetch.
    expect(srv.hits).toBe(hitsBefore);
    // A rogue key under a known kid is a signature failure, never a fallback.
    const forged = await sign(rogue, { iss: 'idp', aud: 'api' }, { kid: 'k1' });
    const r = await send(gw.port, '/r', { headers: { authorization: `Bearer ${forged}` } });
    expect(r.json<{ code: string }>().code).toBe('GW_ERR_AUTH_TOKEN_SIGNATURE');
  });
});
