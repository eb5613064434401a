/**
 * request-validator: checks the path parameters, query, headers and JSON body of a request against JSON
 * Schemas (draft 2020-12) or the matching operation of an OpenAPI 3.0/3.1 document, and answers 400
 * problem+json listing each failing field with its location and a pointer (JSON Pointer into the body,
 * or the parameter name).
 *
 * Everything is compiled in create(): ajv validators per location and per operation, the path-template
 * tree. A request pays for one tree walk, the query parse, and the validators of the locations that have
 * a schema; the body is read (ctx.readBody, then sent upstream from that buffer) only when a body schema
 * applies. Parameters are validated on copies with ajv's type coercion (they arrive as strings); the body
 * never is coerced. The request is forwarded unchanged.
 */
import { parse as parseQuery } from 'node:querystring';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { Ajv2020, type ErrorObject, type ValidateFunction, type Options } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { problem, PROBLEM_CONTENT_TYPE, type ErrorCode } from '../../errors/registry.js';
import { definePlugin, type PluginDeps, type PluginHandler, type RequestContext } from '../types.js';
import { COMPONENTS_ID, parseDocument, TemplateRouter, type Json, type ParamSchemas } from './openapi.js';
import { RequestValidatorSchema, type RequestValidatorConfig } from './schema.js';

// ajv-formats is CommonJS with `exports.default`; under NodeNext the default import is the module object.
const addFormats = ((addFormatsModule as unknown as { default?: typeof addFormatsModule }).default ?? addFormatsModule) as unknown as (ajv: Ajv2020) => Ajv2020;

export type Location = 'body' | 'query' | 'header' | 'path';

/** One entry of the `errors` member of a GW_ERR_REQUEST_INVALID answer. */
export interface FieldError {
  in: Location;
  /** JSON Pointer into the body ('' = the whole body), or the parameter name (lower case for headers). */
  pointer: string;
  message: string;
}

