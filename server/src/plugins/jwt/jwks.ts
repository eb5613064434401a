/**
 * A remote JWK Set: fetched with undici (timeout, size cap), cached for the response's
 * `Cache-Control: max-age` clamped to [min, max] (a default when absent), replaced as a whole on each
 * fetch (rotation: removed keys stop working), and refetched on an unknown `kid` with two bounds so
 * that a flood of tokens with made-up key ids cannot become a flood of fetches:
 *   - at most one fetch in flight: concurrent callers share it;
 *   - at most one unknown-kid refetch per cooldown: in between, an unknown kid is refused at once.
 * A failed refresh keeps the last good keys (logged) rather than failing every request.
 */
import { request } from 'undici';
import type { PluginLogger } from '../types.js';
import { publicKeyFromJwk, type PinnedKey } from './jws.js';

const MAX_JWKS_BYTES = 512 * 1024;
const MAX_KEYS = 100;
const MAX_AGE = /(?:^|[,\s])max-age\s*=\s*"?(\d+)"?/i;
const NO_STORE = /(?:^|[,\s])(?:no-store|no-cache)(?:$|[,\s])/i;

export interface JwksOptions {
  uri: string;
  algorithms: readonly string[];
  timeoutMs: number;
  defaultTtlMs: number;
  minTtlMs: number;
  maxTtlMs: number;
  cooldownMs: number;
  logger: PluginLogger;
  /** Injected clock, for tests of expiry and cooldown. */
  now?: () => number;
}

export type KeyLookup = PinnedKey | 'unknown-kid' | 'ambiguous' | 'unavailable';

export class RemoteJwks {
  private byKid = new Map<string, PinnedKey>();
  private all: PinnedKey[] = [];
  private loaded = false;
  private expiresAt = 0;
  private lastFetchAt = -Infinity;
  private inflight: Promise<void> | undefined;
  private closed = false;
  private readonly abort = new AbortController();
  /** Bumped on every successful fetch, so caches of verified tokens can tell a rotation happened. */
  generation = 0;
  /** Number of fetches started (observability and tests). */
  fetches = 0;
  private readonly now: () => number;

  constructor(private readonly o: JwksOptions) {
    this.now = o.now ?? Date.now;
  }

  /** Starts the first fetch in the background so the first request rarely waits. */
  prefetch(): void {
    this.refresh().catch(() => {});
  }

  /** Synchronous when the cached set answers; a promise when a fetch is needed (and allowed). */
  lookup(kid: string | undefined, alg: string): KeyLookup | Promise<KeyLookup> {
    const now = this.now();
    if (this.loaded && now < this.expiresAt) {
      const hit = this.pick(kid, alg);
      if (hit !== 'unknown-kid') return hit;
      // Unknown kid on a fresh set: maybe the issuer rotated; refetch only when the cooldown allows.
      if (this.inflight === undefined && now - this.lastFetchAt < this.o.cooldownMs) return hit;
    } else if (this.loaded && this.inflight === undefined && now - this.lastFetchAt < this.o.cooldownMs) {
      // Expired, but the last attempt failed recently: serve the last good keys rather than hammer the issuer.
      return this.pick(kid, alg);
    } else if (!this.loaded && this.inflight === undefined && now - this.lastFetchAt < this.o.cooldownMs) {
      // Never fetched successfully and the last attempt was recent: the issuer is down; do not pile on.
      return 'unavailable';
    }
    return this.refresh().then(
      () => (this.loaded ? this.pick(kid, alg) : 'unavailable'),
      () => (this.loaded ? this.pick(kid, alg) : 'unavailable'),
    );
  }

  private pick(kid: string | undefined, alg: string): KeyLookup {
    if (kid !== undefined) {
      const k = this.byKid.get(kid);
      // Never fall back to another key when the named one is missing.
      return k === undefined ? 'unknown-kid' : k;
    }
    // No kid: only unambiguous when exactly one key of the set can serve this algorithm.
    let found: PinnedKey | undefined;
    for (const k of this.all) {
      if (!k.algorithms.has(alg)) continue;
      if (found !== undefined) return 'ambiguous';
      found = k;
    }
    return found ?? 'unknown-kid';
  }

  /** One fetch at a time; callers arriving meanwhile share it. */
  private refresh(): Promise<void> {
    if (this.inflight) return this.inflight;
    if (this.closed) return Promise.reject(new Error('closed'));
    this.lastFetchAt = this.now();
    this.fetches++;
    this.inflight = this.fetchOnce().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async fetchOnce(): Promise<void> {
    try {
      const res = await request(this.o.uri, {
        method: 'GET',
        headers: { accept: 'application/jwk-set+json, application/json' },
        // undici's request() follows no redirects: a JWKS URL that redirects is a misconfiguration.
        signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.o.timeoutMs)]),
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`HTTP ${res.statusCode}`);
      }
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of res.body as AsyncIterable<Buffer>) {
        size += c.length;
        if (size > MAX_JWKS_BYTES) throw new Error(`JWKS larger than ${MAX_JWKS_BYTES} bytes`);
        chunks.push(c);
      }
      const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { keys?: unknown };
      if (!Array.isArray(doc.keys)) throw new Error('JWKS has no `keys` array');
      const byKid = new Map<string, PinnedKey>();
      const all: PinnedKey[] = [];
      for (const raw of doc.keys.slice(0, MAX_KEYS)) {
        if (typeof raw !== 'object' || raw === null) continue;
        const k = publicKeyFromJwk(raw as Record<string, unknown>, this.o.algorithms);
        if (!k) continue;
        all.push(k);
        if (k.kid !== undefined) byKid.set(k.kid, k);
      }
      this.byKid = byKid;
      this.all = all;
      this.loaded = true;
      this.generation++;
      this.expiresAt = this.now() + this.ttlOf(res.headers['cache-control']);
    } catch (err) {
      if (!this.closed) this.o.logger.warn({ err: (err as Error).message, jwks_uri: this.o.uri }, 'JWKS fetch failed; keeping the last good keys');
      throw err;
    }
  }

  private ttlOf(cc: string | string[] | undefined): number {
    const v = Array.isArray(cc) ? cc.join(',') : cc;
    if (v === undefined) return this.o.defaultTtlMs;
    if (NO_STORE.test(v)) return this.o.minTtlMs;
    const m = MAX_AGE.exec(v);
    if (!m) return this.o.defaultTtlMs;
    return Math.min(this.o.maxTtlMs, Math.max(this.o.minTtlMs, Number(m[1]) * 1000));
  }

  close(): void {
    this.closed = true;
    this.abort.abort();
  }
}
