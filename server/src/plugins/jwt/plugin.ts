/**
 * jwt: authenticates a request by a signed JWT (JWS compact). Keys come from the plugin config (per
 * issuer: a secret, a PEM public key or a remote JWKS) or from consumers' `jwt` credentials (the
 * credential `key` matched against `key_claim_name`, default `iss`). Every key is pinned to its
 * algorithms; the token's `alg` only selects among them.
 *
 * Order of checks (each failure its own code, see errors/registry.ts): size → structure → header
 * (alg none, token-supplied keys, crit, kid) → issuer/credential → pinned algorithm → signature →
 * claim types → exp/nbf/iat/max age → aud → required claims → consumer.
 *
 * On success: `ctx.locals.jwt_claims` holds the verified claims (acl reads scopes there), the consumer
 * is set when the token maps to one, and `claims_to_headers` are sent upstream (client copies of those
 * headers are always removed first).
 */
import type { ConsumerConfig } from '../../config/schema.js';
import type { ErrorCode } from '../../errors/registry.js';
import { AuthGate, authState, respondProblem } from '../../auth/gate.js';
import { credentialStatus, type CredentialIndex, type IndexedCredential } from '../../auth/credential-index.js';
import { definePlugin, type PluginDeps, type PluginHandler, type PluginLogger, type RequestContext } from '../types.js';
import { parseToken, publicKeyFromPem, secretKey, verifySignature, type ParsedToken, type PinnedKey } from './jws.js';
import { RemoteJwks, type KeyLookup } from './jwks.js';
import { JwtSchema, type JwtConfig, type IssuerConfig } from './schema.js';
import { claimHeaderValue, cookieValue, queryValue, withoutCookie, withoutQueryParam } from './bearer.js';

/** Where the verified claims live for later plugins (acl). */
export const JWT_CLAIMS_LOCAL = 'jwt_claims';

const REALM = 'gatehouse';
/** RFC 6750 §3: no error attribute when the request carried no token at all. */
const CHALLENGE_MISSING = `Bearer realm="${REALM}"`;
const CHALLENGE_INVALID = `Bearer realm="${REALM}", error="invalid_token"`;
/** Verification results are cached at most this long even for tokens without `exp`. */
const CACHE_MAX_MS = 5 * 60_000;

class Issuer {
  constructor(
    readonly iss: string,
    readonly staticKey: PinnedKey | undefined,
    readonly jwks: RemoteJwks | undefined,
    /** Accepted `aud` values; undefined: not checked. */
    readonly audiences: ReadonlySet<string> | undefined,
  ) {}
}

type Verified = {
  ok: true;
  claims: Record<string, unknown>;
  consumer: ConsumerConfig | undefined;
  credential: IndexedCredential | undefined;
  /** Epoch ms after which a cached copy must not be used. */
  validUntil: number;
  issuer: Issuer | undefined;
  generation: number;
};
type Refused = { ok: false; code: ErrorCode; detail: string };
type Outcome = Verified | Refused;

function refuse(code: ErrorCode, detail: string): Refused {
  return { ok: false, code, detail };
}

/** Which token source matched, so hide_credentials can remove exactly that. */
const SRC_HEADER = 1;
const SRC_COOKIE = 2;
const SRC_QUERY = 3;

