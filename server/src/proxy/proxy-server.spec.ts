import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { deadPort, send, sendRaw, startGateway, startUpstream, type Gateway, type Upstream } from './test-support/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('ProxyServer: routing and rewriting', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({
      services: [
        { name: 'echo', url: `http://${up.address}` },
        { name: 'echo-prefixed', url: `http://${up.address}/base` },
      ],
      routes: [
        { name: 'strip', service: 'echo', paths: ['/api'] },
        { name: 'keep', service: 'echo', paths: ['/keep'], strip_path: false },
        { name: 'prefixed', service: 'echo-prefixed', paths: ['/pre'] },
        { name: 'host', service: 'echo', hosts: ['tenant.test'], paths: ['/h'], preserve_host: true },
        { name: 'rewrite', service: 'echo', paths: ['~/users/(?<id>\\d+)'], rewrite: '/v2/accounts/{id}/{path}' },
        { name: 'post', service: 'echo', paths: ['/m'], methods: ['POST'] },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('strips the matched prefix and keeps the query', async () => {
    const r = await send(gw.port, '/api/orders?x=1&y=%20');
    expect(r.status).toBe(200);
    expect(r.json().url).toBe('/orders?x=1&y=%20');
  });

  it('sends the bare root when the whole prefix is stripped', async () => {
    expect((await send(gw.port, '/api')).json().url).toBe('/');
  });

  it('keeps the path when strip_path is off', async () => {
    expect((await send(gw.port, '/keep/a')).json().url).toBe('/keep/a');
  });

  it('prepends the service path', async () => {
    expect((await send(gw.port, '/pre/x')).json().url).toBe('/base/x');
    expect((await send(gw.port, '/pre')).json().url).toBe('/base');
  });

  it('normalises the path before matching and proxying', async () => {
    expect((await send(gw.port, '/keep/a/../b/%7Ec')).json().url).toBe('/keep/b/~c');
    expect((await send(gw.port, '/x/../api/y')).json().url).toBe('/y');
  });

  it('sends the target host unless preserve_host', async () => {
    expect((await send(gw.port, '/api')).json().headers.host).toBe(up.address);
    expect((await send(gw.port, '/h', { headers: { host: 'tenant.test' } })).json().headers.host).toBe('tenant.test');
  });

  it('renders rewrite templates with captures and the remainder', async () => {
    expect((await send(gw.port, '/users/42/settings?q=1')).json().url).toBe('/v2/accounts/42/settings?q=1');
  });

  it('matches methods and answers 404 problem+json otherwise', async () => {
    expect((await send(gw.port, '/m', { method: 'POST', body: 'x' })).status).toBe(200);
    const r = await send(gw.port, '/m');
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toBe('application/problem+json');
    const p = r.json<{ code: string; request_id: string; status: number }>();
    expect(p.code).toBe('GW_ERR_ROUTE_NOT_FOUND');
    expect(p.status).toBe(404);
    expect(p.request_id).toBe(r.headers['x-request-id']);
  });

  it('streams request bodies upstream', async () => {
    const body = Buffer.alloc(300_000, 7);
    const r = await send(gw.port, '/m', { method: 'POST', body });
    expect(r.json().bodyBytes).toBe(body.length);
  });

  it('rejects duplicate Host headers', async () => {
    const raw = await sendRaw(gw.port, 'GET /api HTTP/1.1\r\nHost: a.test\r\nHost: b.test\r\nConnection: close\r\n\r\n');
    expect(raw).toMatch(/^HTTP\/1.1 400/);
    expect(raw).toContain('GW_ERR_AMBIGUOUS_HOST');
  });

  it('rejects an absolute-form target that disagrees with Host', async () => {
    const bad = await sendRaw(gw.port, 'GET http://evil.test/api HTTP/1.1\r\nHost: tenant.test\r\nConnection: close\r\n\r\n');
    expect(bad).toMatch(/^HTTP\/1.1 400/);
    expect(bad).toContain('GW_ERR_AMBIGUOUS_HOST');
    const ok = await sendRaw(gw.port, 'GET http://tenant.test/h HTTP/1.1\r\nHost: tenant.test\r\nConnection: close\r\n\r\n');
    expect(ok).toMatch(/^HTTP\/1.1 200/);
  });

  it('rejects paths that cannot be normalised', async () => {
    for (const p of ['/api/%00', '/api/%zz']) {
      const r = await send(gw.port, p);
      expect(r.status).toBe(400);
      expect(r.json<{ code: string }>().code).toBe('GW_ERR_BAD_PATH');
    }
  });
});

