/**
 * Config of request-validator: JSON Schemas (draft 2020-12) for the parts of a request, or an OpenAPI 3.0/3.1
 * document whose operations say what each method + path accepts. The schemas themselves are checked when
 * the instance is built (plugin.ts), not here: TypeBox only sees "an object".
 */
import { Type, type Static } from '@sinclair/typebox';

const JsonSchema = (description: string) => Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description }));

export const RequestValidatorSchema = Type.Object(
  {
    body_schema: JsonSchema(
      'JSON Schema (draft 2020-12; a `$schema` naming another draft is refused) the parsed JSON request body must match. Only requests with a JSON body (application/json or `+json`) are validated; see `body_required`. Not allowed together with `openapi`.',
    ),
    query_schema: JsonSchema(
      'JSON Schema (2020-12) for the query string, seen as an object: name → string, or array of strings when repeated. Values are coerced to the schema\'s types (`?limit=10` passes `type: integer`). Not allowed together with `openapi`.',
    ),
    headers_schema: JsonSchema(
      'JSON Schema (2020-12) for the request headers, seen as an object with lower-case names (property names and `required` entries of the schema are lower-cased). Values are coerced like query values. Avoid `additionalProperties: false`: every header would have to be listed. Not allowed together with `openapi`.',
    ),
    path_params_schema: JsonSchema(
      'JSON Schema (2020-12) for the named captures of the route\'s regex path (e.g. `~/orders/(?<id>\\d+)$`), coerced like query values. Not allowed together with `openapi`.',
    ),
    body_required: Type.Boolean({
      default: false,
      description: 'With `body_schema`: refuse a request that has no body (400). When false, requests without a body are not body-validated. OpenAPI mode uses each operation\'s `requestBody.required` instead.',
    }),
    openapi: Type.Optional(
      Type.Union([Type.String({ minLength: 1, maxLength: 4_194_304 }), Type.Record(Type.String(), Type.Unknown())], {
        description:
          'An OpenAPI 3.0.x or 3.1.x document, as an object or a YAML/JSON string. Each request is matched to an operation (see `operation_match`) whose path, query and header parameters and `application/json` request body are validated. Local `$ref`s only (`#/components/...`).',
      }),
    ),
    operation_match: Type.Literal('path', {
      default: 'path',
      description:
        'How a request finds its OpenAPI operation. `path` (the only mode): the request method and path, minus `path_prefix`, are matched against the document\'s `paths` templates (e.g. `/orders/{id}`); literal segments win over templated ones. HEAD falls back to the GET operation.',
    }),
    path_prefix: Type.Optional(
      Type.String({
        pattern: '^(/[^/?#]+)*/?$',
        maxLength: 1024,
        description:
          'The part of the client\'s request path that comes before the document\'s `paths`, removed before matching (e.g. `/shop/v1` when the route matches `/shop`, strips it, and the service path adds `/v1`). Default: the path of the first `servers` URL (`https://api.example.com/v1` → `/v1`, variables take their default), or none. A request outside the prefix has no operation.',
      }),
    ),
    unknown_operation: Type.Union([Type.Literal('allow'), Type.Literal('reject')], {
      default: 'allow',
      description: 'What to do when the OpenAPI document has no operation for the request method and path: `allow` forwards it unvalidated, `reject` answers 404 GW_ERR_OPERATION_NOT_FOUND.',
    }),
    max_body_size: Type.Integer({
      minimum: 0,
      maximum: 1_073_741_824,
      default: 1_048_576,
      description: 'Largest body read for validation, in bytes (default 1 MiB); a larger body gets 413 GW_ERR_BODY_TOO_LARGE. Requests that need no body validation are not read nor limited (use request-size-limiting for that).',
    }),
    allowed_content_types: Type.Array(Type.String({ minLength: 1, maxLength: 256, pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]+/[A-Za-z0-9!#$%&\'*+.^_`|~-]+$' }), {
      default: ['application/json'],
      maxItems: 64,
      description:
        'Media types (without parameters, case-insensitive) a request body may have; `type/*` and `*/*` are wildcards. A request with a body of another type, or without Content-Type, gets 415 GW_ERR_UNSUPPORTED_MEDIA_TYPE. Only JSON types (application/json, `*/*+json`) are validated against a body schema; other allowed types pass unvalidated.',
    }),
    verbose_response: Type.Boolean({
      default: false,
      description: 'List every failing field in the 400 answer (up to 100). When false, validation stops at the first failure (cheaper) and the answer lists that one.',
    }),
  },
  { additionalProperties: false, description: 'Validates the query, headers, path parameters and JSON body of requests against JSON Schemas or an OpenAPI 3 document.' },
);
export type RequestValidatorConfig = Static<typeof RequestValidatorSchema>;
