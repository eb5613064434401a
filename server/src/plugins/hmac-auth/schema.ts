import { Type, type Static } from '@sinclair/typebox';
import { authCommonFields } from '../../auth/gate.js';

export const HMAC_ALGORITHMS = ['hmac-sha1', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512'] as const;

const HeaderName = Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' });

export const HmacAuthSchema = Type.Object(
  {
    clock_skew: Type.Integer({
      minimum: 1,
      maximum: 86_400,
      default: 300,
      description: 'Seconds the signed `X-Date` (or `Date`) header may differ from the gateway clock, either way. Bounds how long a captured request can be replayed.',
    }),
    algorithms: Type.Array(Type.Union(HMAC_ALGORITHMS.map((a) => Type.Literal(a))), {
      minItems: 1,
      uniqueItems: true,
      default: ['hmac-sha256', 'hmac-sha384', 'hmac-sha512'],
      description: 'Signature algorithms accepted. `hmac-sha1` is accepted by Kong but left out by default.',
    }),
    enforce_headers: Type.Array(HeaderName, {
      maxItems: 32,
      default: [],
      description: 'Headers (or `request-line`) every request must sign, on top of the date header, which is always required.',
    }),
    validate_request_body: Type.Boolean({
      default: false,
      description: 'Check the body against a signed `Digest: SHA-256=<base64>` header (RFC 3230). The body is then buffered (up to max_body_bytes) before it is sent upstream.',
    }),
    max_body_bytes: Type.Integer({
      minimum: 0,
      maximum: 64 * 1024 * 1024,
      default: 1024 * 1024,
      description: 'Largest body buffered for validate_request_body; a larger one is refused with 413.',
    }),
    hide_credentials: Type.Boolean({ default: false, description: 'Remove the Authorization (signature) header from the request sent upstream.' }),
    realm: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[^"\\\\\\x00-\\x1f\\x7f]+$',
      default: 'gatehouse',
      description: 'Realm named in the `WWW-Authenticate: hmac realm="…"` challenge of a 401.',
    }),
    ...authCommonFields(),
  },
  { additionalProperties: false },
);
export type HmacAuthConfig = Static<typeof HmacAuthSchema>;
