/**
 * Config of traffic-split: which services share a route's traffic, by weight, and what keeps a client on
 * the same service from one request to the next.
 */
import { Type, type Static } from '@sinclair/typebox';

const ServiceName = Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$', description: 'A service of the config (the route\'s own service may be listed).' });

export const TrafficSplitSchema = Type.Object(
  {
    targets: Type.Array(
      Type.Object(
        {
          service: ServiceName,
          weight: Type.Integer({
            minimum: 0,
            maximum: 1_000_000,
            description: 'Share of the traffic relative to the sum of the weights (with weights summing to 100, a percentage). 0: the service gets nothing.',
          }),
        },
        { additionalProperties: false, description: 'One service and its weight.' },
      ),
      {
        minItems: 1,
        maxItems: 20,
        description:
          'Services and their weights. Each takes a range of [0, 100 %) in this order; keep the canary first (or last) so raising its weight only moves the boundary and clients already on it stay there.',
      },
    ),
    sticky: Type.Object(
      {
        by: Type.Union([Type.Literal('none'), Type.Literal('cookie'), Type.Literal('header'), Type.Literal('consumer')], {
          default: 'none',
          description:
            '`none`: each request is placed at random. `cookie`: the point drawn for a client is kept in a cookie the gateway sets when absent. `header`: the value of header `name` is hashed. `consumer`: the authenticated consumer is hashed. Requests without the cookie value, header or consumer are placed at random.',
        }),
        name: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 128,
            pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$",
            description: 'Cookie name (`cookie`, default `gatehouse_split`) or header name (`header`, required).',
          }),
        ),
        cookie_ttl: Type.Integer({ minimum: 0, maximum: 31_536_000, default: 86_400, description: 'Max-Age of the cookie in seconds; 0: a session cookie.' }),
        cookie_path: Type.String({ minLength: 1, maxLength: 256, pattern: '^/[^;\\s]*$', default: '/', description: 'Path attribute of the cookie.' }),
      },
      { additionalProperties: false, default: {}, description: 'What keeps a client on the same service.' },
    ),
    expose_header: Type.Boolean({ default: false, description: 'Add `X-Gatehouse-Upstream-Service: <service>` to the response (e.g. to check a canary from a client).' }),
  },
  { additionalProperties: false },
);

export type TrafficSplitConfig = Static<typeof TrafficSplitSchema>;
