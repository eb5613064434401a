/** Bodies and answers of the developer portal API (TypeBox: validation and OpenAPI from one source). */
import { Type, type Static } from '@sinclair/typebox';
import { APP_NAME_PATTERN, DEVELOPER_NAME_PATTERN } from './developer-accounts.js';

const DeveloperName = Type.String({ pattern: DEVELOPER_NAME_PATTERN, description: 'Lower-case letters, digits, `_` and `-`, 2 to 40 characters (no dot).' });
const Password = Type.String({ minLength: 12, maxLength: 1024, description: 'At least 12 characters.' });
const Group = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9][A-Za-z0-9._:-]*$' });
// RFC 3339 instant as a pattern: only the uri/uuid formats are registered with the validator.
const Instant = (description: string) =>
  Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?(Z|[+-]\\d{2}:\\d{2})$', description });

export const SignupSchema = Type.Object(
  {
    username: DeveloperName,
    password: Password,
    email: Type.Optional(Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@]+@[^\\s@]+$', description: 'Contact address shown to administrators.' })),
  },
  { additionalProperties: false, $id: 'DeveloperSignup', description: 'Self sign-up of a developer account (pending approval unless auto-approval is on).' },
);
export type SignupDto = Static<typeof SignupSchema>;

const Status = Type.Union([Type.Literal('pending'), Type.Literal('approved')], { description: 'pending: cannot log in until an administrator approves the account.' });

export const SignupResultSchema = Type.Object({ username: Type.String(), status: Status }, { $id: 'DeveloperSignupResult' });

export const InvitationCreateSchema = Type.Object(
  {
    username: DeveloperName,
    groups: Type.Optional(Type.Array(Group, { maxItems: 64, uniqueItems: true, description: "Groups the developer's applications get (default: none)." })),
    expires_in_seconds: Type.Integer({ minimum: 60, maximum: 30 * 86_400, default: 7 * 86_400, description: 'How long the invitation can be accepted.' }),
  },
  { additionalProperties: false, $id: 'DeveloperInvitationCreate', description: 'Invite a developer: the account is approved when the invitation is accepted.' },
);
export type InvitationCreateDto = Static<typeof InvitationCreateSchema>;

export const InvitationSchema = Type.Object(
  {
    username: Type.String(),
    token: Type.String({ description: 'One-time invitation token. Shown only in this answer; the gateway keeps its SHA-256.' }),
    expires_at: Instant('The invitation cannot be accepted after this instant.'),
  },
  { $id: 'DeveloperInvitation' },
);

export const AcceptInviteSchema = Type.Object(
  { token: Type.String({ minLength: 10, maxLength: 256, description: 'The invitation token.' }), password: Password },
  { additionalProperties: false, $id: 'DeveloperAcceptInvite' },
);
export type AcceptInviteDto = Static<typeof AcceptInviteSchema>;

export const RestrictSchema = Type.Object(
  { groups: Type.Array(Group, { maxItems: 64, uniqueItems: true, description: "The groups every application of the developer gets (acl plugins decide what they reach); [] reaches only routes open to any consumer." }) },
  { additionalProperties: false, $id: 'DeveloperRestrict' },
);
export type RestrictDto = Static<typeof RestrictSchema>;

export const DeveloperSchema = Type.Object(
  {
    username: Type.String(),
    status: Status,
    groups: Type.Array(Type.String(), { description: "Groups the developer's applications get." }),
    email: Type.Optional(Type.String()),
    applications: Type.Integer({ description: 'Number of applications.' }),
    created_at: Instant('Sign-up or invitation acceptance.'),
  },
  { $id: 'Developer', description: 'A developer-portal account (never its password hash).' },
);
export type DeveloperDto = Static<typeof DeveloperSchema>;

export const ApplicationCreateSchema = Type.Object(
  { name: Type.String({ pattern: APP_NAME_PATTERN, description: 'Lower-case letters, digits, `_` and `-`, up to 40 characters.' }) },
  { additionalProperties: false, $id: 'ApplicationCreate' },
);
export type ApplicationCreateDto = Static<typeof ApplicationCreateSchema>;

export const ApplicationSchema = Type.Object(
  {
    name: Type.String(),
    consumer: Type.String({ description: 'The consumer the gateway identifies this application as (sent upstream).' }),
    groups: Type.Array(Type.String(), { description: 'Set by an administrator for all of the developer’s applications.' }),
    keys: Type.Integer({ description: 'Keys that are neither revoked nor expired.' }),
  },
  { $id: 'Application', description: "A developer's application: a consumer of the gateway with its own API keys." },
);
export type ApplicationDto = Static<typeof ApplicationSchema>;

export const KeyCreateSchema = Type.Object(
  { expires_at: Type.Optional(Instant('Refuse the key from this instant on.')) },
  { additionalProperties: false, $id: 'ApiKeyCreate' },
);
export type KeyCreateDto = Static<typeof KeyCreateSchema>;

