/**
 * Config of request-termination: the fixed answer a route, service, consumer or the whole gateway gives
 * instead of proxying. Field names follow Kong's plugin of the same name.
 */
import { Type, type Static } from '@sinclair/typebox';

const HeaderName = Type.String({ pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$", maxLength: 256 });
const HeaderValue = Type.String({ maxLength: 8192, pattern: '^[^\\r\\n\\u0000]*$' });

export const RequestTerminationSchema = Type.Object(
  {
    status_code: Type.Integer({ minimum: 100, maximum: 599, default: 503, description: 'HTTP status of the answer.' }),
    message: Type.Optional(
      Type.String({ maxLength: 4096, default: undefined, description: 'Answered as `{"message": …}` in JSON. Ignored when `body` is set. Neither set: a problem+json body.' }),
    ),
    body: Type.Optional(Type.String({ maxLength: 65536, default: undefined, description: 'Raw response body, sent as is with `content_type`.' })),
    content_type: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, default: undefined, description: 'Content-Type of `body` (default `application/json; charset=utf-8`).' }),
    ),
    headers: Type.Optional(
      Type.Record(HeaderName, HeaderValue, {
        default: undefined,
        description: 'Extra response headers (header → value), e.g. for mock responses; Content-Type belongs in `content_type`.',
      }),
    ),
    trigger: Type.Optional(
      Type.String({
        pattern: "^[A-Za-z0-9!#$%&'*+.^_`|~-]+$",
        maxLength: 256,
        default: undefined,
        description:
          'Only terminate requests that carry a header or a query parameter of this name (any value); other requests are proxied. Unset: every request is terminated.',
      }),
    ),
  },
  { additionalProperties: false, description: 'Answers every request with a fixed response, without calling the upstream.' },
);
export type RequestTerminationConfig = Static<typeof RequestTerminationSchema>;
