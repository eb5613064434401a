/**
 * Config of `oauth2-introspection`: the RFC 7662 endpoint and client credentials, the result cache, the
 * scopes a route requires, and what happens when the authorization server does not answer.
 */
import { Type, type Static } from '@sinclair/typebox';
import { authCommonFields } from '../../auth/gate.js';

export const OAuth2IntrospectionSchema = Type.Object(
  {
    ...authCommonFields(),
    introspection_endpoint: Type.String({ format: 'uri', maxLength: 2048, default: 'http://127.0.0.1/introspect', description: 'RFC 7662 introspection URL (POST).' }),
    client_id: Type.String({ minLength: 1, maxLength: 256, default: 'gatehouse', description: 'Client id the gateway authenticates to the endpoint with (HTTP Basic).' }),
    client_secret: Type.String({ minLength: 1, maxLength: 1024, default: 'change-me', description: 'Client secret for HTTP Basic authentication to the endpoint.' }),
    token_type_hint: Type.Optional(Type.String({ minLength: 1, maxLength: 64, default: undefined, description: 'Sent as `token_type_hint` (e.g. `access_token`).' })),
    header_names: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { default: ['authorization'], maxItems: 8, description: 'Headers carrying `Bearer <token>`, tried first.' }),
    query_params: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
      default: [],
      maxItems: 8,
      description: 'Query parameters carrying the token, tried after the headers. Off by default: URLs end up in logs.',
    }),
    hide_credentials: Type.Boolean({ default: false, description: 'Remove the token before proxying.' }),
    max_token_bytes: Type.Integer({ minimum: 16, maximum: 65536, default: 8192, description: 'Longer tokens are refused without asking the endpoint.' }),
    timeout_ms: Type.Integer({ minimum: 50, maximum: 30_000, default: 2000, description: 'Timeout of one introspection call.' }),
    unavailable_status: Type.Union([Type.Literal(503), Type.Literal(401)], {
      default: 503,
      description: 'Answer when the endpoint times out or fails: 503 (our problem, the client may retry) or 401.',
    }),
    cache_ttl_seconds: Type.Integer({ minimum: 0, maximum: 3600, default: 60, description: 'How long an active result is reused (never past the token `exp`); 0: no cache.' }),
    negative_cache_ttl_seconds: Type.Integer({ minimum: 0, maximum: 600, default: 5, description: 'How long an `active: false` result is reused (absorbs floods of a revoked token).' }),
    cache_size: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10_000, description: 'Bounded LRU of introspection results, keyed by a hash of the token.' }),
    required_scopes: Type.Array(Type.String({ minLength: 1, maxLength: 256 }), {
      default: [],
      maxItems: 32,
      description: 'Scopes the token must all have (from the space-separated `scope` field); otherwise 403.',
    }),
    consumer_field: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, default: undefined, description: 'Response field naming a consumer username (e.g. `username`, `client_id`); the request then authenticates that consumer.' }),
    ),
    claims_to_headers: Type.Record(Type.String({ minLength: 1, maxLength: 64 }), Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9-]+$' }), {
      default: {},
      description: 'Response field → upstream header name.',
    }),
  },
  { additionalProperties: false, description: 'Authenticates opaque bearer tokens by RFC 7662 introspection, with a bounded cache.' },
);
export type OAuth2IntrospectionConfig = Static<typeof OAuth2IntrospectionSchema>;