describe('ProxyServer: header hygiene and trust', () => {
  let up: Upstream;
  let gw: Gateway;
  let trustedGw: Gateway;
  beforeAll(async () => {
    up = await startUpstream((req, res) => {
      if (req.url === '/leaky') {
        res.writeHead(200, [
          'Connection', 'x-internal',
          'X-Internal', 'secret',
          'Proxy-Authenticate', 'Basic',
          'Keep-Alive', 'timeout=5',
          'Content-Type', 'text/plain',
        ]);
        res.end('ok');
        return;
      }
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ headers: req.headers }));
    });
    const doc = { services: [{ name: 's', url: `http://${up.address}` }], routes: [{ name: 'r', service: 's', strip_path: false }] };
    gw = await startGateway(doc, []);
    trustedGw = await startGateway(doc, ['127.0.0.0/8']);
  });
  afterAll(async () => {
    await gw.close();
    await trustedGw.close();
    await up.close();
  });

  type H = { headers: Record<string, string> };

  it('strips hop-by-hop headers and those named in Connection', async () => {
    const r = await send(gw.port, '/x', {
      headers: [
        'Host', `127.0.0.1:${gw.port}`,
        'Connection', 'keep-alive, X-Hop-One, x-hop-two',
        'X-Hop-One', '1',
        'X-Hop-Two', '2',
        'Keep-Alive', 'timeout=5',
        'Proxy-Connection', 'keep-alive',
        'Proxy-Authorization', 'Basic Zm9vOmJhcg==',
        'TE', 'trailers',
        'Upgrade', 'h2c',
        'X-Kept', 'yes',
      ],
    });
    const h = r.json<H>().headers;
    for (const n of ['x-hop-one', 'x-hop-two', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'trailer', 'upgrade']) {
      expect(h[n], n).toBeUndefined();
    }
    expect(h['x-kept']).toBe('yes');
    expect(h.via).toBe('1.1 gatehouse');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(`127.0.0.1:${gw.port}`);
    expect(h['x-forwarded-port']).toBe(String(gw.port));
    expect(h.forwarded).toBe(`for=127.0.0.1;proto=http;host="127.0.0.1:${gw.port}"`);
  });

  it('strips Trailer and TE sent on a raw connection', async () => {
    const raw = await sendRaw(gw.port, 'GET /x HTTP/1.1\r\nHost: a.test\r\nTE: trailers\r\nTrailer: X-Sum\r\nConnection: close\r\n\r\n');
    const h = (JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as H).headers;
    expect(h.te).toBeUndefined();
    expect(h.trailer).toBeUndefined();
    expect(h.host).toBe(up.address);
  });

  it('strips hop-by-hop headers from the response', async () => {
    const r = await send(gw.port, '/leaky');
    expect(r.headers['x-internal']).toBeUndefined();
    expect(r.headers['proxy-authenticate']).toBeUndefined();
    expect(r.headers['keep-alive']).toBeUndefined();
    expect(r.headers.via).toBe('1.1 gatehouse');
    expect(r.body).toBe('ok');
  });

  it('appends Via to an incoming one', async () => {
    expect((await send(gw.port, '/x', { headers: { via: '1.0 corp' } })).json<H>().headers.via).toBe('1.0 corp, 1.1 gatehouse');
  });

  it('replaces forwarding headers from an untrusted peer', async () => {
    const h = (
      await send(gw.port, '/x', {
        headers: { 'x-forwarded-for': '6.6.6.6', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'spoof.test', forwarded: 'for=6.6.6.6' },
      })
    ).json<H>().headers;
    expect(h['x-forwarded-for']).toBe('127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('http');
    expect(h['x-forwarded-host']).toBe(`127.0.0.1:${gw.port}`);
    expect(h.forwarded).not.toContain('6.6.6.6');
  });

  it('appends to forwarding headers from a trusted peer', async () => {
    const h = (
      await send(trustedGw.port, '/x', {
        headers: { 'x-forwarded-for': '203.0.113.9, 10.0.0.1', 'x-forwarded-proto': 'https', 'x-forwarded-host': 'api.example.com', forwarded: 'for=203.0.113.9' },
      })
    ).json<H>().headers;
    expect(h['x-forwarded-for']).toBe('203.0.113.9, 10.0.0.1, 127.0.0.1');
    expect(h['x-forwarded-proto']).toBe('https');
    expect(h['x-forwarded-host']).toBe('api.example.com');
    expect(h.forwarded).toBe(`for=203.0.113.9, for=127.0.0.1;proto=http;host="127.0.0.1:${trustedGw.port}"`);
  });

  it('generates a request id, returns it and sends it upstream', async () => {
    const r = await send(gw.port, '/x');
    expect(r.headers['x-request-id']).toMatch(UUID);
    expect(r.json<H>().headers['x-request-id']).toBe(r.headers['x-request-id']);
  });

  it('keeps a request id only from a trusted hop, and only if well-formed', async () => {
    const untrusted = await send(gw.port, '/x', { headers: { 'x-request-id': 'abc-123' } });
    expect(untrusted.headers['x-request-id']).toMatch(UUID);
    const trusted = await send(trustedGw.port, '/x', { headers: { 'x-request-id': 'abc-123' } });
    expect(trusted.headers['x-request-id']).toBe('abc-123');
    expect(trusted.json<H>().headers['x-request-id']).toBe('abc-123');
    const malformed = await send(trustedGw.port, '/x', { headers: { 'x-request-id': 'a b<script>' } });
    expect(malformed.headers['x-request-id']).toMatch(UUID);
  });
});

