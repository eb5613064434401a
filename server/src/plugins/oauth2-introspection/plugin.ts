/**
 * oauth2-introspection: authenticates opaque bearer tokens by asking the authorization server
 * (RFC 7662: POST `token=…` with the gateway's client credentials in HTTP Basic).
 *
 * Results are kept in a bounded LRU keyed by SHA-256 of the token (the cache never holds a usable
 * token), for min(cache_ttl, exp - now) when active and `negative_cache_ttl` when not. Concurrent
 * requests carrying the same uncached token share one call. A timeout or failure of the endpoint is a
 * 503 (or a 401, as configured), never a silent pass.
 *
 * The introspection response goes to `ctx.locals.jwt_claims` too: it is the token's verified claim set,
 * and acl reads scopes from there whatever plugin authenticated the token.
 */
import { createHash } from 'node:crypto';
import { Pool } from 'undici';
import type { ConsumerConfig } from '../../config/schema.js';
import type { ErrorCode } from '../../errors/registry.js';
import { AuthGate, authState, respondProblem } from '../../auth/gate.js';
import type { CredentialIndex } from '../../auth/credential-index.js';
import { definePlugin, type PluginDeps, type PluginHandler, type PluginLogger, type RequestContext } from '../types.js';
import { claimHeaderValue, queryValue, withoutQueryParam } from '../jwt/bearer.js';
import { JWT_CLAIMS_LOCAL } from '../jwt/plugin.js';
import { OAuth2IntrospectionSchema, type OAuth2IntrospectionConfig } from './schema.js';

const MAX_RESPONSE_BYTES = 64 * 1024;
const CHALLENGE_MISSING = 'Bearer realm="gatehouse"';
const CHALLENGE_INVALID = 'Bearer realm="gatehouse", error="invalid_token"';

/** One cached answer of the endpoint. */
interface Introspected {
  readonly active: boolean;
  readonly claims: Record<string, unknown>;
  readonly scopes: ReadonlySet<string>;
  /** Epoch ms after which the entry must not be used. */
  readonly until: number;
}

class UnavailableError extends Error {}

export class OAuth2Introspection implements PluginHandler {
  /** LRU: a hit is deleted and re-inserted, so iteration order is least recently used first. */
  private readonly cache = new Map<string, Introspected>();
  private readonly inflight = new Map<string, Promise<Introspected>>();
  private readonly pool: Pool;
  private readonly path: string;
  private readonly basic: string;
  private readonly headerNames: readonly string[];
  private readonly claimHeaders: readonly (readonly [string, string])[];
  private readonly hintParam: string;
  /** Introspection calls made (tests, status). */
  calls = 0;

  constructor(
    private readonly cfg: OAuth2IntrospectionConfig,
    private readonly gate: AuthGate,
    private readonly credentials: CredentialIndex | undefined,
    private readonly logger: PluginLogger,
  ) {
    const u = new URL(cfg.introspection_endpoint);
    this.pool = new Pool(u.origin, { connections: 32, headersTimeout: cfg.timeout_ms, bodyTimeout: cfg.timeout_ms });
    this.path = u.pathname + u.search;
    // RFC 6749 §2.3.1: client id and secret are form-urlencoded before Basic encoding.
    this.basic = 'Basic ' + Buffer.from(`${encodeURIComponent(cfg.client_id)}:${encodeURIComponent(cfg.client_secret)}`).toString('base64');
    this.headerNames = cfg.header_names.map((h) => h.toLowerCase());
    this.claimHeaders = Object.entries(cfg.claims_to_headers).map(([c, h]) => [c, h.toLowerCase()] as const);
    this.hintParam = cfg.token_type_hint !== undefined ? `&token_type_hint=${encodeURIComponent(cfg.token_type_hint)}` : '';
  }

  access(ctx: RequestContext): void | Promise<void> {
    if (!this.gate.begin(ctx)) return;
    for (let i = 0; i < this.claimHeaders.length; i++) ctx.removeUpstreamHeader(this.claimHeaders[i]![1]);
    let token: string | undefined;
    for (let i = 0; i < this.headerNames.length && token === undefined; i++) {
      const v = ctx.req.headers[this.headerNames[i]!];
      if (typeof v === 'string' && v.length > 7 && v.charCodeAt(6) === 32 && v.slice(0, 6).toLowerCase() === 'bearer') {
        token = v.slice(7).trim();
        if (this.cfg.hide_credentials) ctx.removeUpstreamHeader(this.headerNames[i]!);
      }
    }
    if (token === undefined && ctx.query !== '') {
      for (const name of this.cfg.query_params) {
        token = queryValue(ctx.query, name);
        if (token !== undefined) {
          if (this.cfg.hide_credentials) ctx.query = withoutQueryParam(ctx.query, name);
          break;
        }
      }
    }
    if (token === undefined || token === '') return this.fail(ctx, 'GW_ERR_AUTH_MISSING', 'no bearer token in the request', true);
    if (token.length > this.cfg.max_token_bytes) return this.fail(ctx, 'GW_ERR_AUTH_TOKEN_TOO_LARGE', `tokens are limited to ${this.cfg.max_token_bytes} bytes`, false);

    const key = createHash('sha256').update(token).digest('base64url');
    const hit = this.cache.get(key);
    if (hit !== undefined) {
      this.cache.delete(key);
      if (Date.now() < hit.until) {
        this.cache.set(key, hit);
        return this.apply(ctx, hit);
      }
    }
    let p = this.inflight.get(key);
    if (p === undefined) {
      p = this.introspect(token, key);
      this.inflight.set(key, p);
    }
    return p.then(
      (r) => this.apply(ctx, r),
      (err: Error) => this.unavailable(ctx, err),
    );
  }

