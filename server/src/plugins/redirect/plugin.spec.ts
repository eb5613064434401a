import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin, { compileTemplate } from './plugin.js';

const deps = { logger: console, scope: 'global' as const, route: undefined };

describe('redirect', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [
        { name: 'plain', service: 's', paths: ['/plain'] },
        { name: 'vars', service: 's', paths: ['/vars'] },
        { name: 'params', service: 's', paths: ['~/users/(?<id>\\d+)/profile$'] },
        { name: 'move', service: 's', paths: ['/move'] },
        { name: 'noq', service: 's', paths: ['/noq'] },
        { name: 'frag', service: 's', paths: ['/frag'] },
        { name: 'temp', service: 's', paths: ['/temp'] },
      ],
      plugins: [
        { name: 'redirect', route: 'plain', config: { location: 'https://new.example.com/docs' } },
        { name: 'redirect', route: 'vars', config: { location: 'https://$(host)/v2$(path)?from=$(query)', status_code: 302 } },
        { name: 'redirect', route: 'params', config: { location: '/people/$(params.id)?a=1', status_code: 308 } },
        { name: 'redirect', route: 'move', config: { location: 'https://api.example.com/ignored/path?x=1', keep_incoming_path: true, status_code: 307 } },
        { name: 'redirect', route: 'noq', config: { location: '/elsewhere', keep_query: false, status_code: 303 } },
        { name: 'redirect', route: 'frag', config: { location: '/guide#install' } },
        { name: 'redirect', route: 'temp', config: { location: '/cost-$$5' } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('answers 301 with the location and keeps the query by default; the upstream is not called', async () => {
    const before = up.hits;
    const r = await send(gw.port, '/plain?q=1&b=2');
    expect(r.status).toBe(301);
    expect(r.headers.location).toBe('https://new.example.com/docs?q=1&b=2');
    expect(r.headers['content-length']).toBe('0');
    expect(up.hits).toBe(before);
  });

  it('fills $(host), $(path) and $(query); keep_query is off when the template uses $(query)', async () => {
    const r = await send(gw.port, '/vars/a/b?x=1', { headers: { host: 'Shop.Example.org:8080' } });
    expect(r.status).toBe(302);
    expect(r.headers.location).toBe('https://shop.example.org/v2/vars/a/b?from=x=1');
  });

  it('fills route captures $(params.x) and appends the query with & after an existing one', async () => {
    const r = await send(gw.port, '/users/42/profile?tab=2');
    expect(r.status).toBe(308);
    expect(r.headers.location).toBe('/people/42?a=1&tab=2');
  });

  it('keep_incoming_path replaces the location path (scheme and host kept)', async () => {
    const r = await send(gw.port, '/move/orders/7?y=2');
    expect(r.status).toBe(307);
    expect(r.headers.location).toBe('https://api.example.com/move/orders/7?y=2');
  });

  it('keep_query: false drops the query; 303', async () => {
    const r = await send(gw.port, '/noq?secret=1');
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/elsewhere');
  });

  it('puts the query before the fragment, and $$ is a literal $', async () => {
    expect((await send(gw.port, '/frag?v=3')).headers.location).toBe('/guide?v=3#install');
    expect((await send(gw.port, '/temp')).headers.location).toBe('/cost-$5');
  });

  it('compiles templates once and refuses unknown variables and non-ASCII locations', () => {
    expect(compileTemplate('a$(path)b$(params.id)').values).toEqual(['a', '', 'b', 'id']);
    expect(() => plugin.create({ location: '/x/$(nope)', status_code: 301, keep_incoming_path: false, keep_query: true }, deps)).toThrow(/unknown variable/);
    expect(() => plugin.create({ location: '/caf\u00e9 x', status_code: 301, keep_incoming_path: false, keep_query: true }, deps)).toThrow(/ASCII/);
  });
});
