/**
 * OpenAPI 3.0/3.1 → what request-validator needs: per operation, JSON Schemas (draft 2020-12) for the path,
 * query and header parameters and the JSON request body, plus a path-template matcher built once.
 *
 * Supported: local `$ref`s to `#/components/{schemas,parameters,requestBodies}` (schemas end up in one
 * `$defs` resource so they may refer to each other, recursively too); 3.0's `nullable` and boolean
 * `exclusiveMinimum`/`exclusiveMaximum`; path-level parameters overridden by operation-level ones; the
 * default parameter styles (query `form`, with `explode: false` splitting on commas; path and header
 * `simple`). Not supported (skipped with a warning): cookie parameters, parameters described by `content`,
 * other styles (`deepObject`, `spaceDelimited`, `pipeDelimited`, `matrix`, `label`), object-typed
 * parameters; bodies other than JSON (XML, forms, multipart) are not validated; `discriminator`, `xml`,
 * `example` and `x-*` are dropped (a `oneOf` still validates without the discriminator); external `$ref`s
 * make the document invalid.
 */
import { parse as parseYaml } from 'yaml';

/** The `$id` under which a document's component schemas are registered with ajv. */
export const COMPONENTS_ID = 'urn:gatehouse:openapi-components';

export type Json = Record<string, unknown>;

export interface ParamSchemas {
  /** `{ type: object, properties, required }` over the parameters of one location; undefined when none. */
  schema: Json | undefined;
  /** Array-typed parameters whose single value is split on commas before validation. */
  split: string[];
}

export interface OperationSpec {
  /** `GET /orders/{id}`, for messages. */
  label: string;
  method: string;
  template: string;
  path: ParamSchemas;
  query: ParamSchemas;
  /** Lower-case names. */
  header: ParamSchemas;
  body: Json | undefined;
  bodyRequired: boolean;
}

export interface ParsedDocument {
  version: '3.0' | '3.1';
  /** Converted component schemas keyed by name, to register under COMPONENTS_ID as `$defs`. */
  defs: Json;
  operations: OperationSpec[];
  /** Path of the first `servers` URL, without a trailing slash; '' when none. */
  serverPath: string;
}

export interface Warn {
  (msg: string): void;
}

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
// Header parameters OpenAPI says to ignore: they are described elsewhere (security schemes, media types).
const IGNORED_HEADERS = new Set(['accept', 'content-type', 'authorization']);

export function parseDocument(input: string | Json, warn: Warn): ParsedDocument {
  let doc: unknown = input;
  if (typeof input === 'string') {
    try {
      doc = parseYaml(input, { maxAliasCount: 100 });
    } catch (err) {
      throw new Error(`openapi: the document is neither YAML nor JSON: ${(err as Error).message}`, { cause: err });
    }
  }
  if (!isObject(doc)) throw new Error('openapi: the document must be an object');
  const v = typeof doc.openapi === 'string' ? /^3\.([01])\.\d+/.exec(doc.openapi) : null;
  if (!v) throw new Error(`openapi: unsupported version ${JSON.stringify(doc.openapi)} (3.0.x or 3.1.x expected)`);
  const version = v[1] === '0' ? '3.0' : '3.1';
  if (doc.paths !== undefined && !isObject(doc.paths)) throw new Error('openapi: `paths` must be an object');

  const components = isObject(doc.components) ? doc.components : {};
  const defs: Json = {};
  if (components.schemas !== undefined) {
    if (!isObject(components.schemas)) throw new Error('openapi: `components.schemas` must be an object');
    for (const [name, s] of Object.entries(components.schemas)) defs[name] = convertSchema(s, `#/components/schemas/${name}`);
  }

  const operations: OperationSpec[] = [];
  for (const [template, rawItem] of Object.entries((doc.paths as Json | undefined) ?? {})) {
    if (!template.startsWith('/')) throw new Error(`openapi: path '${template}' must start with '/'`);
    const item = deref(doc, rawItem, `#/paths/${template}`);
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of METHODS) {
      if (item[method] === undefined) continue;
      const op = deref(doc, item[method], `#/paths/${template}/${method}`);
      const label = `${method.toUpperCase()} ${template}`;
      const params = new Map<string, Json>();
      for (const list of [shared, Array.isArray(op.parameters) ? op.parameters : []]) {
        for (const p of list as unknown[]) {
          const param = deref(doc, p, `${label} parameters`);
          if (typeof param.name !== 'string' || typeof param.in !== 'string') throw new Error(`openapi: ${label}: a parameter lacks \`name\` or \`in\``);
          params.set(`${param.in}\0${param.in === 'header' ? param.name.toLowerCase() : param.name}`, param);
        }
      }
      const spec: OperationSpec = {
        label,
        method: method.toUpperCase(),
        template,
        path: { schema: undefined, split: [] },
        query: { schema: undefined, split: [] },
        header: { schema: undefined, split: [] },
        body: undefined,
        bodyRequired: false,
      };
      for (const param of params.values()) addParameter(spec, param, label, warn);
      if (op.requestBody !== undefined) {
        const rb = deref(doc, op.requestBody, `${label} requestBody`);
        spec.bodyRequired = rb.required === true;
        const content = isObject(rb.content) ? rb.content : {};
        const jsonType = Object.keys(content).find(isJsonMediaType);
        if (jsonType !== undefined) {
          const media = content[jsonType];
          if (isObject(media) && media.schema !== undefined) spec.body = convertSchema(media.schema, `${label} requestBody`) as Json;
        }
      }
      operations.push(spec);
    }
  }
  return { version, defs, operations, serverPath: serverPath(doc.servers) };
}

