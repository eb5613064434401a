// The DNS provider against a real dnsmasq on a loopback port (Debian package `dnsmasq`).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validate } from '../../config/validate.js';
import { ConfigDocumentSchema, type ConfigDocument } from '../../config/schema.js';
import { DiscoveryRegistry } from '../registry.js';
import { startDnsmasq, type Dnsmasq } from '../test-support/dnsmasq.js';
import { dnsProvider } from './dns.js';

const logger = pino({ level: 'silent' });

function doc(discovery: Record<string, unknown>): ConfigDocument {
  const r = validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'api', discovery: { provider: 'dns', ...discovery } }] });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

const HOSTS = ['127.0.0.2 api.test', '127.0.0.3 api.test', '::1 api.test', '127.0.0.9 b.test', '127.0.0.10 c.test'];

describe('DNS discovery against dnsmasq', () => {
  let dns: Dnsmasq;
  const registries: DiscoveryRegistry[] = [];
  beforeAll(async () => {
    dns = await startDnsmasq({
      hosts: HOSTS,
      ttl: 2,
      probe: 'api.test',
      srv: [
        { service: '_http._tcp.api.test', target: 'b.test', port: 8081, priority: 10, weight: 5 },
        { service: '_http._tcp.api.test', target: 'c.test', port: 8082, priority: 10, weight: 0 },
        { service: '_http._tcp.api.test', target: 'api.test', port: 9000, priority: 20, weight: 50 },
      ],
    });
  });
  afterAll(async () => {
    await dns?.close();
  });
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.close();
  });
  async function discover(discovery: Record<string, unknown>): Promise<DiscoveryRegistry> {
    const r = new DiscoveryRegistry({ providers: [dnsProvider as never], logger, coalesceMs: 10, firstAnswerMs: 5_000 });
    registries.push(r);
    await r.reconcile(doc({ servers: [dns.server], ...discovery }));
    return r;
  }

  it('A records: every address on the configured port, re-resolved after the TTL', async () => {
    const r = await discover({ name: 'api.test', type: 'A', port: 8080, weight: 30, min_refresh: 500 });
    const s = r.get('api')!;
    expect(s.state).toBe('ok');
    expect(s.targets).toEqual([
      { target: '127.0.0.2:8080', weight: 30 },
      { target: '127.0.0.3:8080', weight: 30 },
    ]);
    // dnsmasq answers with a 2 s TTL: the next refresh is 2 s out (within min 0.5 s .. max 300 s).
    const inMs = Date.parse(s.next_refresh_at!) - Date.parse(s.last_success_at!);
    expect(inMs).toBe(2_000);
  });

  it('clamps the TTL to min_refresh and max_refresh', async () => {
    const low = await discover({ name: 'api.test', min_refresh: 3_000, max_refresh: 10_000 });
    let s = low.get('api')!;
    expect(Date.parse(s.next_refresh_at!) - Date.parse(s.last_success_at!)).toBe(3_000);
    await low.close();
    const high = await discover({ name: 'api.test', min_refresh: 200, max_refresh: 700 });
    s = high.get('api')!;
    expect(Date.parse(s.next_refresh_at!) - Date.parse(s.last_success_at!)).toBe(700);
  });

  it('AAAA records, bracketed', async () => {
    const r = await discover({ name: 'api.test', type: 'AAAA', port: 8443 });
    expect(r.get('api')!.targets).toEqual([{ target: '[::1]:8443', weight: 100 }]);
  });

  it('SRV records: the lowest priority only, target names resolved, ports and weights from the records (0 counts as 1)', async () => {
    const r = await discover({ name: '_http._tcp.api.test', type: 'SRV' });
    expect(r.get('api')!.targets).toEqual([
      { target: '127.0.0.10:8082', weight: 1 },
      { target: '127.0.0.9:8081', weight: 5 },
    ]);
  });

  it('follows a changed answer, keeps the targets through an outage and an empty answer, and recovers', async () => {
    const r = await discover({ name: 'api.test', min_refresh: 200, max_refresh: 300, timeout: 200 });
    const targets = () => r.get('api')!.targets.map((t) => t.target);
    expect(targets()).toEqual(['127.0.0.2:80', '127.0.0.3:80']);

    await dns.setHosts([...HOSTS.filter((h) => !h.startsWith('127.0.0.3 ')), '127.0.0.4 api.test']);
    await expect.poll(targets, { timeout: 3_000 }).toEqual(['127.0.0.2:80', '127.0.0.4:80']);

    await dns.stop();
    await expect.poll(() => r.get('api')!.state, { timeout: 5_000 }).toBe('error');
    expect(r.get('api')!.error).toMatch(/^A api\.test: /);
    expect(targets()).toEqual(['127.0.0.2:80', '127.0.0.4:80']);

    await dns.start();
    await expect.poll(() => r.get('api')!.state, { timeout: 5_000 }).toBe('ok');
    expect(targets()).toEqual(['127.0.0.2:80', '127.0.0.4:80']);

    // The name disappears: an empty answer is a failure too, not "no instances".
    await dns.setHosts(HOSTS.filter((h) => !h.endsWith(' api.test')));
    await expect.poll(() => r.get('api')!.state, { timeout: 3_000 }).toBe('error');
    expect(targets()).toEqual(['127.0.0.2:80', '127.0.0.4:80']);
    await dns.setHosts(HOSTS);
    await expect.poll(targets, { timeout: 3_000 }).toEqual(['127.0.0.2:80', '127.0.0.3:80']);
    expect(r.get('api')!.state).toBe('ok');
  });
});
