/**
 * Config of request-size-limiting (Kong's plugin of the same name, sizes in bytes only): the largest
 * request body a route accepts.
 */
import { Type, type Static } from '@sinclair/typebox';

export const RequestSizeLimitingSchema = Type.Object(
  {
    allowed_payload_size: Type.Integer({
      minimum: 0,
      maximum: 1_099_511_627_776,
      default: 8_388_608,
      description: 'Largest request body accepted, in bytes (default 8 MiB). A larger declared Content-Length gets 413 before the upstream is contacted; a chunked body is counted as it streams.',
    }),
    require_content_length: Type.Boolean({
      default: false,
      description: 'Refuse a request body sent without Content-Length (chunked) with 411, instead of counting it while it streams.',
    }),
  },
  { additionalProperties: false, description: 'Limits the size of request bodies.' },
);
export type RequestSizeLimitingConfig = Static<typeof RequestSizeLimitingSchema>;
