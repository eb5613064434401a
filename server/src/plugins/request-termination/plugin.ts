/**
 * request-termination: answers in the access phase with a configured status and body (maintenance
 * windows, retired endpoints, blocking a consumer, mock responses), never reaching the upstream.
 * With `trigger`, only requests carrying that header or query parameter are answered (Kong's debugging
 * aid: the same route serves real traffic and a mock on demand).
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../../errors/registry.js';
import { RequestTerminationSchema, type RequestTerminationConfig } from './schema.js';

const JSON_TYPE = 'application/json; charset=utf-8';
const MANAGED = new Set(['content-length', 'transfer-encoding', 'connection', 'content-type']);

/** Whether the raw query string has a parameter named `name` (with or without a value); no allocation. */
export function hasQueryParam(query: string, name: string): boolean {
  const n = name.length;
  let from = 0;
  while (from <= query.length - n) {
    const i = query.indexOf(name, from);
    if (i === -1) return false;
    const after = i + n;
    if ((i === 0 || query.charCodeAt(i - 1) === 38) && (after === query.length || query.charCodeAt(after) === 61 || query.charCodeAt(after) === 38)) return true;
    from = i + 1;
  }
  return false;
}

class RequestTermination implements PluginHandler {
  constructor(
    private readonly status: number,
    /** Precomputed body; undefined means a problem+json body carrying the request id. */
    private readonly body: Buffer | undefined,
    /** Content-Type plus the configured extra headers (respond copies them). */
    private readonly headers: OutgoingHttpHeaders,
    /** Header (lower case) or query parameter (as configured) that must be present; undefined: always terminate. */
    private readonly trigger: string | undefined,
    private readonly triggerParam: string,
  ) {}

  access(ctx: RequestContext): void {
    const t = this.trigger;
    if (t !== undefined && ctx.req.headers[t] === undefined && !hasQueryParam(ctx.query, this.triggerParam)) return;
    if (this.body !== undefined) {
      ctx.respond(this.status, this.body, this.headers);
      return;
    }
    const p = problem('GW_ERR_REQUEST_TERMINATED', { request_id: ctx.requestId });
    p.status = this.status;
    ctx.respond(this.status, JSON.stringify(p), this.headers);
  }
}

export default definePlugin({
  name: 'request-termination',
  description: 'Answers requests with a fixed status and body instead of proxying them.',
  schema: RequestTerminationSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createRequestTermination(config: RequestTerminationConfig): PluginHandler {
    const extra: OutgoingHttpHeaders = {};
    for (const [k, v] of Object.entries(config.headers ?? {})) {
      const lc = k.toLowerCase();
      if (MANAGED.has(lc)) throw new Error(`header '${lc}' cannot be set in \`headers\`${lc === 'content-type' ? ' (use `content_type`)' : ''}`);
      extra[lc] = v;
    }
    const trigger = config.trigger?.toLowerCase();
    const build = (body: Buffer | undefined, type: string): RequestTermination =>
      new RequestTermination(config.status_code, body, { ...extra, 'content-type': type }, trigger, config.trigger ?? '');
    if (config.body !== undefined) return build(Buffer.from(config.body), config.content_type ?? JSON_TYPE);
    if (config.message !== undefined) return build(Buffer.from(JSON.stringify({ message: config.message })), JSON_TYPE);
    if (config.content_type !== undefined) throw new Error('`content_type` needs `body`');
    return build(undefined, PROBLEM_CONTENT_TYPE);
  },
});
