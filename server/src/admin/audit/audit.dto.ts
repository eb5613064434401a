/** Schemas of `GET /audit` for the OpenAPI document. */
import { Type, type TSchema } from '@sinclair/typebox';
import type { OperationSpec } from '../openapi/openapi.builder.js';

export const AuditEventSchema = Type.Object(
  {
    id: Type.Integer({ description: 'Increasing event id; also the paging cursor.' }),
    at: Type.String({ format: 'date-time', description: 'When the change was recorded.' }),
    actor: Type.String({ description: "User name of the caller ('admin-token' for GATEHOUSE_ADMIN_TOKEN; the name tried for login.failed)." }),
    actor_role: Type.String({ description: 'Role of the caller at the time (empty for login.failed).' }),
    actor_via: Type.String({ description: 'How the caller authenticated: jwt, token, or password (login.failed).' }),
    action: Type.String({ description: '`<resource>.<verb>`, e.g. services.update, config.replace, credentials.create, credentials.rotate, admin-users.create, login.failed.' }),
    target_kind: Type.Union([Type.String(), Type.Null()], { description: 'What was changed: services, routes, credentials, config, …' }),
    target_key: Type.Union([Type.String(), Type.Null()], { description: 'Which one: the route parameters joined by `/` (e.g. `alice/<credential id>`), or the created entity\'s name.' }),
    before: Type.Unknown({ description: "The entity before the change (null for creations); config: `{ version }`. Secrets are '[redacted]'." }),
    after: Type.Unknown({ description: "The entity after the change (null for deletions); config: `{ version }`. Secrets are '[redacted]'." }),
    status: Type.Integer({ description: 'HTTP status of the answer.' }),
    request_id: Type.Union([Type.String(), Type.Null()], { description: 'The admin request id.' }),
    source_ip: Type.Union([Type.String(), Type.Null()], { description: 'Address of the caller.' }),
  },
  { $id: 'AuditEvent' },
);

export const AuditPageSchema = Type.Object(
  {
    data: Type.Array(AuditEventSchema, { description: 'Events, newest first.' }),
    next_cursor: Type.Union([Type.Integer(), Type.Null()], { description: 'Pass as `cursor` for the next (older) page; null on the last page.' }),
  },
  { $id: 'AuditPage' },
);

export const AUDIT_SCHEMAS: TSchema[] = [AuditEventSchema, AuditPageSchema];

const q = (name: string, description: string, schema: TSchema = Type.String({ description })) => ({ name, schema, description });

export const AUDIT_OPERATIONS: OperationSpec[] = [
  {
    method: 'get',
    path: '/audit',
    summary: 'The audit log of admin changes (who, when, what, before/after), newest first',
    tag: 'audit',
    access: 'admin',
    query: [
      q('actor', 'Exact user name.'),
      q('action', 'Exact action, or a prefix ending in `.` (e.g. `services.`).'),
      q('target', '`kind` or `kind:key`, e.g. `services` or `services:orders`.'),
      q('since', 'Events at or after this instant (RFC 3339).', Type.String({ format: 'date-time', description: 'RFC 3339 instant.' })),
      q('limit', 'Page size, 1 to 500 (default 50).', Type.Integer({ minimum: 1, maximum: 500, description: 'Page size.' })),
      q('cursor', '`next_cursor` of the previous page.', Type.Integer({ minimum: 1, description: 'Paging cursor.' })),
    ],
    problems: { 400: 'An unknown or repeated query parameter, or a malformed value' },
    status: 200,
    response: AuditPageSchema,
  },
];
