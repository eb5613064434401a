/**
 * Request and response bodies of the auth and admin-user endpoints, as TypeBox schemas (validated by
 * TypeBoxPipe and reused verbatim by the OpenAPI document).
 */
import { Type, type Static } from '@sinclair/typebox';

const RoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer')], {
  description: 'admin: everything, including admin users; operator: configuration writes; viewer: read only.',
});

/** The role a session acts with: the admin roles, or an approved developer-portal account. */
const SessionRoleSchema = Type.Union([Type.Literal('admin'), Type.Literal('operator'), Type.Literal('viewer'), Type.Literal('developer')], {
  description: 'admin: everything; operator: configuration writes; viewer: read only; developer: only its own applications and keys (`/me/**`).',
});

export const LoginSchema = Type.Object(
  {
    username: Type.String({ minLength: 1, maxLength: 128 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
  },
  { additionalProperties: false, $id: 'LoginRequest' },
);
export type LoginDto = Static<typeof LoginSchema>;

export const TokenSchema = Type.Object(
  {
    access_token: Type.String({ description: 'JWT to send as `Authorization: Bearer <token>`.' }),
    token_type: Type.Literal('Bearer'),
    expires_in: Type.Integer({ description: 'Seconds until the token expires.' }),
    role: SessionRoleSchema,
  },
  { $id: 'TokenResponse' },
);
export type TokenDto = Static<typeof TokenSchema>;

export const MeSchema = Type.Object(
  {
    username: Type.String(),
    role: SessionRoleSchema,
    via: Type.Union([Type.Literal('jwt'), Type.Literal('token')], { description: 'A login JWT or the static GATEHOUSE_ADMIN_TOKEN.' }),
  },
  { $id: 'Me' },
);

export const AdminUserCreateSchema = Type.Object(
  {
    username: Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$', description: 'Login name.' }),
    password: Type.String({ minLength: 8, maxLength: 1024, description: 'At least 8 characters.' }),
    role: RoleSchema,
  },
  { additionalProperties: false, $id: 'AdminUserCreate' },
);
export type AdminUserCreateDto = Static<typeof AdminUserCreateSchema>;

// Listings include developer-portal accounts (created through /developers, never through /admin-users).
const AccountRoleSchema = Type.Union([...RoleSchema.anyOf, Type.Literal('developer'), Type.Literal('developer-pending')], {
  description: 'admin, operator, viewer; developer / developer-pending: developer-portal accounts (see /developers).',
});

export const AdminUserSchema = Type.Object(
  { id: Type.String(), username: Type.String(), role: AccountRoleSchema, created_at: Type.String({ format: 'date-time' }) },
  { $id: 'AdminUser', description: 'An admin API user; the password hash never leaves the server.' },
);
export type AdminUserDto = Static<typeof AdminUserSchema>;