function addParameter(spec: OperationSpec, param: Json, label: string, warn: Warn): void {
  const where = param.in as string;
  const name = where === 'header' ? (param.name as string).toLowerCase() : (param.name as string);
  const what = `openapi: ${label}: ${where} parameter '${name}'`;
  if (where === 'cookie') return warn(`${what} ignored: cookie parameters are not validated`);
  if (where !== 'path' && where !== 'query' && where !== 'header') throw new Error(`${what}: unknown location`);
  if (where === 'header' && IGNORED_HEADERS.has(name)) return;
  if (param.schema === undefined) return warn(`${what} ignored: only parameters described by \`schema\` are validated`);
  const schema = convertSchema(param.schema, what);
  const types = isObject(schema) ? schema.type : undefined;
  const isArray = types === 'array' || (Array.isArray(types) && types.includes('array'));
  if (types === 'object' || (Array.isArray(types) && types.includes('object'))) return warn(`${what} ignored: object parameters are not supported`);
  const style = param.style ?? (where === 'query' ? 'form' : 'simple');
  const explode = param.explode ?? style === 'form';
  if ((where === 'query' && style !== 'form') || (where !== 'query' && style !== 'simple')) return warn(`${what} ignored: style '${String(style)}' is not supported`);
  const target = where === 'path' ? spec.path : where === 'query' ? spec.query : spec.header;
  const obj = (target.schema ??= { type: 'object', properties: {}, required: [] });
  (obj.properties as Json)[name] = schema;
  if (param.required === true || where === 'path') (obj.required as string[]).push(name);
  // Repeated query keys already arrive as an array; a single comma-separated value needs splitting.
  if (isArray && (where !== 'query' || explode === false)) target.split.push(name);
}

function serverPath(servers: unknown): string {
  if (!Array.isArray(servers) || !isObject(servers[0]) || typeof servers[0].url !== 'string') return '';
  const first = servers[0];
  const vars = isObject(first.variables) ? first.variables : {};
  const url = (first.url as string).replace(/\{([^}]+)\}/g, (_, v: string) => {
    const d = isObject(vars[v]) ? vars[v].default : undefined;
    return typeof d === 'string' ? d : '';
  });
  let path: string;
  try {
    path = new URL(url, 'http://relative.invalid').pathname;
  } catch {
    throw new Error(`openapi: servers[0].url '${first.url as string}' is not a URL`);
  }
  return path.replace(/\/+$/, '');
}

