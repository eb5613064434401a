/** OpenAPI operation of the error-tracking endpoint, merged into admin/openapi's OPERATIONS. */
import { Type } from '@sinclair/typebox';
import { RouteSchema } from '../../config/schema.js';
import { RECENT_ERRORS_CAPACITY } from '../../observability/recent-errors.js';
import { RecentErrorsSchema } from './recent-errors.dto.js';
import { DEFAULT_ERRORS_LIMIT } from './recent-errors.service.js';

const QUERY = [
  { name: 'route', schema: Type.String({ pattern: RouteSchema.properties.name.pattern, description: 'One route name; omitted: every route.' }), description: 'Only the failures of this route. A name neither in the current config nor among the recorded failures is a 404.' },
  { name: 'limit', schema: Type.Integer({ minimum: 1, maximum: RECENT_ERRORS_CAPACITY, default: DEFAULT_ERRORS_LIMIT, description: 'Entries to return.' }), description: `Entries to return (1 to ${RECENT_ERRORS_CAPACITY}).` },
];

export const RECENT_ERRORS_OPERATIONS = [
  {
    method: 'get', path: '/errors', summary: "This node's recent failed requests (5xx answers, upstream timeouts and resets), newest first, with counts per code", tag: 'observability', access: 'viewer', status: 200, response: RecentErrorsSchema,
    query: QUERY,
    problems: { 400: 'An unknown or repeated query parameter, a malformed route name or limit', 404: 'No such route in the current config, and no failures recorded for it' },
  },
] as const;
