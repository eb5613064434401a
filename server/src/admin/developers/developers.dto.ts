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
