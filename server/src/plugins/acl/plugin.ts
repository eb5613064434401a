/**
 * acl: authorization after authentication. Allows or denies by the consumer's groups, and checks OAuth
 * scopes of the verified token that jwt / oauth2-introspection put in `ctx.locals.jwt_claims`.
 *
 * 401 (GW_ERR_AUTH_MISSING) when nothing authenticated the request: no auth plugin ran or the route has
 * none; a 403 there would tell an unauthenticated caller it merely lacks a group. 403 GW_ERR_AUTH_FORBIDDEN
 * for a consumer outside the allowed groups (or in a denied one); 403 GW_ERR_AUTH_SCOPE with an RFC 6750
 * `insufficient_scope` challenge when a required scope is missing.
 */
import { authState, respondProblem } from '../../auth/gate.js';
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { JWT_CLAIMS_LOCAL } from '../jwt/plugin.js';
import { AclSchema, type AclConfig } from './schema.js';

/** True when `token` is one of the space-separated words of `list` (no split, no allocation). */
export function hasWord(list: string, token: string): boolean {
  let from = 0;
  for (;;) {
    const i = list.indexOf(token, from);
    if (i === -1) return false;
    const end = i + token.length;
    if ((i === 0 || list.charCodeAt(i - 1) === 32) && (end === list.length || list.charCodeAt(end) === 32)) return true;
    from = i + 1;
  }
}

/** Whether the claims carry `scope` (RFC 8693 §4.2: space-separated string) or `scp` (array, or a string) with this value. */
export function claimsHaveScope(claims: Record<string, unknown>, scope: string): boolean {
  const s = claims.scope;
  if (typeof s === 'string' && hasWord(s, scope)) return true;
  if (Array.isArray(s) && s.includes(scope)) return true;
  const scp = claims.scp;
  if (Array.isArray(scp)) return scp.includes(scope);
  return typeof scp === 'string' && hasWord(scp, scope);
}

export class Acl implements PluginHandler {
  private readonly allow: ReadonlySet<string> | undefined;
  private readonly deny: ReadonlySet<string> | undefined;
  private readonly scopes: readonly string[];
  private readonly groupsHeader: string | undefined;
  private readonly scopeChallenge: string;

  constructor(cfg: AclConfig) {
    this.allow = cfg.allow ? new Set(cfg.allow) : undefined;
    this.deny = cfg.deny ? new Set(cfg.deny) : undefined;
    this.scopes = cfg.required_scopes;
    this.groupsHeader = cfg.hide_groups_header ? cfg.groups_header.toLowerCase() : undefined;
    this.scopeChallenge = `Bearer error="insufficient_scope", scope="${cfg.required_scopes.join(' ')}"`;
  }

  access(ctx: RequestContext): void {
    const consumer = ctx.consumer;
    if (this.allow !== undefined || this.deny !== undefined) {
      if (consumer === undefined) {
        // A token that authenticated but maps to no consumer is known, just without groups: 403, not 401.
        if (authState(ctx).by.length > 0) return respondProblem(ctx, 'GW_ERR_AUTH_FORBIDDEN', 'the credential maps to no consumer, so to no group');
        return respondProblem(ctx, 'GW_ERR_AUTH_MISSING', 'this route needs an authenticated consumer');
      }
      const groups = consumer.groups;
      if (this.allow !== undefined) {
        let ok = false;
        for (let i = 0; i < groups.length && !ok; i++) ok = this.allow.has(groups[i]!);
        if (!ok) return respondProblem(ctx, 'GW_ERR_AUTH_FORBIDDEN', `consumer '${consumer.username}' is not in an allowed group`);
      } else {
        for (let i = 0; i < groups.length; i++) {
          if (this.deny!.has(groups[i]!)) return respondProblem(ctx, 'GW_ERR_AUTH_FORBIDDEN', `consumer '${consumer.username}' is in a denied group`);
        }
      }
    }
    if (this.scopes.length > 0) {
      const claims = ctx.locals[JWT_CLAIMS_LOCAL] as Record<string, unknown> | undefined;
      if (claims === undefined) {
        // A consumer authenticated some other way (API key) has no token and so no scopes: 403, it is known.
        const known = consumer !== undefined || authState(ctx).by.length > 0;
        if (!known) return respondProblem(ctx, 'GW_ERR_AUTH_MISSING', 'this route needs a token with scopes');
        return respondProblem(ctx, 'GW_ERR_AUTH_SCOPE', 'the credential carries no scopes', { 'www-authenticate': this.scopeChallenge });
      }
      for (let i = 0; i < this.scopes.length; i++) {
        if (!claimsHaveScope(claims, this.scopes[i]!)) {
          return respondProblem(ctx, 'GW_ERR_AUTH_SCOPE', `missing scope '${this.scopes[i]}'`, { 'www-authenticate': this.scopeChallenge });
        }
      }
    }
    if (this.groupsHeader !== undefined) ctx.removeUpstreamHeader(this.groupsHeader);
  }
}

export const aclPlugin = definePlugin({
  name: 'acl',
  description: "Allows or denies consumers by group, and requires OAuth scopes of the request's verified token.",
  schema: AclSchema,
  scopes: ['global', 'service', 'route'],
  create: function createAcl(config) {
    if (config.allow !== undefined && config.deny !== undefined) throw new Error('acl takes either allow or deny, not both');
    if (config.allow === undefined && config.deny === undefined && config.required_scopes.length === 0) {
      throw new Error('acl needs allow, deny or required_scopes');
    }
    return new Acl(config);
  },
});

export default aclPlugin;
