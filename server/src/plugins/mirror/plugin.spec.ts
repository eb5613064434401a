import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../config/validate.js';
import { deadPort, send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { clearShadowSamples, shadowSamples, shadowStats, type ShadowRouteStats } from './plugin.js';
import plugin from './plugin.js';
import { MirrorSchema } from './schema.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

/**
 * An upstream whose answer depends on the path, differently for the primary and the shadow, so each
 * path is one comparison scenario. Records every request it received.
 */
async function app(role: 'primary' | 'shadow', delay = () => 0): Promise<{ up: Upstream; seen: Seen[] }> {
  const seen: Seen[] = [];
  const up = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks).toString() });
      const p = new URL(req.url!, 'http://x').pathname.replace(/^\/v[12]/, '');
      const json = (status: number, v: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(v));
      };
      const shadow = role === 'shadow';
      const answer = () => {
        if (p.endsWith('/status')) return json(shadow ? 500 : 200, { ok: true });
        if (p.endsWith('/header')) return json(200, { ok: true }, { 'x-version': shadow ? '2' : '1' });
        if (p.endsWith('/body')) return json(200, shadow ? { a: 2, b: { c: [1, 3] }, ts: 't', extra: true } : { a: 1, b: { c: [1, 2] }, ts: 't' });
        if (p.endsWith('/ignored')) {
          return json(200, { timestamp: shadow ? 2 : 1, items: [{ id: shadow ? 9 : 1, name: 'a' }, { id: shadow ? 8 : 2, name: 'b' }] });
        }
        if (p.endsWith('/text')) {
          res.writeHead(200, { 'content-type': 'text/plain' });
          return res.end(shadow ? 'hellO' : 'hello');
        }
        if (p.endsWith('/secret')) return json(200, { ok: true }, { 'set-cookie': shadow ? 'session=shadow-secret' : 'session=primary-secret' });
        return json(200, { same: true, n: [1, 2, 3] });
      };
      const d = delay();
      if (d > 0) setTimeout(answer, d);
      else answer();
    });
  });
  return { up, seen };
}

function stats(route: string): ShadowRouteStats {
  return shadowStats().find((s) => s.route === route) ?? ({ route, mirrored: 0, dropped: 0, skipped_body: 0, shadow_errors: 0, compared: 0, matched: 0, mismatched: 0 } as ShadowRouteStats);
}

async function until(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await sleep(10);
  }
}

/** A POST with a chunked body (no Content-Length). */
function sendChunked(port: number, path: string, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
    });
    req.on('error', reject);
    req.write(body.slice(0, 5));
    req.end(body.slice(5));
  });
}

describe('mirror config', () => {
  it('fills defaults and describes every field', () => {
    const r = validate(MirrorSchema, { service: 'shadow' });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.value).toMatchObject({ percentage: 100, max_body_size: 1_048_576, queue_size: 100, timeout: 10_000 });
      expect(r.value.compare).toMatchObject({ enabled: false, headers: [], ignore_body_paths: [], json: true, sample_size: 50 });
    }
    for (const [name, s] of Object.entries(MirrorSchema.properties)) expect((s as { description?: string }).description, name).toBeTruthy();
    for (const [name, s] of Object.entries(MirrorSchema.properties.compare.properties)) expect((s as { description?: string }).description, name).toBeTruthy();
  });

  it('refuses an unknown shadow service and a bad ignore path', () => {
    const deps = { logger: console, scope: 'route' as const, route: undefined, services: new Map([['s', {} as never]]) };
    const cfg = (c: object) => {
      const r = validate(MirrorSchema, c);
      if (!r.ok) throw new Error(JSON.stringify(r));
      return r.value;
    };
    expect(() => plugin.create(cfg({ service: 'nope' }), deps)).toThrow(/'nope' does not exist/);
    expect(() => plugin.create(cfg({ service: 's', sticky: { by: 'header' } }), deps)).toThrow(/sticky.name/);
    expect(validate(MirrorSchema, { service: 's', compare: { ignore_body_paths: ['a/b'] } }).ok).toBe(false);
  });
});

