/**
 * The resilience state of the thread that runs the proxy, read from its process-wide registries
 * (breakers, target health, cache, shedding and size-limit counters, traffic-split and mirror counters)
 * as one structured-clonable value, plus a feed of its transitions as GatewayEvents. Both proxy planes use it: in-process directly, the
 * worker to answer the control thread.
 */
import { BREAKERS, type BreakerStateName, type BreakerView } from '../resilience/circuit-breaker.js';
import { healthRegistry, type HealthTransition, type TargetHealthState } from '../resilience/health.js';
import { proxyCacheStats, purgeProxyCache, type ProxyCacheStats } from '../plugins/proxy-cache/plugin.js';
import { loadSheddingStats } from '../plugins/load-shedding/plugin.js';
import { requestSizeStats } from '../plugins/request-size-limiting/plugin.js';
import { defaultBackends } from '../limits/backends.js';
import type { EventListener } from '../observability/events.js';
import { trafficView, type TrafficView } from '../traffic/index.js';

// Read and cleared in the proxy thread like the cache: the planes answer with these.
export { clearShadowSamples, shadowSamples, type ShadowSample } from '../traffic/index.js';

export interface BreakerTransitionCount {
  group: string;
  to: BreakerStateName;
  count: number;
}

export interface ResilienceView {
  breakers: BreakerView[];
  /**
   * Transitions per group and target state since the thread started. Kept apart from `breakers` because
   * a breaker released by the last snapshot disappears with its own counts, and a counter must not go back.
   */
  breaker_transitions: BreakerTransitionCount[];
  targets: TargetHealthState[];
  cache: ProxyCacheStats;
  load_shedding: { overloaded: number; concurrency: number };
  request_size: { declared: number; streamed: number; length_required: number };
  /** Requests a `redis`-policy limit let through (fail_open) or refused (fail_closed) because Redis failed. */
  limits_store: { fail_open: number; fail_closed: number };
  /** traffic-split requests per attachment and service; mirror and shadow-comparison counters per route. */
  traffic: TrafficView;
}

const transitionTotals = new Map<string, BreakerTransitionCount>();
// Installed once per thread, at import: the counts must include transitions nobody was watching.
BREAKERS.onTransition(function countTransition(t) {
  const k = `${t.group}\n${t.to}`;
  const c = transitionTotals.get(k);
  if (c) c.count++;
  else transitionTotals.set(k, { group: t.group, to: t.to, count: 1 });
});

export function resilienceView(): ResilienceView {
  const limits = defaultBackends();
  return {
    breakers: BREAKERS.list(),
    breaker_transitions: [...transitionTotals.values()].map((c) => ({ ...c })),
    targets: healthRegistry.list(),
    cache: proxyCacheStats(),
    load_shedding: { overloaded: loadSheddingStats.overloaded, concurrency: loadSheddingStats.concurrency },
    request_size: { declared: requestSizeStats.declared, streamed: requestSizeStats.streamed, length_required: requestSizeStats.length_required },
    limits_store: { fail_open: limits.failOpenCount, fail_closed: limits.failClosedCount },
    traffic: trafficView(),
  };
}

export function purgeCache(key?: string): Promise<number> {
  return purgeProxyCache(key);
}

/** Breaker and target-health transitions of this thread, as events; returns the unsubscribe function. */
export function subscribeResilienceEvents(listener: EventListener): () => void {
  // The registries call listeners inside the transition itself: a throwing listener must not break it.
  const deliver: EventListener = (e) => {
    try {
      listener(e);
    } catch {
      // The event is lost for this listener only.
    }
  };
  const offBreakers = BREAKERS.onTransition((t) => deliver({ kind: 'circuit-breaker', at: t.at, group: t.group, breaker: t.id, from: t.from, to: t.to }));
  const onHealth = (t: HealthTransition) => deliver({ kind: 'target-health', at: t.at, upstream: t.upstream, target: t.target, up: t.up, reason: t.reason });
  healthRegistry.on('transition', onHealth);
  return () => {
    offBreakers();
    healthRegistry.off('transition', onHealth);
  };
}
