/**
 * Reads (and purges) the data plane's resilience state through the runtime, and renders it for the
 * admin API: the full view, Kong's per-upstream health answer, and Prometheus metrics.
 */
import { Inject, Injectable } from '@nestjs/common';
import { healthchecksEnabled } from '../../resilience/health.js';
import { GatewayError } from '../../errors/registry.js';
import { renderPrometheus, type MetricFamily, type Sample } from '../../observability/prometheus.js';
import type { ResilienceView } from '../../proxy/resilience-view.js';
import type { ProxyCacheStats } from '../../plugins/proxy-cache/plugin.js';
import { KEY_SHAPE } from '../../plugins/proxy-cache/store.js';
import type { GatewayRuntime } from '../../runtime/gateway-runtime.js';
import { trafficMetrics } from '../../traffic/index.js';
import { ADMIN_RUNTIME } from '../admin-env.js';
import { AdminEventBus } from './event-bus.js';
import { AdminMetrics } from './admin-metrics.js';


export type AdminResilienceView = ResilienceView & { events: { subscribers: number; published: number; dropped: number } };

export type TargetHealthName = 'HEALTHY' | 'UNHEALTHY' | 'HEALTHCHECKS_OFF';

export interface UpstreamTargetHealth {
  target: string;
  weight: number;
  health: TargetHealthName;
  upstream: string;
  reason?: string;
  since?: number;
  checks?: string;
}

const STATE_VALUE = { closed: 0, 'half-open': 1, open: 2 } as const;

@Injectable()
export class ResilienceService {
  constructor(
    @Inject(ADMIN_RUNTIME) private readonly runtime: GatewayRuntime,
    private readonly bus: AdminEventBus,
  ) {
    this.adminMetrics = new AdminMetrics(runtime);
  }

  private readonly adminMetrics: AdminMetrics;

  async view(): Promise<AdminResilienceView> {
    return { ...(await this.runtime.resilience()), events: { subscribers: this.bus.subscribers, published: this.bus.published, dropped: this.bus.dropped } };
  }

  /**
   * Kong's `GET /upstreams/{name}/health`: every configured target with HEALTHY/UNHEALTHY, or
   * HEALTHCHECKS_OFF when the upstream checks nothing. A target the data plane does not track (yet) counts
   * as healthy, as Kong's do before their first check.
   */
  async upstreamHealth(name: string): Promise<{ node_id: string; total: number; data: UpstreamTargetHealth[] }> {
    const upstream = this.runtime.currentDocument().upstreams.find((u) => u.name === name);
    if (!upstream) throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `no upstream '${name}'`);
    const checked = healthchecksEnabled(upstream.healthchecks);
    const states = checked ? new Map((await this.runtime.resilience()).targets.filter((t) => t.upstream === name).map((t) => [t.target, t])) : new Map();
    const data = upstream.targets.map((t): UpstreamTargetHealth => {
      if (!checked) return { target: t.target, weight: t.weight, health: 'HEALTHCHECKS_OFF', upstream: name };
      const s = states.get(t.target);
      if (!s) return { target: t.target, weight: t.weight, health: 'HEALTHY', upstream: name };
      return { target: t.target, weight: t.weight, health: s.up ? 'HEALTHY' : 'UNHEALTHY', upstream: name, reason: s.reason, since: s.since, checks: s.checks };
    });
    return { node_id: this.runtime.status().node_id, total: data.length, data };
  }

  async cacheStats(): Promise<ProxyCacheStats> {
    return (await this.runtime.resilience()).cache;
  }

  async purgeAll(): Promise<{ purged: number }> {
    return { purged: await this.runtime.purgeCache() };
  }

  async purgeKey(key: string): Promise<{ purged: number }> {
    if (!KEY_SHAPE.test(key)) {
      throw new GatewayError('GW_ERR_BAD_REQUEST', 'a cache key is 64 lower-case hex digits (the X-Cache-Key response header)', [{ path: '/params/key', message: 'expected ^[0-9a-f]{64}$' }]);
    }
    const purged = await this.runtime.purgeCache(key);
    if (purged === 0) throw new GatewayError('GW_ERR_ADMIN_NOT_FOUND', `nothing cached under '${key}'`);
    return { purged };
  }

  /**
   * Three parts, one exposition: the resilience and traffic families (rendered from the data plane's
   * view), this thread's prom-client registry (config reloads, process), and the proxy thread's request
   * metrics (its own prom-client registry, read through the worker). Metric names are disjoint.
   */
  async metrics(): Promise<string> {
    const [v, proxy, admin] = await Promise.all([this.runtime.resilience(), this.runtime.metricsText(), this.adminMetrics.text()]);
    const status = this.runtime.status();
    return renderPrometheus(resilienceMetrics(v, status, { subscribers: this.bus.subscribers, dropped: this.bus.dropped })) + admin + proxy;
  }
}

