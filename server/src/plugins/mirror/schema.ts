/**
 * Config of mirror: which share of a route's requests is copied to a shadow service, within which bounds,
 * and how the shadow's responses are compared with the primary's.
 */
import { Type, type Static } from '@sinclair/typebox';

const HeaderName = Type.String({ minLength: 1, maxLength: 256, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'A response header name.' });

export const MirrorSchema = Type.Object(
  {
    service: Type.String({
      pattern: '^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$',
      description: 'The shadow service: requests are copied to it through its own pools and balancer (keep-alive and target health are shared with routes that use it).',
    }),
    percentage: Type.Number({ minimum: 0, maximum: 100, default: 100, description: 'Share of the requests copied, in percent (fractions allowed, e.g. 0.5).' }),
    sticky: Type.Object(
      {
        by: Type.Union([Type.Literal('none'), Type.Literal('cookie'), Type.Literal('header'), Type.Literal('consumer')], {
          default: 'none',
          description:
            '`none`: each request is sampled at random. `cookie`/`header`/`consumer`: the value of cookie or header `name`, or the consumer, is hashed (as traffic-split does), so a client is always or never mirrored. Requests without it are sampled at random.',
        }),
        name: Type.Optional(Type.String({ minLength: 1, maxLength: 128, pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", description: 'Cookie or header name (`cookie`, `header`).' })),
      },
      { additionalProperties: false, default: {}, description: 'What decides which requests are copied.' },
    ),
    max_body_size: Type.Integer({
      minimum: 0,
      maximum: 16_777_216,
      default: 1_048_576,
      description:
        'Largest request body copied, in bytes. A sampled request with a body is buffered (it is sent to the primary once complete); a body over this size, or of unknown length (chunked), is not copied and counts as skipped_body.',
    }),
    queue_size: Type.Integer({ minimum: 1, maximum: 100_000, default: 100, description: 'Mirrors in flight at once per node and route; a sampled request over it is not copied and counts as dropped.' }),
    timeout: Type.Integer({ minimum: 1, maximum: 600_000, default: 10_000, description: 'Time a mirror may take in total, response body included (milliseconds); then it is aborted and counts as a shadow error.' }),
    compare: Type.Object(
      {
        enabled: Type.Boolean({ default: false, description: 'Compare the shadow\'s response with the primary\'s and record the differences.' }),
        headers: Type.Array(HeaderName, { maxItems: 50, uniqueItems: true, default: [], description: 'Response headers compared (values of Authorization, Cookie, Set-Cookie are compared but never recorded).' }),
        ignore_body_paths: Type.Array(Type.String({ maxLength: 512, pattern: '^(/.*)?$' }), {
          maxItems: 100,
          default: [],
          description: 'JSON Pointers left out of the body comparison, with `*` matching any one key or index (`/items/*/id`); a pointer also covers everything below it.',
        }),
        json: Type.Boolean({ default: true, description: 'Compare bodies structurally when both parse as JSON (key order and whitespace ignored); otherwise bodies are compared byte for byte.' }),
        max_body_size: Type.Integer({ minimum: 0, maximum: 16_777_216, default: 1_048_576, description: 'Largest response body kept for the comparison, per side, in bytes; a larger one counts as uncomparable.' }),
        latency_threshold_ms: Type.Optional(
          Type.Integer({ minimum: 0, maximum: 600_000, description: 'A shadow slower than the primary by more than this many milliseconds is a `latency` mismatch. Unset: latency is recorded, never a mismatch.' }),
        ),
        sample_size: Type.Integer({ minimum: 0, maximum: 1000, default: 50, description: 'Mismatch records kept per route (the newest); 0 keeps none.' }),
      },
      { additionalProperties: false, default: {}, description: 'Shadow comparison.' },
    ),
  },
  { additionalProperties: false },
);

export type MirrorConfig = Static<typeof MirrorSchema>;