describe('ProxyServer: upstream failures', () => {
  let slow: Upstream;
  let gw: Gateway;
  let dead: number;
  beforeAll(async () => {
    slow = await startUpstream((req, res) => {
      if (req.url!.endsWith('/hang')) return; // never answers
      res.end('late');
    });
    dead = await deadPort();
    gw = await startGateway({
      services: [
        { name: 'dead', url: `http://127.0.0.1:${dead}` },
        { name: 'slow', url: `http://${slow.address}`, read_timeout: 200 },
        { name: 'off', url: `http://${slow.address}`, enabled: false },
      ],
      routes: [
        { name: 'dead', service: 'dead', paths: ['/dead'] },
        { name: 'slow', service: 'slow', paths: ['/slow'], strip_path: false },
        { name: 'off', service: 'off', paths: ['/off'] },
        { name: 'none', paths: ['/none'] },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await slow.close();
  });

  it('answers 502 problem+json when the target refuses', async () => {
    const r = await send(gw.port, '/dead');
    expect(r.status).toBe(502);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json<{ code: string; request_id: string }>()).toMatchObject({ code: 'GW_ERR_UPSTREAM_UNAVAILABLE', request_id: r.headers['x-request-id'] });
  });

  it('answers 504 problem+json when the target does not answer in time', async () => {
    const t0 = Date.now();
    const r = await send(gw.port, '/slow/hang');
    expect(r.status).toBe(504);
    expect(r.json<{ code: string }>().code).toBe('GW_ERR_UPSTREAM_TIMEOUT');
    expect(Date.now() - t0).toBeLessThan(3000);
  });

  it('answers 503 for a disabled service and a route without service', async () => {
    expect((await send(gw.port, '/off')).json<{ code: string }>().code).toBe('GW_ERR_SERVICE_DISABLED');
    expect((await send(gw.port, '/none')).json<{ code: string }>().code).toBe('GW_ERR_NO_SERVICE');
  });
});

describe('ProxyServer: load balancing over real targets', () => {
  let ups: Upstream[];
  let gw: Gateway;
  let dead: number;
  beforeAll(async () => {
    ups = await Promise.all([startUpstream(), startUpstream(), startUpstream()]);
    dead = await deadPort();
    const targets = (weights: number[]) => ups.map((u, i) => ({ target: u.address, weight: weights[i] }));
    gw = await startGateway({
      upstreams: [
        { name: 'rr', targets: targets([100, 100, 100]) },
        { name: 'wrr', algorithm: 'weighted-round-robin', targets: targets([100, 300, 0]) },
        { name: 'lc', algorithm: 'least-connections', targets: targets([100, 100, 100]) },
        { name: 'hash', algorithm: 'consistent-hashing', hash_on: 'header', hash_on_header: 'x-user', targets: targets([100, 100, 100]) },
        { name: 'flaky', targets: [{ target: `127.0.0.1:${dead}` }, { target: ups[0]!.address }] },
      ],
      services: ['rr', 'wrr', 'lc', 'hash'].map((n) => ({ name: n, host: n })).concat([{ name: 'flaky', host: 'flaky', retries: 1 } as never]),
      routes: ['rr', 'wrr', 'lc', 'hash', 'flaky'].map((n) => ({ name: n, service: n, paths: [`/${n}`] })),
    });
  });
  afterAll(async () => {
    await gw.close();
    await Promise.all(ups.map((u) => u.close()));
  });

  async function portsFor(path: string, n: number, headers?: (i: number) => Record<string, string>): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < n; i++) out.push((await send(gw.port, path, { headers: headers?.(i) })).json().port);
    return out;
  }
  const count = (ports: number[]) => ups.map((u) => ports.filter((p) => p === u.port).length);

  it('round-robin spreads evenly', async () => {
    expect(count(await portsFor('/rr', 30))).toEqual([10, 10, 10]);
  });

  it('weighted round-robin follows weights and drains weight 0', async () => {
    expect(count(await portsFor('/wrr', 40))).toEqual([10, 30, 0]);
  });

  it('least-connections uses every idle target', async () => {
    const c = count(await portsFor('/lc', 30));
    expect(c.every((x) => x > 0)).toBe(true);
  });

  it('consistent hashing keeps a key on one target and spreads keys', async () => {
    const first = await portsFor('/hash', 60, (i) => ({ 'x-user': `u${i % 20}` }));
    const again = await portsFor('/hash', 60, (i) => ({ 'x-user': `u${i % 20}` }));
    expect(again).toEqual(first);
    expect(new Set(first).size).toBeGreaterThan(1);
  });

  it('retries a refused connection on another target', async () => {
    const r = await Promise.all(Array.from({ length: 6 }, () => send(gw.port, '/flaky')));
    expect(r.map((x) => x.status)).toEqual([200, 200, 200, 200, 200, 200]);
  });
});