const MAX_ERRORS = 100;
const PROBLEM_HEADERS: OutgoingHttpHeaders = { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' };

interface ParamCheck {
  validate: ValidateFunction;
  /** Array parameters sent as one comma-separated value. */
  split: readonly string[];
}

/** What one operation (or the whole instance, with plain schemas) checks. */
interface Operation {
  readonly label: string | undefined;
  readonly path: ParamCheck | undefined;
  readonly query: ParamCheck | undefined;
  readonly header: ParamCheck | undefined;
  /** Declared header names to copy (OpenAPI); undefined = copy every header (headers_schema). */
  readonly headerNames: readonly string[] | undefined;
  readonly body: ValidateFunction | undefined;
  readonly bodyRequired: boolean;
}

class RequestValidator implements PluginHandler {
  private readonly exactTypes: ReadonlySet<string>;
  private readonly typePrefixes: readonly string[];
  private readonly anyType: boolean;

  constructor(
    private readonly single: Operation | undefined,
    private readonly router: TemplateRouter<Operation> | undefined,
    private readonly prefix: string,
    private readonly rejectUnknown: boolean,
    private readonly maxBody: number,
    allowedTypes: readonly string[],
    private readonly verbose: boolean,
  ) {
    const lower = allowedTypes.map((t) => t.toLowerCase());
    this.anyType = lower.includes('*/*');
    this.exactTypes = new Set(lower.filter((t) => !t.endsWith('/*')));
    this.typePrefixes = lower.filter((t) => t.endsWith('/*') && t !== '*/*').map((t) => t.slice(0, -1));
  }

  access(ctx: RequestContext): void | Promise<void> {
    let op = this.single;
    let pathParams: Record<string, unknown> | undefined;
    if (this.router !== undefined) {
      const m = this.matchOperation(ctx);
      if (m === undefined) return;
      op = m.op;
      pathParams = m.params;
    } else if (op!.path !== undefined) pathParams = { ...ctx.params };
    const o = op!;

    const req = ctx.req;
    const hasBody = req.headers['content-length'] !== undefined ? req.headers['content-length'] !== '0' : req.headers['transfer-encoding'] !== undefined;
    let json = false;
    if (hasBody) {
      const media = mediaType(req.headers['content-type']);
      if (!this.allowedType(media)) {
        return this.answer(ctx, 'GW_ERR_UNSUPPORTED_MEDIA_TYPE', media === '' ? 'the request body has no Content-Type' : `content type '${media}' is not accepted here`, undefined);
      }
      json = media === 'application/json' || media.endsWith('+json');
    }

    let errors: FieldError[] | undefined;
    if (o.path !== undefined) errors = this.check(o.path, splitValues(pathParams!, o.path.split), 'path', errors);
    if (o.query !== undefined && this.keepGoing(errors)) errors = this.check(o.query, splitValues(parseQuery(ctx.query), o.query.split), 'query', errors);
    if (o.header !== undefined && this.keepGoing(errors)) errors = this.check(o.header, splitValues(copyHeaders(req.headers, o.headerNames), o.header.split), 'header', errors);
    if (!this.keepGoing(errors)) return this.invalid(ctx, errors!);

    if (!hasBody) {
      if (o.bodyRequired) return this.invalid(ctx, push(errors, { in: 'body', pointer: '', message: 'a request body is required' }));
      if (errors !== undefined) return this.invalid(ctx, errors);
      return;
    }
    if (o.body === undefined || !json) {
      if (errors !== undefined) return this.invalid(ctx, errors);
      return;
    }
    return this.checkBody(ctx, o, o.body, errors);
  }

  private async checkBody(ctx: RequestContext, op: Operation, validate: ValidateFunction, errors: FieldError[] | undefined): Promise<void> {
    // Over max_body_size this rejects with 413 GW_ERR_BODY_TOO_LARGE, which the proxy renders.
    const buf = await ctx.readBody(this.maxBody);
    if (buf.length === 0) {
      if (op.bodyRequired) errors = push(errors, { in: 'body', pointer: '', message: 'a request body is required' });
      if (errors !== undefined) this.invalid(ctx, errors);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(buf.toString('utf8'));
    } catch (err) {
      return this.invalid(ctx, push(errors, { in: 'body', pointer: '', message: `invalid JSON: ${(err as Error).message}` }));
    }
    if (!validate(value)) errors = collect(validate.errors!, 'body', errors, this.verbose);
    if (errors !== undefined) this.invalid(ctx, errors);
  }

  private matchOperation(ctx: RequestContext): { op: Operation; params: Record<string, unknown> } | undefined {
    const prefix = this.prefix;
    let path = ctx.path;
    if (prefix !== '') {
      if (!path.startsWith(prefix) || (path.length > prefix.length && path.charCodeAt(prefix.length) !== 47)) return this.unknown(ctx, undefined);
      path = path.length === prefix.length ? '/' : path.slice(prefix.length);
    }
    const m = this.router!.match(ctx.method, path);
    if (m === undefined || m.op === undefined) return this.unknown(ctx, m === undefined ? undefined : path);
    const params: Record<string, unknown> = {};
    const names = m.names!;
    for (let i = 0; i < names.length; i++) params[names[i]!] = decode(m.values[i]!);
    return { op: m.op, params };
  }

  private unknown(ctx: RequestContext, knownPath: string | undefined): undefined {
    if (this.rejectUnknown) {
      const detail = knownPath === undefined ? `the API description has no path matching '${ctx.path}'` : `the API description has no ${ctx.method} operation for '${ctx.path}'`;
      this.answer(ctx, 'GW_ERR_OPERATION_NOT_FOUND', detail, undefined);
    }
    return undefined;
  }

  private keepGoing(errors: FieldError[] | undefined): boolean {
    return errors === undefined || (this.verbose && errors.length < MAX_ERRORS);
  }

  private check(c: ParamCheck, value: Record<string, unknown>, where: Location, errors: FieldError[] | undefined): FieldError[] | undefined {
    return c.validate(value) ? errors : collect(c.validate.errors!, where, errors, this.verbose);
  }

  private allowedType(media: string): boolean {
    if (media === '') return false;
    if (this.anyType || this.exactTypes.has(media)) return true;
    for (const p of this.typePrefixes) if (media.startsWith(p)) return true;
    return false;
  }

  private invalid(ctx: RequestContext, errors: FieldError[]): void {
    const first = errors[0]!;
    const where = first.in === 'body' ? `body${first.pointer === '' ? '' : ` at ${first.pointer}`}` : `${first.in} parameter '${first.pointer}'`;
    this.answer(ctx, 'GW_ERR_REQUEST_INVALID', `${where}: ${first.message}`, errors);
  }

  private answer(ctx: RequestContext, code: ErrorCode, detail: string, errors: FieldError[] | undefined): void {
    const p = problem(code, { request_id: ctx.requestId, instance: ctx.path, detail });
    ctx.respond(p.status, JSON.stringify(errors === undefined ? p : { ...p, errors }), PROBLEM_HEADERS);
  }
}

function push(errors: FieldError[] | undefined, e: FieldError): FieldError[] {
  if (errors === undefined) return [e];
  if (errors.length < MAX_ERRORS) errors.push(e);
  return errors;
}

/** ajv errors → FieldErrors; `required` and `additionalProperties` point at the property they name. */
function collect(list: ErrorObject[], where: Location, errors: FieldError[] | undefined, verbose: boolean): FieldError[] {
  const out = errors ?? [];
  for (const e of list) {
    let pointer = e.instancePath;
    let message = e.message ?? 'is invalid';
    if (e.keyword === 'required') {
      pointer += `/${escapePointer((e.params as { missingProperty: string }).missingProperty)}`;
      message = 'is required';
    } else if (e.keyword === 'additionalProperties') {
      pointer += `/${escapePointer((e.params as { additionalProperty: string }).additionalProperty)}`;
      message = 'is not allowed';
    }
    // Parameters are named, not pointed at: `/limit` → `limit`, `/tags/1` → `tags/1`.
    if (where !== 'body') pointer = unescapePointer(pointer.slice(1));
    out.push({ in: where, pointer, message });
    if (!verbose || out.length >= MAX_ERRORS) break;
  }
  return out;
}

function escapePointer(s: string): string {
  return s.replace(/~/g, '~0').replace(/\//g, '~1');
}

function unescapePointer(s: string): string {
  return s.includes('~') ? s.replace(/~1/g, '/').replace(/~0/g, '~') : s;
}

function mediaType(ct: string | undefined): string {
  if (ct === undefined) return '';
  const semi = ct.indexOf(';');
  return (semi === -1 ? ct : ct.slice(0, semi)).trim().toLowerCase();
}

function decode(s: string): string {
  if (!s.includes('%')) return s;
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** Headers as a fresh object (coercion writes into it): the declared ones, or all. */
function copyHeaders(h: IncomingHttpHeaders, names: readonly string[] | undefined): Record<string, unknown> {
  if (names === undefined) return { ...h };
  const out: Record<string, unknown> = {};
  for (const n of names) if (h[n] !== undefined) out[n] = h[n];
  return out;
}

function splitValues(obj: Record<string, unknown>, split: readonly string[]): Record<string, unknown> {
  for (const name of split) {
    const v = obj[name];
    if (typeof v !== 'string') continue;
    const parts = v.split(',');
    for (let i = 0; i < parts.length; i++) parts[i] = parts[i]!.trim();
    obj[name] = parts;
  }
  return obj;
}

// ---- create --------------------------------------------------------------------------------

function newAjv(coerce: boolean, verbose: boolean, strict: boolean, deps: PluginDeps): Ajv2020 {
  const opts: Options = {
    allErrors: verbose,
    // Unknown keywords and formats in a hand-written schema are most likely typos: refuse them. An OpenAPI
    // document may carry vendor keywords and open-ended formats, which are only annotations there.
    strictSchema: strict,
    strictTypes: false,
    strictTuples: false,
    strictRequired: false,
    logger: { log: () => {}, warn: (...args: unknown[]) => deps.logger.warn({ plugin: 'request-validator' }, args.map(String).join(' ')), error: (...args: unknown[]) => deps.logger.error({ plugin: 'request-validator' }, args.map(String).join(' ')) },
  };
  // Parameters arrive as strings, and a repeated query key as an array: 'array' also turns one value into [value].
  if (coerce) opts.coerceTypes = 'array';
  const ajv = new Ajv2020(opts);
  addFormats(ajv);
  return ajv;
}

function compile(ajv: Ajv2020, schema: unknown, what: string): ValidateFunction {
  try {
    return ajv.compile(schema as Json);
  } catch (err) {
    throw new Error(`${what}: ${(err as Error).message}`, { cause: err });
  }
}

function rawSchema(s: Record<string, unknown>, what: string): Record<string, unknown> {
  if (typeof s.$schema === 'string' && !/^https:\/\/json-schema\.org\/draft\/2020-12\/schema#?$/.test(s.$schema)) {
    throw new Error(`${what}: only JSON Schema draft 2020-12 is supported, not '${s.$schema}'`);
  }
  return s;
}

/** Header schemas match lower-case names: lower-case the top-level property names and `required`. */
function lowerCaseHeaders(s: Record<string, unknown>): Record<string, unknown> {
  const out = { ...s };
  if (typeof s.properties === 'object' && s.properties !== null) out.properties = Object.fromEntries(Object.entries(s.properties).map(([k, v]) => [k.toLowerCase(), v]));
  if (Array.isArray(s.required)) out.required = s.required.map((r) => (typeof r === 'string' ? r.toLowerCase() : r));
  return out;
}

function paramCheck(ajv: Ajv2020, p: ParamSchemas, what: string): ParamCheck | undefined {
  return p.schema === undefined ? undefined : { validate: compile(ajv, p.schema, what), split: p.split };
}

export function createRequestValidator(config: RequestValidatorConfig, deps: PluginDeps): PluginHandler {
  const verbose = config.verbose_response;
  const raw = config.body_schema !== undefined || config.query_schema !== undefined || config.headers_schema !== undefined || config.path_params_schema !== undefined;
  if (raw && config.openapi !== undefined) throw new Error('request-validator: use either the *_schema fields or `openapi`, not both');
  if (!raw && config.openapi === undefined) throw new Error('request-validator: nothing to validate: set `openapi` or at least one of body_schema, query_schema, headers_schema, path_params_schema');

  if (raw) {
    const params = newAjv(true, verbose, true, deps);
    const body = newAjv(false, verbose, true, deps);
    const one = (s: Record<string, unknown> | undefined, what: string): ParamCheck | undefined => (s === undefined ? undefined : { validate: compile(params, rawSchema(s, what), what), split: [] });
    const op: Operation = {
      label: undefined,
      path: one(config.path_params_schema, 'path_params_schema'),
      query: one(config.query_schema, 'query_schema'),
      header: one(config.headers_schema === undefined ? undefined : lowerCaseHeaders(config.headers_schema), 'headers_schema'),
      headerNames: undefined,
      body: config.body_schema === undefined ? undefined : compile(body, rawSchema(config.body_schema, 'body_schema'), 'body_schema'),
      bodyRequired: config.body_required && config.body_schema !== undefined,
    };
    return new RequestValidator(op, undefined, '', false, config.max_body_size, config.allowed_content_types, verbose);
  }

  const doc = parseDocument(config.openapi as string | Json, (msg) => deps.logger.warn({ plugin: 'request-validator' }, msg));
  const params = newAjv(true, verbose, false, deps);
  const body = newAjv(false, verbose, false, deps);
  const components = { $id: COMPONENTS_ID, $defs: doc.defs };
  try {
    params.addSchema(components);
    body.addSchema(components);
  } catch (err) {
    throw new Error(`openapi: components.schemas: ${(err as Error).message}`, { cause: err });
  }
  const router = new TemplateRouter<Operation>();
  for (const spec of doc.operations) {
    const what = `openapi: ${spec.label}`;
    const header = spec.header.schema;
    router.add(spec.template, spec.method, {
      label: spec.label,
      path: paramCheck(params, spec.path, `${what} path parameters`),
      query: paramCheck(params, spec.query, `${what} query parameters`),
      header: paramCheck(params, spec.header, `${what} header parameters`),
      headerNames: header === undefined ? undefined : Object.keys(header.properties as Json),
      body: spec.body === undefined ? undefined : compile(body, spec.body, `${what} request body`),
      bodyRequired: spec.bodyRequired,
    });
  }
  // Compiling the operations only compiles the component schemas they reach; an unused one must still be valid.
  for (const name of Object.keys(doc.defs)) {
    const ref = `${COMPONENTS_ID}#/$defs/${name.replace(/~/g, '~0').replace(/\//g, '~1')}`;
    try {
      body.getSchema(ref);
    } catch (err) {
      throw new Error(`openapi: components.schemas.${name}: ${(err as Error).message}`, { cause: err });
    }
  }
  const prefix = (config.path_prefix ?? doc.serverPath).replace(/\/+$/, '');
  return new RequestValidator(undefined, router, prefix, config.unknown_operation === 'reject', config.max_body_size, config.allowed_content_types, verbose);
}

export default definePlugin({
  name: 'request-validator',
  description: 'Validates the query, headers, path parameters and JSON body of requests against JSON Schemas or an OpenAPI 3 document; answers 400 naming the failing fields.',
  schema: RequestValidatorSchema,
  scopes: ['global', 'service', 'route'],
  create: createRequestValidator,
});
