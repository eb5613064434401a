/** Recorded answers of the developer portal API (shapes of server/src/admin/developers/developers.dto.ts). */
import type { ApiKey, AppLimit, Application, DeveloperApi, Usage } from './types';

export const APPS: { data: Application[] } = {
  data: [
    { name: 'shop', consumer: 'dev.alice.shop', groups: ['partners'], keys: 1 },
    { name: 'tools', consumer: 'dev.alice.tools', groups: [], keys: 0 },
  ],
};

export const KEY_ID = '0b7c3f0e-5d2a-4f51-9c1e-2b4a7d9e8f10';
export const KEYS: { data: ApiKey[] } = {
  data: [
    { id: KEY_ID, status: 'active', created_at: '2026-11-27T10:00:00.000Z' },
    { id: '9a8b7c6d-1111-4222-8333-944455556666', status: 'revoked', created_at: '2026-11-20T10:00:00.000Z', revoked_at: '2026-11-21T10:00:00.000Z' },
  ],
};

export const NEW_KEY = { id: 'c1d2e3f4-aaaa-4bbb-8ccc-ddddeeeeffff', status: 'active', created_at: '2026-11-28T09:00:00.000Z', key: 'ghk_new_secret_key_value_1234567890' };

export const LIMITS: { data: AppLimit[] } = {
  data: [
    { id: 'p1', plugin: 'rate-limiting', scope: 'global', limits: { minute: 100, hour: 1000, limit_by: 'consumer' } },
    { id: 'p2', plugin: 'rate-limiting', scope: 'consumer', limits: { second: 5, quota_day: 10000 } },
  ],
};

function minutes(n: number, at: (i: number) => [number, number, number]): Usage['data'] {
  const end = Date.parse('2026-11-28T10:00:00.000Z');
  return Array.from({ length: n }, (_, i) => {
    const [requests, errors, limited] = at(i);
    return { at: new Date(end - (n - 1 - i) * 60_000).toISOString(), requests, errors, limited };
  });
}

export const USAGE: Usage = {
  application: 'shop',
  consumer: 'dev.alice.shop',
  minutes: 60,
  data: minutes(60, (i) => (i >= 57 ? [10 * (i - 56), i === 59 ? 2 : 0, i === 58 ? 3 : 0] : [0, 0, 0])),
  totals: { requests: 60, errors: 2, limited: 3 },
};

export const EMPTY_USAGE: Usage = { ...USAGE, data: minutes(60, () => [0, 0, 0]), totals: { requests: 0, errors: 0, limited: 0 } };

export const PETSTORE = {
  openapi: '3.0.3',
  info: { title: 'Orders API', version: '1.2.0', description: 'Orders of the shop.' },
  components: {
    parameters: { Limit: { name: 'limit', in: 'query', description: 'Page size', schema: { type: 'integer', format: 'int32' } } },
    schemas: { Order: { type: 'object' } },
  },
  paths: {
    '/orders': {
      get: { summary: 'List orders', parameters: [{ $ref: '#/components/parameters/Limit' }], responses: { '200': { description: 'The orders' } } },
      post: {
        summary: 'Create an order',
        requestBody: { required: true, content: { 'application/json': { schema: { $ref: '#/components/schemas/Order' } } } },
        responses: { '201': { description: 'Created' }, '400': { description: 'Invalid order' } },
      },
    },
    '/orders/{id}': {
      parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' }, description: 'Order id' }],
      delete: { operationId: 'deleteOrder', deprecated: true, responses: { '204': { description: 'Deleted' } } },
    },
  },
};

export const APIS: { data: DeveloperApi[] } = {
  data: [
    {
      service: 'orders',
      routes: [{ name: 'orders-r', hosts: [], paths: ['/orders'], methods: ['GET', 'POST'], key_names: ['x-api-key'], key_in_header: true, key_in_query: false }],
      applications: ['shop'],
      openapi: { source: 'inline', document: PETSTORE },
    },
    {
      service: 'partners',
      routes: [{ name: 'partners-r', hosts: ['api.example.com'], paths: [], methods: [], key_names: ['apikey'], key_in_header: true, key_in_query: true }],
      applications: [],
      openapi: { source: 'url', url: 'http://docs.internal/partners.json', error: 'the document URL answered 500' },
    },
    {
      service: 'plain',
      routes: [{ name: 'plain-r', hosts: [], paths: ['/plain'], methods: [], key_names: ['apikey'], key_in_header: false, key_in_query: true }],
      applications: ['shop'],
      openapi: { source: 'none' },
    },
  ],
};
