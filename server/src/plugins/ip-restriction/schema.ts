/**
 * Config of ip-restriction (Kong's plugin of the same name): allow and deny lists of client addresses.
 */
import { Type, type Static } from '@sinclair/typebox';

const Entry = Type.String({ minLength: 2, maxLength: 64, description: 'An IPv4 or IPv6 address, or a CIDR block (`10.0.0.0/8`, `2001:db8::/32`).' });

export const IpRestrictionSchema = Type.Object(
  {
    allow: Type.Array(Entry, {
      default: [],
      maxItems: 100_000,
      description: 'Addresses and CIDR blocks allowed. When not empty, every other client is refused. IPv4 entries also match IPv4-mapped IPv6 clients (`::ffff:a.b.c.d`).',
    }),
    deny: Type.Array(Entry, {
      default: [],
      maxItems: 100_000,
      description: 'Addresses and CIDR blocks refused. Deny wins: a client in both lists is refused.',
    }),
    status: Type.Integer({ minimum: 400, maximum: 599, default: 403, description: 'HTTP status of the refusal (problem+json, code GW_ERR_IP_FORBIDDEN).' }),
    message: Type.Optional(
      Type.String({ maxLength: 1024, default: undefined, description: 'Detail text of the refusal (default: the client address is not allowed).' }),
    ),
  },
  {
    additionalProperties: false,
    description: 'Allows or refuses requests by client address (the trusted client address: X-Forwarded-For only counts from trusted proxies).',
  },
);
export type IpRestrictionConfig = Static<typeof IpRestrictionSchema>;
