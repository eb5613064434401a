/**
 * rate-limiting: limits requests per key over several windows at once (GCRA by default, or a sliding
 * window counter), plus calendar quotas, in memory (`local`) or shared through Redis (`redis`).
 *
 * Scopes and "per service or total?": the global instance counts across all services (scope tag `g`);
 * a service/route/consumer instance counts only its own traffic (the tag includes the service/route
 * name) and, being more specific, replaces the global instance there, while still enforcing the global
 * limit (inherit_global) so a client over the gateway-wide limit is stopped everywhere.
 */
import type { ConsumerConfig } from '../../config/schema.js';
import { definePlugin, type PluginDeps, type PluginHandler, type PluginLogger, type RequestContext } from '../types.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../../errors/registry.js';
import { Decision, ttlMs, type WindowKind, type WindowSpec } from '../../limits/algorithms.js';
import { defaultBackends, type LimiterBackends } from '../../limits/backends.js';
import { LimitBatcher } from '../../limits/redis-store.js';
import { LEASE_DIVISOR, LeaseTable } from '../../limits/redis-lease.js';
import { KeyBuilder, scopeTag } from '../../limits/keys.js';
import { RateLimitingSchema, type RateLimitingConfig } from './schema.js';

const NAME = 'rate-limiting';
const GLOBAL_SLOT = 'rate-limiting:global';
const KIND_CODE: Record<WindowKind, number> = { gcra: 1, 'sliding-window': 2, 'quota-day': 3, 'quota-month': 4 };
const WINDOWS = [
  ['second', 1_000],
  ['minute', 60_000],
  ['hour', 3_600_000],
  ['day', 86_400_000],
] as const;
/** At most one fault log line per instance per this interval; the counters carry the totals. */
const FAULT_LOG_INTERVAL_MS = 5_000;

export function windowSpecs(config: RateLimitingConfig): WindowSpec[] {
  const specs: WindowSpec[] = [];
  for (const [name, ms] of WINDOWS) {
    const limit = config[name];
    if (limit !== undefined) specs.push({ kind: config.algorithm, name, windowMs: ms, limit });
  }
  if (config.quota_day !== undefined) specs.push({ kind: 'quota-day', name: 'quota-day', windowMs: 86_400_000, limit: config.quota_day });
  if (config.quota_month !== undefined) specs.push({ kind: 'quota-month', name: 'quota-month', windowMs: 0, limit: config.quota_month });
  return specs;
}

/** `"minute";q=100;w=60, "hour";q=1000;w=3600` — fixed per instance. The calendar month has no fixed w. */
export function policyField(specs: readonly WindowSpec[]): string {
  return specs.map((s) => `"${s.name}";q=${s.limit}${s.windowMs > 0 ? `;w=${s.windowMs / 1000}` : ''}`).join(', ');
}

function seconds(ms: number): number {
  return Math.max(0, Math.ceil(ms / 1000));
}

const TOO_MANY = 429;

class RateLimiting implements PluginHandler {
  private readonly decision: Decision;
  private readonly ttl: number;
  private readonly localPrefix: string;
  private readonly redisPrefix: string;
  private readonly keySuffix: string;
  /** Batches this limit's Redis checks per event-loop turn (one EVALSHA for all of them). */
  private readonly batcher: LimitBatcher;
  /** Units taken from Redis ahead of use (redis policy with `redis_lease` > 0); undefined otherwise. */
  private readonly leases: LeaseTable | undefined;
  private readonly policyHeader: string;
  /**
   * Counter keys of consumer-only limits, made once per consumer: a key concatenated per request is a new
   * string that each Map lookup (lease, local counter) flattens and hashes again.
   */
  private readonly keyByConsumer: WeakMap<ConsumerConfig, string> | undefined;
  /** The global instance this override also enforces: undefined until looked up, null when none. */
  private parent: RateLimiting | null | undefined;
  private lastFaultLog = 0;

