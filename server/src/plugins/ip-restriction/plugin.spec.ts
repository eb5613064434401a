import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin from './plugin.js';
import { IpSet, parseIp } from '../../proxy/ip-set.js';

function words(s: string): number[] | undefined {
  const out = new Uint32Array(4);
  return parseIp(s, out) ? Array.from(out) : undefined;
}

describe('ip-set', () => {
  it('parses IPv4, IPv6, compressed forms, embedded IPv4 and zone ids', () => {
    expect(words('10.1.2.3')).toEqual([0, 0, 0xffff, 0x0a010203]);
    expect(words('::ffff:10.1.2.3')).toEqual([0, 0, 0xffff, 0x0a010203]);
    expect(words('::ffff:a01:203')).toEqual([0, 0, 0xffff, 0x0a010203]);
    expect(words('::')).toEqual([0, 0, 0, 0]);
    expect(words('::1')).toEqual([0, 0, 0, 1]);
    expect(words('2001:db8::')).toEqual([0x20010db8, 0, 0, 0]);
    expect(words('2001:DB8:0:0:1::2')).toEqual([0x20010db8, 0, 0x10000, 2]);
    expect(words('fe80::1%eth0')).toEqual([0xfe800000, 0, 0, 1]);
    expect(words('1:2:3:4:5:6:7:8')).toEqual([0x10002, 0x30004, 0x50006, 0x70008]);
  });

  it('refuses malformed addresses', () => {
    for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', '1.2.3.4 ', 'a.b.c.d', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', '12345::', '1:', ':1', 'gggg::', '1.2.3.4::']) {
      expect(words(bad), bad).toBeUndefined();
    }
  });

  it('matches CIDR edges: /0, /32, /128, host bits ignored, adjacent blocks merged', () => {
    const s = new IpSet(['10.0.0.0/8', '192.168.1.7/32', '2001:db8::1/128', '172.16.5.9/12']);
    expect(s.has('10.0.0.0')).toBe(true);
    expect(s.has('10.255.255.255')).toBe(true);
    expect(s.has('11.0.0.0')).toBe(false);
    expect(s.has('9.255.255.255')).toBe(false);
    expect(s.has('192.168.1.7')).toBe(true);
    expect(s.has('192.168.1.8')).toBe(false);
    expect(s.has('2001:db8::1')).toBe(true);
    expect(s.has('2001:db8::2')).toBe(false);
    expect(s.has('172.31.255.255')).toBe(true);
    expect(s.has('172.32.0.0')).toBe(false);
    expect(new IpSet(['0.0.0.0/0']).has('255.255.255.255')).toBe(true);
    expect(new IpSet(['0.0.0.0/0']).has('2001:db8::1')).toBe(false);
    expect(new IpSet(['::/0']).has('2001:db8::1')).toBe(true);
    expect(new IpSet(['::/0']).has('1.2.3.4')).toBe(true);
    expect(new IpSet(['10.0.0.0/25', '10.0.0.128/25']).size).toBe(1);
    expect(new IpSet(['10.0.0.0/8', '10.1.0.0/16', '::/0']).size).toBe(1);
  });

  it('a long list stays a binary search (10 000 blocks)', () => {
    const list: string[] = [];
    for (let i = 0; i < 10_000; i++) list.push(`10.${i >> 8}.${i & 255}.0/25`);
    const s = new IpSet(list);
    expect(s.size).toBe(10_000);
    expect(s.has('10.39.15.127')).toBe(true);
    expect(s.has('10.39.15.128')).toBe(false);
    const t0 = performance.now();
    for (let i = 0; i < 100_000; i++) s.has('10.20.30.40');
    expect(performance.now() - t0).toBeLessThan(500);
  });

  it('refuses invalid entries at create', () => {
    expect(() => new IpSet(['10.0.0.0/33'])).toThrow(/prefix/);
    expect(() => new IpSet(['2001:db8::/129'])).toThrow(/prefix/);
    expect(() => new IpSet(['example.com'])).toThrow(/not an IP/);
    expect(() => plugin.create({ allow: [], deny: [], status: 403 }, { logger: console, scope: 'global', route: undefined })).toThrow(/allow/);
  });
});