export const KeyRotateSchema = Type.Object(
  { overlap_seconds: Type.Integer({ minimum: 0, maximum: 7 * 86_400, default: 3600, description: 'How long the old key keeps working.' }) },
  { additionalProperties: false, $id: 'ApiKeyRotate' },
);
export type KeyRotateDto = Static<typeof KeyRotateSchema>;

export const ApiKeySchema = Type.Object(
  {
    id: Type.String({ format: 'uuid' }),
    status: Type.Union([Type.Literal('active'), Type.Literal('expired'), Type.Literal('revoked')]),
    created_at: Type.Optional(Type.String()),
    expires_at: Type.Optional(Type.String()),
    revoked_at: Type.Optional(Type.String()),
  },
  { $id: 'ApiKey', description: 'An API key of an application (never the key nor its hash).' },
);
export type ApiKeyDto = Static<typeof ApiKeySchema>;

export const ApiKeyCreatedSchema = Type.Intersect([ApiKeySchema, Type.Object({ key: Type.String({ description: 'The API key. Shown only in this answer.' }) })], {
  $id: 'ApiKeyCreated',
});
export type ApiKeyCreatedDto = Static<typeof ApiKeyCreatedSchema>;

export const ApiKeyRotatedSchema = Type.Object({ key: ApiKeyCreatedSchema, previous: ApiKeySchema }, { $id: 'ApiKeyRotated' });

export const LimitSchema = Type.Object(
  {
    id: Type.Optional(Type.String()),
    plugin: Type.String({ description: 'rate-limiting' }),
    scope: Type.Union([Type.Literal('global'), Type.Literal('consumer')], { description: 'global: the gateway-wide limit; consumer: set for this application.' }),
    limits: Type.Record(Type.String(), Type.Unknown(), { description: 'Windows and quotas (second, minute, hour, day, quota_day, quota_month), what is counted (limit_by) and the algorithm.' }),
  },
  { $id: 'ApplicationLimit' },
);
export type LimitDto = Static<typeof LimitSchema>;

export const UsagePointSchema = Type.Object(
  {
    at: Type.String({ description: 'Start of the minute (RFC 3339).' }),
    requests: Type.Integer({ description: 'Requests authenticated as the application in that minute, on every node.' }),
    errors: Type.Integer({ description: 'Of which server errors (5xx).' }),
    limited: Type.Integer({ description: 'Of which refused by a rate limit (429).' }),
  },
  { $id: 'ApplicationUsagePoint' },
);

export const UsageSchema = Type.Object(
  {
    application: Type.String(),
    consumer: Type.String({ description: 'The consumer the requests were counted for.' }),
    minutes: Type.Integer({ description: 'The window asked for.' }),
    data: Type.Array(UsagePointSchema, { description: 'One point per minute, oldest first; the last is the current, incomplete minute. Kept in memory for 24 hours.' }),
    totals: Type.Object({ requests: Type.Integer(), errors: Type.Integer(), limited: Type.Integer() }, { description: 'Sums over the window.' }),
  },
  { $id: 'ApplicationUsage', description: "An application's own traffic through the gateway, per minute." },
);
export type UsageDto = Static<typeof UsageSchema>;

export const DeveloperApiRouteSchema = Type.Object(
  {
    name: Type.String(),
    hosts: Type.Array(Type.String(), { description: 'Host names the route answers (empty: any).' }),
    paths: Type.Array(Type.String(), { description: 'Path matchers (prefix, `=` exact, `~` regex; empty: any).' }),
    methods: Type.Array(Type.String(), { description: 'Methods accepted (empty: any).' }),
    key_names: Type.Array(Type.String(), { description: 'Header or query parameter names the key is read from.' }),
    key_in_header: Type.Boolean(),
    key_in_query: Type.Boolean(),
  },
  { $id: 'DeveloperApiRoute', description: 'A route of the service that accepts the application keys.' },
);
export type DeveloperApiRouteDto = Static<typeof DeveloperApiRouteSchema>;

export const DeveloperApiSchema = Type.Object(
  {
    service: Type.String(),
    routes: Type.Array(DeveloperApiRouteSchema),
    applications: Type.Array(Type.String(), { description: "The developer's applications admitted (the acl plugin's groups); empty before the first application." }),
    openapi: Type.Object(
      {
        source: Type.Union([Type.Literal('inline'), Type.Literal('url'), Type.Literal('none')], { description: 'Where the document comes from; none: the service has no document.' }),
        url: Type.Optional(Type.String()),
        document: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'The OpenAPI 3.x or Swagger 2.0 document.' })),
        error: Type.Optional(Type.String({ description: 'Why the document could not be read (fetch failed, too large, not OpenAPI).' })),
      },
      { description: "The service's OpenAPI document (service.openapi)." },
    ),
  },
  { $id: 'DeveloperApi', description: 'A service the developer\'s API keys may call.' },
);
export type DeveloperApiDto = Static<typeof DeveloperApiSchema>;
