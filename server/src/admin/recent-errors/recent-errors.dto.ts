/**
 * Response schema of `GET /errors` for the OpenAPI document: the answer is built by the proxy thread
 * (observability/recent-errors.ts); this describes it.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { RECENT_ERRORS_CAPACITY } from '../../observability/recent-errors.js';

const Ms = (description: string): TSchema => Type.Union([Type.Number({ minimum: 0 }), Type.Null()], { description });

export const RecentErrorSchema = Type.Object(
  {
    at: Type.String({ format: 'date-time', description: 'When the request ended.' }),
    request_id: Type.String({ description: 'X-Request-Id of the request.' }),
    code: Type.String({
      description:
        'The gateway error code (GW_ERR_*) when the gateway answered itself; otherwise `upstream_5xx` (the upstream answered 5xx), or `upstream_timeout` / `upstream_reset` (the upstream failed after the response had started).',
    }),
    status: Type.Integer({ description: 'Status sent to the client (0 when none was sent).' }),
    route: Type.Union([Type.String(), Type.Null()], { description: 'The matched route; null when none matched.' }),
    service: Type.Union([Type.String(), Type.Null()], { description: 'The service the request was sent to.' }),
    consumer: Type.Union([Type.String(), Type.Null()], { description: 'Username of the authenticated consumer.' }),
    method: Type.String(),
    path: Type.String({ description: 'The request path, without the query.' }),
    client_ip: Type.String(),
    target: Type.Union([Type.String(), Type.Null()], { description: '`host:port` of the last upstream target tried.' }),
    upstream_failure: Type.Union([Type.Literal('connect'), Type.Literal('timeout'), Type.Literal('reset'), Type.Literal('client-abort'), Type.Literal('other'), Type.Null()], {
      description: 'How the last upstream attempt failed, when it did.',
    }),
    timings_ms: Type.Object(
      {
        total: Type.Number({ minimum: 0, description: 'Start of the request to its end.' }),
        routed: Ms('To the route match.'),
        access_done: Ms('To the end of the access phase (authentication, limits).'),
        upstream_start: Ms('To the first upstream attempt.'),
        upstream_head: Ms("To the upstream's response head."),
        upstream_end: Ms('To the end (or failure) of the upstream exchange.'),
      },
      { description: 'Milliseconds from the start of the request; null when the step did not happen.' },
    ),
    trace_id: Type.Union([Type.String(), Type.Null()], { description: 'Trace id when the request was traced.' }),
  },
  { $id: 'RecentError', description: 'One failed request: a 5xx answer, or an upstream timeout or reset.' },
);

export const RecentErrorsSchema = Type.Object(
  {
    total: Type.Integer({ minimum: 0, description: "Failures recorded since the node's proxy thread started." }),
    capacity: Type.Integer({ minimum: 1, description: `Failures kept (${RECENT_ERRORS_CAPACITY}); older ones are forgotten.` }),
    counts: Type.Record(Type.String(), Type.Integer({ minimum: 0 }), { description: 'Failures per code since the proxy thread started (every route).' }),
    data: Type.Array(RecentErrorSchema, { description: 'Newest first.' }),
  },
  { $id: 'RecentErrors', description: "This node's recent failed requests." },
);

export const RECENT_ERRORS_SCHEMAS: TSchema[] = [RecentErrorSchema, RecentErrorsSchema];
