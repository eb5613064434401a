/**
 * response-headers: edits the response head in the response phase (after the upstream or an early
 * answer), from lists compiled once per snapshot.
 */
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { ResponseHeadersSchema, type ResponseHeadersConfig } from './schema.js';

class ResponseHeaders implements PluginHandler {
  constructor(
    private readonly remove: readonly string[],
    /** Flat [name, value, …] lists, names lower case. */
    private readonly add: readonly string[],
    private readonly set: readonly string[],
  ) {}

  response(ctx: RequestContext): void {
    const r = this.remove;
    for (let i = 0; i < r.length; i++) ctx.removeResponseHeader(r[i]!);
    const a = this.add;
    for (let i = 0; i < a.length; i += 2) {
      const name = a[i]!;
      const existing = ctx.responseHeaders?.[name];
      if (existing === undefined) ctx.setResponseHeader(name, a[i + 1]!);
      else ctx.setResponseHeader(name, Array.isArray(existing) ? [...existing, a[i + 1]!] : [String(existing), a[i + 1]!]);
    }
    const s = this.set;
    for (let i = 0; i < s.length; i += 2) ctx.setResponseHeader(s[i]!, s[i + 1]!);
  }
}

function flatten(rec: Record<string, string>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(rec)) out.push(k.toLowerCase(), v);
  return out;
}

export default definePlugin({
  name: 'response-headers',
  description: 'Adds, sets or removes headers on responses sent to clients.',
  schema: ResponseHeadersSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createResponseHeaders(config: ResponseHeadersConfig): PluginHandler {
    const remove = config.remove.map((n) => n.toLowerCase());
    const add = flatten(config.add);
    const set = flatten(config.set);
    for (const n of [...add.filter((_, i) => i % 2 === 0), ...set.filter((_, i) => i % 2 === 0)]) {
      if (n === 'content-length' || n === 'transfer-encoding' || n === 'connection') throw new Error(`header '${n}' is managed by the gateway`);
    }
    return new ResponseHeaders(remove, add, set);
  },
});
