/**
 * `$(source.name)` templates of request-transformer and response-transformer: parsed once in create()
 * into literal and lookup parts, so rendering a value per request is a loop of lookups and string
 * concatenations (no regex, no closure).
 *
 * Sources: `consumer.username|custom_id|groups`, `params.<capture>` (the route's regex captures),
 * `claims.<name>[.<nested>…]` (verified token claims in ctx.locals.jwt_claims), `headers.<name>` (the
 * client's request headers), `query.<name>` (the request's query parameters). A template whose lookup finds
 * nothing renders as undefined and the operation using it is skipped: an upstream never receives an empty
 * `X-User:` it might take for a real (empty) identity.
 */
import type { RequestContext } from '../types.js';

const enum Src {
  Literal,
  Consumer,
  Param,
  Claim,
  Header,
  Query,
  /** `{name}` / `{1}`: a capture of the plugin's own rewrite_path regex (path templates only). */
  Capture,
}

interface Part {
  readonly src: Src;
  /** Literal text, or the lookup key (header names lower case). */
  readonly key: string;
  /** Nested claim path after the first name. */
  readonly rest?: readonly string[];
  /** Capture index, for numbered captures. */
  readonly index?: number;
}

const CONSUMER_FIELDS: ReadonlySet<string> = new Set(['username', 'custom_id', 'groups']);
const UNSAFE_VALUE = /[\r\n\0]/;
const TEMPLATE = /\$\(([^)]*)\)/g;
const TEMPLATE_OR_CAPTURE = /\$\(([^)]*)\)|\{([A-Za-z_][A-Za-z0-9_]*|\d+)\}/g;

export interface RenderOptions {
  /** Percent-encode looked-up values (path templates: a value must not add segments or a query). */
  readonly encode?: boolean;
}

export class Template {
  private constructor(
    private readonly parts: readonly Part[],
    /** True when the template is one literal: render returns it without any work. */
    readonly constant: string | undefined,
    private readonly encode: boolean,
  ) {}

  /**
   * Parses `text`; throws with a message naming the bad reference. `captures` allows `{name}`/`{n}`
   * references to a rewrite regex's groups (names must exist in `groupNames`).
   */
  static parse(text: string, opts: { captures?: { names: ReadonlySet<string>; count: number }; encode?: boolean } = {}): Template {
    const parts: Part[] = [];
    const re = opts.captures ? TEMPLATE_OR_CAPTURE : TEMPLATE;
    re.lastIndex = 0;
    let last = 0;
    for (let m = re.exec(text); m; m = re.exec(text)) {
      if (m.index > last) parts.push({ src: Src.Literal, key: text.slice(last, m.index) });
      if (m[1] !== undefined) parts.push(parseRef(m[1].trim(), text));
      else {
        const ref = m[2]!;
        const caps = opts.captures!;
        if (/^\d+$/.test(ref)) {
          const n = Number(ref);
          if (n < 1 || n > caps.count) throw new Error(`'{${ref}}' in '${text}': the regex has ${caps.count} capture group(s)`);
          parts.push({ src: Src.Capture, key: '', index: n });
        } else {
          if (!caps.names.has(ref)) throw new Error(`'{${ref}}' in '${text}': the regex has no group named '${ref}'`);
          parts.push({ src: Src.Capture, key: ref });
        }
      }
      last = m.index + m[0].length;
    }
    if (last < text.length) parts.push({ src: Src.Literal, key: text.slice(last) });
    const constant = parts.length === 0 ? '' : parts.length === 1 && parts[0]!.src === Src.Literal ? parts[0]!.key : undefined;
    return new Template(parts, constant, opts.encode === true);
  }

  /** True when `text` holds a `$(…)` reference (JSON body values without one are kept as they are). */
  static hasReference(text: string): boolean {
    return text.includes('$(');
  }

  /** The rendered text, or undefined when a referenced value is missing (or unsafe in a header). */
  render(ctx: RequestContext, query: string, match?: RegExpExecArray): string | undefined {
    if (this.constant !== undefined) return this.constant;
    let out = '';
    const parts = this.parts;
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.src === Src.Literal) {
        out += p.key;
        continue;
      }
      let v: string | undefined;
      if (p.src === Src.Capture) {
        // A group that did not take part in the match is an empty segment, like the route's own rewrite.
        v = (p.index !== undefined ? match?.[p.index] : match?.groups?.[p.key]) ?? '';
        out += v;
        continue;
      }
      v = lookup(ctx, query, p);
      if (v === undefined || UNSAFE_VALUE.test(v)) return undefined;
      out += this.encode ? encodeURIComponent(v) : v;
    }
    return out;
  }
}

