import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin from './plugin.js';

describe('response-headers', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream((_req, res) => {
      res.setHeader('x-powered-by', 'php');
      res.setHeader('cache-control', 'no-cache');
      res.setHeader('x-multi', 'a');
      res.end('ok');
    });
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      routes: [
        { name: 'r', service: 's', paths: ['/r'] },
        { name: 'other', service: 's', paths: ['/other'] },
      ],
      plugins: [
        { name: 'response-headers', config: { set: { 'x-global': '1' } } },
        {
          name: 'response-headers',
          route: 'r',
          config: { remove: ['X-Powered-By'], set: { 'Cache-Control': 'max-age=60' }, add: { 'x-multi': 'b', 'x-new': 'n' } },
        },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('removes, sets and adds headers', async () => {
    const r = await send(gw.port, '/r');
    expect(r.headers['x-powered-by']).toBeUndefined();
    expect(r.headers['cache-control']).toBe('max-age=60');
    expect(r.headers['x-multi']).toBe('a, b');
    expect(r.headers['x-new']).toBe('n');
  });

  it('the route instance replaces the global one for that route only', async () => {
    expect((await send(gw.port, '/r')).headers['x-global']).toBeUndefined();
    const o = await send(gw.port, '/other');
    expect(o.headers['x-global']).toBe('1');
    expect(o.headers['x-powered-by']).toBe('php');
  });

  it('does not apply to requests that match no route', async () => {
    expect((await send(gw.port, '/nowhere')).headers['x-global']).toBeUndefined();
  });

  it('refuses headers the gateway manages', () => {
    expect(() => plugin.create({ add: {}, set: { 'Content-Length': '1' }, remove: [] }, { logger: console, scope: 'global', route: undefined })).toThrow(/managed/);
  });
});
