/** Bodies and answers of `/consumers/:username/credentials` (TypeBox: validation and OpenAPI from one source). */
import { Type, type Static } from '@sinclair/typebox';
import { CREDENTIAL_KINDS, CredentialSchema } from '../../config/schema.js';

export const CredentialCreateSchema = Type.Object(
  {
    kind: Type.Union(CREDENTIAL_KINDS.map((k) => Type.Literal(k)), { description: 'Credential kind.' }),
    key: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 256,
        description: 'key-auth: your own API key (≥ 16 characters) instead of a generated one. basic-auth/hmac-auth: the user name. jwt: the iss/kid value.',
      }),
    ),
    secret: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'basic-auth: the password (required). hmac-auth / jwt HS*: the shared secret (generated when omitted).' })),
    algorithm: Type.Optional(Type.String({ minLength: 2, maxLength: 16, description: 'jwt: the algorithm pinned to this key (default HS256).' })),
    rsa_public_key: Type.Optional(Type.String({ minLength: 1, maxLength: 16384, description: 'jwt RS*/PS*/ES*/EdDSA: PEM public key.' })),
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'Refuse the credential from this instant on.' })),
    tags: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: 32, description: 'Free-form labels.' })),
  },
  { additionalProperties: false, $id: 'CredentialCreate', description: 'A new credential; the clear secret is returned once, in the answer.' },
);
export type CredentialCreateDto = Static<typeof CredentialCreateSchema>;

export const CredentialRotateSchema = Type.Object(
  {
    overlap_seconds: Type.Integer({ minimum: 0, maximum: 30 * 86_400, default: 3600, description: 'How long the old credential keeps working (its expires_at is set to now + overlap).' }),
    secret: Type.Optional(Type.String({ minLength: 1, maxLength: 4096, description: 'basic-auth: the new password (required). Others: a chosen new secret instead of a generated one.' })),
    expires_at: Type.Optional(Type.String({ format: 'date-time', description: 'Expiry of the new credential.' })),
  },
  { additionalProperties: false, $id: 'CredentialRotate', description: 'Rotation: a new credential of the same kind, and an overlap period for the old one.' },
);
export type CredentialRotateDto = Static<typeof CredentialRotateSchema>;

export const CredentialCreatedSchema = Type.Intersect(
  [
    CredentialSchema,
    Type.Object({
      secret: Type.Optional(Type.String({ description: 'The clear API key, password or secret. Shown only in this answer; the gateway keeps a hash or ciphertext.' })),
    }),
  ],
  { $id: 'CredentialCreated', description: 'The stored credential plus its clear secret (once).' },
);

export const CredentialRotatedSchema = Type.Object(
  {
    credential: CredentialCreatedSchema,
    previous: CredentialSchema,
  },
  { $id: 'CredentialRotated', description: 'The new credential (with its secret, once) and the old one with its new expires_at.' },
);

export const CredentialListSchema = Type.Object({ data: Type.Array(CredentialSchema) }, { description: "A consumer's credentials." });
