/**
 * circuit-breaker: guards the route's upstream exchange with the breaker of its target group
 * (resilience/circuit-breaker.ts) and applies the route's strategy while the breaker is open.
 */
import type { OutgoingHttpHeaders } from 'node:http';
import { definePlugin, type GuardedExchange, type PluginHandler, type RequestContext, type UpstreamFailureKind, type UpstreamGuard } from '../types.js';
import { CircuitBreakerSchema, type CircuitBreakerConfig } from './schema.js';
import { Admission, BREAKERS, UPSTREAM_FAILED, type BreakerSettings, type ServiceBreaker } from '../../resilience/circuit-breaker.js';
import { LAST_GOOD_MEMORY, LastGoodCollector, RedisLastGoodStore, type LastGoodStore, type StoredResponse } from '../../resilience/last-good.js';
import { IDEMPOTENT_METHODS } from '../../proxy/upstream-pool.js';
import { defaultBackends, type LimiterBackends } from '../../limits/backends.js';

export const STALE_HEADER = 'x-gatehouse-stale';
export const FALLBACK_HEADER = 'x-gatehouse-fallback';
const STALE_WARNING = '110 gatehouse "Response is Stale"';

/** Per request: the admission plus the retry strategy's progress. */
class GuardState extends Admission {
  deadline = 0;
  step = 0;
  constructor(
    exchange: GuardedExchange,
    readonly breaker: ServiceBreaker,
  ) {
    super(exchange);
  }
}

class BreakerGuard implements UpstreamGuard, PluginHandler {
  private readonly breakers = new Map<string, ServiceBreaker>();
  private readonly settings: BreakerSettings;
  private readonly failureStatuses: ReadonlySet<number>;
  private readonly store: LastGoodStore | undefined;

  constructor(
    private readonly cfg: CircuitBreakerConfig,
    store: LastGoodStore | undefined,
  ) {
    this.settings = {
      errorThresholdPercentage: cfg.error_threshold_percentage,
      volumeThreshold: cfg.volume_threshold,
      rollingWindowMs: cfg.rolling_window,
      rollingBuckets: cfg.rolling_buckets,
      resetTimeoutMs: cfg.reset_timeout,
    };
    this.failureStatuses = new Set(cfg.failure_statuses);
    this.store = store;
  }

  upstream(ctx: RequestContext): void {
    ctx.guardUpstream(this);
  }

  /** The breaker of a target group, taken from the registry the first time this instance sees the group. */
  breakerFor(group: string): ServiceBreaker {
    let b = this.breakers.get(group);
    if (b === undefined) {
      b = BREAKERS.acquire(group, this.settings);
      this.breakers.set(group, b);
    }
    return b;
  }

  enter(ex: GuardedExchange): void {
    const b = this.breakerFor(ex.serviceGroup);
    if (b.isClosed) return this.goThrough(ex, b);
    const state = new GuardState(ex, b);
    ex.guardState = state;
    if (b.tryAdmit(state)) {
      this.collect(ex);
      return;
    }
    this.whenOpen(ex, b, state);
  }

  /** The breaker is closed: send the request with no admission object (the common case, allocation-free). */
  goThrough(ex: GuardedExchange, b: ServiceBreaker): void {
    ex.guardState = b;
    ex.proceed();
    this.collect(ex);
  }

  settle(ex: GuardedExchange, status: number, failure: UpstreamFailureKind | undefined): void {
    const state = ex.guardState;
    ex.guardState = undefined;
    let failed: boolean;
    if (failure === undefined) failed = this.failureStatuses.has(status);
    else if (failure === 'client-abort') failed = false;
    else if (failure === 'timeout') failed = this.cfg.timeouts_are_failures;
    else failed = true;
    if (state instanceof GuardState) {
      if (!state.pending) return;
      if (failure === 'client-abort') state.breaker.abandon(state);
      else if (failed) state.reject(UPSTREAM_FAILED);
      else state.resolve();
      return;
    }
    // Let through while closed. A client that went away proves nothing either way.
    if (state === undefined || failure === 'client-abort') return;
    const b = state as ServiceBreaker;
    if (failed) b.recordFailure();
    else b.recordSuccess();
  }

  /** The breaker refused the request: apply the route's strategy. */
  whenOpen(ex: GuardedExchange, b: ServiceBreaker, state: GuardState): void {
    switch (this.cfg.strategy) {
      case 'retry':
        return this.retryLater(ex, b, state);
      case 'serve-stale':
        return this.serveStale(ex, b);
      case 'fallback':
        ex.setResponseHeader(FALLBACK_HEADER, this.cfg.fallback_service!);
        if (!ex.proceedTo(this.cfg.fallback_service!)) {
          ex.removeResponseHeader(FALLBACK_HEADER);
          this.failOpen(ex, b);
        }
        return;
      default:
        return this.failOpen(ex, b);
    }
  }

  failOpen(ex: GuardedExchange, b: ServiceBreaker): void {
    ex.fail('GW_ERR_CIRCUIT_OPEN', `the circuit breaker of '${b.group}' is open`, { 'retry-after': String(b.retryAfterSeconds()) });
  }