function parseRef(ref: string, text: string): Part {
  const dot = ref.indexOf('.');
  const source = dot === -1 ? ref : ref.slice(0, dot);
  const name = dot === -1 ? '' : ref.slice(dot + 1);
  if (name === '') throw new Error(`'$(${ref})' in '${text}': expected $(source.name)`);
  switch (source) {
    case 'consumer':
      if (!CONSUMER_FIELDS.has(name)) throw new Error(`'$(${ref})' in '${text}': consumer fields are username, custom_id and groups`);
      return { src: Src.Consumer, key: name };
    case 'params':
      return { src: Src.Param, key: name };
    case 'claims': {
      const segs = name.split('.');
      if (segs.some((s) => s === '')) throw new Error(`'$(${ref})' in '${text}': empty claim name`);
      return { src: Src.Claim, key: segs[0]!, rest: segs.slice(1) };
    }
    case 'headers': {
      const lc = name.toLowerCase();
      // The client's copy of an identity header is a forgery the gateway strips; the real one is the consumer.
      if (lc.startsWith('x-consumer-') || lc === 'x-credential-identifier' || lc === 'x-anonymous-consumer') {
        throw new Error(`'$(${ref})' in '${text}': identity headers come from the client untrusted; use $(consumer.…)`);
      }
      return { src: Src.Header, key: lc };
    }
    case 'query':
      return { src: Src.Query, key: name };
    default:
      throw new Error(`'$(${ref})' in '${text}': unknown source '${source}' (consumer, params, claims, headers, query)`);
  }
}

function lookup(ctx: RequestContext, query: string, p: Part): string | undefined {
  switch (p.src) {
    case Src.Consumer: {
      const c = ctx.consumer;
      if (c === undefined) return undefined;
      if (p.key === 'username') return c.username;
      if (p.key === 'custom_id') return c.custom_id;
      return c.groups.length === 0 ? undefined : c.groups.join(',');
    }
    case Src.Param:
      return ctx.params?.[p.key];
    case Src.Claim: {
      const claims = ctx.locals.jwt_claims;
      if (claims === null || typeof claims !== 'object') return undefined;
      let v: unknown = own(claims, p.key);
      const rest = p.rest!;
      for (let i = 0; i < rest.length && v !== undefined; i++) v = v !== null && typeof v === 'object' && !Array.isArray(v) ? own(v, rest[i]!) : undefined;
      return claimText(v);
    }
    case Src.Header: {
      const v = ctx.req.headers[p.key];
      return Array.isArray(v) ? v.join(', ') : v;
    }
    case Src.Query:
      return queryValue(query, p.key);
    default:
      return undefined;
  }
}

function own(o: object, k: string): unknown {
  return Object.prototype.hasOwnProperty.call(o, k) ? (o as Record<string, unknown>)[k] : undefined;
}

/** Strings as they are; numbers and booleans as text; arrays of those comma-joined; anything else as JSON. */
function claimText(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v) && v.every((x) => typeof x === 'string' || typeof x === 'number' || typeof x === 'boolean')) return v.join(',');
  return JSON.stringify(v);
}

/** Decodes a query component (`+` is a space); undefined when the escapes are malformed. */
export function decodeQueryComponent(s: string): string | undefined {
  const t = s.includes('+') ? s.replaceAll('+', ' ') : s;
  if (!t.includes('%')) return t;
  try {
    return decodeURIComponent(t);
  } catch {
    return undefined;
  }
}

/** The first value of query parameter `name` in a raw query string (no leading `?`); '' for a bare `name`. */
export function queryValue(query: string, name: string): string | undefined {
  if (query === '') return undefined;
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    const eq = query.indexOf('=', start);
    const nameEnd = eq === -1 || eq > end ? end : eq;
    if (nameEnd > start && decodeQueryComponent(query.slice(start, nameEnd)) === name) {
      return nameEnd === end ? '' : decodeQueryComponent(query.slice(nameEnd + 1, end));
    }
    start = end + 1;
  }
  return undefined;
}
