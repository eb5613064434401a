/**
 * Recorded shapes of POST /config/import/kong and GET /config (a Kong file with one service, one route,
 * a rate limit, a Datadog plugin Gatehouse has no equivalent for, and a consumer with an API key).
 */
import type { ImportResult } from './types';

export const KONG_FILE = `_format_version: "3.0"
services:
  - name: orders
    url: http://orders.internal:8080
    routes:
      - name: orders-api
        paths: [/orders]
    plugins:
      - name: rate-limiting
        config: { minute: 10, policy: local }
      - name: datadog
consumers:
  - username: shop
    keyauth_credentials:
      - key: shop-secret-key-1
`;

export const CURRENT = {
  _format_version: '1',
  services: [
    { name: 'orders', url: 'http://old-orders.internal:9000', enabled: true },
    { name: 'billing', url: 'http://billing.internal:8080', enabled: true },
  ],
  routes: [{ name: 'billing-api', service: 'billing', paths: ['/billing'] }],
  upstreams: [],
  consumers: [],
  plugins: [],
};

export const KONG_RESULT: ImportResult = {
  format: 'kong',
  document: {
    _format_version: '1',
    services: [{ name: 'orders', url: 'http://orders.internal:8080', retries: 5, connect_timeout_ms: 60000, read_timeout_ms: 60000, write_timeout_ms: 60000 }],
    routes: [{ name: 'orders-api', service: 'orders', paths: ['/orders'] }],
    upstreams: [],
    consumers: [{ username: 'shop' }],
    plugins: [{ name: 'rate-limiting', service: 'orders', config: { minute: 10 } }],
    credentials: [{ id: '0d3f0c52-6a44-4f7e-9d43-0c1f5d6f2a10', consumer: 'shop', kind: 'key-auth', key_hash: 'b3JkZXJzLWtleS1oYXNoLWZvci10ZXN0cy0wMDAwMDA' }],
  },
  report: [
    { outcome: 'approximated', source: 'services[0]', target: 'services/orders', message: 'retries go to another target on connection failures only (Kong also retries timeouts)' },
    { outcome: 'mapped', source: 'services[0].routes[0]', target: 'routes/orders-api', message: 'prefix paths match whole path segments' },
    { outcome: 'mapped', source: 'services[0].plugins[0] (rate-limiting)', target: 'plugins/rate-limiting@service:orders', message: '' },
    { outcome: 'unmapped', source: 'services[0].plugins[1] (datadog)', message: 'no Gatehouse equivalent; export metrics with the prometheus endpoint or OpenTelemetry' },
    { outcome: 'mapped', source: 'consumers[0]', target: 'consumers/shop', message: '' },
    { outcome: 'mapped', source: 'consumers[0].keyauth_credentials[0]', target: 'credentials of shop', message: '' },
  ],
  counts: { mapped: 4, approximated: 1, unmapped: 1 },
  issues: [],
};
