import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin from './plugin.js';
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
      ],
      plugins: [
        { name: 'request-termination', route: 'raw', config: { status_code: 200, body: '<h1>maintenance</h1>', content_type: 'text/html' } },
        { name: 'request-termination', route: 'msg', config: { status_code: 403, message: 'blocked' } },
        { name: 'request-termination', route: 'default', config: {} },
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
});
