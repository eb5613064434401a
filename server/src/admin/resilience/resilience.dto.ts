/**
 * Response schemas of the resilience endpoints, for the OpenAPI document (the answers are built by
 * the proxy thread; these describe them).
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { TrafficViewSchema } from '../traffic/traffic.dto.js';

const Int = (description: string): TSchema => Type.Integer({ minimum: 0, description });
const EpochMs = (description: string): TSchema => Type.Integer({ description: `${description} (epoch milliseconds)` });
const BreakerState = Type.Union([Type.Literal('closed'), Type.Literal('open'), Type.Literal('half-open')]);

const BreakerTransitionSchema = Type.Object({
  group: Type.String(),
  id: Type.String(),
  from: BreakerState,
  to: BreakerState,
  at: EpochMs('When'),
});

export const BreakerViewSchema = Type.Object(
  {
    id: Type.String({ description: 'The breaker: its target group plus its settings.' }),
    group: Type.String({ description: 'Target group (service or upstream) the breaker guards.' }),
    state: BreakerState,
    opened_at: Type.Union([EpochMs('When it last opened'), Type.Null()]),
    half_open_at: Type.Union([EpochMs('When an open breaker lets its probe through'), Type.Null()]),
    settings: Type.Record(Type.String(), Type.Number()),
    window: Type.Object({ calls: Int('Calls in the rolling window.'), successes: Int('Successes.'), failures: Int('Failures.'), rejects: Int('Calls refused while open or half-open since the breaker was created (not part of the window).') }),
    transitions: Type.Object({ opened: Int('Times opened.'), half_opened: Int('Times half-opened.'), closed: Int('Times closed.') }),
    recent: Type.Array(BreakerTransitionSchema, { description: 'The latest transitions, oldest first.' }),
  },
  { $id: 'BreakerView' },
);

export const TargetHealthStateSchema = Type.Object(
  {
    upstream: Type.String(),
    target: Type.String({ description: '`host:port` as configured.' }),
    up: Type.Boolean({ description: 'false: the balancer skips the target.' }),
    checks: Type.Union([Type.Literal('active'), Type.Literal('passive'), Type.Literal('active+passive')]),
    reason: Type.String({ description: 'Why the target is in its current state.' }),
    since: EpochMs('Last transition, or when tracking started'),
    failures: Int('Passive: consecutive failures.'),
    timeouts: Int('Passive: consecutive timeouts.'),
    probeFailures: Int('Active: consecutive failed probes.'),
    probeSuccesses: Int('Active: consecutive successful probes.'),
    ejectedUntil: Type.Optional(EpochMs('When a passively ejected target returns')),
    lastProbe: Type.Optional(Type.Object({ at: Type.Integer(), durationMs: Type.Number(), status: Type.Optional(Type.Integer()), error: Type.Optional(Type.String()) })),
    refs: Int('Config snapshots holding the target.'),
  },
  { $id: 'TargetHealthState' },
);

export const ProxyCacheStatsSchema = Type.Object(
  {
    entries: Int("Responses in the proxy thread's memory stores (Redis entries are not counted)."),
    bytes: Int('Bytes in those stores.'),
    hits: Int('Requests answered from the cache.'),
    misses: Int('Cacheable requests not found in the cache.'),
    refreshes: Int('Stale entries revalidated.'),
    bypasses: Int('Requests that skipped the cache.'),
    stores: Int('Responses stored.'),
    redis_errors: Int('Redis operations that failed.'),
  },
  { $id: 'ProxyCacheStats' },
);

export const ResilienceViewSchema = Type.Object(
  {
    breakers: Type.Array(BreakerViewSchema),
    breaker_transitions: Type.Array(Type.Object({ group: Type.String(), to: BreakerState, count: Int('Transitions since the proxy thread started.') })),
    targets: Type.Array(TargetHealthStateSchema, { description: 'Targets of upstreams with health checks.' }),
    cache: ProxyCacheStatsSchema,
    load_shedding: Type.Object({ overloaded: Int('Requests refused while the proxy thread was overloaded.'), concurrency: Int('Requests refused over max_concurrent_requests.') }),
    request_size: Type.Object({ declared: Int('Refused by Content-Length.'), streamed: Int('Cut off while streaming.'), length_required: Int('Refused for lack of Content-Length.') }),
    limits_store: Type.Object({ fail_open: Int('Requests a redis-policy limit let through because Redis failed.'), fail_closed: Int('Requests refused because Redis failed.') }),
    traffic: TrafficViewSchema,
    events: Type.Object({ subscribers: Int('Live event subscribers (SSE clients) of this admin node.'), published: Int('Events published since start.'), dropped: Int('Events dropped for slow subscribers.') }),
  },
  { $id: 'ResilienceView', description: "Resilience state of this node's data plane." },
);

export const UpstreamHealthSchema = Type.Object(
  {
    node_id: Type.String(),
    total: Int('Targets listed.'),
    data: Type.Array(
      Type.Object({
        target: Type.String(),
        weight: Type.Integer(),
        health: Type.Union([Type.Literal('HEALTHY'), Type.Literal('UNHEALTHY'), Type.Literal('HEALTHCHECKS_OFF')]),
        upstream: Type.String(),
        reason: Type.Optional(Type.String()),
        since: Type.Optional(Type.Integer()),
        checks: Type.Optional(Type.String()),
      }),
    ),
  },
  { $id: 'UpstreamHealth', description: "Health of an upstream's targets as this node sees them (Kong's shape)." },
);

export const PurgeResultSchema = Type.Object({ purged: Int('Entries removed (memory responses plus Redis keys).') }, { $id: 'PurgeResult' });

export const RESILIENCE_SCHEMAS: TSchema[] = [BreakerViewSchema, TargetHealthStateSchema, ProxyCacheStatsSchema, ResilienceViewSchema, UpstreamHealthSchema, PurgeResultSchema];
