/**
 * Config of concurrency-limit: at most `max` requests in flight per key (slow endpoints, expensive
 * upstream work), counted in memory or across nodes through Redis.
 */
import { Type, type Static } from '@sinclair/typebox';
import { LIMIT_BY } from '../rate-limiting/schema.js';

export const ConcurrencyLimitSchema = Type.Object(
  {
    max: Type.Integer({ minimum: 1, maximum: 1_000_000, default: 10, description: 'Requests allowed in flight at once per key; the next one gets 429 until one finishes.' }),
    limit_by: Type.Array(Type.Union(LIMIT_BY.map((k) => Type.Literal(k))), {
      minItems: 1,
      maxItems: 7,
      uniqueItems: true,
      default: ['consumer'],
      description: 'What shares the slots; a part the request lacks falls back to the client IP (as in rate-limiting).',
    }),
    header_name: Type.Optional(Type.String({ minLength: 1, maxLength: 256, default: undefined, description: 'Request header used for `header`.' })),
    jwt_claim: Type.Optional(Type.String({ minLength: 1, maxLength: 256, default: undefined, description: 'JWT claim used for `jwt_claim`.' })),
    policy: Type.Union([Type.Literal('local'), Type.Literal('redis')], { default: 'local', description: '`local`: per node. `redis`: slots shared by all nodes.' }),
    lease_ms: Type.Integer({
      minimum: 1_000,
      maximum: 3_600_000,
      default: 300_000,
      description: 'With `redis`: a slot not released within this time (a node died mid-request) is reclaimed. Keep it above the longest request.',
    }),
    fault_policy: Type.Union([Type.Literal('fail-open'), Type.Literal('fail-closed')], { default: 'fail-open', description: 'When Redis is unavailable: let requests through, or answer 503.' }),
    redis_timeout_ms: Type.Integer({ minimum: 1, maximum: 10_000, default: 50, description: 'Longest wait for Redis before the fault policy applies.' }),
  },
  { additionalProperties: false, description: 'Limits the number of requests in flight per key.' },
);
export type ConcurrencyLimitConfig = Static<typeof ConcurrencyLimitSchema>;
