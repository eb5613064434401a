/**
 * Builds the admin API's OpenAPI 3.1 document from the same TypeBox schemas that validate requests
 * (they are JSON Schema already), so the document cannot disagree with what the server accepts.
 * A spec test checks that every route Nest registers is listed here.
 */
import { Type, type TSchema } from '@sinclair/typebox';
import { ConfigDocumentSchema, ENTITY_KINDS, TargetSchema, type EntityKind } from '../../config/schema.js';
import { ERRORS } from '../../errors/registry.js';
import { AdminUserCreateSchema, AdminUserSchema, LoginSchema, MeSchema, TokenSchema } from '../auth/auth.dto.js';
import type { Role } from '../common/current-user.js';
import { ApplyResultSchema, DiffResultSchema, DiffSchema, RollbackResultSchema, ValidateResultSchema, VersionInfoSchema } from '../config/config.dto.js';
import { DEFAULT_LIMIT, FILTERS, MAX_LIMIT, pageSchema } from '../entities/entities.dto.js';
import { ENTITY_KIND_LIST } from '../entities/entities.controller.js';
import { CREDENTIAL_OPERATIONS } from '../credentials/credentials.openapi.js';
import { CERTIFICATE_OPERATIONS } from '../certificates/certificates.openapi.js';
import { DEVELOPER_OPERATIONS } from '../developers/developers.openapi.js';
import { RESILIENCE_SCHEMAS } from '../resilience/resilience.dto.js';
import { RESILIENCE_OPERATIONS } from '../resilience/resilience.openapi.js';
import { TRAFFIC_SCHEMAS } from '../traffic/traffic.dto.js';
import { TRAFFIC_OPERATIONS } from '../traffic/traffic.openapi.js';
import { RECENT_ERRORS_SCHEMAS } from '../recent-errors/recent-errors.dto.js';
import { RECENT_ERRORS_OPERATIONS } from '../recent-errors/recent-errors.openapi.js';
import { AUDIT_OPERATIONS, AUDIT_SCHEMAS } from '../audit/audit.dto.js';
import { DISCOVERY_OPERATIONS, DISCOVERY_SCHEMAS, UpstreamTargetsSchema } from '../../discovery/admin.js';
import { IMPORT_OPERATIONS } from '../import/import.openapi.js';
import { IMPORT_SCHEMAS } from '../import/import.dto.js';
import { ACME_OPERATIONS, ACME_SCHEMAS } from '../../tls/acme-admin.js';

export const ProblemSchema = Type.Object(
  {
    type: Type.String({ format: 'uri' }),
    title: Type.String(),
    status: Type.Integer(),
    code: Type.Union(Object.keys(ERRORS).map((c) => Type.Literal(c)), { description: 'Stable error code to match on.' }),
    detail: Type.Optional(Type.String()),
    instance: Type.Optional(Type.String()),
    request_id: Type.Optional(Type.String()),
    errors: Type.Optional(Type.Array(Type.Object({ path: Type.String({ description: 'JSON Pointer of the failing field.' }), message: Type.String() }))),
  },
  { $id: 'Problem', description: 'RFC 9457 problem details, served as application/problem+json.' },
);

/** Schemas published under components.schemas, referenced by `$id` wherever they appear. */
const NAMED: TSchema[] = [
  ...ENTITY_KIND_LIST.map((k) => ENTITY_KINDS[k].schema),
  TargetSchema,
  ConfigDocumentSchema,
  ProblemSchema,
  LoginSchema,
  TokenSchema,
  MeSchema,
  AdminUserCreateSchema,
  AdminUserSchema,
  ValidateResultSchema,
  DiffSchema,
  DiffResultSchema,
  ApplyResultSchema,
  VersionInfoSchema,
  RollbackResultSchema,
  ...RESILIENCE_SCHEMAS,
  ...TRAFFIC_SCHEMAS,
  ...RECENT_ERRORS_SCHEMAS,
  ...AUDIT_SCHEMAS,
  ...DISCOVERY_SCHEMAS,
  ...IMPORT_SCHEMAS,
  ...ACME_SCHEMAS,
];

/** `developer`: only developer accounts (`/me/**`); `authenticated`: any signed-in account, developers included. */
export type Access = Role | 'public' | 'authenticated';

interface QueryParam {
  name: string;
  schema: TSchema;
  description: string;
}

