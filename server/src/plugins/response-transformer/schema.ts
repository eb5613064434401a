/**
 * Config of response-transformer: Kong's operation names (remove, rename, replace, add, append, each with
 * headers and json), as JSON maps instead of Kong's `"name:value"` strings, plus the body buffering cap.
 */
import { Type, type Static } from '@sinclair/typebox';
import { BodyPath, BodyValue, MAX_BODY_DEFAULT, TEMPLATE_HELP } from '../request-transformer/schema.js';

const HeaderName = Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", maxLength: 256, description: 'A header name (case-insensitive).' });
const HeaderValue = Type.String({ maxLength: 8192, pattern: '^[^\\r\\n\\u0000]*$', description: `A header value. ${TEMPLATE_HELP}` });

const renames = (what: string) =>
  Type.Object(
    {
      headers: Type.Record(HeaderName, HeaderName, { default: {}, description: `Response headers ${what}.` }),
      json: Type.Record(BodyPath, BodyPath, { default: {}, description: `JSON body fields ${what} (only for JSON bodies without a content coding).` }),
    },
    { additionalProperties: false, default: {}, description: `Name → new name: ${what}.` },
  );

const values = (what: string) =>
  Type.Object(
    {
      headers: Type.Record(HeaderName, HeaderValue, { default: {}, description: `Response headers ${what}.` }),
      json: Type.Record(BodyPath, BodyValue, { default: {}, description: `JSON body fields ${what} (only for JSON bodies without a content coding).` }),
    },
    { additionalProperties: false, default: {}, description: `Name → value: ${what}.` },
  );

export const ResponseTransformerSchema = Type.Object(
  {
    remove: Type.Object(
      {
        headers: Type.Array(HeaderName, { default: [], maxItems: 128, description: 'Response headers removed.' }),
        json: Type.Array(BodyPath, { default: [], maxItems: 128, description: 'JSON body fields removed.' }),
      },
      { additionalProperties: false, default: {}, description: 'Removed first.' },
    ),
    rename: renames('renamed when present (the value is kept); after remove'),
    replace: values('given a new value only when present; after rename'),
    add: values('set only when absent; after replace'),
    append: values('given one more value (headers: another field line, JSON: an array; the value is set when absent); applied last'),
    max_body_size: Type.Integer({
      minimum: 1,
      maximum: 64 * 1024 * 1024,
      default: MAX_BODY_DEFAULT,
      description:
        'Largest JSON response body buffered for `json` edits, in bytes; a larger body is sent as the upstream sent it (logged once per instance). Only used when `json` edits are configured.',
    }),
  },
  { additionalProperties: false, description: 'Edits the upstream response: headers and JSON body fields.' },
);
export type ResponseTransformerConfig = Static<typeof ResponseTransformerSchema>;
