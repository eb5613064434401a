/**
 * load-shedding: the cheapest refusal the gateway has. While the proxy thread is saturated, answering 503
 * at once costs far less than proxying, and keeps latency bounded for the requests still admitted. The
 * access phase reads one boolean (set by the sampler in monitor.ts) and, with max_concurrent_requests,
 * one counter per route.
 *
 * In-flight counts are kept per route name in this thread, not per instance: a config change builds new
 * instances while the old snapshot's requests are still running, and the cap must count those too. The
 * counter object is remembered in the request's locals and decremented in the log phase, which runs
 * exactly once per request (finished, answered early or aborted), so a slot cannot leak.
 */
import { definePlugin, type PluginHandler, type RequestContext } from '../types.js';
import { problem, PROBLEM_CONTENT_TYPE } from '../../errors/registry.js';
import { loadMonitor, type LoadMonitor, type LoadSample, type LoadWatcher } from './monitor.js';
import { LoadSheddingSchema, type LoadSheddingConfig } from './schema.js';

const NAME = 'load-shedding';

interface InFlight {
  n: number;
}

const inFlightByRoute = new Map<string, InFlight>();

/** Requests refused so far by this thread, by reason; read by metrics. */
export const loadSheddingStats = { overloaded: 0, concurrency: 0 };

/** Requests of `route` in flight that took a load-shedding slot (0 when unknown). */
export function inFlight(route: string): number {
  return inFlightByRoute.get(route)?.n ?? 0;
}

function counterFor(route: string): InFlight {
  let c = inFlightByRoute.get(route);
  if (c === undefined) inFlightByRoute.set(route, (c = { n: 0 }));
  return c;
}

class LoadShedding implements PluginHandler, LoadWatcher {
  /** Set by the sampler; the access phase only reads it. */
  overloaded = false;
  private readonly retryAfter: string;
  private readonly maxDelay: number;
  private readonly maxHeap: number;
  private readonly maxRss: number;
  private readonly maxConcurrent: number;

  constructor(
    config: LoadSheddingConfig,
    private readonly monitor: LoadMonitor,
  ) {
    this.retryAfter = String(config.retry_after_seconds);
    // Infinity for an unset threshold keeps onSample branch-free and never trips.
    this.maxDelay = config.max_event_loop_delay_ms ?? Infinity;
    this.maxHeap = config.max_heap_used_ratio ?? Infinity;
    this.maxRss = config.max_rss_mb ?? Infinity;
    this.maxConcurrent = config.max_concurrent_requests ?? Infinity;
  }

  onSample(s: LoadSample): void {
    this.overloaded = s.eventLoopDelayMs > this.maxDelay || s.heapUsedRatio > this.maxHeap || s.rssMb > this.maxRss;
  }

  access(ctx: RequestContext): void {
    if (this.overloaded) {
      loadSheddingStats.overloaded++;
      return this.shed(ctx, 'the gateway is overloaded');
    }
    if (this.maxConcurrent === Infinity) return;
    const c = counterFor(ctx.route!.name);
    if (c.n >= this.maxConcurrent) {
      loadSheddingStats.concurrency++;
      return this.shed(ctx, 'too many requests in flight on this route');
    }
    c.n++;
    ctx.locals[NAME] = c;
  }

  log(ctx: RequestContext): void {
    const c = ctx.locals[NAME] as InFlight | undefined;
    if (c === undefined) return;
    ctx.locals[NAME] = undefined;
    c.n--;
  }

  close(): void {
    this.monitor.unwatch(this);
  }

  private shed(ctx: RequestContext, detail: string): void {
    const p = problem('GW_ERR_OVERLOADED', { request_id: ctx.requestId, detail });
    ctx.respond(503, JSON.stringify(p), { 'content-type': PROBLEM_CONTENT_TYPE, 'cache-control': 'no-store', 'retry-after': this.retryAfter });
  }
}

export default definePlugin({
  name: NAME,
  description: 'Answers 503 at once while the proxy is overloaded (event-loop delay, memory) or a route has too many requests in flight.',
  schema: LoadSheddingSchema,
  scopes: ['global', 'service', 'route'],
  create: function createLoadShedding(config: LoadSheddingConfig): PluginHandler {
    const watchesLoad = config.max_event_loop_delay_ms !== undefined || config.max_heap_used_ratio !== undefined || config.max_rss_mb !== undefined;
    if (!watchesLoad && config.max_concurrent_requests === undefined) {
      throw new Error('set at least one of max_event_loop_delay_ms, max_heap_used_ratio, max_rss_mb, max_concurrent_requests');
    }
    const monitor = loadMonitor();
    const handler = new LoadShedding(config, monitor);
    if (watchesLoad) monitor.watch(handler);
    return handler;
  },
});