  constructor(
    private readonly config: RateLimitingConfig,
    private readonly specs: readonly WindowSpec[],
    private readonly keys: KeyBuilder,
    private readonly backends: LimiterBackends,
    private readonly logger: PluginLogger,
    private readonly tag: string,
    private readonly shared: Map<string, unknown> | undefined,
    isGlobal: boolean,
  ) {
    this.decision = new Decision(specs.length);
    this.ttl = ttlMs(specs);
    // The window layout (kinds and lengths, not the counts) is part of the key: editing a count keeps the
    // clients' state, adding a window starts that window fresh instead of misreading another's state.
    const layout = specs.map((s) => `${s.kind}${s.windowMs}`).join(',');
    this.localPrefix = `${tag}|${layout}|`;
    this.redisPrefix = `gh:rl:{${tag}|`;
    this.keySuffix = `}:${specs.map((s) => `${KIND_CODE[s.kind]}:${s.windowMs}`).join(',')}`;
    const leasing = config.policy === 'redis' && config.redis_lease > 0;
    const specArgs = leasing ? [LEASE_DIVISOR, config.redis_lease] : [0, 0];
    for (const s of specs) specArgs.push(KIND_CODE[s.kind], s.windowMs, s.limit);
    const batcher = new LimitBatcher(() => backends.redis, specArgs, specs.length, config.redis_timeout_ms);
    this.batcher = batcher;
    this.leases = leasing ? new LeaseTable(config.redis_lease_ms, (key, units) => batcher.giveBack(key, units)) : undefined;
    this.policyHeader = policyField(specs);
    this.parent = isGlobal || !config.inherit_global ? null : undefined;
    this.keyByConsumer = keys.consumerOnly ? new WeakMap() : undefined;
  }

  /** The request's counter key: Redis's form for the `redis` policy, the local store's otherwise. */
  private counterKey(ctx: RequestContext): string {
    const cache = this.keyByConsumer;
    const c = ctx.consumer;
    if (cache === undefined || c === undefined) return this.makeKey(this.keys.identity(ctx));
    let key = cache.get(c);
    if (key === undefined) cache.set(c, (key = this.makeKey(this.keys.identity(ctx))));
    return key;
  }

  private makeKey(id: string): string {
    return this.config.policy !== 'local' ? this.redisPrefix + id + this.keySuffix : this.localPrefix + id;
  }

  access(ctx: RequestContext): void | Promise<void> {
    const parent = this.parent === undefined ? this.resolveParent() : this.parent;
    const key = this.counterKey(ctx);
    let d: Decision;
    if (this.config.policy !== 'local') {
      const leased = this.leases?.take(key, performance.now());
      if (leased === undefined) return this.accessRedis(ctx, key, parent);
      d = leased;
    } else {
      d = this.backends.local.consume(key, this.specs, this.ttl, 1, this.decision);
      if (!d.allowed) return this.refuse(ctx, d);
    }
    // The inherited global limit is checked before this instance's headers are set, so a refusal by it
    // carries its own headers only.
    if (parent !== null) {
      const ok = parent.enforce(ctx);
      if (ok === false) return;
      if (ok !== true) return this.headersAfter(ctx, ok, d.copy());
    }
    this.sendHeaders(ctx, d);
  }

  private async headersAfter(ctx: RequestContext, parentOk: Promise<boolean>, d: Decision): Promise<void> {
    if (await parentOk) this.sendHeaders(ctx, d);
  }

  /** Runs this (global) instance's limits for an override; answers (429/503) itself and returns false when refused. */
  enforce(ctx: RequestContext): boolean | Promise<boolean> {
    const key = this.counterKey(ctx);
    if (this.config.policy !== 'local') return this.leases?.take(key, performance.now()) !== undefined || this.checkRedis(ctx, key);
    const d = this.backends.local.consume(key, this.specs, this.ttl, 1, this.decision);
    if (d.allowed) return true;
    this.refuse(ctx, d);
    return false;
  }

  private async accessRedis(ctx: RequestContext, key: string, parent: RateLimiting | null): Promise<void> {
    const d = await this.evalRedis(ctx, key);
    if (d === null) return; // fail-closed answered
    if (d !== undefined && !d.allowed) return this.refuse(ctx, d);
    if (parent !== null && !(await parent.enforce(ctx))) return;
    if (d !== undefined) this.sendHeaders(ctx, d);
  }

  private async checkRedis(ctx: RequestContext, key: string): Promise<boolean> {
    const d = await this.evalRedis(ctx, key);
    if (d === null) return false;
    if (d === undefined || d.allowed) return true;
    this.refuse(ctx, d);
    return false;
  }

  /** The Redis decision (batched). Undefined: Redis failed and the request may pass (fail-open); null: refused with 503. */
  private async evalRedis(ctx: RequestContext, key: string): Promise<Decision | undefined | null> {
    let d: Decision;
    try {
      d = await this.batcher.consume(key);
    } catch (err) {
      return this.onFault(ctx, err as Error) ? undefined : null;
    }
    if (d.allowed && this.leases !== undefined) this.leases.add(key, d, performance.now());
    return d;
  }

  close(): void {
    this.leases?.close();
  }

