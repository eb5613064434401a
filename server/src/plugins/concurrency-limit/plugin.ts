/**
 * concurrency-limit: takes a slot per key in the access phase and gives it back in the log phase, which
 * runs once per request after the response finished or the client went away, so slots cannot leak
 * through early answers or aborts. With `redis`, slots are leases (sorted set scored by expiry) so a
 * node that dies holding slots frees them after `lease_ms`.
 */
import { randomBytes } from 'node:crypto';
import { definePlugin, type PluginDeps, type PluginHandler, type PluginLogger, type RequestContext } from '../types.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../../errors/registry.js';
import { defaultBackends, type LimiterBackends } from '../../limits/backends.js';
import { KeyBuilder, scopeTag } from '../../limits/keys.js';
import { ConcurrencyLimitSchema, type ConcurrencyLimitConfig } from './schema.js';

const NAME = 'concurrency-limit';
const KEY_LOCAL = 'concurrency-limit';
const MEMBER_LOCAL = 'concurrency-limit:member';
/** Members must be unique across nodes: a random process tag plus a counter (request ids may come from clients). */
const PROCESS_TAG = randomBytes(6).toString('base64url');
let sequence = 0;

function noop(): void {}

class ConcurrencyLimit implements PluginHandler {
  private readonly localPrefix: string;
  private readonly redisPrefix: string;
  private lastFaultLog = 0;
  constructor(
    private readonly config: ConcurrencyLimitConfig,
    private readonly keys: KeyBuilder,
    private readonly backends: LimiterBackends,
    private readonly logger: PluginLogger,
    tag: string,
  ) {
    this.localPrefix = `cc|${tag}|`;
    this.redisPrefix = `gh:cc:{${tag}|`;
  }

  access(ctx: RequestContext): void | Promise<void> {
    const id = this.keys.identity(ctx);
    if (this.config.policy === 'local') {
      const key = this.localPrefix + id;
      if (!this.backends.concurrency.acquire(key, this.config.max)) return this.refuse(ctx);
      ctx.locals[KEY_LOCAL] = key;
      return;
    }
    return this.acquireRedis(ctx, this.redisPrefix + id + '}');
  }

  private async acquireRedis(ctx: RequestContext, key: string): Promise<void> {
    const store = this.backends.redis;
    const member = PROCESS_TAG + ':' + ++sequence;
    // Recorded before the round trip: a client that goes away while the acquire is in flight runs the log
    // phase now, and its release (sent after the acquire on the same connection, so applied after it in
    // Redis) must still find the member, or the slot would be held until its lease ends.
    ctx.locals[KEY_LOCAL] = key;
    ctx.locals[MEMBER_LOCAL] = member;
    let got: number;
    try {
      if (store === undefined) throw new Error('REDIS_URL is not set');
      got = await store.acquire(key, this.config.max, this.config.lease_ms, member, this.config.redis_timeout_ms);
    } catch (err) {
      ctx.locals[KEY_LOCAL] = undefined;
      // A timed-out acquire may still run in a slow Redis: withdraw it (queued behind it) rather than
      // leave a slot taken until the lease ends. Nothing to do when the connection is down.
      store?.release(key, member).catch(noop);
      this.onFault(ctx, err as Error);
      return;
    }
    if (got !== 1) {
      ctx.locals[KEY_LOCAL] = undefined;
      return this.refuse(ctx);
    }
  }

  log(ctx: RequestContext): void {
    const key = ctx.locals[KEY_LOCAL];
    if (typeof key !== 'string') return;
    ctx.locals[KEY_LOCAL] = undefined; // released once, even if an acquire still in flight resolves later
    if (this.config.policy === 'local') {
      this.backends.concurrency.release(key);
      return;
    }
    // Fire and forget: the response is already sent; a failed release is reclaimed by the lease.
    this.backends.redis?.release(key, ctx.locals[MEMBER_LOCAL] as string).catch(noop);
  }

  private refuse(ctx: RequestContext): void {
    const p = problem('GW_ERR_CONCURRENCY_LIMITED', { request_id: ctx.requestId });
    ctx.errorCode = 'GW_ERR_CONCURRENCY_LIMITED';
    ctx.respond(429, JSON.stringify(p), { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', 'retry-after': '1' });
  }

  private onFault(ctx: RequestContext, err: Error): void {
    const open = this.config.fault_policy === 'fail-open';
    if (open) this.backends.failOpenCount++;
    else this.backends.failClosedCount++;
    const now = Date.now();
    if (now - this.lastFaultLog >= 5_000) {
      this.lastFaultLog = now;
      this.logger.warn({ plugin: NAME, fault_policy: this.config.fault_policy, err: err.message }, 'concurrency limit unchecked (redis unavailable)');
    }
    if (open) return;
    const p = problem('GW_ERR_RATE_LIMIT_UNAVAILABLE', { request_id: ctx.requestId });
    ctx.respond(503, JSON.stringify(p), { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', 'retry-after': '1' });
  }
}

export default definePlugin({
  name: NAME,
  description: 'Limits how many requests per key are in flight at once, per node or across nodes through Redis.',
  schema: ConcurrencyLimitSchema,
  scopes: ['global', 'service', 'route', 'consumer'],
  create: function createConcurrencyLimit(config: ConcurrencyLimitConfig, deps: PluginDeps): PluginHandler {
    const keys = new KeyBuilder(config.limit_by, config.header_name?.toLowerCase(), config.jwt_claim);
    return new ConcurrencyLimit(config, keys, deps.limiters ?? defaultBackends(), deps.logger, scopeTag(deps.attachedTo));
  },
});