describe('ip-restriction through the proxy', () => {
  let up: Upstream;
  let gw: Gateway;
  let untrusted: Gateway;
  const xff = (ip: string) => ({ 'x-forwarded-for': ip });
  beforeAll(async () => {
    up = await startUpstream();
    const doc = {
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [
        { name: 'allow', service: 's', paths: ['/allow'] },
        { name: 'deny', service: 's', paths: ['/deny'] },
        { name: 'both', service: 's', paths: ['/both'] },
        { name: 'v6', service: 's', paths: ['/v6'] },
        { name: 'custom', service: 's', paths: ['/custom'] },
      ],
      plugins: [
        { name: 'ip-restriction', route: 'allow', config: { allow: ['203.0.113.0/24', '127.0.0.1'] } },
        { name: 'ip-restriction', route: 'deny', config: { deny: ['198.51.100.7', '2001:db8:bad::/48'] } },
        { name: 'ip-restriction', route: 'both', config: { allow: ['203.0.113.0/24'], deny: ['203.0.113.66'] } },
        { name: 'ip-restriction', route: 'v6', config: { allow: ['2001:db8::/32', '::ffff:192.0.2.0/120'] } },
        { name: 'ip-restriction', route: 'custom', config: { deny: ['0.0.0.0/0', '::/0'], status: 451, message: 'not from here' } },
      ],
    };
    gw = await startGateway(doc, ['127.0.0.1']);
    untrusted = await startGateway(doc);
  });
  afterAll(async () => {
    await gw.close();
    await untrusted.close();
    await up.close();
  });

  it('allow list: a listed client passes, another gets 403 problem+json GW_ERR_IP_FORBIDDEN', async () => {
    expect((await send(gw.port, '/allow', { headers: xff('203.0.113.9') })).status).toBe(200);
    const r = await send(gw.port, '/allow', { headers: xff('203.0.114.9') });
    expect(r.status).toBe(403);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.json<{ code: string; detail: string }>()).toMatchObject({ code: 'GW_ERR_IP_FORBIDDEN', detail: expect.stringContaining('203.0.114.9') });
  });

  it('deny list: IPv4 and an IPv6 block', async () => {
    expect((await send(gw.port, '/deny', { headers: xff('198.51.100.7') })).status).toBe(403);
    expect((await send(gw.port, '/deny', { headers: xff('198.51.100.8') })).status).toBe(200);
    expect((await send(gw.port, '/deny', { headers: xff('2001:db8:bad:1::5') })).status).toBe(403);
    expect((await send(gw.port, '/deny', { headers: xff('2001:db8:bae::5') })).status).toBe(200);
  });

  it('deny wins over allow', async () => {
    expect((await send(gw.port, '/both', { headers: xff('203.0.113.65') })).status).toBe(200);
    expect((await send(gw.port, '/both', { headers: xff('203.0.113.66') })).status).toBe(403);
  });

  it('IPv6 and IPv4-mapped clients', async () => {
    expect((await send(gw.port, '/v6', { headers: xff('2001:db8:1::1') })).status).toBe(200);
    expect((await send(gw.port, '/v6', { headers: xff('2001:db9::1') })).status).toBe(403);
    // A mapped rule matches the plain IPv4 client and the other way round.
    expect((await send(gw.port, '/v6', { headers: xff('192.0.2.200') })).status).toBe(200);
    expect((await send(gw.port, '/allow', { headers: xff('::ffff:203.0.113.1') })).status).toBe(200);
  });

  it('status and message overrides', async () => {
    const r = await send(gw.port, '/custom');
    expect(r.status).toBe(451);
    expect(r.json<{ status: number; detail: string }>()).toMatchObject({ status: 451, detail: 'not from here' });
  });

  it('uses the trusted client address: X-Forwarded-For from an untrusted peer is ignored', async () => {
    // The peer 127.0.0.1 is allowed on /allow; a forged XFF from an untrusted peer changes nothing.
    expect((await send(untrusted.port, '/allow', { headers: xff('198.51.100.1') })).status).toBe(200);
    expect((await send(untrusted.port, '/deny', { headers: xff('198.51.100.7') })).status).toBe(200);
    // From a trusted peer the forwarded address counts.
    expect((await send(gw.port, '/allow', { headers: xff('198.51.100.1') })).status).toBe(403);
  });

  it('never reaches the upstream when refused', async () => {
    const before = up.hits;
    await send(gw.port, '/custom');
    expect(up.hits).toBe(before);
  });
});
