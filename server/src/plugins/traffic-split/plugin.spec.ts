import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newCredential } from '../../auth/new-credential.js';
import { activeCredentialKeys } from '../../auth/secrets.js';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { COOKIE_BUCKETS, WeightTable } from '../../traffic/bucket.js';
import plugin, { trafficSplitStats, UPSTREAM_SERVICE_HEADER } from './plugin.js';
import { TrafficSplitSchema } from './schema.js';

const keys = activeCredentialKeys();
const users = Array.from({ length: 40 }, (_, i) => ({ name: `user${i}`, cred: newCredential(keys, `user${i}`, { kind: 'key-auth' }) }));

/** Sends `n` requests, `batch` at a time; returns how many each upstream port answered. */
async function tally(gw: Gateway, n: number, path: string, headers: (i: number) => Record<string, string> = () => ({})): Promise<Map<number, number>> {
  const counts = new Map<number, number>();
  const batch = 50;
  for (let i = 0; i < n; i += batch) {
    const replies = await Promise.all(Array.from({ length: Math.min(batch, n - i) }, (_, j) => send(gw.port, path, { headers: headers(i + j) })));
    for (const r of replies) {
      expect(r.status).toBe(200);
      const port = r.json().port;
      counts.set(port, (counts.get(port) ?? 0) + 1);
    }
  }
  return counts;
}

describe('traffic-split config', () => {
  it('fills defaults and describes every field', () => {
    const r = validate(TrafficSplitSchema, { targets: [{ service: 'a', weight: 100 }] });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value).toMatchObject({ sticky: { by: 'none', cookie_ttl: 86_400, cookie_path: '/' }, expose_header: false });
    for (const [name, s] of Object.entries(TrafficSplitSchema.properties)) expect((s as { description?: string }).description, name).toBeTruthy();
  });

  it('refuses all-zero weights, unknown services and header stickiness without a name', () => {
    const deps = { logger: console, scope: 'route' as const, route: undefined, services: new Map([['a', {} as never]]) };
    const cfg = (c: object) => {
      const r = validate(TrafficSplitSchema, c);
      if (!r.ok) throw new Error('invalid');
      return r.value;
    };
    expect(() => plugin.create(cfg({ targets: [{ service: 'a', weight: 0 }] }), deps)).toThrow(/every weight is 0/);
    expect(() => plugin.create(cfg({ targets: [{ service: 'nope', weight: 1 }] }), deps)).toThrow(/'nope' does not exist/);
    expect(() => plugin.create(cfg({ targets: [{ service: 'a', weight: 1 }], sticky: { by: 'header' } }), deps)).toThrow(/sticky.name/);
  });

  it('maps points to cumulative ranges in the configured order, skipping zero weights', () => {
    const t = new WeightTable(['a', 'b', 'c'], [5, 0, 95]);
    expect(t.pick(0)).toBe('a');
    expect(t.pick(0.0499)).toBe('a');
    expect(t.pick(0.05)).toBe('c');
    expect(t.pick(0.9999999)).toBe('c');
    const z = new WeightTable(['a', 'b'], [10, 0]);
    expect(z.pick(0.9999999999)).toBe('a');
  });
});