describe('mirror through the proxy', () => {
  let primary: Awaited<ReturnType<typeof app>>;
  let shadow: Awaited<ReturnType<typeof app>>;
  let slow: Awaited<ReturnType<typeof app>>;
  let gw: Gateway;
  let dead: number;

  beforeAll(async () => {
    primary = await app('primary');
    shadow = await app('shadow');
    slow = await app('shadow', () => 2000);
    dead = await deadPort();
    const compare = { enabled: true, headers: ['X-Version', 'Set-Cookie'], ignore_body_paths: ['/timestamp', '/items/*/id'] };
    const m = (route: string, config: object) => ({ name: 'mirror', route, config: { service: 'shadow', ...config } });
    gw = await startGateway({
      services: [
        { name: 'primary', url: `http://${primary.up.address}/v1` },
        { name: 'shadow', url: `http://${shadow.up.address}/v2` },
        { name: 'slow', url: `http://${slow.up.address}` },
        { name: 'down', url: `http://127.0.0.1:${dead}`, connect_timeout: 500 },
        { name: 'off', url: `http://${primary.up.address}/v1`, enabled: false },
      ],
      routes: [
        { name: 'all', service: 'primary', paths: ['/all'], strip_path: true },
        { name: 'none', service: 'primary', paths: ['/none'] },
        { name: 'half', service: 'primary', paths: ['/half'] },
        { name: 'slow', service: 'primary', paths: ['/slow'] },
        { name: 'down', service: 'primary', paths: ['/down'] },
        { name: 'queue', service: 'primary', paths: ['/queue'] },
        { name: 'body', service: 'primary', paths: ['/body-limit'] },
        { name: 'cmp', service: 'primary', paths: ['/cmp'], strip_path: true },
        { name: 'ring', service: 'primary', paths: ['/ring'], strip_path: true },
        { name: 'gone', service: 'down', paths: ['/gone'] },
        { name: 'sticky', service: 'primary', paths: ['/sticky'] },
        { name: 'off', service: 'off', paths: ['/off'] },
      ],
      plugins: [
        m('all', {}),
        m('none', { percentage: 0 }),
        m('half', { percentage: 50 }),
        m('slow', { service: 'slow', timeout: 5000 }),
        m('down', { service: 'down' }),
        m('queue', { service: 'slow', queue_size: 2 }),
        m('body', { max_body_size: 10 }),
        m('cmp', { compare }),
        m('ring', { compare: { ...compare, sample_size: 3 } }),
        m('gone', { compare }),
        m('sticky', { percentage: 50, sticky: { by: 'header', name: 'X-User' } }),
        m('off', {}),
        { name: 'request-transformer', route: 'off', config: { remove: { headers: ['x-secret'] } } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await primary.up.close();
    await shadow.up.close();
    await slow.up.close();
  });

  it('copies every request at 100 % with method, path on the shadow\'s base path, headers and body', async () => {
    shadow.seen.length = 0;
    for (let i = 0; i < 20; i++) {
      const r = await send(gw.port, `/all/items/${i}?q=${i}`, { method: 'POST', headers: { 'content-type': 'text/plain', 'x-custom': 'yes', connection: 'keep-alive, x-hop', 'x-hop': 'h' }, body: `payload-${i}` });
      expect(r.status).toBe(200);
      expect(r.headers['x-gatehouse-mirror']).toBeUndefined();
    }
    await until(() => shadow.seen.length === 20);
    const s = shadow.seen.find((x) => x.url.startsWith('/v2/items/7?'))!;
    expect(s).toMatchObject({ method: 'POST', url: '/v2/items/7?q=7', body: 'payload-7' });
    expect(s.headers).toMatchObject({ 'x-custom': 'yes', 'x-gatehouse-mirror': '1', 'content-length': '9', host: shadow.up.address });
    expect(s.headers['x-hop']).toBeUndefined();
    expect(s.headers['x-request-id']).toBeTruthy();
    // The primary got the same body (it was buffered, not lost) and no mirror marker.
    const p = primary.seen.find((x) => x.url === '/v1/items/7?q=7')!;
    expect(p.body).toBe('payload-7');
    expect(p.headers['x-gatehouse-mirror']).toBeUndefined();
    expect(stats('all').mirrored).toBe(20);
  });

  it('copies nothing at 0 % and about half at 50 %', async () => {
    const before = shadow.seen.length;
    for (let i = 0; i < 50; i++) await send(gw.port, '/none');
    await sleep(100);
    expect(shadow.seen.length).toBe(before);
    expect(primary.seen.filter((x) => x.url === '/v1').length).toBeGreaterThanOrEqual(50);
    expect(stats('none').mirrored).toBe(0);
    await Promise.all(Array.from({ length: 400 }, () => send(gw.port, '/half')));
    // Every sampled request reached the shadow, and nothing else did.
    await until(() => shadow.seen.length - before === stats('half').mirrored && stats('half').mirrored > 0);
    const n = stats('half').mirrored;
    expect(n).toBeGreaterThan(150);
    expect(n).toBeLessThan(250);
  });

  it('sticky sampling copies a given client always or never', async () => {
    const mirroredFor = async (user: string): Promise<number> => {
      const before = shadow.seen.filter((s) => s.headers['x-user'] === user).length;
      for (let i = 0; i < 5; i++) await send(gw.port, '/sticky', { headers: { 'x-user': user } });
      await sleep(50);
      return shadow.seen.filter((s) => s.headers['x-user'] === user).length - before;
    };
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => mirroredFor(`user-${i}`)));
    for (const r of results) expect([0, 5]).toContain(r);
    expect(results.filter((r) => r === 5).length).toBeGreaterThan(2);
    expect(results.filter((r) => r === 0).length).toBeGreaterThan(2);
  });

  it('never makes the client wait for a slow shadow', async () => {
    const t = performance.now();
    const r = await send(gw.port, '/slow');
    expect(r.status).toBe(200);
    expect(performance.now() - t).toBeLessThan(500);
    await until(() => slow.seen.length >= 1);
  });

  it('never shows the client a shadow failure; counts it', async () => {
    for (let i = 0; i < 5; i++) expect((await send(gw.port, '/down')).status).toBe(200);
    await until(() => stats('down').shadow_errors === 5);
  });

  it('bounds mirrors in flight: the ones over queue_size are dropped and counted', async () => {
    const before = slow.seen.length;
    const replies = await Promise.all(Array.from({ length: 10 }, () => send(gw.port, '/queue')));
    for (const r of replies) expect(r.status).toBe(200);
    expect(stats('queue').mirrored).toBe(2);
    expect(stats('queue').dropped).toBe(8);
    await until(() => slow.seen.length === before + 2, 4000);
  });

  it('does not copy bodies over max_body_size or of unknown length; the primary still gets them', async () => {
    const before = shadow.seen.length;
    const r = await send(gw.port, '/body-limit', { method: 'POST', body: 'x'.repeat(11) });
    expect(r.status).toBe(200);
    expect(primary.seen.at(-1)!.body).toBe('x'.repeat(11));
    expect(await sendChunked(gw.port, '/body-limit', 'chunked-body')).toBe(200);
    expect(primary.seen.at(-1)!.body).toBe('chunked-body');
    expect(stats('body').skipped_body).toBe(2);
    await send(gw.port, '/body-limit', { method: 'POST', body: 'x'.repeat(10) });
    await until(() => shadow.seen.length === before + 1);
    expect(shadow.seen.at(-1)!.body).toBe('x'.repeat(10));
  });

  it('sends the shadow the headers the primary would have got when the gateway answered before dispatching', async () => {
    shadow.seen.length = 0;
    const r = await send(gw.port, '/off/x', { headers: { 'x-keep': 'k', 'x-secret': 's', X_Real_IP: '6.6.6.6', 'x-real-ip': '7.7.7.7', connection: 'keep-alive, x-hop', 'x-hop': 'h' } });
    expect(r.status).toBe(503);
    await until(() => shadow.seen.length === 1);
    const h = shadow.seen[0]!.headers;
    expect(h).toMatchObject({ 'x-keep': 'k', 'x-gatehouse-mirror': '1', 'x-real-ip': '127.0.0.1', 'x-forwarded-for': '127.0.0.1', host: shadow.up.address });
    expect(h['x-request-id']).toBe(r.headers['x-request-id']);
    // Removed by a plugin, named with an underscore (dropped by default), hop-by-hop: none reaches the shadow.
    expect(h['x-secret']).toBeUndefined();
    expect(h['x_real_ip']).toBeUndefined();
    expect(h['x-hop']).toBeUndefined();
  });

  describe('comparison', () => {
    it('counts equal responses as matched and records nothing', async () => {
      clearShadowSamples();
      for (let i = 0; i < 5; i++) await send(gw.port, '/cmp/same');
      await until(() => stats('cmp').compared === 5);
      expect(stats('cmp')).toMatchObject({ matched: 5, mismatched: 0 });
      expect(stats('cmp').primary_latency_ms_sum).toBeGreaterThan(0);
      expect(shadowSamples('cmp')).toEqual([]);
    });

    it('detects status, header and body differences with their pointers; ignores ignored paths', async () => {
      const before = stats('cmp');
      await send(gw.port, '/cmp/status');
      await send(gw.port, '/cmp/header');
      await send(gw.port, '/cmp/body');
      await send(gw.port, '/cmp/ignored');
      await send(gw.port, '/cmp/text');
      await until(() => stats('cmp').compared === before.compared + 5);
      const after = stats('cmp');
      expect(after.matched - before.matched).toBe(1); // /ignored
      expect(after.mismatched - before.mismatched).toBe(4);
      expect(after.mismatch_status - before.mismatch_status).toBe(1);
      expect(after.mismatch_headers - before.mismatch_headers).toBe(1);
      expect(after.mismatch_body - before.mismatch_body).toBe(2);
      const by = (suffix: string) => shadowSamples('cmp').find((s) => s.path.endsWith(suffix))!;
      expect(by('/status').differences).toEqual([{ kind: 'status', primary: 200, shadow: 500 }]);
      expect(by('/status')).toMatchObject({ route: 'cmp', shadow_service: 'shadow', method: 'GET', path: '/v2/status', primary: { status: 200 }, shadow: { status: 500 } });
      expect(by('/header').differences).toEqual([{ kind: 'header', name: 'x-version', primary: '1', shadow: '2' }]);
      expect(by('/body').differences.map((d) => d.pointer)).toEqual(['/a', '/b/c/1', '/extra']);
      expect(by('/body').differences[0]).toEqual({ kind: 'body', pointer: '/a', primary: '1', shadow: '2' });
      expect(by('/body').primary.body_excerpt).toBe('{"a":1,"b":{"c":[1,2]},"ts":"t"}');
      expect(by('/text').differences).toEqual([{ kind: 'body', pointer: '', primary: 'hello', shadow: 'hellO' }]);
      expect(shadowSamples('cmp').find((s) => s.path.endsWith('/ignored'))).toBeUndefined();
      // Newest first.
      expect(shadowSamples('cmp')[0]!.path).toBe('/v2/text');
    });

    it('redacts secret headers in samples', async () => {
      await send(gw.port, '/cmp/secret');
      await until(() => shadowSamples('cmp').some((s) => s.path.endsWith('/secret')));
      const s = shadowSamples('cmp').find((x) => x.path.endsWith('/secret'))!;
      expect(s.differences).toEqual([{ kind: 'header', name: 'set-cookie', primary: '[redacted]', shadow: '[redacted]' }]);
      expect(s.primary.headers?.['set-cookie']).toBe('[redacted]');
      expect(JSON.stringify(shadowSamples())).not.toMatch(/(primary|shadow)-secret/);
    });

    it('keeps at most sample_size records per route', async () => {
      for (let i = 0; i < 8; i++) await send(gw.port, `/ring/body?i=${i}`);
      await until(() => stats('ring').compared === 8);
      const samples = shadowSamples('ring');
      expect(samples).toHaveLength(3);
      expect(samples.map((s) => s.path)).toEqual(['/v2/body?i=7', '/v2/body?i=6', '/v2/body?i=5']);
      expect(clearShadowSamples('ring')).toBe(3);
      expect(shadowSamples('ring')).toEqual([]);
      expect(stats('ring').mismatched).toBe(8);
    });

    it('compares by status when the primary failed and the gateway answered', async () => {
      const r = await send(gw.port, '/gone');
      expect(r.status).toBe(502);
      await until(() => stats('gone').compared === 1);
      const s = shadowSamples('gone')[0]!;
      expect(s.differences).toEqual([{ kind: 'status', primary: 502, shadow: 200 }]);
      expect(s.primary.error).toMatch(/gateway answered/);
    });
  });
});
