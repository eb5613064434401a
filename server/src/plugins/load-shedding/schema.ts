/**
 * Config of load-shedding: refuse requests early, with a cheap 503, while this proxy thread is saturated
 * (event-loop delay, heap, RSS) or a route already has too many requests in flight.
 */
import { Type, type Static } from '@sinclair/typebox';

export const LoadSheddingSchema = Type.Object(
  {
    max_event_loop_delay_ms: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 60_000,
        default: undefined,
        description: 'Shed while the p99 event-loop delay of the proxy thread over the last sampling interval (about 100 ms) exceeds this many milliseconds.',
      }),
    ),
    max_heap_used_ratio: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        maximum: 1,
        default: undefined,
        description: "Shed while the proxy thread's used heap exceeds this fraction of its heap size limit (v8 heap_size_limit).",
      }),
    ),
    max_rss_mb: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_048_576,
        default: undefined,
        description: 'Shed while the resident set size of the whole process (all threads) exceeds this many MiB.',
      }),
    ),
    max_concurrent_requests: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 10_000_000,
        default: undefined,
        description: 'Shed when this many requests of the same route are already in flight on this node (counted per route, also for a global or service instance).',
      }),
    ),
    retry_after_seconds: Type.Integer({ minimum: 0, maximum: 86_400, default: 1, description: 'Value of the Retry-After header sent with a shed request.' }),
  },
  { additionalProperties: false, description: 'Refuses requests with 503 while the gateway is overloaded.' },
);
export type LoadSheddingConfig = Static<typeof LoadSheddingSchema>;