export interface OperationSpec {
  method: 'get' | 'post' | 'put' | 'patch' | 'delete';
  /** OpenAPI path template, e.g. `/services/{key}`. */
  path: string;
  summary: string;
  tag: string;
  access: Access;
  query?: QueryParam[];
  /** Request body schema; `config` also accepts YAML. */
  body?: TSchema;
  yamlBody?: boolean;
  /** Request body per media type, for bodies that are not a Gatehouse JSON document (e.g. another gateway's file as text). */
  consumes?: Record<string, TSchema>;
  status: number;
  /** Response schema; undefined means no body (204) or a non-JSON body described in `produces`. */
  response?: TSchema;
  produces?: Record<string, TSchema>;
  /** Problem responses the generic rules below do not derive (e.g. from query parameters), by status. */
  problems?: Readonly<Record<number, string>>;
}

const Str = (description: string): TSchema => Type.String({ description });
const Int = (description: string, min: number, max: number, def: number): TSchema => Type.Integer({ description, minimum: min, maximum: max, default: def });

const PAGING: QueryParam[] = [
  { name: 'offset', schema: Int('Entities to skip.', 0, Number.MAX_SAFE_INTEGER, 0), description: 'Entities to skip.' },
  { name: 'limit', schema: Int('Page size.', 1, MAX_LIMIT, DEFAULT_LIMIT), description: `Page size (at most ${MAX_LIMIT}).` },
];
const LISTING: QueryParam[] = [
  ...PAGING,
  { name: 'tags', schema: Str('Comma-separated tags; entities must carry all of them.'), description: 'Comma-separated tags; entities must carry all of them.' },
  { name: 'search', schema: Str('Case-insensitive substring of the key.'), description: 'Case-insensitive substring of the key.' },
];

const ENTITY_LABEL: Record<EntityKind, string> = { services: 'service', routes: 'route', upstreams: 'upstream', consumers: 'consumer', plugins: 'plugin instance' };

function entityOperations(kind: EntityKind): OperationSpec[] {
  const schema = ENTITY_KINDS[kind].schema;
  const one = ENTITY_LABEL[kind];
  const filters = FILTERS[kind].map((f) => ({ name: f, schema: Str(`Exact match on \`${f}\`.`), description: `Exact match on \`${f}\`.` }));
  const patchBody = Type.Record(Type.String(), Type.Unknown(), { description: `JSON Merge Patch (RFC 7396) of a ${one}; the result is validated in full.` });
  return [
    { method: 'get', path: `/${kind}`, summary: `List ${kind}`, tag: kind, access: 'viewer', query: [...LISTING, ...filters], status: 200, response: pageSchema(schema) },
    { method: 'post', path: `/${kind}`, summary: `Create a ${one}`, tag: kind, access: 'operator', body: schema, status: 201, response: schema },
    { method: 'get', path: `/${kind}/{key}`, summary: `Get a ${one}`, tag: kind, access: 'viewer', status: 200, response: schema },
    { method: 'put', path: `/${kind}/{key}`, summary: `Replace a ${one} (a different key in the body renames it)`, tag: kind, access: 'operator', body: schema, status: 200, response: schema },
    { method: 'patch', path: `/${kind}/{key}`, summary: `Change fields of a ${one}`, tag: kind, access: 'operator', body: patchBody, status: 200, response: schema },
    { method: 'delete', path: `/${kind}/{key}`, summary: `Delete a ${one}`, tag: kind, access: 'operator', status: 204 },
  ];
}

const PluginInfoSchema = Type.Object({
  name: Type.String(),
  description: Type.String(),
  scopes: Type.Array(Type.Union([Type.Literal('global'), Type.Literal('service'), Type.Literal('route'), Type.Literal('consumer')])),
  schema: Type.Record(Type.String(), Type.Unknown(), { description: "JSON Schema of the plugin's `config`." }),
});
const AnySchema = Type.Record(Type.String(), Type.Unknown());