export function isJsonMediaType(t: string): boolean {
  const m = t.split(';', 1)[0]!.trim().toLowerCase();
  return m === 'application/json' || m.endsWith('+json');
}

/** Follows a local `$ref` (one level per hop, up to a few hops) to the object it names. */
function deref(doc: Json, value: unknown, where: string): Json {
  let v = value;
  for (let hops = 0; isObject(v) && typeof v.$ref === 'string'; hops++) {
    if (hops > 16) throw new Error(`openapi: ${where}: $ref chain too long`);
    const ref = v.$ref;
    if (!ref.startsWith('#/')) throw new Error(`openapi: ${where}: external $ref '${ref}' is not supported`);
    let cur: unknown = doc;
    for (const raw of ref.slice(2).split('/')) {
      const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
      cur = isObject(cur) ? cur[key] : undefined;
    }
    if (cur === undefined) throw new Error(`openapi: ${where}: $ref '${ref}' does not resolve`);
    v = cur;
  }
  if (!isObject(v)) throw new Error(`openapi: ${where}: expected an object`);
  return v;
}

// ---- schema conversion -----------------------------------------------------------------------

const SCHEMA_MAPS = new Set(['properties', 'patternProperties', '$defs', 'definitions', 'dependentSchemas']);
const SCHEMA_ONE = new Set(['additionalProperties', 'not', 'if', 'then', 'else', 'contains', 'propertyNames', 'unevaluatedItems', 'unevaluatedProperties', 'additionalItems']);
const SCHEMA_LISTS = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems']);
// OpenAPI annotations that are not JSON Schema keywords: dropped so ajv does not stumble on them.
const DROPPED = new Set(['example', 'xml', 'externalDocs', 'discriminator', 'nullable']);

/**
 * A copy of an OpenAPI schema object as draft 2020-12: `$ref`s to component schemas point into the
 * COMPONENTS_ID resource, 3.0's `nullable` becomes a type union (or an `anyOf` with null when there is no
 * single type), boolean exclusive bounds become numeric ones.
 */
export function convertSchema(s: unknown, where: string): unknown {
  if (Array.isArray(s) || !isObject(s)) return s;
  const out: Json = {};
  for (const [k, v] of Object.entries(s)) {
    if (DROPPED.has(k) || k.startsWith('x-')) continue;
    if (k === '$ref') out.$ref = convertRef(v, where);
    else if (SCHEMA_MAPS.has(k) && isObject(v)) out[k] = Object.fromEntries(Object.entries(v).map(([n, sub]) => [n, convertSchema(sub, where)]));
    else if (SCHEMA_LISTS.has(k) && Array.isArray(v)) out[k] = v.map((sub) => convertSchema(sub, where));
    else if (k === 'items') out[k] = Array.isArray(v) ? v.map((sub) => convertSchema(sub, where)) : convertSchema(v, where);
    else if (SCHEMA_ONE.has(k)) out[k] = convertSchema(v, where);
    else out[k] = v;
  }
  for (const [bound, limit] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[bound] !== 'boolean') continue;
    if (out[bound] === true && typeof out[limit] === 'number') {
      out[bound] = out[limit];
      delete out[limit];
    } else delete out[bound];
  }
  if (s.nullable !== true) return out;
  if (typeof out.type === 'string' || Array.isArray(out.type)) {
    const types = typeof out.type === 'string' ? [out.type] : (out.type as unknown[]);
    if (!types.includes('null')) out.type = [...types, 'null'];
    if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...(out.enum as unknown[]), null];
    return out;
  }
  return { anyOf: [out, { type: 'null' }] };
}

function convertRef(ref: unknown, where: string): string {
  if (typeof ref !== 'string') throw new Error(`openapi: ${where}: $ref must be a string`);
  const prefix = '#/components/schemas/';
  if (ref.startsWith(prefix)) return `${COMPONENTS_ID}#/$defs/${ref.slice(prefix.length)}`;
  throw new Error(`openapi: ${where}: $ref '${ref}' is not supported (only local '#/components/schemas/...' in schemas)`);
}

