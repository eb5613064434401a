/**
 * ip-restriction: refuses requests by client address in the access phase. The address is ctx.clientIp,
 * which already applies the trusted-proxy list, so a client cannot talk its way in with X-Forwarded-For.
 * Both lists are compiled once per snapshot into sorted range lists (ip-set.ts): a lookup is a binary
 * search over parsed words, however long the lists.
 */
import { problem, PROBLEM_CONTENT_TYPE } from '../../errors/registry.js';
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { IpSet, parseClientIp } from '../../proxy/ip-set.js';
import { IpRestrictionSchema, type IpRestrictionConfig } from './schema.js';

const HEADERS = { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' };

export class IpRestriction implements PluginHandler {
  constructor(
    private readonly allow: IpSet | undefined,
    private readonly deny: IpSet | undefined,
    private readonly status: number,
    private readonly message: string | undefined,
  ) {}

  access(ctx: RequestContext): void {
    const ip = parseClientIp(ctx.clientIp);
    // An unparseable address (none known) cannot be on an allow list; with only a deny list it passes.
    if (ip === undefined) {
      if (this.allow !== undefined) this.refuse(ctx);
      return;
    }
    if (this.deny !== undefined && this.deny.hasParsed(ip)) return this.refuse(ctx);
    if (this.allow !== undefined && !this.allow.hasParsed(ip)) this.refuse(ctx);
  }

  private refuse(ctx: RequestContext): void {
    const p = problem('GW_ERR_IP_FORBIDDEN', {
      request_id: ctx.requestId,
      instance: ctx.path || undefined,
      detail: this.message ?? `the client address ${ctx.clientIp || '(unknown)'} is not allowed`,
    });
    p.status = this.status;
    ctx.respond(this.status, JSON.stringify(p), HEADERS);
  }
}

export default definePlugin({
  name: 'ip-restriction',
  description: 'Allows or refuses requests by client IP address or CIDR block (IPv4 and IPv6).',
  schema: IpRestrictionSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createIpRestriction(config: IpRestrictionConfig): PluginHandler {
    if (config.allow.length === 0 && config.deny.length === 0) throw new Error('set at least one of `allow` and `deny`');
    const allow = config.allow.length > 0 ? new IpSet(config.allow) : undefined;
    const deny = config.deny.length > 0 ? new IpSet(config.deny) : undefined;
    return new IpRestriction(allow, deny, config.status, config.message);
  },
});
