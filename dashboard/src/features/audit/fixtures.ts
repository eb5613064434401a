/**
 * Recorded `GET /audit` events for the audit tests, newest first.
 */
import type { AuditEvent } from './audit-page';

const plugin = (minute: number) => ({ id: 'p1', name: 'rate-limiting', enabled: true, config: { limit_by: ['ip'], minute }, tags: [] });
const common = { actor_role: 'admin', actor_via: 'jwt', status: 200, source_ip: '127.0.0.1' };

export const ROLLBACK: AuditEvent = {
  ...common,
  id: 14,
  at: '2025-03-01T10:12:00.000Z',
  actor: 'root',
  action: 'versions.rollback',
  target_kind: 'versions',
  target_key: '2',
  before: { version: 3 },
  after: { version: 4 },
  request_id: 'req-14',
};
export const UPDATE: AuditEvent = {
  ...common,
  id: 13,
  at: '2025-03-01T10:09:00.000Z',
  actor: 'ops',
  actor_role: 'operator',
  action: 'plugins.update',
  target_kind: 'plugins',
  target_key: 'p1',
  before: plugin(3),
  after: plugin(100),
  request_id: 'req-13',
};
export const CREATE: AuditEvent = {
  ...common,
  id: 12,
  at: '2025-03-01T10:05:00.000Z',
  actor: 'ops',
  actor_role: 'operator',
  action: 'plugins.create',
  target_kind: 'plugins',
  target_key: 'p1',
  before: null,
  after: plugin(3),
  status: 201,
  request_id: 'req-12',
};
export const LOGIN_FAILED: AuditEvent = {
  ...common,
  id: 11,
  at: '2025-03-01T10:00:00.000Z',
  actor: 'mallory',
  actor_role: '',
  actor_via: 'password',
  action: 'login.failed',
  target_kind: null,
  target_key: null,
  before: null,
  after: null,
  status: 401,
  request_id: null,
};

export const doc = (minute: number) => ({ _format_version: '1', services: [], routes: [], upstreams: [], consumers: [], plugins: [plugin(minute)] });
