import { Type, type Static } from '@sinclair/typebox';
import { authCommonFields } from '../../auth/gate.js';

export const KeyAuthSchema = Type.Object(
  {
    key_names: Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }), {
      minItems: 1,
      maxItems: 8,
      default: ['apikey'],
      description: 'Header and/or query parameter names that may carry the API key, tried in order.',
    }),
    key_in_header: Type.Boolean({ default: true, description: 'Look for the key in the request headers named by key_names.' }),
    key_in_query: Type.Boolean({ default: true, description: 'Look for the key in the query parameters named by key_names (after the headers).' }),
    hide_credentials: Type.Boolean({ default: false, description: 'Remove the key (header or query parameter) from the request sent upstream.' }),
    ...authCommonFields(),
  },
  { additionalProperties: false },
);
export type KeyAuthConfig = Static<typeof KeyAuthSchema>;
