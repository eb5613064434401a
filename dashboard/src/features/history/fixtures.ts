/**
 * Recorded admin API answers for the history tests: three versions, v3 current, v2 had a stricter limit.
 */
import type { VersionInfo } from './types';

const base = {
  _format_version: '1',
  services: [{ name: 'orders', url: 'http://orders:8080', enabled: true, tags: [] }],
  routes: [{ name: 'orders-api', service: 'orders', paths: ['/orders'], enabled: true, tags: [] }],
  upstreams: [],
  consumers: [],
};

export const DOC_V1 = { ...base, plugins: [] };
export const DOC_V2 = { ...base, plugins: [{ id: 'p1', name: 'rate-limiting', enabled: true, config: { limit_by: ['ip'], minute: 3 }, tags: [] }] };
export const DOC_V3 = { ...base, plugins: [{ id: 'p1', name: 'rate-limiting', enabled: true, config: { limit_by: ['ip'], minute: 100 }, tags: [] }] };

export const V1: VersionInfo = { version: 1, created_at: '2025-03-01T10:00:00.000Z', author: 'root', message: 'create service orders' };
export const V2: VersionInfo = { version: 2, created_at: '2025-03-01T10:05:00.000Z', author: 'ops', message: 'create plugin rate-limiting' };
export const V3: VersionInfo = { version: 3, created_at: '2025-03-01T10:09:00.000Z', author: 'ops', message: 'update plugin p1' };

export const versionPage = (data: VersionInfo[], total = data.length, offset = 0, limit = 20) => ({ data, total, offset, limit, next: null });
