/**
 * Config of request-transformer: Kong's operation names (remove, rename, replace, add, append, each with
 * headers, querystring and body), as JSON maps instead of Kong's `"name:value"` strings, plus http_method,
 * rewrite_path and the body buffering cap.
 */
import { Type, type Static } from '@sinclair/typebox';
import { HttpMethod } from '../../config/schema.js';

export const TEMPLATE_HELP =
  '`$(consumer.username|custom_id|groups)`, `$(params.<capture>)`, `$(claims.<name>[.<nested>])`, `$(headers.<name>)` and `$(query.<name>)` are replaced per request; an operation whose template finds no value is skipped.';

const HeaderName = Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", maxLength: 256, description: 'A header name (case-insensitive).' });
const HeaderValue = Type.String({ maxLength: 8192, pattern: '^[^\\r\\n\\u0000]*$', description: `A header value. ${TEMPLATE_HELP}` });
const QueryName = Type.String({ minLength: 1, maxLength: 256, description: 'A query parameter name, decoded (matched after percent-decoding).' });
const QueryValue = Type.String({ maxLength: 8192, description: `A query parameter value, decoded (the gateway percent-encodes it). ${TEMPLATE_HELP}` });
export const BodyPath = Type.String({
  minLength: 1,
  maxLength: 1024,
  description: 'A JSON field: `a.b.c` reaches nested members, a numeric segment indexes an array (`items.0.id`); a name containing a dot cannot be addressed.',
});
export const BodyValue = Type.Unknown({ description: `Any JSON value; a string value may hold templates: ${TEMPLATE_HELP}` });

const renames = (what: string) =>
  Type.Object(
    {
      headers: Type.Record(HeaderName, HeaderName, { default: {}, description: `Headers ${what}.` }),
      querystring: Type.Record(QueryName, QueryName, { default: {}, description: `Query parameters ${what}.` }),
      body: Type.Record(BodyPath, BodyPath, { default: {}, description: `JSON body fields ${what} (only for JSON bodies).` }),
    },
    { additionalProperties: false, default: {}, description: `Name → new name: ${what}.` },
  );

const values = (what: string) =>
  Type.Object(
    {
      headers: Type.Record(HeaderName, HeaderValue, { default: {}, description: `Headers ${what}.` }),
      querystring: Type.Record(QueryName, QueryValue, { default: {}, description: `Query parameters ${what}.` }),
      body: Type.Record(BodyPath, BodyValue, { default: {}, description: `JSON body fields ${what} (only for JSON bodies).` }),
    },
    { additionalProperties: false, default: {}, description: `Name → value: ${what}.` },
  );

export const MAX_BODY_DEFAULT = 1024 * 1024;

export const RequestTransformerSchema = Type.Object(
  {
    http_method: Type.Optional(Type.Union(HttpMethod.anyOf, { description: 'Method the request is sent upstream with (the client\'s method still drives routing, limits and logs).' })),
    rewrite_path: Type.Optional(
      Type.Object(
        {
          regex: Type.String({
            minLength: 1,
            maxLength: 1024,
            description:
              "Regular expression matched against the client's normalised path (the path the route matched, before strip_path). No match: the path is left as the route computes it.",
          }),
          replacement: Type.String({
            minLength: 1,
            maxLength: 2048,
            pattern: '^/[^?#]*$',
            description: `Upstream path on a match: \`{name}\` or \`{1}\` is a group of \`regex\`; ${TEMPLATE_HELP} Values from templates are percent-encoded; the result replaces the route's strip_path/rewrite and is appended to the service's base path.`,
          }),
        },
        { additionalProperties: false, description: 'Rewrites the upstream path with regex captures.' },
      ),
    ),
    remove: Type.Object(
      {
        headers: Type.Array(HeaderName, { default: [], maxItems: 128, description: 'Headers removed from the upstream request.' }),
        querystring: Type.Array(QueryName, { default: [], maxItems: 128, description: 'Query parameters removed (every occurrence).' }),
        body: Type.Array(BodyPath, { default: [], maxItems: 128, description: 'JSON body fields removed.' }),
      },
      { additionalProperties: false, default: {}, description: 'Removed first.' },
    ),
    rename: renames('renamed when present (the value is kept); after remove'),
    replace: values('given a new value only when present; after rename'),
    add: values('set only when absent; after replace'),
    append: values('given one more value (headers: comma-joined, query: a repeated parameter, JSON: an array; the value is set when absent); applied last'),
    max_body_size: Type.Integer({
      minimum: 1,
      maximum: 64 * 1024 * 1024,
      default: MAX_BODY_DEFAULT,
      description:
        'Largest JSON request body buffered for body edits, in bytes; a larger body is refused with 413 GW_ERR_BODY_TOO_LARGE. Only used when `body` edits are configured.',
    }),
  },
  {
    additionalProperties: false,
    description: 'Edits the request before it is sent upstream: method, path, headers, query parameters and JSON body fields.',
  },
);
export type RequestTransformerConfig = Static<typeof RequestTransformerSchema>;
