/**
 * Config of rate-limiting. One instance = one limit set: a key (what is counted together), several
 * windows at once, optional calendar quotas, where the state lives, and what to do when Redis fails.
 * Attach it globally for the gateway-wide limit and to services/routes/consumers for overrides.
 */
import { Type, type Static } from '@sinclair/typebox';

const Count = (what: string) =>
  Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000_000, default: undefined, description: `Requests allowed per ${what} per key.` }));

export const LIMIT_BY = ['consumer', 'credential', 'ip', 'header', 'jwt_claim', 'route', 'service'] as const;

export const RateLimitingSchema = Type.Object(
  {
    limit_by: Type.Array(Type.Union(LIMIT_BY.map((k) => Type.Literal(k))), {
      minItems: 1,
      maxItems: 7,
      uniqueItems: true,
      default: ['consumer'],
      description:
        'What is counted together; several entries make a combined key (e.g. [consumer, route]). A part the request lacks (no consumer, header or claim) falls back to the client IP, so anonymous clients are limited per address.',
    }),
    header_name: Type.Optional(Type.String({ minLength: 1, maxLength: 256, default: undefined, description: 'Request header whose value is the key part for `header`.' })),
    jwt_claim: Type.Optional(
      Type.String({ minLength: 1, maxLength: 256, default: undefined, description: 'Claim of the verified JWT (set by the jwt plugin) used for `jwt_claim`.' }),
    ),
    second: Count('second'),
    minute: Count('minute'),
    hour: Count('hour'),
    day: Count('day (a rolling 24 h window; see quota_day for calendar days)'),
    algorithm: Type.Union([Type.Literal('gcra'), Type.Literal('sliding-window')], {
      default: 'gcra',
      description:
        '`gcra`: exact, never more than the limit in any window-long interval, no burst at window edges. `sliding-window`: weighted fixed windows, cheaper state, may exceed the limit by a documented bound at window edges.',
    }),
    quota_day: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000_000, default: undefined, description: 'Requests per key per calendar day (UTC); renews at 00:00 UTC.' }),
    ),
    quota_month: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 1_000_000_000, default: undefined, description: 'Requests per key per calendar month (UTC); renews on the 1st at 00:00 UTC.' }),
    ),
    policy: Type.Union([Type.Literal('local'), Type.Literal('redis')], {
      default: 'local',
      description: '`local`: counters in each node\'s memory (per node). `redis`: shared by every node through REDIS_URL, exact cluster-wide.',
    }),
    fault_policy: Type.Union([Type.Literal('fail-open'), Type.Literal('fail-closed')], {
      default: 'fail-open',
      description: 'With the `redis` policy, when Redis is unreachable or slower than redis_timeout_ms: let the request through (logged and counted) or answer 503.',
    }),
    redis_timeout_ms: Type.Integer({ minimum: 1, maximum: 10_000, default: 50, description: 'Longest wait for Redis before the fault policy applies.' }),
    redis_lease: Type.Integer({
      minimum: 0,
      maximum: 10_000,
      default: 100,
      description:
        'With the `redis` policy: most units a node may take from Redis ahead of use in one check (at most 1/8 of what the key has left, so near the limit every request is decided in Redis and the count stays exact). 0: every request asks Redis.',
    }),
    redis_lease_ms: Type.Integer({
      minimum: 10,
      maximum: 60_000,
      default: 1_000,
      description: 'How long a node keeps leased units; what it has not used by then goes back to Redis for the other nodes.',
    }),
    inherit_global: Type.Boolean({
      default: true,
      description:
        'On a service/route/consumer instance: also enforce the global instance\'s limits (it counts across all services), so a client over the gateway-wide limit is stopped here too. Ignored on the global instance.',
    }),
    ietf_headers: Type.Boolean({ default: true, description: 'Send `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers, Structured Fields).' }),
    legacy_headers: Type.Boolean({ default: true, description: 'Send `X-RateLimit-Limit`, `X-RateLimit-Remaining`, `X-RateLimit-Reset` for the tightest window.' }),
    retry_after: Type.Boolean({ default: true, description: 'Send `Retry-After` (seconds) on 429.' }),
  },
  { additionalProperties: false, description: 'Limits requests per key over one or more windows, with optional calendar quotas.' },
);
export type RateLimitingConfig = Static<typeof RateLimitingSchema>;
