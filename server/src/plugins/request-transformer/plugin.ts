/**
 * request-transformer: edits the request in the access phase, after authentication, acl and the limits
 * (templates can use the consumer and the token claims they set): method, upstream path, headers, query
 * parameters, and JSON body fields.
 *
 * The body is buffered (ctx.readBody, capped by max_body_size) only on instances with body edits and only
 * for a JSON body without a content coding; anything else streams through untouched. An invalid JSON body
 * is refused with 400 GW_ERR_INVALID_JSON_BODY, since the edits the route promises cannot be made.
 *
 * Templates and header/query lookups see the client's request (headers and query as received), not the
 * values other operations of this plugin produce.
 */
import type { IncomingHttpHeaders } from 'node:http';
import { GatewayError } from '../../errors/registry.js';
import { GATEWAY_REQUEST_HEADERS, HOP_BY_HOP } from '../../proxy/headers.js';
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { isIdentityEncoding, isJsonContentType, JsonOps } from './json-ops.js';
import { RequestTransformerSchema, type RequestTransformerConfig } from './schema.js';
import { decodeQueryComponent, Template } from './template.js';
import { compileHeaderOps, templateList, type HeaderOps } from './header-ops.js';

/** Query ops; names decoded. */
interface QueryOps {
  readonly remove: ReadonlySet<string>;
  readonly rename: ReadonlyMap<string, string>;
  readonly replace: readonly (string | Template)[];
  readonly add: readonly (string | Template)[];
  readonly append: readonly (string | Template)[];
}

interface PathRewrite {
  readonly regex: RegExp;
  readonly template: Template;
}

class RequestTransformer implements PluginHandler {
  /** Scratch for the synchronous header pass: name → new value, or null for removed. */
  private readonly view = new Map<string, string | null>();

  constructor(
    private readonly method: string | undefined,
    private readonly pathRewrite: PathRewrite | undefined,
    private readonly headers: HeaderOps | undefined,
    private readonly query: QueryOps | undefined,
    private readonly body: JsonOps | undefined,
    private readonly maxBody: number,
  ) {}

  access(ctx: RequestContext): void | Promise<void> {
    const q = ctx.query;
    if (this.method !== undefined) ctx.setUpstreamMethod(this.method);
    const rw = this.pathRewrite;
    if (rw !== undefined) {
      const m = rw.regex.exec(ctx.path);
      if (m !== null) {
        const p = rw.template.render(ctx, q, m);
        if (p !== undefined) ctx.setUpstreamPath(p);
      }
    }
    if (this.headers !== undefined) this.applyHeaders(ctx, this.headers, q);
    if (this.query !== undefined) ctx.query = applyQuery(ctx, this.query, q);
    const h = ctx.req.headers;
    if (this.body !== undefined && isJsonContentType(h['content-type']) && isIdentityEncoding(h['content-encoding'])) return this.transformBody(ctx, this.body, q);
  }

  private applyHeaders(ctx: RequestContext, ops: HeaderOps, q: string): void {
    const view = this.view;
    view.clear();
    const h = ctx.req.headers;
    for (const name of ops.remove) view.set(name, null);
    for (let i = 0; i < ops.rename.length; i += 2) {
      const v = current(view, h, ops.rename[i]!);
      if (v === undefined) continue;
      view.set(ops.rename[i]!, null);
      view.set(ops.rename[i + 1]!, v);
    }
    for (let i = 0; i < ops.replace.length; i += 2) {
      const name = ops.replace[i] as string;
      if (current(view, h, name) === undefined) continue;
      const v = (ops.replace[i + 1] as Template).render(ctx, q);
      if (v !== undefined) view.set(name, v);
    }
    for (let i = 0; i < ops.add.length; i += 2) {
      const name = ops.add[i] as string;
      if (current(view, h, name) !== undefined) continue;
      const v = (ops.add[i + 1] as Template).render(ctx, q);
      if (v !== undefined) view.set(name, v);
    }
    for (let i = 0; i < ops.append.length; i += 2) {
      const name = ops.append[i] as string;
      const v = (ops.append[i + 1] as Template).render(ctx, q);
      if (v === undefined) continue;
      const cur = current(view, h, name);
      view.set(name, cur === undefined ? v : `${cur}, ${v}`);
    }
    for (const [name, v] of view) {
      if (v === null) ctx.removeUpstreamHeader(name);
      else ctx.setUpstreamHeader(name, v);
    }
    view.clear();
  }

  private async transformBody(ctx: RequestContext, ops: JsonOps, q: string): Promise<void> {
    // Over the cap, readBody rejects with 413 GW_ERR_BODY_TOO_LARGE, rendered by the proxy.
    const raw = await ctx.readBody(this.maxBody);
    if (raw.length === 0) return;
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch (err) {
      throw new GatewayError('GW_ERR_INVALID_JSON_BODY', `the request body is not valid JSON: ${(err as Error).message}`);
    }
    if (doc === null || typeof doc !== 'object') return;
    if (ops.apply(doc, ctx, q)) ctx.replaceBody(Buffer.from(JSON.stringify(doc)));
  }
}

/**
 * A header's value as the edits so far left it. The client's copies of headers the gateway drops (identity
 * headers above all) count as absent: renaming a forged X-Consumer-Username must not pass it on.
 */
function current(view: Map<string, string | null>, h: IncomingHttpHeaders, name: string): string | undefined {
  const v = view.get(name);
  if (v !== undefined) return v ?? undefined;
  if (GATEWAY_REQUEST_HEADERS.has(name)) return undefined;
  const o = h[name];
  return Array.isArray(o) ? o.join(', ') : o;
}

