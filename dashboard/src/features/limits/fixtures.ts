/**
 * Recorded admin API answers for the limits tests: a global limit, a service override that inherits it,
 * a route override that does not, a disabled route override, a consumer override and a concurrency limit.
 */
import type { PluginInstance } from './model';

export const GLOBAL: PluginInstance = {
  id: '7b0c6c1e-0000-4000-8000-000000000001',
  name: 'rate-limiting',
  enabled: true,
  config: { limit_by: ['ip'], minute: 100, hour: 1000, policy: 'redis', fault_policy: 'fail-open', redis_timeout_ms: 50 },
  tags: [],
};
export const ORDERS: PluginInstance = {
  id: '7b0c6c1e-0000-4000-8000-000000000002',
  name: 'rate-limiting',
  service: 'orders',
  enabled: true,
  config: { limit_by: ['consumer', 'route'], minute: 10, quota_day: 500 },
  tags: [],
};
export const ADMIN_ROUTE: PluginInstance = {
  id: '7b0c6c1e-0000-4000-8000-000000000003',
  name: 'rate-limiting',
  route: 'users-admin',
  enabled: true,
  config: { limit_by: ['header'], header_name: 'x-tenant', second: 2, inherit_global: false, algorithm: 'sliding-window', fault_policy: 'fail-closed' },
  tags: [],
};
export const DISABLED_ROUTE: PluginInstance = {
  id: '7b0c6c1e-0000-4000-8000-000000000004',
  name: 'rate-limiting',
  route: 'users-api',
  enabled: false,
  config: { limit_by: ['ip'], second: 1 },
  tags: [],
};
export const CONSUMER: PluginInstance = {
  id: '7b0c6c1e-0000-4000-8000-000000000005',
  name: 'rate-limiting',
  consumer: 'alice',
  enabled: true,
  config: { limit_by: ['consumer'], hour: 5000 },
  tags: [],
};
export const CONCURRENCY: PluginInstance = {
  id: '7b0c6c1e-0000-4000-8000-000000000006',
  name: 'concurrency-limit',
  service: 'orders',
  enabled: true,
  config: { max: 5, limit_by: ['ip'], policy: 'local' },
  tags: [],
};

export const page = <T,>(data: T[]) => ({ data, total: data.length, offset: 0, limit: 1000 });

export const SERVICES = page([
  { name: 'users', url: 'http://users:8080', enabled: true, tags: [] },
  { name: 'orders', url: 'http://orders:8080', enabled: true, tags: [] },
]);
export const ROUTES = page([
  { name: 'users-api', service: 'users', paths: ['/users'], enabled: true, tags: [] },
  { name: 'users-admin', service: 'users', paths: ['/admin'], enabled: true, tags: [] },
  { name: 'orders-api', service: 'orders', paths: ['/orders'], enabled: true, tags: [] },
]);
export const CONSUMERS = page([{ username: 'alice', tags: [] }]);

/** GET /plugins-available, cut to the two limit plugins (schemas trimmed to what the page reads). */
export const AVAILABLE = {
  data: [
    { name: 'rate-limiting', description: 'Limits requests per key', scopes: ['global', 'service', 'route', 'consumer'], schema: { type: 'object', properties: { minute: {}, quota_day: {}, quota_month: {} } } },
    { name: 'concurrency-limit', description: 'Limits in-flight requests', scopes: ['global', 'service', 'route', 'consumer'], schema: { type: 'object', properties: { max: {} } } },
    { name: 'cors', description: 'CORS', scopes: ['global'], schema: { type: 'object', properties: {} } },
  ],
};