  private retryLater(ex: GuardedExchange, b: ServiceBreaker, state: GuardState): void {
    if (!this.cfg.retry_non_idempotent && !IDEMPOTENT_METHODS.has(ex.method)) return this.failOpen(ex, b);
    const now = Date.now();
    if (state.deadline === 0) state.deadline = now + this.cfg.retry_budget;
    const remaining = state.deadline - now;
    if (remaining <= 0) return this.failOpen(ex, b);
    // Full jitter (a random wait up to the exponential step) spreads the callers that queued during the
    // outage, so they do not arrive at the half-open breaker together.
    const step = Math.min(this.cfg.retry_max_delay, this.cfg.retry_base_delay * 2 ** state.step++);
    setTimeout(retryAdmission, Math.min(remaining, Math.random() * step), this, ex, b, state);
  }

  /** Copies successful GET responses while the breaker admits requests (serve-stale only). */
  collect(ex: GuardedExchange): void {
    if (this.store === undefined || ex.method !== 'GET') return;
    const key = staleKey(ex);
    if (key !== undefined) ex.tapResponse(new LastGoodCollector(this.store, key, this.cfg.stale_max_body_size, this.cfg.stale_ttl));
  }

  private serveStale(ex: GuardedExchange, b: ServiceBreaker): void {
    const key = ex.method === 'GET' || ex.method === 'HEAD' ? staleKey(ex) : undefined;
    if (key === undefined || this.store === undefined) return this.failOpen(ex, b);
    const hit = this.store.get(key);
    if (hit === undefined || !('then' in hit)) return this.answerStale(ex, b, hit);
    hit.then(
      (r) => this.answerStale(ex, b, r),
      () => this.answerStale(ex, b, undefined),
    );
  }

  private answerStale(ex: GuardedExchange, b: ServiceBreaker, r: StoredResponse | undefined): void {
    if (ex.finished) return;
    if (r === undefined) return this.failOpen(ex, b);
    const headers: OutgoingHttpHeaders = { ...r.headers };
    headers.age = String(Math.max(0, Math.floor((Date.now() - r.storedAt) / 1000)));
    headers.warning = STALE_WARNING;
    headers[STALE_HEADER] = 'circuit-open';
    ex.answer(r.status, ex.method === 'HEAD' ? undefined : r.body, headers);
  }

  close(): void {
    for (const b of this.breakers.values()) BREAKERS.release(b);
    this.breakers.clear();
  }
}

function retryAdmission(guard: BreakerGuard, ex: GuardedExchange, b: ServiceBreaker, state: GuardState): void {
  if (ex.finished) return;
  if (b.isClosed) return guard.goThrough(ex, b);
  if (b.tryAdmit(state)) {
    guard.collect(ex);
    return;
  }
  guard.whenOpen(ex, b, state);
}

/**
 * The request key of a stored copy: route, consumer, host, path and query. Requests that carry
 * credentials the gateway did not resolve to a consumer (a cookie, an Authorization the upstream checks)
 * may get a personal answer, so they are neither stored nor served.
 */
function staleKey(ex: GuardedExchange): string | undefined {
  const consumer = ex.consumer?.username;
  if (consumer === undefined && (ex.req.headers.authorization !== undefined || ex.req.headers.cookie !== undefined)) return undefined;
  return `${ex.route!.name}|${consumer ?? ''}|${ex.host}|${ex.path}?${ex.query}`;
}

export default definePlugin({
  name: 'circuit-breaker',
  description: 'Stops calling a failing upstream and fails fast, retries with backoff, serves the last good response or uses a fallback service meanwhile.',
  schema: CircuitBreakerSchema,
  scopes: ['global', 'service', 'route'],
  create: function createCircuitBreaker(cfg, deps) {
    if (cfg.strategy === 'fallback' && cfg.fallback_service === undefined) throw new Error('strategy `fallback` needs `fallback_service`');
    if (cfg.retry_max_delay < cfg.retry_base_delay) throw new Error('retry_max_delay must not be below retry_base_delay');
    let store: LastGoodStore | undefined;
    if (cfg.strategy === 'serve-stale') {
      const limiters: LimiterBackends = deps.limiters ?? defaultBackends();
      store = cfg.stale_store === 'redis' ? new RedisLastGoodStore(() => limiters.redis?.client, deps.logger) : LAST_GOOD_MEMORY;
    }
    const guard = new BreakerGuard(cfg, store);
    // Take the breakers now rather than at the first request: the new snapshot then holds them before the
    // old one is retired, so a config change never resets an open breaker.
    const groups = deps.serviceGroups;
    if (groups !== undefined) {
      const only = deps.attachedTo?.service ?? deps.route?.service;
      if (only !== undefined) {
        const g = groups.get(only);
        if (g !== undefined) guard.breakerFor(g);
      } else for (const g of new Set(groups.values())) guard.breakerFor(g);
    }
    return guard;
  },
});
