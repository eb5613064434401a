/**
 * basic-auth (RFC 7617): `Authorization: Basic base64(user-id ":" password)`, UTF-8. The credential is
 * found by user name in the snapshot's credential index and the password checked against its scrypt hash
 * (auth/secrets.ts) on the libuv thread pool, so the event loop never runs scrypt.
 *
 * scrypt is slow on purpose (tens of ms), so:
 * - successful verifications are cached per snapshot in a bounded LRU keyed by HMAC(pepper, user:password):
 *   the cache never holds a password, and a wrong password can never hit an entry of the right one;
 * - concurrent requests with the same (uncached) credentials share one verification;
 * - an UNKNOWN user name still costs one scrypt verification against a dummy hash, so response timing
 *   does not tell which user names exist.
 * Expiry is checked on every request, cached or not; revocation builds a new snapshot (fresh cache).
 */
import { randomBytes } from 'node:crypto';
import { AuthGate } from '../../auth/gate.js';
import { credentialStatus, type CredentialIndex, type IndexedCredential } from '../../auth/credential-index.js';
import { verifyPassword, type ParsedScrypt } from '../../auth/secrets.js';
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { BasicAuthSchema, type BasicAuthConfig } from './schema.js';

/**
 * Never matches (random salt and hash); same parameters as hashPassword, so verifying against it costs
 * what verifying a real password costs.
 */
export const DUMMY: ParsedScrypt = { N: 16_384, r: 8, p: 1, salt: randomBytes(16), hash: randomBytes(32) };

const UTF8 = new TextDecoder('utf-8', { fatal: true });
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export interface BasicCredentials {
  user: string;
  password: string;
}

/**
 * Parses an Authorization value. undefined: another scheme (not ours; another auth plugin may handle it);
 * null: the Basic scheme with a malformed token (not base64, not UTF-8, no `:`).
 */
