/**
 * Config of response-headers: headers added, set or removed on responses sent to clients.
 */
import { Type, type Static } from '@sinclair/typebox';

const HeaderName = Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", maxLength: 256 });
const HeaderValue = Type.String({ maxLength: 8192, pattern: '^[^\\r\\n\\u0000]*$' });

export const ResponseHeadersSchema = Type.Object(
  {
    add: Type.Record(HeaderName, HeaderValue, {
      default: {},
      description: 'Header → value appended to the response, keeping any value the upstream sent (a second field line).',
    }),
    set: Type.Record(HeaderName, HeaderValue, { default: {}, description: 'Header → value that replaces any value the upstream sent.' }),
    remove: Type.Array(HeaderName, { default: [], maxItems: 128, description: 'Headers removed from the response (applied before `add` and `set`).' }),
  },
  { additionalProperties: false, description: 'Adds, sets or removes response headers.' },
);
export type ResponseHeadersConfig = Static<typeof ResponseHeadersSchema>;
