/**
 * Recorded admin API answers used by the component tests.
 */
import type { GatewayStatus } from '../features/status/types';

export const STATUS: GatewayStatus = {
  version: '0.1.0',
  node_id: 'node-1',
  started_at: '2025-01-01T00:00:00.000Z',
  uptime_seconds: 93_784,
  config_version: 12,
  config_applied_at: '2025-01-02T02:03:04.000Z',
  config_source: 'postgres',
  store_reachable: true,
  store_error: null,
  snapshot_errors: [],
  connections: { active: 3, total: 1_204 },
  requests_total: 50_000,
  routes: 2,
};

export const SERVICES = {
  data: [
    { name: 'users', url: 'http://users.internal:8080', enabled: true, tags: [] },
    { name: 'orders', protocol: 'https', host: 'orders', port: 8443, path: '/v1', enabled: false, tags: [] },
  ],
  total: 2,
  offset: 0,
  limit: 100,
};

export const ROUTES = {
  data: [
    { name: 'users-api', service: 'users', hosts: [], paths: ['/users', '=/me'], methods: ['GET', 'POST'], enabled: true, tags: [] },
    { name: 'maintenance', hosts: ['api.example.com'], paths: [], methods: [], enabled: true, tags: [] },
  ],
  total: 3,
  offset: 0,
  limit: 2,
};

export const EMPTY_PAGE = { data: [], total: 0, offset: 0, limit: 100 };

export const LOGIN_OK = { access_token: 'jwt-abc', token_type: 'Bearer', expires_in: 3600, role: 'operator' };