// ---- path templates --------------------------------------------------------------------------

/** One segment position of the template tree; a node reached at the end of a path may hold operations. */
class PathNode<T> {
  statics: Map<string, PathNode<T>> | undefined = undefined;
  /** Segments mixing text and parameters (`{name}.json`): a precompiled anchored regex per distinct segment. */
  patterns: { source: string; re: RegExp; node: PathNode<T> }[] | undefined = undefined;
  param: PathNode<T> | undefined = undefined;
  ops: Map<string, T> | undefined = undefined;
  /** Parameter names of the template ending here, in capture order. */
  names: string[] | undefined = undefined;
  template: string | undefined = undefined;
}

export interface TemplateMatch<T> {
  op: T | undefined;
  /** Names and raw (still percent-encoded) values, aligned; undefined when the path matches no template. */
  names: string[] | undefined;
  values: string[];
}

/**
 * The document's path templates as a segment tree, built once per instance: a lookup walks the request
 * path segment by segment, literal segments first, then mixed ones, then whole-segment parameters
 * (OpenAPI: concrete paths win over templated ones), backtracking when a branch leads nowhere.
 */
export class TemplateRouter<T> {
  private readonly root = new PathNode<T>();

  add(template: string, method: string, op: T): void {
    let node = this.root;
    const names: string[] = [];
    for (const seg of template.slice(1).split('/')) {
      if (/^\{[^{}]+\}$/.test(seg)) {
        names.push(seg.slice(1, -1));
        node = node.param ??= new PathNode<T>();
      } else if (seg.includes('{')) {
        const list = (node.patterns ??= []);
        let entry = list.find((p) => p.source === seg);
        if (!entry) {
          const re = new RegExp(`^${seg.replace(/\{([^{}]+)\}|([^{}]+)/g, (_, name: string | undefined, text: string | undefined) => (name !== undefined ? '([^/]+?)' : escapeRegex(text!)))}$`);
          entry = { source: seg, re, node: new PathNode<T>() };
          list.push(entry);
        }
        for (const m of seg.matchAll(/\{([^{}]+)\}/g)) names.push(m[1]!);
        node = entry.node;
      } else {
        const statics = (node.statics ??= new Map());
        let next = statics.get(seg);
        if (!next) statics.set(seg, (next = new PathNode<T>()));
        node = next;
      }
    }
    if (node.template !== undefined && node.template !== template) throw new Error(`openapi: paths '${node.template}' and '${template}' are the same template`);
    node.template = template;
    node.names = names;
    (node.ops ??= new Map()).set(method, op);
  }

  /** `path` starts with '/'. `op` is undefined when the path matches but the method has no operation. */
  match(method: string, path: string): TemplateMatch<T> | undefined {
    const values: string[] = [];
    const node = this.walk(this.root, path, 0, values);
    if (node === undefined) return undefined;
    const ops = node.ops!;
    return { op: ops.get(method) ?? (method === 'HEAD' ? ops.get('GET') : undefined), names: node.names, values };
  }

  private walk(node: PathNode<T>, path: string, pos: number, values: string[]): PathNode<T> | undefined {
    if (pos >= path.length) return node.ops !== undefined ? node : undefined;
    let end = path.indexOf('/', pos + 1);
    if (end === -1) end = path.length;
    const seg = path.slice(pos + 1, end);
    const s = node.statics?.get(seg);
    if (s !== undefined) {
      const found = this.walk(s, path, end, values);
      if (found !== undefined) return found;
    }
    if (node.patterns !== undefined) {
      for (const p of node.patterns) {
        const m = p.re.exec(seg);
        if (m === null) continue;
        const mark = values.length;
        for (let i = 1; i < m.length; i++) values.push(m[i]!);
        const found = this.walk(p.node, path, end, values);
        if (found !== undefined) return found;
        values.length = mark;
      }
    }
    if (node.param !== undefined && seg !== '') {
      values.push(seg);
      const found = this.walk(node.param, path, end, values);
      if (found !== undefined) return found;
      values.pop();
    }
    return undefined;
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