function sumBy<T>(items: readonly T[], key: (t: T) => string, values: (t: T) => Record<string, number>): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const it of items) {
    const k = key(it);
    const acc = out.get(k) ?? {};
    for (const [name, n] of Object.entries(values(it))) acc[name] = (acc[name] ?? 0) + n;
    out.set(k, acc);
  }
  return out;
}

/** The families `/metrics` serves; exported so issue 7's collector can include them. */
export function resilienceMetrics(
  v: ResilienceView,
  status: { requests_total: number; connections: { active: number; total: number }; config_version: number },
  events: { subscribers: number; dropped: number },
): MetricFamily[] {
  const calls: Sample[] = [];
  for (const [group, c] of sumBy(v.breakers, (b) => b.group, (b) => ({ success: b.window.successes, failure: b.window.failures, rejected: b.window.rejects }))) {
    for (const outcome of ['success', 'failure', 'rejected']) calls.push({ labels: { group, outcome }, value: c[outcome] ?? 0 });
  }
  return [
    {
      name: 'gatehouse_circuit_breaker_state',
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      type: 'gauge',
      samples: v.breakers.map((b) => ({ labels: { breaker: b.id, group: b.group }, value: STATE_VALUE[b.state] })),
    },
    {
      name: 'gatehouse_circuit_breaker_transitions_total',
      help: 'Circuit breaker transitions by target state, since the proxy thread started.',
      type: 'counter',
      samples: v.breaker_transitions.map((t) => ({ labels: { group: t.group, to: t.to }, value: t.count })),
    },
    { name: 'gatehouse_circuit_breaker_calls', help: "Calls in the breakers' rolling windows, by outcome.", type: 'gauge', samples: calls },
    {
      name: 'gatehouse_target_up',
      help: 'Upstream target health (targets of upstreams with health checks): 1 up, 0 ejected.',
      type: 'gauge',
      samples: v.targets.map((t) => ({ labels: { upstream: t.upstream, target: t.target }, value: t.up ? 1 : 0 })),
    },
    { name: 'gatehouse_proxy_cache_hits_total', help: 'Requests answered from the proxy cache.', type: 'counter', samples: [{ value: v.cache.hits }] },
    { name: 'gatehouse_proxy_cache_misses_total', help: 'Cacheable requests not found in the proxy cache.', type: 'counter', samples: [{ value: v.cache.misses }] },
    { name: 'gatehouse_proxy_cache_entries', help: "Responses in the proxy thread's memory cache.", type: 'gauge', samples: [{ value: v.cache.entries }] },
    { name: 'gatehouse_proxy_cache_bytes', help: "Bytes in the proxy thread's memory cache.", type: 'gauge', samples: [{ value: v.cache.bytes }] },
    {
      name: 'gatehouse_load_shed_total',
      help: 'Requests refused by load-shedding, by reason.',
      type: 'counter',
      samples: [
        { labels: { reason: 'overloaded' }, value: v.load_shedding.overloaded },
        { labels: { reason: 'concurrency' }, value: v.load_shedding.concurrency },
      ],
    },
    {
      name: 'gatehouse_request_size_rejected_total',
      help: 'Requests refused by request-size-limiting, by reason.',
      type: 'counter',
      samples: [
        { labels: { reason: 'declared' }, value: v.request_size.declared },
        { labels: { reason: 'streamed' }, value: v.request_size.streamed },
        { labels: { reason: 'length_required' }, value: v.request_size.length_required },
      ],
    },
    {
      name: 'gatehouse_limits_store_failures_total',
      help: 'Requests whose redis-policy limit could not be checked, by what was done (fail_open: let through, fail_closed: refused).',
      type: 'counter',
      samples: [
        { labels: { mode: 'fail_open' }, value: v.limits_store.fail_open },
        { labels: { mode: 'fail_closed' }, value: v.limits_store.fail_closed },
      ],
    },
    { name: 'gatehouse_requests_total', help: 'Requests the proxy received.', type: 'counter', samples: [{ value: status.requests_total }] },
    { name: 'gatehouse_connections_active', help: 'Open client connections of the proxy.', type: 'gauge', samples: [{ value: status.connections.active }] },
    { name: 'gatehouse_config_version', help: 'Config version the proxy serves.', type: 'gauge', samples: [{ value: status.config_version }] },
    { name: 'gatehouse_admin_event_subscribers', help: 'Live event (SSE) subscribers of this admin node.', type: 'gauge', samples: [{ value: events.subscribers }] },
    { name: 'gatehouse_admin_events_dropped_total', help: 'Live events dropped because a subscriber could not keep up.', type: 'counter', samples: [{ value: events.dropped }] },
    ...trafficMetrics(v.traffic),
  ];
}
