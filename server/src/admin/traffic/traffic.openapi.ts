/** OpenAPI operations of the traffic endpoints, merged into admin/openapi's OPERATIONS. */
import { Type } from '@sinclair/typebox';
import { RouteSchema } from '../../config/schema.js';
import { ClearSamplesResultSchema, ShadowSampleListSchema, TrafficViewSchema } from './traffic.dto.js';

const ROUTE = [
  {
    name: 'route',
    schema: Type.String({ pattern: RouteSchema.properties.name.pattern, description: 'One route name; omitted: every route.' }),
    description: 'One route name (omitted: every route). A name neither in the current config nor holding shadow records is a 404; any other parameter, or a repeated one, a 400.',
  },
];
const ROUTE_PROBLEMS = { 400: 'An unknown or repeated query parameter, or a malformed route name', 404: 'No such route in the current config, and no shadow records for it' };

export const TRAFFIC_OPERATIONS = [
  { method: 'get', path: '/shadow', summary: "traffic-split requests per attachment and service, and mirror/shadow-comparison counters per route, of this node's data plane", tag: 'traffic', access: 'viewer', status: 200, response: TrafficViewSchema },
  { method: 'get', path: '/shadow/samples', summary: 'Shadow-comparison records (mismatches and shadow failures), newest first', tag: 'traffic', access: 'viewer', query: ROUTE, problems: ROUTE_PROBLEMS, status: 200, response: ShadowSampleListSchema },
  { method: 'delete', path: '/shadow/samples', summary: 'Forget shadow-comparison records (counters are kept)', tag: 'traffic', access: 'operator', query: ROUTE, problems: ROUTE_PROBLEMS, status: 200, response: ClearSamplesResultSchema },
] as const;