function numericClaim(p: Record<string, unknown>, name: string): number | undefined | null {
  const v = p[name];
  if (v === undefined) return undefined;
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

export class JwtAuth implements PluginHandler {
  private readonly cache: Map<string, Verified> | undefined;
  private readonly credKeys = new WeakMap<IndexedCredential, PinnedKey | null>();
  private readonly claimHeaders: readonly (readonly [string, string])[];
  private readonly leeway: number;
  private readonly maxAge: number | undefined;
  private readonly audiences: ReadonlySet<string> | undefined;
  private readonly headerNames: readonly string[];

  constructor(
    private readonly cfg: JwtConfig,
    private readonly gate: AuthGate,
    private readonly issuers: ReadonlyMap<string, Issuer>,
    private readonly credentials: CredentialIndex | undefined,
    private readonly logger: PluginLogger,
  ) {
    this.cache = cfg.cache_size > 0 ? new Map() : undefined;
    this.claimHeaders = Object.entries(cfg.claims_to_headers).map(([claim, header]) => [claim, header.toLowerCase()] as const);
    this.leeway = cfg.leeway_seconds;
    this.maxAge = cfg.max_age_seconds;
    this.audiences = cfg.audiences.length ? new Set(cfg.audiences) : undefined;
    this.headerNames = cfg.header_names.map((h) => h.toLowerCase());
  }

  access(ctx: RequestContext): void | Promise<void> {
    if (!this.gate.begin(ctx)) return;
    // Claim headers are identity too: a client copy never reaches the upstream.
    for (let i = 0; i < this.claimHeaders.length; i++) ctx.removeUpstreamHeader(this.claimHeaders[i]![1]);

    let token: string | undefined;
    let source = 0;
    let sourceName = '';
    const headers = ctx.req.headers;
    for (let i = 0; i < this.headerNames.length && token === undefined; i++) {
      const v = headers[this.headerNames[i]!];
      if (typeof v !== 'string') continue;
      // RFC 7235: the scheme is case-insensitive; another scheme (Basic…) is not ours.
      if (v.length > 7 && v.charCodeAt(6) === 32 && v.slice(0, 6).toLowerCase() === 'bearer') token = v.slice(7).trim();
      else if (this.headerNames[i] !== 'authorization') token = v.trim();
      if (token !== undefined) {
        source = SRC_HEADER;
        sourceName = this.headerNames[i]!;
      }
    }
    if (token === undefined && this.cfg.cookie_names.length && typeof headers.cookie === 'string') {
      for (const name of this.cfg.cookie_names) {
        token = cookieValue(headers.cookie, name);
        if (token !== undefined) {
          source = SRC_COOKIE;
          sourceName = name;
          break;
        }
      }
    }
    if (token === undefined && this.cfg.query_params.length && ctx.query !== '') {
      for (const name of this.cfg.query_params) {
        token = queryValue(ctx.query, name);
        if (token !== undefined) {
          source = SRC_QUERY;
          sourceName = name;
          break;
        }
      }
    }
    if (token === undefined || token === '') return this.fail(ctx, 'GW_ERR_AUTH_MISSING', 'no bearer token in the request', true);
    if (this.cfg.hide_credentials) this.hide(ctx, source, sourceName);
    if (token.length > this.cfg.max_token_bytes) return this.fail(ctx, 'GW_ERR_AUTH_TOKEN_TOO_LARGE', `tokens are limited to ${this.cfg.max_token_bytes} bytes`, false);

    const now = Date.now();
    const cached = this.cache?.get(token);
    if (cached !== undefined) {
      if (now < cached.validUntil && cached.generation === (cached.issuer?.jwks?.generation ?? 0)) return this.succeed(ctx, cached);
      this.cache!.delete(token);
    }
    const out = this.verify(token, now);
    if (out instanceof Promise) return out.then((o) => this.finish(ctx, token, o));
    this.finish(ctx, token, out);
  }

  private finish(ctx: RequestContext, token: string, o: Outcome): void {
    if (!o.ok) return this.fail(ctx, o.code, o.detail, false);
    const cache = this.cache;
    if (cache !== undefined) {
      // Bounded FIFO: Map iteration order is insertion order, so the first key is the oldest.
      if (cache.size >= this.cfg.cache_size) cache.delete(cache.keys().next().value!);
      cache.set(token, o);
    }
    this.succeed(ctx, o);
  }

  private succeed(ctx: RequestContext, v: Verified): void {
    ctx.locals[JWT_CLAIMS_LOCAL] = v.claims;
    for (let i = 0; i < this.claimHeaders.length; i++) {
      const [claim, header] = this.claimHeaders[i]!;
      const value = claimHeaderValue(v.claims[claim]);
      if (value !== undefined) ctx.setUpstreamHeader(header, value);
    }
    if (v.consumer !== undefined) this.gate.success(ctx, v.consumer, v.credential);
    else {
      // A valid token of a configured issuer that names no consumer: authenticated, anonymous to the gateway.
      const st = authState(ctx);
      st.presented = true;
      st.by.push('jwt');
    }
  }

  private fail(ctx: RequestContext, code: ErrorCode, detail: string, missing: boolean): void {
    if (code === 'GW_ERR_AUTH_KEYS_UNAVAILABLE') {
      // Our problem, not the client's: 503 and no challenge.
      respondProblem(ctx, code, detail);
      return;
    }
    (authState(ctx).challenges ??= []).push(missing ? CHALLENGE_MISSING : CHALLENGE_INVALID);
    this.gate.fail(ctx, code, detail, missing);
  }

  private hide(ctx: RequestContext, source: number, name: string): void {
    if (source === SRC_HEADER) ctx.removeUpstreamHeader(name);
    else if (source === SRC_QUERY) ctx.query = withoutQueryParam(ctx.query, name);
    else if (source === SRC_COOKIE) {
      const rest = withoutCookie(ctx.req.headers.cookie!, name);
      if (rest === '') ctx.removeUpstreamHeader('cookie');
      else ctx.setUpstreamHeader('cookie', rest);
    }
  }

  /** Verifies a token; synchronous unless a JWKS has to be fetched. */
  verify(token: string, now: number): Outcome | Promise<Outcome> {
    const parsed = parseToken(token);
    if (!parsed.ok) return refuse(parsed.code, parsed.detail);
    const t = parsed.token;
    const iss = t.payload.iss;
    if (iss !== undefined && typeof iss !== 'string') return refuse('GW_ERR_AUTH_CLAIM_INVALID', '`iss` must be a string');
    const issuer = typeof iss === 'string' ? this.issuers.get(iss) : undefined;
    if (issuer !== undefined) {
      if (issuer.staticKey !== undefined) {
        const k = issuer.staticKey;
        // A key configured with a kid serves only tokens naming it; a key without one only tokens without.
        if (t.kid !== k.kid) return refuse('GW_ERR_AUTH_KID_UNKNOWN', 'no key of this issuer has that `kid`');
        return this.check(t, k, issuer, undefined, now, 0);
      }
      const found = issuer.jwks!.lookup(t.kid, t.alg);
      if (found instanceof Promise) return found.then((f) => this.afterLookup(t, f, issuer, now));
      return this.afterLookup(t, found, issuer, now);
    }
    if (this.cfg.consumer_credentials && this.credentials !== undefined) {
      const claim = this.cfg.key_claim_name;
      const keyValue = t.payload[claim] ?? (claim === 'kid' ? t.kid : undefined);
      if (typeof keyValue === 'string') {
        // During a rotation's overlap one key names two credentials: the first that verifies wins.
        const creds = this.credentials.find('jwt', keyValue);
        let refused: Refused | undefined;
        for (let i = 0; i < creds.length; i++) {
          const out = this.checkCredential(t, creds[i]!, now);
          if (out.ok) return out;
          // A credential that was tried and failed says more than one that was expired or revoked.
          if (refused === undefined || refused.code === 'GW_ERR_AUTH_EXPIRED' || refused.code === 'GW_ERR_AUTH_INVALID') refused = out;
        }
        if (refused !== undefined) return refused;
      }
    }
    return refuse('GW_ERR_AUTH_ISSUER_UNKNOWN', 'no configured issuer or consumer credential matches the token');
  }

  private afterLookup(t: ParsedToken, found: KeyLookup, issuer: Issuer, now: number): Outcome {
    if (found === 'unavailable') return refuse('GW_ERR_AUTH_KEYS_UNAVAILABLE', 'the issuer\'s JWKS could not be fetched');
    if (found === 'unknown-kid') return refuse('GW_ERR_AUTH_KID_UNKNOWN', t.kid === undefined ? 'no key for this algorithm' : 'no key has that `kid`');
    if (found === 'ambiguous') return refuse('GW_ERR_AUTH_KID_UNKNOWN', 'the token has no `kid` and several keys could verify it');
    return this.check(t, found, issuer, undefined, now, issuer.jwks!.generation);
  }

  private checkCredential(t: ParsedToken, cred: IndexedCredential, now: number): Outcome {
    const status = credentialStatus(cred, now);
    if (status === 'expired') return refuse('GW_ERR_AUTH_EXPIRED', 'the credential has expired');
    if (status === 'revoked') return refuse('GW_ERR_AUTH_INVALID', 'the credential is revoked');
    let key = this.credKeys.get(cred);
    if (key === undefined) {
      // Prepared once per credential and snapshot; a broken credential is logged, not retried per request.
      try {
        const alg = cred.algorithm ?? 'HS256';
        key = cred.secret !== undefined ? secretKey(cred.secret, [alg]) : cred.publicKeyPem !== undefined ? publicKeyFromPem(cred.publicKeyPem, [alg]) : null;
      } catch (err) {
        this.logger.warn({ credential: cred.id, err: (err as Error).message }, 'jwt credential unusable');
        key = null;
      }
      this.credKeys.set(cred, key);
    }
    if (key === null) return refuse('GW_ERR_AUTH_INVALID', 'the credential cannot verify tokens');
    return this.check(t, key, undefined, cred, now, 0);
  }

  private check(t: ParsedToken, key: PinnedKey, issuer: Issuer | undefined, cred: IndexedCredential | undefined, nowMs: number, generation: number): Outcome {
    if (!key.algorithms.has(t.alg)) return refuse('GW_ERR_AUTH_ALG_NOT_ALLOWED', `the key is not pinned to ${t.alg}`);
    if (!verifySignature(t, key)) return refuse('GW_ERR_AUTH_TOKEN_SIGNATURE', 'signature verification failed');
    const p = t.payload;
    const exp = numericClaim(p, 'exp');
    const nbf = numericClaim(p, 'nbf');
    const iat = numericClaim(p, 'iat');
    if (exp === null || nbf === null || iat === null) return refuse('GW_ERR_AUTH_CLAIM_INVALID', '`exp`, `nbf` and `iat` must be numbers (seconds since the epoch)');
    const now = nowMs / 1000;
    const leeway = this.leeway;
    if (exp !== undefined && now - leeway >= exp) return refuse('GW_ERR_AUTH_EXPIRED', 'the token has expired');
    if (nbf !== undefined && now + leeway < nbf) return refuse('GW_ERR_AUTH_TOKEN_NOT_YET_VALID', 'the token is not valid yet (`nbf`)');
    if (iat !== undefined && now + leeway < iat) return refuse('GW_ERR_AUTH_TOKEN_NOT_YET_VALID', 'the token was issued in the future (`iat`)');
    let validUntil = Math.min(nowMs + CACHE_MAX_MS, cred?.expiresAt ?? Infinity);
    if (exp !== undefined) validUntil = Math.min(validUntil, (exp + leeway) * 1000);
    if (this.maxAge !== undefined) {
      if (iat === undefined) return refuse('GW_ERR_AUTH_CLAIM_MISSING', '`iat` is required (max_age_seconds is set)');
      if (now - leeway > iat + this.maxAge) return refuse('GW_ERR_AUTH_TOKEN_TOO_OLD', `the token is older than ${this.maxAge} s`);
      validUntil = Math.min(validUntil, (iat + this.maxAge + leeway) * 1000);
    }
    const auds = issuer?.audiences ?? this.audiences;
    if (auds !== undefined) {
      const aud = p.aud;
      let match = false;
      if (typeof aud === 'string') match = auds.has(aud);
      else if (Array.isArray(aud)) {
        for (const a of aud) {
          if (typeof a !== 'string') return refuse('GW_ERR_AUTH_CLAIM_INVALID', '`aud` must be a string or an array of strings');
          if (auds.has(a)) match = true;
        }
      } else if (aud !== undefined) return refuse('GW_ERR_AUTH_CLAIM_INVALID', '`aud` must be a string or an array of strings');
      if (!match) return refuse('GW_ERR_AUTH_AUDIENCE', 'the token is not meant for this audience');
    }
    for (const c of this.cfg.required_claims) if (!Object.hasOwn(p, c)) return refuse('GW_ERR_AUTH_CLAIM_MISSING', `claim \`${c}\` is required`);
    let consumer = cred?.consumer;
    if (this.cfg.consumer_claim !== undefined) {
      const name = p[this.cfg.consumer_claim];
      const c = typeof name === 'string' ? this.credentials?.consumer(name) : undefined;
      if (c === undefined) return refuse('GW_ERR_AUTH_CONSUMER_UNKNOWN', `claim \`${this.cfg.consumer_claim}\` names no consumer`);
      if (consumer !== undefined && consumer.username !== c.username) return refuse('GW_ERR_AUTH_CONSUMER_MISMATCH', 'the token\'s credential and claim name different consumers');
      consumer = c;
    }
    // Shared by every request that presents this token (cache) and read by later plugins: never mutated.
    return { ok: true, claims: Object.freeze(p), consumer, credential: cred, validUntil, issuer, generation };
  }

  close(): void {
    for (const i of this.issuers.values()) i.jwks?.close();
  }
}

function buildIssuer(i: IssuerConfig, cfg: JwtConfig, logger: PluginLogger): Issuer {
  const sources = [i.secret, i.public_key, i.jwks_uri].filter((x) => x !== undefined).length;
  if (sources !== 1) throw new Error(`issuer '${i.iss}': set exactly one of secret, public_key, jwks_uri`);
  const audiences = i.audiences.length ? new Set(i.audiences) : undefined;
  if (i.secret !== undefined) {
    const raw = i.secret_is_base64 ? Buffer.from(i.secret, i.secret.includes('-') || i.secret.includes('_') ? 'base64url' : 'base64') : Buffer.from(i.secret, 'utf8');
    return new Issuer(i.iss, secretKey(raw, i.algorithms, i.kid), undefined, audiences);
  }
  if (i.public_key !== undefined) return new Issuer(i.iss, publicKeyFromPem(i.public_key, i.algorithms, i.kid), undefined, audiences);
  for (const a of i.algorithms) if (a.startsWith('HS')) throw new Error(`issuer '${i.iss}': a JWKS never provides HMAC keys (${a})`);
  if (i.kid !== undefined) throw new Error(`issuer '${i.iss}': \`kid\` applies to secret/public_key; a JWKS names its own keys`);
  const jwks = new RemoteJwks({
    uri: i.jwks_uri!,
    algorithms: i.algorithms,
    timeoutMs: cfg.jwks_timeout_ms,
    defaultTtlMs: cfg.jwks_default_ttl_seconds * 1000,
    minTtlMs: cfg.jwks_min_ttl_seconds * 1000,
    maxTtlMs: Math.max(cfg.jwks_min_ttl_seconds, cfg.jwks_max_ttl_seconds) * 1000,
    cooldownMs: cfg.jwks_refetch_cooldown_seconds * 1000,
    logger,
  });
  return new Issuer(i.iss, undefined, jwks, audiences);
}

export default definePlugin({
  name: 'jwt',
  description: 'Authenticates requests with a signed JWT from a header, cookie or query parameter.',
  schema: JwtSchema,
  scopes: ['global', 'service', 'route'],
  create: function createJwt(config: JwtConfig, deps: PluginDeps): PluginHandler {
    const issuers = new Map<string, Issuer>();
    for (const i of config.issuers) {
      if (issuers.has(i.iss)) throw new Error(`issuer '${i.iss}' is listed twice`);
      issuers.set(i.iss, buildIssuer(i, config, deps.logger));
    }
    if (issuers.size === 0 && !config.consumer_credentials) throw new Error('no key source: configure `issuers` or enable `consumer_credentials`');
    if (config.consumer_claim !== undefined && deps.credentials === undefined) throw new Error('`consumer_claim` needs the consumer index');
    const gate = new AuthGate('jwt', { identityHeaders: config.identity_headers, anonymous: config.anonymous, credentials: deps.credentials });
    const handler = new JwtAuth(config, gate, issuers, deps.credentials, deps.logger);
    for (const i of issuers.values()) i.jwks?.prefetch();
    return handler;
  },
});
