/**
 * Config of circuit-breaker: when the breaker of the route's upstream target group opens, and what the
 * route answers while it is open. Breaker settings identify the breaker (routes of one service with the
 * same settings share it); the strategy is per route, so one service can fail fast on one route and serve
 * its last good response on another.
 */
import { Type, type Static } from '@sinclair/typebox';

export const STRATEGIES = ['fast-fail', 'retry', 'serve-stale', 'fallback'] as const;

const Ms = (description: string, def: number, min = 1, max = 3_600_000) =>
  Type.Integer({ minimum: min, maximum: max, default: def, description: `${description} (milliseconds).` });

export const CircuitBreakerSchema = Type.Object(
  {
    error_threshold_percentage: Type.Integer({
      minimum: 1,
      maximum: 100,
      default: 50,
      description: 'The breaker opens when more than this percentage of the calls in the rolling window failed.',
    }),
    volume_threshold: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 20,
      description: 'Calls the rolling window must hold before the breaker may open, so a few early failures do not open it.',
    }),
    rolling_window: Ms('Length of the window the failure percentage is computed over', 10_000, 100),
    rolling_buckets: Type.Integer({ minimum: 1, maximum: 100, default: 10, description: 'The window ages in this many steps.' }),
    reset_timeout: Ms('Time the breaker stays open before one probe request is let through (half-open)', 30_000, 100),
    failure_statuses: Type.Array(Type.Integer({ minimum: 500, maximum: 599 }), {
      default: [500, 502, 503, 504],
      maxItems: 100,
      description: 'Upstream statuses counted as failures. 4xx answers and client aborts never count; connection errors always do.',
    }),
    timeouts_are_failures: Type.Boolean({ default: true, description: 'Count upstream read/write timeouts as failures.' }),
    strategy: Type.Union(
      STRATEGIES.map((s) => Type.Literal(s)),
      {
        default: 'fast-fail',
        description:
          'While open: `fast-fail` answers 503 with Retry-After at once; `retry` waits with exponential backoff and jitter for the breaker to admit the request, within `retry_budget`; `serve-stale` answers the last successful response stored for the request (GET/HEAD), marked with Age and Warning; `fallback` sends the request to `fallback_service`. Each falls back to fast-fail when it cannot apply.',
      },
    ),
    retry_budget: Ms('`retry`: total time a request may wait for the breaker before it fails', 1_500, 1, 30_000),
    retry_base_delay: Ms('`retry`: first backoff step; each next step doubles, with full jitter', 100, 1, 10_000),
    retry_max_delay: Ms('`retry`: longest single backoff step', 1_000, 1, 30_000),
    retry_non_idempotent: Type.Boolean({ default: false, description: '`retry`: also hold POST and PATCH requests (they were not sent yet, so waiting is safe; off by default because clients may retry them themselves).' }),
    stale_store: Type.Union([Type.Literal('memory'), Type.Literal('redis')], {
      default: 'memory',
      description: '`serve-stale`: keep the copies in this node\'s memory (bounded LRU) or in Redis (shared by the nodes; needs REDIS_URL).',
    }),
    stale_ttl: Ms('`serve-stale`: how long a copy may be served after it was stored', 86_400_000, 1_000, 604_800_000),
    stale_max_body_size: Type.Integer({ minimum: 0, maximum: 16 * 1024 * 1024, default: 1024 * 1024, description: '`serve-stale`: bigger responses are not stored (bytes).' }),
    fallback_service: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9._~-]{0,127}$', description: '`fallback`: the service that takes the requests while the breaker is open.' })),
  },
  { additionalProperties: false, description: 'Protects callers when the upstream keeps failing, and decides what they get meanwhile.' },
);
export type CircuitBreakerConfig = Static<typeof CircuitBreakerSchema>;
