import { Type, type Static } from '@sinclair/typebox';
import { authCommonFields } from '../../auth/gate.js';

export const BasicAuthSchema = Type.Object(
  {
    realm: Type.String({
      minLength: 1,
      maxLength: 128,
      pattern: '^[^"\\\\\\x00-\\x1f\\x7f]+$',
      default: 'gatehouse',
      description: 'Realm named in the `WWW-Authenticate: Basic realm="…", charset="UTF-8"` challenge of a 401.',
    }),
    hide_credentials: Type.Boolean({ default: false, description: 'Remove the Authorization header (the user name and password) from the request sent upstream.' }),
    cache_size: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: 1000,
      description:
        'Successful verifications remembered per config snapshot (LRU, keyed by an HMAC of user:password, never the password), so a returning client does not pay a scrypt verification per request. 0 disables the cache.',
    }),
    ...authCommonFields(),
  },
  { additionalProperties: false },
);
export type BasicAuthConfig = Static<typeof BasicAuthSchema>;
