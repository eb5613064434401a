/**
 * response-transformer: edits the response in the response phase: headers from lists compiled once, and
 * JSON body fields through a per-request body filter (ctx.filterResponseBody).
 *
 * The filter buffers the body up to max_body_size, then parses, edits and sends it whole. The head is sent
 * before the body is known, so the upstream's Content-Length is removed (Node then sends the edited body
 * chunked) and a strong ETag becomes weak (same meaning, other bytes). Bodies the filter cannot edit go
 * through unchanged: a content coding (gzip…: decoding and re-encoding costs more than the edit is worth
 * at the gateway), a declared or streamed size over the cap (logged once per instance), invalid JSON.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { isIdentityEncoding, isJsonContentType, JsonOps } from '../request-transformer/json-ops.js';
import { Template } from '../request-transformer/template.js';
import { compileHeaderOps, type HeaderOps } from '../request-transformer/header-ops.js';
import { definePlugin, type BodySink, type PluginDeps, type PluginHandler, type PluginLogger, type RequestContext, type ResponseBodyFilter } from '../types.js';
import { ResponseTransformerSchema, type ResponseTransformerConfig } from './schema.js';

class ResponseTransformer implements PluginHandler {
  private warnedOverCap = false;

  constructor(
    private readonly headers: HeaderOps | undefined,
    readonly json: JsonOps | undefined,
    readonly maxBody: number,
    private readonly logger: PluginLogger,
  ) {}

  response(ctx: RequestContext): void {
    if (this.headers !== undefined) applyHeaders(ctx, this.headers);
    const h = ctx.responseHeaders;
    if (this.json === undefined || ctx.answered || h === undefined || ctx.method === 'HEAD' || !hasBody(ctx.status)) return;
    if (!isJsonContentType(h['content-type']) || !isIdentityEncoding(h['content-encoding'])) return;
    ctx.filterResponseBody(new JsonBodyFilter(this, ctx));
  }

  overCap(ctx: RequestContext, size: number): void {
    if (this.warnedOverCap) return;
    this.warnedOverCap = true;
    this.logger.warn(
      { plugin: 'response-transformer', request_id: ctx.requestId, route: ctx.route?.name, size, max_body_size: this.maxBody },
      'response body over max_body_size sent unchanged (logged once per instance)',
    );
  }
}

function hasBody(status: number): boolean {
  return status >= 200 && status !== 204 && status !== 304;
}

/** One per response: buffers the JSON body up to the cap, then writes the edited document. */
class JsonBodyFilter implements ResponseBodyFilter {
  private sink: BodySink | undefined = undefined;
  private chunks: Buffer[] = [];
  private size = 0;
  /** Over the cap: what was buffered has been flushed; the rest streams through. */
  private passthrough = false;

  constructor(
    private readonly plugin: ResponseTransformer,
    private readonly ctx: RequestContext,
  ) {}

  start(_status: number, headers: OutgoingHttpHeaders, sink: BodySink): boolean {
    // Checked again: a filter added before this one may have changed the coding.
    if (!isJsonContentType(headers['content-type']) || !isIdentityEncoding(headers['content-encoding'])) return false;
    const declared = headers['content-length'];
    if (declared !== undefined && Number(declared) > this.plugin.maxBody) {
      this.plugin.overCap(this.ctx, Number(declared));
      return false;
    }
    delete headers['content-length'];
    const etag = headers.etag;
    if (typeof etag === 'string' && etag.startsWith('"')) headers.etag = `W/${etag}`;
    this.sink = sink;
    return true;
  }

  data(chunk: Buffer): void {
    if (this.passthrough) return this.sink!.write(chunk);
    this.size += chunk.length;
    if (this.size > this.plugin.maxBody) {
      this.plugin.overCap(this.ctx, this.size);
      this.passthrough = true;
      const held = this.chunks;
      this.chunks = [];
      for (let i = 0; i < held.length; i++) this.sink!.write(held[i]!);
      this.sink!.write(chunk);
      return;
    }
    this.chunks.push(chunk);
  }

  end(): void {
    const sink = this.sink!;
    if (this.passthrough) return sink.end();
    const raw = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks, this.size);
    this.chunks = [];
    let doc: unknown;
    try {
      doc = JSON.parse(raw.toString('utf8'));
    } catch {
      // Not the JSON it claims to be: the client gets what the upstream sent.
      return sink.end(raw);
    }
    if (doc === null || typeof doc !== 'object' || !this.plugin.json!.apply(doc, this.ctx, this.ctx.query)) return sink.end(raw);
    sink.end(Buffer.from(JSON.stringify(doc)));
  }

  abort(): void {
    this.chunks = [];
  }
}

function applyHeaders(ctx: RequestContext, ops: HeaderOps): void {
  const q = ctx.query;
  for (let i = 0; i < ops.remove.length; i++) ctx.removeResponseHeader(ops.remove[i]!);
  for (let i = 0; i < ops.rename.length; i += 2) {
    const v = ctx.responseHeaders?.[ops.rename[i]!];
    if (v === undefined) continue;
    ctx.removeResponseHeader(ops.rename[i]!);
    ctx.setResponseHeader(ops.rename[i + 1]!, typeof v === 'number' ? String(v) : v);
  }
  for (let i = 0; i < ops.replace.length; i += 2) {
    const name = ops.replace[i] as string;
    if (ctx.responseHeaders?.[name] === undefined) continue;
    const v = (ops.replace[i + 1] as Template).render(ctx, q);
    if (v !== undefined) ctx.setResponseHeader(name, v);
  }
  for (let i = 0; i < ops.add.length; i += 2) {
    const name = ops.add[i] as string;
    if (ctx.responseHeaders?.[name] !== undefined) continue;
    const v = (ops.add[i + 1] as Template).render(ctx, q);
    if (v !== undefined) ctx.setResponseHeader(name, v);
  }
  for (let i = 0; i < ops.append.length; i += 2) {
    const name = ops.append[i] as string;
    const v = (ops.append[i + 1] as Template).render(ctx, q);
    if (v === undefined) continue;
    const cur = ctx.responseHeaders?.[name];
    if (cur === undefined) ctx.setResponseHeader(name, v);
    else ctx.setResponseHeader(name, Array.isArray(cur) ? [...cur, v] : [String(cur), v]);
  }
}

/** Headers that frame the message; the body filter manages Content-Length itself. */
function checkHeaderName(name: string, where: string): string {
  const lc = name.toLowerCase();
  if (lc === 'content-length' || lc === 'transfer-encoding' || lc === 'connection') throw new Error(`${where}: header '${name}' is managed by the gateway`);
  return lc;
}

export default definePlugin({
  name: 'response-transformer',
  description: 'Edits upstream responses: headers and JSON body fields (buffered up to a cap), with templates.',
  schema: ResponseTransformerSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createResponseTransformer(config: ResponseTransformerConfig, deps: PluginDeps): PluginHandler {
    const headers = compileHeaderOps(config, checkHeaderName);
    const json = JsonOps.compile({ remove: config.remove.json, rename: config.rename.json, replace: config.replace.json, add: config.add.json, append: config.append.json }, 'json');
    if (headers === undefined && json === undefined) throw new Error('response-transformer edits nothing: configure an operation');
    return new ResponseTransformer(headers, json, config.max_body_size, deps.logger);
  },
});
