/**
 * Response schemas of the traffic endpoints (traffic-split and mirror counters, shadow-comparison records),
 * for the OpenAPI document: the answers are built by the proxy thread (server/src/traffic/); these describe them.
 */
import { Type, type TSchema } from '@sinclair/typebox';

const Int = (description: string): TSchema => Type.Integer({ minimum: 0, description });
const Ms = (description: string): TSchema => Type.Number({ minimum: 0, description });

export const SplitStatSchema = Type.Object(
  {
    scope: Type.String({ description: 'The route or service the traffic-split instance is attached to.' }),
    service: Type.String({ description: 'A service the split shares traffic with.' }),
    requests: Int('Requests the split sent to the service since the proxy thread started.'),
    unavailable: Int('Requests the split chose the service for while it was disabled (they stayed on the route\'s service).'),
  },
  { $id: 'SplitStat' },
);

export const ShadowRouteStatsSchema = Type.Object(
  {
    route: Type.String({ description: 'Name of the mirrored route.' }),
    shadow_service: Type.String({ description: 'The shadow service of the latest mirror on this route.' }),
    mirrored: Int('Requests copied to the shadow.'),
    dropped: Int('Sampled requests not copied because queue_size mirrors were in flight.'),
    skipped_body: Int('Sampled requests not copied because their body was over max_body_size or of unknown length.'),
    shadow_errors: Int('Mirrors that failed (connection, timeout, no healthy target, disabled shadow service).'),
    compared: Int("Mirrors whose responses were compared with the primary's."),
    matched: Int('Compared responses without differences.'),
    mismatched: Int('Compared responses with differences.'),
    mismatch_status: Int('Mismatches in the status code.'),
    mismatch_headers: Int('Mismatches in a compared header.'),
    mismatch_body: Int('Mismatches in the body.'),
    mismatch_latency: Int('Shadows slower than latency_threshold_ms.'),
    uncomparable: Int('Comparisons whose bodies could not be compared (over the compare cap, or the primary was cut short).'),
    primary_latency_ms_sum: Ms("Sum of the primary's latency over compared requests (ms); divide by `compared` for the mean."),
    shadow_latency_ms_sum: Ms("Sum of the shadow's latency over compared requests (ms); divide by `compared` for the mean."),
  },
  { $id: 'ShadowRouteStats' },
);

export const TrafficViewSchema = Type.Object(
  {
    split: Type.Array(SplitStatSchema, { description: 'traffic-split requests per attachment and service.' }),
    shadow: Type.Array(ShadowRouteStatsSchema, { description: 'mirror and shadow-comparison counters per route.' }),
  },
  { $id: 'TrafficView', description: "Counters of this node's proxy thread; they live for the thread, across config changes." },
);

const ResponseSideSchema = Type.Object({
  status: Type.Integer({ description: '0 when the side has no response.' }),
  latency_ms: Ms('Time to the complete response.'),
  headers: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'The compared headers; secrets as `[redacted]`.' })),
  body_bytes: Type.Optional(Int('Body size.')),
  body_excerpt: Type.Optional(Type.String({ description: 'The start of the body.' })),
  error: Type.Optional(Type.String({ description: 'Why the side has no complete response.' })),
});

const DifferenceSchema = Type.Object({
  kind: Type.Union([Type.Literal('status'), Type.Literal('header'), Type.Literal('body'), Type.Literal('latency'), Type.Literal('error')]),
  pointer: Type.Optional(Type.String({ description: "JSON Pointer of a body difference ('' for the whole body)." })),
  name: Type.Optional(Type.String({ description: 'Header name of a header difference.' })),
  primary: Type.Optional(Type.Unknown({ description: "The primary's value (a JSON text excerpt for bodies); absent when it has none." })),
  shadow: Type.Optional(Type.Unknown({ description: "The shadow's value; absent when it has none." })),
});

export const ShadowSampleSchema = Type.Object(
  {
    at: Type.String({ format: 'date-time', description: 'When the comparison was recorded.' }),
    route: Type.String(),
    shadow_service: Type.String(),
    request_id: Type.String({ description: 'X-Request-Id of the primary request.' }),
    method: Type.String(),
    path: Type.String({ description: 'The path sent to the shadow (with the query).' }),
    primary: ResponseSideSchema,
    shadow: ResponseSideSchema,
    differences: Type.Array(DifferenceSchema, { description: 'At most 20.' }),
  },
  { $id: 'ShadowSample', description: 'One mismatch (or shadow failure) as recorded by mirror with compare.enabled.' },
);

export const ShadowSampleListSchema = Type.Object(
  { data: Type.Array(ShadowSampleSchema, { description: 'Newest first; at most compare.sample_size per route.' }) },
  { $id: 'ShadowSampleList' },
);

export const ClearSamplesResultSchema = Type.Object({ cleared: Int('Records removed (counters are kept).') }, { $id: 'ClearSamplesResult' });

export const TRAFFIC_SCHEMAS: TSchema[] = [SplitStatSchema, ShadowRouteStatsSchema, TrafficViewSchema, ShadowSampleSchema, ShadowSampleListSchema, ClearSamplesResultSchema];