export const OPERATIONS: OperationSpec[] = [
  { method: 'post', path: '/auth/login', summary: 'Log in; answers a bearer JWT (10 attempts a minute per client IP)', tag: 'auth', access: 'public', body: LoginSchema, status: 200, response: TokenSchema },
  { method: 'get', path: '/auth/me', summary: 'The caller', tag: 'auth', access: 'authenticated', status: 200, response: MeSchema },
  { method: 'get', path: '/admin-users', summary: 'List admin API users', tag: 'auth', access: 'admin', status: 200, response: Type.Object({ data: Type.Array(AdminUserSchema) }) },
  { method: 'post', path: '/admin-users', summary: 'Create an admin API user', tag: 'auth', access: 'admin', body: AdminUserCreateSchema, status: 201, response: AdminUserSchema },
  ...ENTITY_KIND_LIST.flatMap(entityOperations),
  ...(CREDENTIAL_OPERATIONS as readonly OperationSpec[]),
  ...(CERTIFICATE_OPERATIONS as readonly OperationSpec[]),
  ...(DEVELOPER_OPERATIONS as readonly OperationSpec[]),
  ...(RESILIENCE_OPERATIONS as readonly OperationSpec[]),
  ...(TRAFFIC_OPERATIONS as readonly OperationSpec[]),
  ...(RECENT_ERRORS_OPERATIONS as readonly OperationSpec[]),
  ...(AUDIT_OPERATIONS as readonly OperationSpec[]),
  ...(DISCOVERY_OPERATIONS as readonly OperationSpec[]),
  ...(IMPORT_OPERATIONS as readonly OperationSpec[]),
  ...(ACME_OPERATIONS as readonly OperationSpec[]),
  { method: 'get', path: '/services/{name}/routes', summary: "List a service's routes", tag: 'services', access: 'viewer', query: LISTING, status: 200, response: pageSchema(ENTITY_KINDS.routes.schema) },
  { method: 'get', path: '/upstreams/{name}/targets', summary: "List an upstream's targets: configured ones and discovered ones, each with its `source`, and the discovery state", tag: 'upstreams', access: 'viewer', status: 200, response: UpstreamTargetsSchema },
  { method: 'post', path: '/upstreams/{name}/targets', summary: 'Add a target to an upstream', tag: 'upstreams', access: 'operator', body: TargetSchema, status: 201, response: TargetSchema },
  { method: 'delete', path: '/upstreams/{name}/targets/{target}', summary: 'Remove a target from an upstream', tag: 'upstreams', access: 'operator', status: 204 },
  {
    method: 'get', path: '/config', summary: 'Export the whole configuration', tag: 'config', access: 'viewer', status: 200,
    query: [{ name: 'format', schema: Type.Union([Type.Literal('json'), Type.Literal('yaml')], { default: 'json' }), description: 'json (default) or yaml.' }],
    produces: { 'application/json': ConfigDocumentSchema, 'application/yaml': ConfigDocumentSchema },
  },
  { method: 'put', path: '/config', summary: 'Apply a whole configuration (declarative); `dry_run=true` only answers the diff', tag: 'config', access: 'operator', body: ConfigDocumentSchema, yamlBody: true, status: 200, response: ApplyResultSchema,
    query: [
      { name: 'dry_run', schema: Type.Boolean({ default: false }), description: 'Compute the diff without applying.' },
      { name: 'message', schema: Str('Recorded in the version history.'), description: 'Recorded in the version history.' },
    ] },
  { method: 'post', path: '/config/validate', summary: 'Validate a configuration document without applying it', tag: 'config', access: 'viewer', body: ConfigDocumentSchema, yamlBody: true, status: 200, response: ValidateResultSchema },
  { method: 'post', path: '/config/diff', summary: 'What applying a document would change', tag: 'config', access: 'viewer', body: ConfigDocumentSchema, yamlBody: true, status: 200, response: DiffResultSchema },
  { method: 'get', path: '/versions', summary: 'Configuration history, newest first', tag: 'versions', access: 'viewer', query: PAGING, status: 200, response: pageSchema(VersionInfoSchema) },
  { method: 'get', path: '/versions/{n}', summary: 'One version with its whole document', tag: 'versions', access: 'viewer', status: 200, response: Type.Intersect([VersionInfoSchema, Type.Object({ document: ConfigDocumentSchema })]) },
  { method: 'post', path: '/versions/{n}/rollback', summary: "Make a version's document current again (recorded as a new version)", tag: 'versions', access: 'operator', status: 200, response: RollbackResultSchema,
    query: [{ name: 'message', schema: Str('Recorded in the version history after `rollback to vN: `.'), description: 'Recorded in the version history after `rollback to vN: `.' }] },
  { method: 'get', path: '/status', summary: 'Node status: config version, snapshot errors, traffic counters, store', tag: 'system', access: 'viewer', status: 200, response: AnySchema },
  { method: 'get', path: '/health/live', summary: 'Liveness: 200 while the process runs', tag: 'system', access: 'public', status: 200, response: Type.Object({ status: Type.Literal('ok') }) },
  { method: 'get', path: '/health/ready', summary: 'Readiness: 200 once a snapshot serves and the store answers, else 503', tag: 'system', access: 'public', status: 200, response: Type.Object({ status: Type.Literal('ready'), config_version: Type.Integer() }) },
  { method: 'get', path: '/plugins-available', summary: 'Registered plugins with their config schemas', tag: 'schemas', access: 'viewer', status: 200, response: Type.Object({ data: Type.Array(PluginInfoSchema) }) },
  { method: 'get', path: '/schemas/{kind}', summary: 'JSON Schema of an entity kind (services, routes, upstreams, consumers, plugins, targets, config)', tag: 'schemas', access: 'viewer', status: 200, response: AnySchema },
  { method: 'get', path: '/openapi.json', summary: 'This document', tag: 'schemas', access: 'public', status: 200, response: AnySchema },
  { method: 'get', path: '/docs', summary: 'A readable list of the endpoints', tag: 'schemas', access: 'public', status: 200, produces: { 'text/html': Type.String() } },
];

