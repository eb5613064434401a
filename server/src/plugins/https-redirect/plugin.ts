/**
 * https-redirect: in the access phase a plain-HTTP request is answered with a redirect to the same URL on
 * the HTTPS listener; in the response phase HTTPS answers get Strict-Transport-Security. "HTTPS" means TLS
 * on this gateway's listener, or X-Forwarded-Proto: https from a trusted proxy (GATEHOUSE_TRUSTED_PROXIES),
 * so a TLS-terminating load balancer in front does not cause a redirect loop.
 */
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { HttpsRedirectSchema, type HttpsRedirectConfig } from './schema.js';

function isHttps(ctx: RequestContext): boolean {
  return ctx.scheme !== undefined ? ctx.scheme === 'https' : (ctx.req.socket as { encrypted?: boolean }).encrypted === true;
}

export class HttpsRedirect implements PluginHandler {
  constructor(
    private readonly redirect: boolean,
    private readonly status: number,
    /** `:port`, or '' for 443. */
    private readonly portSuffix: string,
    /** The Strict-Transport-Security value, or undefined. */
    private readonly hsts: string | undefined,
  ) {}

  access(ctx: RequestContext): void {
    if (!this.redirect || isHttps(ctx)) return;
    if (this.status === 426) {
      ctx.respond(426, undefined, { upgrade: 'TLS/1.2, HTTP/1.1', connection: 'Upgrade', 'content-length': '0' });
      return;
    }
    // The host is the client's; the route's hosts bound it (an unbound route redirects to whatever Host said, as nginx's $host does).
    const host = ctx.host.includes(':') && !ctx.host.startsWith('[') ? `[${ctx.host}]` : ctx.host;
    const location = `https://${host}${this.portSuffix}${ctx.path}${ctx.query === '' ? '' : `?${ctx.query}`}`;
    ctx.respond(this.status, undefined, { location, 'content-length': '0' });
  }

  response(ctx: RequestContext): void {
    if (this.hsts !== undefined && isHttps(ctx)) ctx.setResponseHeader('strict-transport-security', this.hsts);
  }
}

export function hstsValue(h: NonNullable<HttpsRedirectConfig['hsts']>): string {
  return `max-age=${h.max_age}${h.include_subdomains ? '; includeSubDomains' : ''}${h.preload ? '; preload' : ''}`;
}

export default definePlugin({
  name: 'https-redirect',
  description: 'Redirects plain-HTTP requests to HTTPS (301/302/307/308, or 426) and adds Strict-Transport-Security (HSTS) to HTTPS answers.',
  schema: HttpsRedirectSchema,
  scopes: ['global', 'service', 'route'],
  create: function createHttpsRedirect(config: HttpsRedirectConfig): PluginHandler {
    const h = config.hsts;
    if (h?.preload && (h.max_age < 31_536_000 || !h.include_subdomains)) throw new Error('hsts.preload needs max_age ≥ 31536000 and include_subdomains (the browsers\' preload list requirements)');
    return new HttpsRedirect(config.redirect, config.status_code, config.https_port === 443 ? '' : `:${config.https_port}`, h ? hstsValue(h) : undefined);
  },
});
