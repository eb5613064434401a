/**
 * key-auth: an API key in a header or query parameter, looked up by its keyed hash in the snapshot's
 * credential index (one HMAC-SHA256 and one Map lookup per request; the key itself is never stored).
 */
import { rawHeader } from '../../proxy/headers.js';
import { AuthGate } from '../../auth/gate.js';
import { credentialStatus } from '../../auth/credential-index.js';
import { definePlugin, type RequestContext } from '../types.js';
import { KeyAuthSchema } from './schema.js';

/** Value of the first `name=` parameter of a raw query string, percent-decoded; undefined when absent or undecodable. */
export function queryParam(query: string, name: string): string | undefined {
  let start = 0;
  while (start <= query.length) {
    let end = query.indexOf('&', start);
    if (end === -1) end = query.length;
    if (end - start > name.length && query.charCodeAt(start + name.length) === 61 && query.startsWith(name, start)) {
      const raw = query.slice(start + name.length + 1, end);
      try {
        return decodeURIComponent(raw.includes('+') ? raw.replaceAll('+', ' ') : raw);
      } catch {
        return undefined;
      }
    }
    start = end + 1;
  }
  return undefined;
}

/** The query string without any `name=` / `name` parameter. */
export function withoutQueryParam(query: string, name: string): string {
  const kept: string[] = [];
  for (const part of query.split('&')) {
    if (part === name || part.startsWith(`${name}=`)) continue;
    kept.push(part);
  }
  return kept.join('&');
}

export const keyAuthPlugin = definePlugin({
  name: 'key-auth',
  description: 'Authenticates consumers by an API key sent in a header or query parameter.',
  schema: KeyAuthSchema,
  scopes: ['global', 'service', 'route'],
  create: function createKeyAuth(config, deps) {
    const index = deps.credentials;
    if (index === undefined) throw new Error('key-auth needs the credential index');
    const gate = new AuthGate('key-auth', { identityHeaders: config.identity_headers, anonymous: config.anonymous, credentials: index });
    const headerNames = config.key_in_header ? config.key_names.map((n) => n.toLowerCase()) : [];
    const queryNames = config.key_in_query ? config.key_names : [];
    const hide = config.hide_credentials;
    const missing = `no API key in ${[...headerNames.map((h) => `header '${h}'`), ...queryNames.map((q) => `query parameter '${q}'`)].join(' or ')}`;

    return {
      access(ctx: RequestContext) {
        if (!gate.begin(ctx)) return;
        let key: string | undefined;
        const raw = ctx.req.rawHeaders;
        for (let i = 0; i < headerNames.length; i++) {
          const v = rawHeader(raw, headerNames[i]!);
          if (v !== undefined && v !== '') {
            key = v;
            if (hide) ctx.removeUpstreamHeader(headerNames[i]!);
            break;
          }
        }
        if (key === undefined && ctx.query !== '') {
          for (let i = 0; i < queryNames.length; i++) {
            const v = queryParam(ctx.query, queryNames[i]!);
            if (v !== undefined && v !== '') {
              key = v;
              if (hide) ctx.query = withoutQueryParam(ctx.query, queryNames[i]!);
              break;
            }
          }
        }
        if (key === undefined) return gate.fail(ctx, 'GW_ERR_AUTH_MISSING', missing, true);
        const cred = index.findApiKey(key);
        if (cred === undefined) return gate.fail(ctx, 'GW_ERR_AUTH_INVALID', 'unknown API key', false);
        const status = credentialStatus(cred, Date.now());
        if (status === 'expired') return gate.fail(ctx, 'GW_ERR_AUTH_EXPIRED', 'the API key has expired', false);
        // A revoked key gets the same answer as an unknown one: the caller learns nothing it can use.
        if (status === 'revoked') return gate.fail(ctx, 'GW_ERR_AUTH_INVALID', 'unknown API key', false);
        gate.success(ctx, cred.consumer, cred);
      },
    };
  },
});

export default keyAuthPlugin;