describe('ProxyServer: plugins, abort', () => {
  let up: Upstream;
  let gw: Gateway;
  let aborted: Promise<void>;
  let markAborted: () => void;
  beforeAll(async () => {
    aborted = new Promise((r) => (markAborted = r));
    up = await startUpstream((req, res) => {
      if (req.url === '/hold') {
        res.writeHead(200);
        res.write('partial');
        res.on('close', () => markAborted());
        return;
      }
      res.setHeader('x-upstream', 'u');
      res.setHeader('x-drop', 'd');
      res.end('fine');
    });
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [
        { name: 'open', service: 's', paths: ['/open'], strip_path: false },
        { name: 'hold', service: 's', paths: ['/hold'], strip_path: false },
        { name: 'closed', service: 's', paths: ['/closed'] },
        { name: 'maint', paths: ['/maint'] },
      ],
      plugins: [
        { name: 'request-termination', route: 'closed', config: { status_code: 410, message: 'gone' } },
        { name: 'request-termination', route: 'maint', config: {} },
        { name: 'response-headers', config: { set: { 'x-gw': 'yes' }, add: { 'x-upstream': 'gw' }, remove: ['x-drop'] } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('response-headers edits upstream responses', async () => {
    const r = await send(gw.port, '/open');
    expect(r.headers['x-gw']).toBe('yes');
    expect(r.headers['x-upstream']).toBe('u, gw');
    expect(r.headers['x-drop']).toBeUndefined();
  });

  it('request-termination answers without reaching the upstream, and the response phase still runs', async () => {
    const before = up.hits;
    const r = await send(gw.port, '/closed');
    expect(r.status).toBe(410);
    expect(r.json<{ message: string }>()).toEqual({ message: 'gone' });
    expect(r.headers['x-gw']).toBe('yes');
    const m = await send(gw.port, '/maint');
    expect(m.status).toBe(503);
    expect(m.headers['content-type']).toBe('application/problem+json');
    expect(m.json<{ code: string; request_id: string }>()).toMatchObject({ code: 'GW_ERR_REQUEST_TERMINATED', request_id: m.headers['x-request-id'] });
    expect(up.hits).toBe(before);
  });

  it('aborts the upstream request when the client goes away', async () => {
    const { request } = await import('node:http');
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: gw.port, path: '/hold', agent: false }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', () => {});
      req.end();
    });
    await aborted;
  });
});

afterEach(() => undefined);