function findPair(pairs: readonly (string | undefined)[], name: string): number {
  for (let i = 0; i < pairs.length; i += 2) if (pairs[i] === name) return i;
  return -1;
}

/**
 * The query after the edits. Untouched parameters keep their original encoding; new names and values are
 * percent-encoded.
 */
function applyQuery(ctx: RequestContext, ops: QueryOps, q: string): string {
  // Flat [decodedName, rawSegment, …]; a name with malformed escapes matches nothing and is kept as it is.
  const pairs: (string | undefined)[] = [];
  if (q !== '') {
    for (const seg of q.split('&')) {
      if (seg === '') continue;
      const eq = seg.indexOf('=');
      pairs.push(decodeQueryComponent(eq === -1 ? seg : seg.slice(0, eq)), seg);
    }
  }
  if (ops.remove.size > 0) {
    for (let i = pairs.length - 2; i >= 0; i -= 2) if (pairs[i] !== undefined && ops.remove.has(pairs[i]!)) pairs.splice(i, 2);
  }
  if (ops.rename.size > 0) {
    for (let i = 0; i < pairs.length; i += 2) {
      const to = pairs[i] === undefined ? undefined : ops.rename.get(pairs[i]!);
      if (to === undefined) continue;
      const seg = pairs[i + 1]!;
      const eq = seg.indexOf('=');
      pairs[i] = to;
      pairs[i + 1] = eq === -1 ? encodeURIComponent(to) : encodeURIComponent(to) + seg.slice(eq);
    }
  }
  for (let j = 0; j < ops.replace.length; j += 2) {
    const name = ops.replace[j] as string;
    const first = findPair(pairs, name);
    if (first === -1) continue;
    const v = (ops.replace[j + 1] as Template).render(ctx, q);
    if (v === undefined) continue;
    pairs[first + 1] = `${encodeURIComponent(name)}=${encodeURIComponent(v)}`;
    for (let i = pairs.length - 2; i > first; i -= 2) if (pairs[i] === name) pairs.splice(i, 2);
  }
  for (let j = 0; j < ops.add.length; j += 2) {
    const name = ops.add[j] as string;
    if (findPair(pairs, name) !== -1) continue;
    const v = (ops.add[j + 1] as Template).render(ctx, q);
    if (v !== undefined) pairs.push(name, `${encodeURIComponent(name)}=${encodeURIComponent(v)}`);
  }
  for (let j = 0; j < ops.append.length; j += 2) {
    const name = ops.append[j] as string;
    const v = (ops.append[j + 1] as Template).render(ctx, q);
    if (v !== undefined) pairs.push(name, `${encodeURIComponent(name)}=${encodeURIComponent(v)}`);
  }
  let out = '';
  for (let i = 1; i < pairs.length; i += 2) out += i === 1 ? pairs[i]! : `&${pairs[i]!}`;
  return out;
}

/** Headers the proxy composes itself or that frame the message: editing them here would duplicate or corrupt them. */
function checkHeaderName(name: string, where: string): string {
  const lc = name.toLowerCase();
  const identity = lc.startsWith('x-consumer-') || lc === 'x-credential-identifier' || lc === 'x-anonymous-consumer';
  if (lc === 'content-length' || HOP_BY_HOP.has(lc) || (GATEWAY_REQUEST_HEADERS.has(lc) && !identity)) {
    throw new Error(`${where}: header '${name}' is managed by the gateway`);
  }
  return lc;
}

function compileQuery(c: RequestTransformerConfig): QueryOps | undefined {
  const id = (n: string) => n;
  const ops: QueryOps = {
    remove: new Set(c.remove.querystring),
    rename: new Map(Object.entries(c.rename.querystring)),
    replace: templateList(c.replace.querystring, 'replace.querystring', id),
    add: templateList(c.add.querystring, 'add.querystring', id),
    append: templateList(c.append.querystring, 'append.querystring', id),
  };
  return ops.remove.size + ops.rename.size + ops.replace.length + ops.add.length + ops.append.length === 0 ? undefined : ops;
}

function compileRewrite(c: RequestTransformerConfig): PathRewrite | undefined {
  const rw = c.rewrite_path;
  if (rw === undefined) return undefined;
  let regex: RegExp;
  try {
    regex = new RegExp(rw.regex);
  } catch (err) {
    throw new Error(`rewrite_path.regex: ${(err as Error).message}`, { cause: err });
  }
  // Group count and names without matching anything: an alternation with the empty string always matches.
  const probe = new RegExp(`${rw.regex}|`).exec('')!;
  const names = new Set(Object.keys(probe.groups ?? {}));
  let template: Template;
  try {
    template = Template.parse(rw.replacement, { captures: { names, count: probe.length - 1 }, encode: true });
  } catch (err) {
    throw new Error(`rewrite_path.replacement: ${(err as Error).message}`, { cause: err });
  }
  return { regex, template };
}

export default definePlugin({
  name: 'request-transformer',
  description: 'Edits requests before they are sent upstream: method, path (regex captures), headers, query parameters and JSON body fields, with templates.',
  schema: RequestTransformerSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createRequestTransformer(config: RequestTransformerConfig): PluginHandler {
    const body = JsonOps.compile(
      { remove: config.remove.body, rename: config.rename.body, replace: config.replace.body, add: config.add.body, append: config.append.body },
      'body',
    );
    const method = config.http_method;
    const rewrite = compileRewrite(config);
    const headers = compileHeaderOps(config, checkHeaderName);
    const query = compileQuery(config);
    if (method === undefined && rewrite === undefined && headers === undefined && query === undefined && body === undefined) {
      throw new Error('request-transformer edits nothing: configure http_method, rewrite_path or an operation');
    }
    return new RequestTransformer(method, rewrite, headers, query, body, config.max_body_size);
  },
});