export function parseBasic(value: string): BasicCredentials | undefined | null {
  // RFC 7235: the scheme is case-insensitive and followed by at least one space.
  if (value.length < 6 || value.charCodeAt(5) !== 32 || value.slice(0, 5).toLowerCase() !== 'basic') return undefined;
  const token = value.slice(6).trim();
  if (token.length === 0 || token.length % 4 !== 0 || !BASE64.test(token)) return null;
  let decoded: string;
  try {
    decoded = UTF8.decode(Buffer.from(token, 'base64'));
  } catch {
    return null;
  }
  // RFC 7617 §2: the user-id cannot contain ':', so the first colon separates it from the password.
  const colon = decoded.indexOf(':');
  if (colon === -1) return null;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

type Outcome = IndexedCredential | 'expired' | undefined;

export class BasicAuth implements PluginHandler {
  private readonly cache: Map<string, IndexedCredential> | undefined;
  /** In-flight verifications by cache key: a burst of identical requests pays one scrypt. */
  private readonly pending = new Map<string, Promise<Outcome>>();
  /** scrypt verifications run (real and dummy); read by the tests. */
  private scrypts = 0;

  constructor(
    private readonly cfg: BasicAuthConfig,
    private readonly gate: AuthGate,
    private readonly index: CredentialIndex,
  ) {
    this.cache = cfg.cache_size > 0 ? new Map() : undefined;
  }

  access(ctx: RequestContext): void | Promise<void> {
    if (!this.gate.begin(ctx)) return;
    const headers = ctx.req.headers;
    let header = 'authorization';
    let parsed = typeof headers.authorization === 'string' ? parseBasic(headers.authorization) : undefined;
    if (parsed === undefined && typeof headers['proxy-authorization'] === 'string') {
      header = 'proxy-authorization';
      parsed = parseBasic(headers['proxy-authorization']);
    }
    if (parsed === undefined) return this.gate.fail(ctx, 'GW_ERR_AUTH_MISSING', 'no Basic credentials in Authorization', true);
    if (parsed === null) return this.gate.fail(ctx, 'GW_ERR_AUTH_INVALID', 'malformed Basic credentials', false);
    if (this.cfg.hide_credentials) ctx.removeUpstreamHeader(header);

    // The user name cannot contain ':', so `user:password` is unambiguous.
    const key = this.index.keyedHash(`${parsed.user}:${parsed.password}`);
    const cache = this.cache;
    const hit = cache?.get(key);
    if (hit !== undefined) {
      // LRU: move to the most recent end (Map iteration order is insertion order).
      cache!.delete(key);
      cache!.set(key, hit);
      return this.finish(ctx, hit);
    }
    let p = this.pending.get(key);
    if (p === undefined) {
      p = this.verify(parsed.user, parsed.password, key);
      this.pending.set(key, p);
      // Only on a cache miss, which costs a scrypt anyway: the closure is not on the fast path.
      void p.finally(() => this.pending.delete(key));
    }
    return p.then((o) => this.finish(ctx, o));
  }

  private async verify(user: string, password: string, key: string): Promise<Outcome> {
    const candidates = this.index.find('basic-auth', user);
    let expired = false;
    let verified = false;
    // Two credentials share a user name only during a rotation's overlap; each is checked.
    for (const c of candidates) {
      if (c.password === undefined) continue;
      verified = true;
      if (!(await this.scrypt(password, c.password))) continue;
      const status = credentialStatus(c, Date.now());
      if (status === 'ok') {
        const cache = this.cache;
        if (cache !== undefined) {
          if (cache.size >= this.cfg.cache_size) cache.delete(cache.keys().next().value!);
          cache.set(key, c);
        }
        return c;
      }
      if (status === 'expired') expired = true;
    }
    // Unknown user: the same scrypt cost as a known one, so timing does not reveal which names exist.
    if (!verified) await this.scrypt(password, DUMMY);
    return expired ? 'expired' : undefined;
  }

  /** Every scrypt verification goes through here, so the count the tests read cannot miss one. */
  private scrypt(password: string, hash: ParsedScrypt): Promise<boolean> {
    this.scrypts++;
    return verifyPassword(password, hash);
  }

  private finish(ctx: RequestContext, o: Outcome): void {
    if (o === undefined) return this.gate.fail(ctx, 'GW_ERR_AUTH_INVALID', 'invalid user name or password', false);
    if (o === 'expired') return this.gate.fail(ctx, 'GW_ERR_AUTH_EXPIRED', 'the credentials have expired', false);
    // A cached credential may have expired since it was verified.
    const status = credentialStatus(o, Date.now());
    if (status === 'expired') return this.gate.fail(ctx, 'GW_ERR_AUTH_EXPIRED', 'the credentials have expired', false);
    if (status === 'revoked') return this.gate.fail(ctx, 'GW_ERR_AUTH_INVALID', 'invalid user name or password', false);
    this.gate.success(ctx, o.consumer, o);
  }

  /** For tests: number of cached verifications. */
  get cached(): number {
    return this.cache?.size ?? 0;
  }

  /** For tests: scrypt verifications run so far, the dummy one for unknown users included. */
  get verifications(): number {
    return this.scrypts;
  }
}

export const basicAuthPlugin = definePlugin({
  name: 'basic-auth',
  description: 'Authenticates consumers by user name and password (HTTP Basic, RFC 7617).',
  schema: BasicAuthSchema,
  scopes: ['global', 'service', 'route'],
  create: function createBasicAuth(config, deps) {
    const index = deps.credentials;
    if (index === undefined) throw new Error('basic-auth needs the credential index');
    const gate = new AuthGate('basic-auth', {
      identityHeaders: config.identity_headers,
      anonymous: config.anonymous,
      credentials: index,
      challenge: `Basic realm="${config.realm}", charset="UTF-8"`,
    });
    return new BasicAuth(config, gate, index);
  },
});

export default basicAuthPlugin;
