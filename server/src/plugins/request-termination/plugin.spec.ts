import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin, { hasQueryParam } from './plugin.js';
import { RequestTerminationSchema } from './schema.js';

describe('request-termination', () => {
  let up: Upstream;
  let gw: Gateway;
  beforeAll(async () => {
    up = await startUpstream();
    gw = await startGateway({
      services: [{ name: 's', url: `http://${up.address}` }],
      consumers: [{ username: 'alice' }],
      routes: [
        { name: 'raw', service: 's', paths: ['/raw'] },
        { name: 'msg', service: 's', paths: ['/msg'] },
        { name: 'default', service: 's', paths: ['/default'] },
        { name: 'open', service: 's', paths: ['/open'] },
        { name: 'mock', service: 's', paths: ['/mock'] },
        { name: 'trig', service: 's', paths: ['/trig'] },
      ],
      plugins: [
        { name: 'request-termination', route: 'raw', config: { status_code: 200, body: '<h1>maintenance</h1>', content_type: 'text/html' } },
        { name: 'request-termination', route: 'msg', config: { status_code: 403, message: 'blocked' } },
        { name: 'request-termination', route: 'default', config: {} },
        {
          name: 'request-termination',
          route: 'mock',
          config: { status_code: 201, body: '{"id":7}', content_type: 'application/json', headers: { Location: '/items/7', 'X-Mock': 'yes' } },
        },
        { name: 'request-termination', route: 'trig', config: { status_code: 418, message: 'mocked', trigger: 'X-Mock-Me' } },
      ],
    });
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  it('fills Kong-compatible defaults', () => {
    const v = validate(RequestTerminationSchema, {});
    expect(v.ok && v.value).toEqual({ status_code: 503 });
  });

  it('answers a raw body with its content type', async () => {
    const r = await send(gw.port, '/raw');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html');
    expect(r.body).toBe('<h1>maintenance</h1>');
  });

  it('answers a message as JSON', async () => {
    const r = await send(gw.port, '/msg');
    expect(r.status).toBe(403);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(r.json<{ message: string }>()).toEqual({ message: 'blocked' });
  });

  it('answers a problem+json with the request id by default', async () => {
    const r = await send(gw.port, '/default');
    expect(r.status).toBe(503);
    expect(r.json<{ code: string; request_id: string }>()).toMatchObject({ code: 'GW_ERR_REQUEST_TERMINATED', request_id: r.headers['x-request-id'] });
  });

  it('never reaches the upstream, and other routes are untouched', async () => {
    const before = up.hits;
    await send(gw.port, '/raw');
    expect(up.hits).toBe(before);
    expect((await send(gw.port, '/open')).status).toBe(200);
    expect(up.hits).toBe(before + 1);
  });

  it('refuses a content_type without a body', () => {
    expect(() => plugin.create({ status_code: 503, content_type: 'text/plain' }, { logger: console, scope: 'global', route: undefined })).toThrow(/content_type/);
  });

  it('mock responses carry the configured extra headers', async () => {
    const r = await send(gw.port, '/mock');
    expect(r.status).toBe(201);
    expect(r.headers.location).toBe('/items/7');
    expect(r.headers['x-mock']).toBe('yes');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.body).toBe('{"id":7}');
  });

  it('trigger: only requests with the header or query parameter are terminated', async () => {
    const before = up.hits;
    expect((await send(gw.port, '/trig')).status).toBe(200);
    expect((await send(gw.port, '/trig?x-mock-mex=1')).status).toBe(200);
    expect(up.hits).toBe(before + 2);
    expect((await send(gw.port, '/trig', { headers: { 'x-mock-me': '' } })).status).toBe(418);
    expect((await send(gw.port, '/trig?a=1&X-Mock-Me')).status).toBe(418);
    const r = await send(gw.port, '/trig?X-Mock-Me=1');
    expect(r.status).toBe(418);
    expect(r.json<{ message: string }>()).toEqual({ message: 'mocked' });
    expect(up.hits).toBe(before + 2);
  });

  it('hasQueryParam matches whole names only', () => {
    expect(hasQueryParam('a=1&debug', 'debug')).toBe(true);
    expect(hasQueryParam('debug=0', 'debug')).toBe(true);
    expect(hasQueryParam('nodebug=1&debugx=2', 'debug')).toBe(false);
    expect(hasQueryParam('', 'debug')).toBe(false);
  });

  it('refuses gateway-managed headers in `headers`', () => {
    expect(() => plugin.create({ status_code: 200, body: 'x', headers: { 'Content-Length': '1' } }, { logger: console, scope: 'global', route: undefined })).toThrow(/content-length/);
    expect(() => plugin.create({ status_code: 200, body: 'x', headers: { 'content-type': 'a/b' } }, { logger: console, scope: 'global', route: undefined })).toThrow(/content_type/);
  });
});