/** TypeBox values are JSON Schema plus symbol keys; a JSON round trip keeps only the schema. */
function plain(schema: TSchema): Record<string, unknown> {
  return JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
}

/** Replaces embedded named schemas with `$ref`s and drops `$id`, which would otherwise re-base references. */
function refify(node: unknown, named: ReadonlySet<string>, isRoot: boolean): unknown {
  if (Array.isArray(node)) return node.map((n) => refify(n, named, false));
  if (typeof node !== 'object' || node === null) return node;
  const obj = node as Record<string, unknown>;
  if (!isRoot && typeof obj.$id === 'string' && named.has(obj.$id)) return { $ref: `#/components/schemas/${obj.$id}` };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) {
    if (k === '$id') continue;
    // Keys of these maps are names, not schema keywords, but their values are schemas.
    out[k] = k === 'properties' || k === 'patternProperties' || k === '$defs'
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([p, s]) => [p, refify(s, named, false)]))
      : refify(v, named, false);
  }
  return out;
}

export function buildOpenApi(info: { version: string }): Record<string, unknown> {
  const named = new Set(NAMED.map((s) => String(s.$id)));
  const ref = (s: TSchema) => refify(plain(s), named, false);
  const problemResponse = (description: string) => ({ description, content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } });

  const paths: Record<string, Record<string, unknown>> = {};
  for (const op of OPERATIONS) {
    const params = [...op.path.matchAll(/\{(\w+)\}/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    for (const q of op.query ?? []) params.push({ name: q.name, in: 'query', required: false, schema: ref(q.schema) as { type: string }, ...{ description: q.description } });
    const responses: Record<string, unknown> = {};
    if (op.produces) {
      responses[op.status] = { description: 'OK', content: Object.fromEntries(Object.entries(op.produces).map(([ct, s]) => [ct, { schema: ref(s) }])) };
    } else if (op.response) {
      responses[op.status] = { description: op.status === 201 ? 'Created' : 'OK', content: { 'application/json': { schema: ref(op.response) } } };
    } else {
      responses[op.status] = { description: 'No content' };
    }
    if (op.body) responses['400'] = problemResponse('The body or a parameter is invalid; `errors` names each failing field');
    if (op.access !== 'public') {
      responses['401'] = problemResponse('Missing or invalid bearer token');
      responses['403'] = problemResponse(op.access === 'authenticated' ? 'A pending developer account' : `Needs the ${op.access} role`);
    }
    if (op.path.includes('{')) responses['404'] = problemResponse('No such entity');
    if (op.method !== 'get') {
      responses['405'] = problemResponse('DB-less mode: the admin API is read-only');
      responses['409'] = problemResponse('Conflicts with an existing entity or a reference');
    }
    if (op.body || op.consumes) responses['413'] = problemResponse('The body is too large');
    if (op.path === '/auth/login') responses['429'] = problemResponse('Too many login attempts');
    if (op.path === '/health/ready') responses['503'] = problemResponse('Not ready');
    for (const [status, description] of Object.entries(op.problems ?? {})) responses[status] = problemResponse(description);

    const operation: Record<string, unknown> = {
      operationId: `${op.method}${op.path.replace(/[{}]/g, '').split(/[/.-]/).filter(Boolean).map((w) => w[0]!.toUpperCase() + w.slice(1)).join('')}`,
      summary: op.summary,
      tags: [op.tag],
      'x-gatehouse-role': op.access,
      ...(params.length ? { parameters: params } : {}),
      ...(op.access === 'public' ? { security: [] } : {}),
      responses,
    };
    if (op.body) {
      const content: Record<string, unknown> = { 'application/json': { schema: ref(op.body) } };
      if (op.yamlBody) content['application/yaml'] = { schema: ref(op.body) };
      operation.requestBody = { required: true, content };
    }
    if (op.consumes) operation.requestBody = { required: true, content: Object.fromEntries(Object.entries(op.consumes).map(([ct, s]) => [ct, { schema: ref(s) }])) };
    (paths[op.path] ??= {})[op.method] = operation;
  }

  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse admin API',
      version: info.version,
      description: 'Configure the gateway: entities, declarative config, versions. Errors are application/problem+json with a stable `code`.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }],
    tags: ['auth', ...ENTITY_KIND_LIST, 'config', 'versions', 'system', 'schemas', 'developers', 'developer portal', 'resilience', 'traffic', 'audit', 'observability'].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'A login JWT from POST /auth/login, or GATEHOUSE_ADMIN_TOKEN.' } },
      schemas: Object.fromEntries(NAMED.map((s) => [String(s.$id), refify(plain(s), named, true)])),
    },
  };
}