describe('traffic-split through the proxy', () => {
  let stable: Upstream;
  let canary: Upstream;
  let gw: Gateway;
  const doc = (split: object, extra: object[] = []) => ({
    services: [
      { name: 'stable', url: `http://${stable.address}` },
      { name: 'canary', url: `http://${canary.address}` },
    ],
    consumers: users.map((u) => ({ username: u.name })),
    credentials: users.map((u) => u.cred.credential),
    routes: [
      { name: 'split', service: 'stable', paths: ['/split'] },
      { name: 'users', service: 'stable', paths: ['/users'] },
      { name: 'plain', service: 'stable', paths: ['/plain'] },
    ],
    plugins: [{ name: 'traffic-split', route: 'split', config: split }, { name: 'key-auth', route: 'users', config: {} }, ...extra],
  });

  beforeAll(async () => {
    stable = await startUpstream();
    canary = await startUpstream((req, res) => {
      // The canary sets a cookie of its own: the split cookie must be added next to it, not replace it.
      res.setHeader('set-cookie', 'app=1; Path=/');
      req.resume();
      req.on('end', () => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ port: canary.port, url: req.url }));
      });
    });
    gw = await startGateway(doc({ targets: [{ service: 'canary', weight: 20 }, { service: 'stable', weight: 80 }], expose_header: true }));
  });
  afterAll(async () => {
    await gw.close();
    await stable.close();
    await canary.close();
  });

  it('splits by weight within tolerance over 2,000 requests and names the service in a header', async () => {
    const before = trafficSplitStats().find((s) => s.scope === 'split' && s.service === 'canary')?.requests ?? 0;
    const counts = await tally(gw, 2000, '/split');
    const c = counts.get(canary.port) ?? 0;
    expect(c / 2000).toBeGreaterThan(0.17);
    expect(c / 2000).toBeLessThan(0.23);
    expect((counts.get(stable.port) ?? 0) + c).toBe(2000);
    const r = await send(gw.port, '/split');
    expect(r.headers[UPSTREAM_SERVICE_HEADER]).toBe(r.json().port === canary.port ? 'canary' : 'stable');
    const after = trafficSplitStats().find((s) => s.scope === 'split' && s.service === 'canary')!.requests;
    expect(after - before).toBeGreaterThanOrEqual(c);
    // Other routes of the same service are untouched.
    const plain = await tally(gw, 100, '/plain');
    expect(plain.get(stable.port)).toBe(100);
  });

  it('weight 0 sends nothing, weight 100 everything; a weight change applies to the next request', async () => {
    gw.apply(doc({ targets: [{ service: 'canary', weight: 0 }, { service: 'stable', weight: 100 }] }));
    expect((await tally(gw, 200, '/split')).get(stable.port)).toBe(200);
    gw.apply(doc({ targets: [{ service: 'canary', weight: 100 }, { service: 'stable', weight: 0 }] }));
    expect((await tally(gw, 200, '/split')).get(canary.port)).toBe(200);
  });

  it('sticky by header keeps a key on its service, and raising 5% to 10% keeps the first 5% on the canary', async () => {
    const split = (w: number) => doc({ targets: [{ service: 'canary', weight: w }, { service: 'stable', weight: 100 - w }], sticky: { by: 'header', name: 'X-User' } });
    const keysN = 1000;
    const onCanary = async (): Promise<Set<number>> => {
      const set = new Set<number>();
      for (let i = 0; i < keysN; i += 50) {
        const replies = await Promise.all(Array.from({ length: 50 }, (_, j) => send(gw.port, '/split', { headers: { 'x-user': `u-${i + j}` } })));
        replies.forEach((r, j) => {
          if (r.json().port === canary.port) set.add(i + j);
        });
      }
      return set;
    };
    gw.apply(split(5));
    const five = await onCanary();
    expect(five.size / keysN).toBeGreaterThan(0.025);
    expect(five.size / keysN).toBeLessThan(0.08);
    // Same answer on a second pass: the header decides, not chance.
    expect(await onCanary()).toEqual(five);
    gw.apply(split(10));
    const ten = await onCanary();
    expect(ten.size / keysN).toBeGreaterThan(0.07);
    expect(ten.size / keysN).toBeLessThan(0.13);
    for (const k of five) expect(ten.has(k), `key ${k} left the canary`).toBe(true);
    // Requests without the header are placed at random: both services get some.
    const anon = await tally(gw, 200, '/split');
    expect(anon.get(canary.port) ?? 0).toBeGreaterThan(0);
  });

  it('sticky by cookie sets the bucket cookie once, next to the upstream cookies, and follows it', async () => {
    gw.apply(doc({ targets: [{ service: 'canary', weight: 30 }, { service: 'stable', weight: 70 }], sticky: { by: 'cookie', cookie_ttl: 600 } }));
    let sawCanaryCookie = false;
    for (let i = 0; i < 30; i++) {
      const first = await send(gw.port, '/split');
      const cookies = ([] as string[]).concat(first.headers['set-cookie'] ?? []);
      const split = cookies.find((c) => c.startsWith('gatehouse_split='))!;
      expect(split).toMatch(/^gatehouse_split=\d{1,4}; Path=\/; Max-Age=600; HttpOnly; SameSite=Lax$/);
      const bucket = Number(/=(\d+)/.exec(split)![1]);
      const expected = bucket / COOKIE_BUCKETS < 0.3 ? canary.port : stable.port;
      expect(first.json().port).toBe(expected);
      if (expected === canary.port) {
        sawCanaryCookie = true;
        expect(cookies).toContain('app=1; Path=/');
      }
      for (let j = 0; j < 5; j++) {
        const again = await send(gw.port, '/split', { headers: { cookie: `other=x; gatehouse_split=${bucket}` } });
        expect(again.json().port).toBe(expected);
        expect(([] as string[]).concat(again.headers['set-cookie'] ?? []).some((c) => c.startsWith('gatehouse_split='))).toBe(false);
      }
    }
    expect(sawCanaryCookie).toBe(true);
    // A forged or out-of-range value is ignored and replaced.
    const bad = await send(gw.port, '/split', { headers: { cookie: 'gatehouse_split=99999' } });
    expect(String(bad.headers['set-cookie'])).toMatch(/gatehouse_split=\d{1,4};/);
  });

  it('sticky by consumer keeps each consumer on one service', async () => {
    gw.apply(
      doc({ targets: [{ service: 'canary', weight: 50 }, { service: 'stable', weight: 50 }], sticky: { by: 'consumer' } }, [
        { name: 'traffic-split', route: 'users', config: { targets: [{ service: 'canary', weight: 50 }, { service: 'stable', weight: 50 }], sticky: { by: 'consumer' } } },
      ]),
    );
    const seen = new Set<number>();
    for (const u of users) {
      const ports = new Set<number>();
      for (let i = 0; i < 4; i++) {
        const r = await send(gw.port, '/users', { headers: { apikey: u.cred.plain } });
        expect(r.status).toBe(200);
        ports.add(r.json().port);
      }
      expect(ports.size, u.name).toBe(1);
      seen.add([...ports][0]!);
    }
    // 40 consumers at 50/50: both services have some.
    expect(seen.size).toBe(2);
  });

  it('a disabled target service leaves the request on the route\'s service', async () => {
    const d = doc({ targets: [{ service: 'canary', weight: 100 }] }) as { services: { enabled?: boolean }[] };
    d.services[1]!.enabled = false;
    gw.apply(d);
    expect((await tally(gw, 20, '/split')).get(stable.port)).toBe(20);
    expect(trafficSplitStats().find((s) => s.scope === 'split' && s.service === 'canary')!.unavailable).toBeGreaterThanOrEqual(20);
  });
});
