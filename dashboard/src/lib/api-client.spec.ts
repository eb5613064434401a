/**
 * Tests of the API client against a loopback admin API stand-in: tokens, JSON, problem+json → ApiError.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAdminPeer, type AdminPeer } from '../test-support/admin-peer';
import { ApiError, createApiClient } from './api-client';

let peer: AdminPeer;
beforeAll(async () => {
  peer = await startAdminPeer();
});
afterAll(() => peer.close());
beforeEach(() => {
  peer.requests.length = 0;
});

describe('createApiClient', () => {
  it('sends the bearer token and parses JSON', async () => {
    peer.routes = { 'GET /status': () => ({ body: { version: '1' } }) };
    const api = createApiClient({ baseUrl: `${peer.url}/`, getToken: () => 'tok' });
    await expect(api.get('/status')).resolves.toEqual({ version: '1' });
    expect(peer.requests[0]).toMatchObject({ method: 'GET', path: '/status', authorization: 'Bearer tok' });
  });

  it('posts JSON bodies; anonymous requests carry no token', async () => {
    peer.routes = { 'POST /auth/login': () => ({ body: { ok: true } }) };
    const api = createApiClient({ baseUrl: peer.url, getToken: () => 'tok' });
    await api.post('/auth/login', { body: { username: 'a', password: 'b' }, anonymous: true });
    expect(peer.requests[0]?.authorization).toBeUndefined();
    expect(JSON.parse(peer.requests[0]?.body ?? '')).toEqual({ username: 'a', password: 'b' });
  });

  it('turns problem+json into a typed ApiError with its errors[]', async () => {
    peer.routes = {
      'POST /services': () => ({
        status: 400,
        body: {
          type: 'https://gatehouse.dev/errors/GW_ERR_ADMIN_VALIDATION',
          title: 'The request body is invalid',
          status: 400,
          code: 'GW_ERR_ADMIN_VALIDATION',
          detail: 'bad url',
          errors: [{ path: '/url', message: 'must be a URI' }, { nonsense: true }],
        },
      }),
    };
    const error = await createApiClient({ baseUrl: peer.url }).post('/services', { body: {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 400,
      code: 'GW_ERR_ADMIN_VALIDATION',
      title: 'The request body is invalid',
      detail: 'bad url',
      errors: [{ path: '/url', message: 'must be a URI' }],
      message: 'The request body is invalid: bad url',
    });
  });

  it('reports a non-JSON error page by its status', async () => {
    peer.routes = { 'GET /status': () => ({ status: 502, body: '<h1>Bad gateway</h1>', contentType: 'text/html' }) };
    const error = await createApiClient({ baseUrl: peer.url }).get('/status').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 502, code: 'HTTP_502', title: 'Request failed with status 502' });
  });

  it('calls onUnauthorized on a 401, except for anonymous requests', async () => {
    peer.routes = { 'GET /status': () => ({ status: 401, body: { title: 'Authentication required', code: 'GW_ERR_ADMIN_UNAUTHORIZED' } }) };
    const seen: ApiError[] = [];
    const api = createApiClient({ baseUrl: peer.url, onUnauthorized: (e) => seen.push(e) });
    await expect(api.get('/status')).rejects.toMatchObject({ status: 401 });
    await expect(api.get('/status', { anonymous: true })).rejects.toMatchObject({ status: 401 });
    expect(seen.map((e) => e.code)).toEqual(['GW_ERR_ADMIN_UNAUTHORIZED']);
  });

  it('maps a network failure to status 0', async () => {
    const closed = await startAdminPeer();
    await closed.close();
    const error = await createApiClient({ baseUrl: closed.url }).get('/status').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, code: 'NETWORK', title: 'The gateway cannot be reached' });
  });
});