  /** Fault policy; returns whether the request may continue. */
  private onFault(ctx: RequestContext, err: Error): boolean {
    const open = this.config.fault_policy === 'fail-open';
    if (open) this.backends.failOpenCount++;
    else this.backends.failClosedCount++;
    const now = Date.now();
    if (now - this.lastFaultLog >= FAULT_LOG_INTERVAL_MS) {
      this.lastFaultLog = now;
      this.logger.warn(
        { plugin: NAME, scope: this.tag, fault_policy: this.config.fault_policy, err: err.message, fail_open_total: this.backends.failOpenCount, fail_closed_total: this.backends.failClosedCount },
        open ? 'rate limit unchecked (redis unavailable); letting requests through' : 'rate limit unchecked (redis unavailable); refusing requests',
      );
    }
    if (open) return true;
    const p = problem('GW_ERR_RATE_LIMIT_UNAVAILABLE', { request_id: ctx.requestId });
    ctx.respond(503, JSON.stringify(p), { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', 'retry-after': '1' });
    return false;
  }

  /** Headers of an admitted request. */
  private sendHeaders(ctx: RequestContext, d: Decision): void {
    const c = this.config;
    if (c.ietf_headers) {
      ctx.setResponseHeader('ratelimit-policy', this.policyHeader);
      ctx.setResponseHeader('ratelimit', this.rateLimitField(d));
    }
    if (c.legacy_headers) {
      const t = d.tightest;
      ctx.setResponseHeader('x-ratelimit-limit', String(this.specs[t]!.limit));
      ctx.setResponseHeader('x-ratelimit-remaining', String(reported(d.remaining[t]!, this.specs[t]!.limit)));
      ctx.setResponseHeader('x-ratelimit-reset', String(seconds(d.resetMs[t]!)));
    }
  }

  /** The 429 with Retry-After and the limit headers. */
  private refuse(ctx: RequestContext, d: Decision): void {
    const c = this.config;
    const p = problem('GW_ERR_RATE_LIMITED', { request_id: ctx.requestId });
    const h: Record<string, string> = { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store' };
    if (c.retry_after) h['retry-after'] = String(Math.max(1, seconds(d.retryAfterMs)));
    if (c.ietf_headers) {
      h['ratelimit-policy'] = this.policyHeader;
      h['ratelimit'] = this.rateLimitField(d);
    }
    if (c.legacy_headers) {
      const t = d.tightest;
      h['x-ratelimit-limit'] = String(this.specs[t]!.limit);
      h['x-ratelimit-remaining'] = '0';
      h['x-ratelimit-reset'] = String(seconds(d.resetMs[t]!));
    }
    ctx.errorCode = 'GW_ERR_RATE_LIMITED';
    ctx.respond(TOO_MANY, JSON.stringify(p), h);
  }

  /** `"minute";r=42;t=30, "hour";r=900;t=3000` — remaining units and seconds until reset, per window. */
  private rateLimitField(d: Decision): string {
    let s = '';
    for (let i = 0; i < this.specs.length; i++) {
      if (i > 0) s += ', ';
      s += '"' + this.specs[i]!.name + '";r=' + reported(d.remaining[i]!, this.specs[i]!.limit) + ';t=' + seconds(d.resetMs[i]!);
    }
    return s;
  }

  private resolveParent(): RateLimiting | null {
    const g = this.shared?.get(GLOBAL_SLOT);
    return (this.parent = g instanceof RateLimiting ? g : null);
  }
}

/**
 * Remaining units as a client may be told them: never above the limit. At very high rates (per-unit
 * intervals under the Redis script's 0.01 ms float tolerance, i.e. over 100,000 a second) the script's
 * count carries that tolerance as a few spare units, and a lease reports its own units on top.
 */
function reported(remaining: number, limit: number): number {
  return remaining > limit ? limit : remaining;
}

export default definePlugin({
  name: NAME,
  description: 'Limits requests per consumer, credential, IP, header, JWT claim, route or service, with quotas; local or shared through Redis.',
  schema: RateLimitingSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createRateLimiting(config: RateLimitingConfig, deps: PluginDeps): PluginHandler {
    const specs = windowSpecs(config);
    if (specs.length === 0) throw new Error('set at least one of second, minute, hour, day, quota_day, quota_month');
    const keys = new KeyBuilder(config.limit_by, config.header_name?.toLowerCase(), config.jwt_claim);
    const isGlobal = deps.scope === 'global';
    const handler = new RateLimiting(config, specs, keys, deps.limiters ?? defaultBackends(), deps.logger, scopeTag(deps.attachedTo), deps.shared, isGlobal);
    if (isGlobal) deps.shared?.set(GLOBAL_SLOT, handler);
    return handler;
  },
});