  private async introspect(token: string, key: string): Promise<Introspected> {
    this.calls++;
    try {
      const res = await this.pool.request({
        path: this.path,
        method: 'POST',
        headers: { authorization: this.basic, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
        body: `token=${encodeURIComponent(token)}${this.hintParam}`,
        signal: AbortSignal.timeout(this.cfg.timeout_ms),
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res.body as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > MAX_RESPONSE_BYTES) throw new UnavailableError('introspection response too large');
        chunks.push(c);
      }
      if (res.statusCode !== 200) throw new UnavailableError(`introspection endpoint answered ${res.statusCode}`);
      let body: unknown;
      try {
        body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      } catch {
        throw new UnavailableError('introspection response is not JSON');
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UnavailableError('introspection response is not a JSON object');
      const claims = body as Record<string, unknown>;
      const now = Date.now();
      // RFC 7662 §2.2: `active` is REQUIRED and boolean; anything else is not an active token.
      let active = claims.active === true;
      const exp = claims.exp;
      if (active && typeof exp === 'number' && exp * 1000 <= now) active = false;
      let until = now + (active ? this.cfg.cache_ttl_seconds : this.cfg.negative_cache_ttl_seconds) * 1000;
      if (active && typeof exp === 'number') until = Math.min(until, exp * 1000);
      const scopes = new Set(typeof claims.scope === 'string' ? claims.scope.split(' ').filter(Boolean) : []);
      const r: Introspected = { active, claims, scopes, until };
      if (until > now) {
        if (this.cache.size >= this.cfg.cache_size) this.cache.delete(this.cache.keys().next().value!);
        this.cache.set(key, r);
      }
      return r;
    } catch (err) {
      if (err instanceof UnavailableError) throw err;
      throw new UnavailableError((err as Error).name === 'TimeoutError' ? `introspection timed out after ${this.cfg.timeout_ms} ms` : (err as Error).message);
    } finally {
      this.inflight.delete(key);
    }
  }

  private apply(ctx: RequestContext, r: Introspected): void {
    if (!r.active) return this.fail(ctx, 'GW_ERR_AUTH_TOKEN_INACTIVE', 'the token is not active', false);
    for (const s of this.cfg.required_scopes) {
      if (!r.scopes.has(s)) {
        // RFC 6750 §3.1: authenticated, but not for this: 403 insufficient_scope.
        respondProblem(ctx, 'GW_ERR_AUTH_SCOPE', `scope \`${s}\` is required`, {
          'www-authenticate': `Bearer realm="gatehouse", error="insufficient_scope", scope="${this.cfg.required_scopes.join(' ')}"`,
        });
        return;
      }
    }
    let consumer: ConsumerConfig | undefined;
    if (this.cfg.consumer_field !== undefined) {
      const name = r.claims[this.cfg.consumer_field];
      consumer = typeof name === 'string' ? this.credentials?.consumer(name) : undefined;
      if (consumer === undefined) return this.fail(ctx, 'GW_ERR_AUTH_CONSUMER_UNKNOWN', `\`${this.cfg.consumer_field}\` names no consumer`, false);
    }
    ctx.locals[JWT_CLAIMS_LOCAL] = r.claims;
    for (let i = 0; i < this.claimHeaders.length; i++) {
      const [claim, header] = this.claimHeaders[i]!;
      const v = claimHeaderValue(r.claims[claim]);
      if (v !== undefined) ctx.setUpstreamHeader(header, v);
    }
    if (consumer !== undefined) this.gate.success(ctx, consumer);
    else {
      const st = authState(ctx);
      st.presented = true;
      st.by.push('oauth2-introspection');
    }
  }

  private unavailable(ctx: RequestContext, err: Error): void {
    this.logger.warn({ err: err.message, endpoint: this.cfg.introspection_endpoint }, 'token introspection failed');
    if (this.cfg.unavailable_status === 503) respondProblem(ctx, 'GW_ERR_AUTH_INTROSPECTION_UNAVAILABLE', err.message);
    else this.fail(ctx, 'GW_ERR_AUTH_INVALID', 'the token could not be introspected', false);
  }

  private fail(ctx: RequestContext, code: ErrorCode, detail: string, missing: boolean): void {
    (authState(ctx).challenges ??= []).push(missing ? CHALLENGE_MISSING : CHALLENGE_INVALID);
    this.gate.fail(ctx, code, detail, missing);
  }

  close(): Promise<void> {
    return this.pool.close();
  }
}

export default definePlugin({
  name: 'oauth2-introspection',
  description: 'Authenticates opaque bearer tokens by RFC 7662 introspection, with a bounded cache.',
  schema: OAuth2IntrospectionSchema,
  scopes: ['global', 'service', 'route'],
  create: function createOAuth2Introspection(config: OAuth2IntrospectionConfig, deps: PluginDeps): PluginHandler {
    const u = new URL(config.introspection_endpoint);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error('introspection_endpoint must be http(s)');
    if (config.consumer_field !== undefined && deps.credentials === undefined) throw new Error('`consumer_field` needs the consumer index');
    const gate = new AuthGate('oauth2-introspection', { identityHeaders: config.identity_headers, anonymous: config.anonymous, credentials: deps.credentials });
    return new OAuth2Introspection(config, gate, deps.credentials, deps.logger);
  },
});
