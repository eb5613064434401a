/** OpenAPI operations of the developer portal API, merged into admin/openapi's OPERATIONS. */
import { Type } from '@sinclair/typebox';
import {
  AcceptInviteSchema,
  ApiKeyCreatedSchema,
  ApiKeyRotatedSchema,
  ApiKeySchema,
  ApplicationCreateSchema,
  ApplicationSchema,
  DeveloperSchema,
  InvitationCreateSchema,
  InvitationSchema,
  KeyCreateSchema,
  KeyRotateSchema,
  LimitSchema,
  RestrictSchema,
  SignupResultSchema,
  SignupSchema,
  DeveloperApiSchema,
  UsageSchema,
} from './developers.dto.js';
import { USAGE_DEFAULT_MINUTES, USAGE_MAX_MINUTES } from './usage.service.js';

const app = '/me/applications/{app}';
const Empty = Type.Object({}, { description: 'Empty.' });

export const DEVELOPER_OPERATIONS = [
  { method: 'post', path: '/developers/signup', summary: 'Sign up as a developer (pending approval unless GATEHOUSE_DEVELOPER_AUTO_APPROVE=true; throttled like login)', tag: 'developers', access: 'public', body: SignupSchema, status: 201, response: SignupResultSchema },
  { method: 'post', path: '/developers/accept-invite', summary: 'Accept an invitation: sets the password of an approved developer account', tag: 'developers', access: 'public', body: AcceptInviteSchema, status: 201, response: SignupResultSchema },
  { method: 'get', path: '/developers', summary: 'List developer accounts', tag: 'developers', access: 'operator', status: 200, response: Type.Object({ data: Type.Array(DeveloperSchema) }) },
  { method: 'post', path: '/developers/invitations', summary: 'Invite a developer; the answer carries the one-time token', tag: 'developers', access: 'admin', body: InvitationCreateSchema, status: 201, response: InvitationSchema },
  { method: 'post', path: '/developers/{username}/approve', summary: 'Approve a pending developer', tag: 'developers', access: 'admin', body: Empty, status: 200, response: DeveloperSchema },
  { method: 'post', path: '/developers/{username}/restrict', summary: "Set the groups of the developer's applications (now and later)", tag: 'developers', access: 'admin', body: RestrictSchema, status: 200, response: DeveloperSchema },
  { method: 'get', path: '/me/applications', summary: 'My applications', tag: 'developer portal', access: 'developer', status: 200, response: Type.Object({ data: Type.Array(ApplicationSchema) }) },
  { method: 'post', path: '/me/applications', summary: 'Create an application', tag: 'developer portal', access: 'developer', body: ApplicationCreateSchema, status: 201, response: ApplicationSchema },
  { method: 'delete', path: app, summary: 'Delete an application and its keys', tag: 'developer portal', access: 'developer', status: 204 },
  { method: 'get', path: `${app}/keys`, summary: "An application's API keys (never the keys themselves)", tag: 'developer portal', access: 'developer', status: 200, response: Type.Object({ data: Type.Array(ApiKeySchema) }) },
  { method: 'post', path: `${app}/keys`, summary: 'Create an API key; the answer carries it once', tag: 'developer portal', access: 'developer', body: KeyCreateSchema, status: 201, response: ApiKeyCreatedSchema },
  { method: 'post', path: `${app}/keys/{id}/rotate`, summary: 'Rotate a key: a new key, the old one keeps working for overlap_seconds', tag: 'developer portal', access: 'developer', body: KeyRotateSchema, status: 201, response: ApiKeyRotatedSchema },
  { method: 'delete', path: `${app}/keys/{id}`, summary: 'Revoke a key now', tag: 'developer portal', access: 'developer', status: 200, response: ApiKeySchema },
  { method: 'get', path: `${app}/limits`, summary: 'The rate limits that apply to the application (global and its own)', tag: 'developer portal', access: 'developer', status: 200, response: Type.Object({ data: Type.Array(LimitSchema) }) },
  {
    method: 'get', path: `${app}/usage`, summary: "The application's requests, errors and 429s per minute (whole cluster, last 24 h)", tag: 'developer portal', access: 'developer',
    query: [{ name: 'minutes', schema: Type.Integer({ minimum: 1, maximum: USAGE_MAX_MINUTES, default: USAGE_DEFAULT_MINUTES }), description: `Window in minutes, 1 to ${USAGE_MAX_MINUTES} (default ${USAGE_DEFAULT_MINUTES}).` }],
    status: 200, response: UsageSchema,
  },
  { method: 'get', path: '/me/apis', summary: 'The services my API keys may call, with their OpenAPI documents', tag: 'developer portal', access: 'developer', status: 200, response: Type.Object({ data: Type.Array(DeveloperApiSchema) }) },
] as const;
