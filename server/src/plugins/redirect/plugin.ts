/**
 * redirect: answers in the access phase with a 3xx and a Location built from a template compiled once
 * per snapshot into literal and variable parts, so a request only concatenates strings.
 */
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { RedirectSchema, type RedirectConfig } from './schema.js';

const enum Part {
  Literal,
  Path,
  Query,
  Host,
  Param,
}

/** A compiled template: kinds[i] says how to render values[i] (a literal, or a param name). */
export interface Template {
  readonly kinds: readonly Part[];
  readonly values: readonly string[];
  readonly usesQuery: boolean;
}

const VARIABLE = /\$\(([^)]*)\)|\$\$|\$/g;

export function compileTemplate(src: string): Template {
  const kinds: Part[] = [];
  const values: string[] = [];
  let usesQuery = false;
  let last = 0;
  const literal = (s: string): void => {
    if (s === '') return;
    if (kinds.length > 0 && kinds[kinds.length - 1] === Part.Literal) values[values.length - 1] += s;
    else {
      kinds.push(Part.Literal);
      values.push(s);
    }
  };
  for (const m of src.matchAll(VARIABLE)) {
    literal(src.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[0] === '$$') {
      literal('$');
      continue;
    }
    const name = m[1];
    if (name === 'path') kinds.push(Part.Path);
    else if (name === 'query') {
      kinds.push(Part.Query);
      usesQuery = true;
    } else if (name === 'host') kinds.push(Part.Host);
    else if (name !== undefined && /^params\.[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      kinds.push(Part.Param);
      values.push(name.slice(7));
      continue;
    } else throw new Error(`unknown variable '${m[0]}' in location (use $(path), $(query), $(host), $(params.NAME) or $$)`);
    values.push('');
  }
  literal(src.slice(last));
  return { kinds, values, usesQuery };
}

/** Index where the path of an absolute URL (or of a path) starts, or the length when it has none. */
function pathStart(url: string): number {
  const scheme = url.indexOf('://');
  if (scheme === -1) return 0;
  const slash = url.indexOf('/', scheme + 3);
  const q = url.indexOf('?', scheme + 3);
  const hash = url.indexOf('#', scheme + 3);
  let end = url.length;
  for (const i of [slash, q, hash]) if (i !== -1 && i < end) end = i;
  return end;
}

export class Redirect implements PluginHandler {
  constructor(
    private readonly status: number,
    /** Template of everything before the fragment. */
    private readonly main: Template,
    /** `#…` of the location, appended last (literal), or ''. */
    private readonly fragment: string,
    private readonly keepPath: boolean,
    private readonly keepQuery: boolean,
    /** Whether the rendered main part already has a `?` (known from its literals). */
    private readonly hasQuery: boolean,
  ) {}

  access(ctx: RequestContext): void {
    const t = this.main;
    const kinds = t.kinds;
    const values = t.values;
    let out = '';
    for (let i = 0; i < kinds.length; i++) {
      switch (kinds[i]) {
        case Part.Literal:
          out += values[i]!;
          break;
        case Part.Path:
          out += ctx.path;
          break;
        case Part.Query:
          out += ctx.query;
          break;
        case Part.Host:
          out += ctx.host;
          break;
        case Part.Param:
          out += ctx.params?.[values[i]!] ?? '';
          break;
      }
    }
    if (this.keepPath) out += ctx.path;
    if (this.keepQuery && ctx.query !== '') out += (this.hasQuery ? '&' : '?') + ctx.query;
    out += this.fragment;
    ctx.respond(this.status, undefined, { location: out, 'content-length': '0' });
  }
}

export default definePlugin({
  name: 'redirect',
  description: 'Answers requests with a redirect (301/302/303/307/308) to a templated location.',
  schema: RedirectSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createRedirect(config: RedirectConfig): PluginHandler {
    let src = config.location;
    const hash = src.indexOf('#');
    const fragment = hash === -1 ? '' : src.slice(hash);
    if (hash !== -1) src = src.slice(0, hash);
    if (fragment.includes('$(')) throw new Error('variables are not allowed in the fragment (#…) of location');
    if (config.keep_incoming_path) src = src.slice(0, pathStart(src));
    // Header values cannot carry controls, spaces or non-ASCII; the URL must arrive percent-encoded.
    if (/[^\x21-\x7e]/.test(config.location)) throw new Error('location must be ASCII without spaces (percent-encode other characters)');
    const main = compileTemplate(src);
    const hasQuery = main.kinds.some((k, i) => k === Part.Literal && main.values[i]!.includes('?'));
    return new Redirect(config.status_code, main, fragment, config.keep_incoming_path, config.keep_query && !main.usesQuery, hasQuery);
  },
});
