/**
 * Config of the `jwt` plugin: where the token comes from, which issuers (and their keys) are trusted,
 * which claims must hold, and what reaches the upstream. Keys are always pinned to algorithms: a token
 * whose `alg` is not one of its key's algorithms is refused before any signature check.
 */
import { Type, type Static } from '@sinclair/typebox';
import { authCommonFields } from '../../auth/gate.js';

export const JWT_ALGORITHMS = [
  'HS256',
  'HS384',
  'HS512',
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
export type JwtAlgorithm = (typeof JWT_ALGORITHMS)[number];

const Algorithm = Type.Union(
  JWT_ALGORITHMS.map((a) => Type.Literal(a)),
  { description: 'A JWS algorithm (RFC 7518, RFC 8037).' },
);

export const IssuerSchema = Type.Object(
  {
    iss: Type.String({ minLength: 1, maxLength: 1024, description: 'Value of the `iss` claim this entry trusts (exact match).', default: '' }),
    algorithms: Type.Array(Algorithm, {
      minItems: 1,
      maxItems: 13,
      uniqueItems: true,
      default: ['RS256'],
      description: 'Algorithms the keys of this issuer are pinned to. HS* only with `secret`; the others only with `public_key` or `jwks_uri`.',
    }),
    secret: Type.Optional(
      Type.String({ minLength: 1, maxLength: 4096, default: undefined, description: 'Shared HMAC secret (HS*). At least as many bytes as the hash output (RFC 7518 §3.2).' }),
    ),
    secret_is_base64: Type.Boolean({ default: false, description: 'The secret is base64 (or base64url) encoded; decoded before use.' }),
    public_key: Type.Optional(
      Type.String({ minLength: 1, maxLength: 16384, default: undefined, description: 'PEM public key (SPKI) or X.509 certificate for RS*/PS*/ES*/EdDSA.' }),
    ),
    jwks_uri: Type.Optional(Type.String({ format: 'uri', maxLength: 2048, default: undefined, description: 'URL of a JWK Set fetched and cached by the gateway.' })),
    kid: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, default: undefined, description: 'Key id of `secret`/`public_key`; when set, tokens of this issuer must carry this `kid`.' }),
    ),
    audiences: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
      default: [],
      maxItems: 64,
      description: 'Accepted `aud` values; empty: the plugin-wide `audiences` apply.',
    }),
  },
  { additionalProperties: false, description: 'A trusted token issuer and its keys: exactly one of `secret`, `public_key`, `jwks_uri`.' },
);
export type IssuerConfig = Static<typeof IssuerSchema>;

export const JwtSchema = Type.Object(
  {
    ...authCommonFields(),
    issuers: Type.Array(IssuerSchema, { default: [], maxItems: 64, description: 'Issuers whose keys are configured here (the `iss` claim selects one).' }),
    consumer_credentials: Type.Boolean({
      default: true,
      description: 'Also look the token up among consumers\' `jwt` credentials: the credential `key` is matched against `key_claim_name`.',
    }),
    key_claim_name: Type.String({ minLength: 1, maxLength: 64, default: 'iss', description: 'Claim matched against consumer `jwt` credential keys.' }),
    header_names: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: ['authorization'],
      maxItems: 8,
      description: 'Headers carrying `Bearer <token>`, tried first, in order.',
    }),
    cookie_names: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: [], maxItems: 8, description: 'Cookies carrying the token, tried second.' }),
    query_params: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: [],
      maxItems: 8,
      description: 'Query parameters carrying the token, tried last. Off by default: URLs end up in access logs.',
    }),
    hide_credentials: Type.Boolean({ default: false, description: 'Remove the token (header, cookie, or query parameter) before proxying.' }),
    max_token_bytes: Type.Integer({ minimum: 256, maximum: 65536, default: 8192, description: 'Longer tokens are refused before any parsing.' }),
    leeway_seconds: Type.Integer({ minimum: 0, maximum: 600, default: 30, description: 'Clock skew allowed for `exp`, `nbf` and `iat`.' }),
    max_age_seconds: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 31_536_000, default: undefined, description: 'Refuse tokens whose `iat` is older than this (requires `iat`).' }),
    ),
    audiences: Type.Array(Type.String({ minLength: 1, maxLength: 1024 }), {
      default: [],
      maxItems: 64,
      description: 'Accepted `aud` values (any one must match); empty: `aud` is not checked.',
    }),
    required_claims: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: [],
      maxItems: 32,
      description: 'Claims that must be present (`exp` here makes non-expiring tokens invalid).',
    }),
    consumer_claim: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, default: undefined, description: 'Claim whose value is a consumer username; the token then authenticates that consumer.' }),
    ),
    claims_to_headers: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }), {
      default: {},
      description: 'Claim name → upstream header name. Arrays are joined with commas, objects sent as JSON.',
    }),
    cache_size: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: 1000,
      description: 'Verified tokens remembered (keyed by the whole token, never past `exp`); 0 disables the cache.',
    }),
    jwks_timeout_ms: Type.Integer({ minimum: 100, maximum: 30_000, default: 3000, description: 'Timeout of one JWKS fetch.' }),
    jwks_default_ttl_seconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 600, description: 'How long a JWKS is used when the response has no `Cache-Control: max-age`.' }),
    jwks_min_ttl_seconds: Type.Integer({ minimum: 1, maximum: 86_400, default: 60, description: 'Lower bound applied to `max-age`.' }),
    jwks_max_ttl_seconds: Type.Integer({ minimum: 1, maximum: 604_800, default: 86_400, description: 'Upper bound applied to `max-age`.' }),
    jwks_refetch_cooldown_seconds: Type.Integer({
      minimum: 1,
      maximum: 3600,
      default: 30,
      description: 'An unknown `kid` refetches the JWKS at most once per this period (no refetch storms).',
    }),
  },
  { additionalProperties: false, description: 'Authenticates requests with a signed JWT (JWS compact serialization).' },
);
export type JwtConfig = Static<typeof JwtSchema>;
