/**
 * cors: Cross-Origin Resource Sharing at the gateway.
 *
 * Access phase: an OPTIONS request with Origin and Access-Control-Request-Method is a preflight and is
 * answered here with 204 (unless `preflight_continue`); it carries no credentials, so this must run before
 * authentication. Response phase: every other response (the upstream's, or another plugin's answer such as
 * a 401, so the page can read the error) gets the origin headers.
 *
 * A disallowed origin gets no CORS headers at all and the request still proceeds: the browser is the one
 * that enforces CORS, and a non-browser client never cared. Whenever the answer depends on Origin, the
 * response carries `Vary: Origin` (even for requests without Origin) so a shared cache cannot hand one
 * origin's answer to another.
 *
 * Origins are compiled once: exact values into a Set, `~` patterns into one alternation.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { CorsSchema, type CorsConfig } from './schema.js';

/** ctx.locals key marking a preflight this plugin answered (its response phase then leaves it alone). */
const ANSWERED = 'cors';

/** Appends `token` to a Vary value unless it (or `*`) is already there. */
export function appendVary(current: OutgoingHttpHeaders[string], token: string): string {
  if (current === undefined || current === '') return token;
  const s = Array.isArray(current) ? current.join(', ') : String(current);
  const lc = token.toLowerCase();
  for (const part of s.split(',')) {
    const p = part.trim().toLowerCase();
    if (p === '*' || p === lc) return s;
  }
  return `${s}, ${token}`;
}

export class Cors implements PluginHandler {
  private readonly anyOrigin: boolean;
  private readonly exact: ReadonlySet<string>;
  private readonly pattern: RegExp | undefined;
  /** `*` without credentials: the answer is the same for every origin (no Vary: Origin needed). */
  private readonly star: boolean;
  private readonly methods: string;
  private readonly allowHeaders: string | undefined;
  private readonly exposed: string | undefined;
  private readonly credentials: boolean;
  private readonly maxAge: string | undefined;
  private readonly preflightContinue: boolean;
  private readonly privateNetwork: boolean;
  /** Vary of a preflight answer (also varies by the requested headers when they are reflected). */
  private readonly preflightVary: string;

  constructor(cfg: CorsConfig) {
    const exact = new Set<string>();
    const patterns: string[] = [];
    let any = false;
    for (const o of cfg.origins) {
      if (o === '*') any = true;
      else if (o.startsWith('~')) {
        const src = o.slice(1);
        try {
          new RegExp(src);
        } catch (err) {
          throw new Error(`invalid origin pattern '${o}': ${(err as Error).message}`, { cause: err });
        }
        patterns.push(`(?:${src})`);
      } else exact.add(o.toLowerCase().replace(/\/$/, ''));
    }
    this.anyOrigin = any;
    this.exact = exact;
    this.pattern = patterns.length > 0 ? new RegExp(patterns.join('|'), 'i') : undefined;
    this.credentials = cfg.credentials;
    this.star = any && !cfg.credentials;
    this.methods = cfg.methods.map((m) => m.toUpperCase()).join(', ');
    this.allowHeaders = cfg.headers?.join(', ');
    this.exposed = cfg.exposed_headers.length > 0 ? cfg.exposed_headers.join(', ') : undefined;
    this.maxAge = cfg.max_age === undefined ? undefined : String(cfg.max_age);
    this.preflightContinue = cfg.preflight_continue;
    this.privateNetwork = cfg.private_network;
    const vary = [];
    if (!this.star) vary.push('Origin');
    if (this.allowHeaders === undefined) vary.push('Access-Control-Request-Headers');
    if (cfg.private_network) vary.push('Access-Control-Request-Private-Network');
    this.preflightVary = vary.join(', ');
  }

  /**
   * Whether `origin` may read responses. With credentials, `null` (sandboxed documents, file:) only when
   * listed: `*` would otherwise reflect it and hand cookies to any sandboxed page.
   */
  allowed(origin: string): boolean {
    if (this.exact.has(origin)) return true;
    if (this.anyOrigin && (origin !== 'null' || !this.credentials)) return true;
    if (this.pattern !== undefined && this.pattern.test(origin)) return true;
    // Browsers send lower-case origins; lower-case only on the rare miss.
    const lc = origin.toLowerCase();
    return lc !== origin && this.exact.has(lc);
  }

  access(ctx: RequestContext): void {
    if (ctx.method !== 'OPTIONS' || this.preflightContinue) return;
    const h = ctx.req.headers;
    const origin = h.origin;
    if (origin === undefined || h['access-control-request-method'] === undefined) return;
    const out: OutgoingHttpHeaders = { 'content-length': '0' };
    if (this.preflightVary !== '') out.vary = this.preflightVary;
    if (this.allowed(origin)) {
      out['access-control-allow-origin'] = this.star ? '*' : origin;
      if (this.credentials) out['access-control-allow-credentials'] = 'true';
      out['access-control-allow-methods'] = this.methods;
      const reqHeaders = h['access-control-request-headers'];
      const allowHeaders = this.allowHeaders ?? reqHeaders;
      if (allowHeaders !== undefined && allowHeaders !== '') out['access-control-allow-headers'] = allowHeaders;
      if (this.maxAge !== undefined) out['access-control-max-age'] = this.maxAge;
      if (this.privateNetwork && h['access-control-request-private-network'] === 'true') out['access-control-allow-private-network'] = 'true';
    }
    ctx.locals[ANSWERED] = true;
    ctx.respond(204, undefined, out);
  }

  response(ctx: RequestContext): void {
    if (this.star) {
      if (ctx.answered && ctx.locals[ANSWERED] === true) return;
      ctx.setResponseHeader('access-control-allow-origin', '*');
      if (this.exposed !== undefined) ctx.setResponseHeader('access-control-expose-headers', this.exposed);
      return;
    }
    if (ctx.answered && ctx.locals[ANSWERED] === true) return;
    ctx.setResponseHeader('vary', appendVary(ctx.responseHeaders?.vary, 'Origin'));
    const origin = ctx.req.headers.origin;
    if (origin === undefined || !this.allowed(origin)) return;
    ctx.setResponseHeader('access-control-allow-origin', origin);
    if (this.credentials) ctx.setResponseHeader('access-control-allow-credentials', 'true');
    if (this.exposed !== undefined) ctx.setResponseHeader('access-control-expose-headers', this.exposed);
  }
}

export default definePlugin({
  name: 'cors',
  description: 'Cross-origin resource sharing: answers preflights at the gateway and adds CORS headers for allowed origins.',
  schema: CorsSchema,
  scopes: ['global', 'service', 'route'],
  create: function createCors(config: CorsConfig): PluginHandler {
    return new Cors(config);
  },
});
