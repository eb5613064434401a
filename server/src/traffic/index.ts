/**
 * What the traffic module exposes to the rest of the gateway: the state of traffic-split and mirror (read
 * in the proxy thread, structured-clonable) and its Prometheus families for /metrics.
 */
import type { MetricFamily, Sample } from '../observability/prometheus.js';
import { shadowStats, type ShadowRouteStats } from './shadow-store.js';
import { trafficSplitStats, type SplitStat } from './split-stats.js';

export { clearShadowSamples, shadowSamples, shadowStats, type ShadowRouteStats, type ShadowSample } from './shadow-store.js';
export { trafficSplitStats, type SplitStat } from './split-stats.js';
export type { Difference, ResponseSide } from './compare.js';

/** Counters of the proxy thread, as one value (e.g. a field of the resilience view). */
export interface TrafficView {
  split: SplitStat[];
  shadow: ShadowRouteStats[];
}

export function trafficView(): TrafficView {
  return { split: trafficSplitStats(), shadow: shadowStats() };
}

const MISMATCH_KINDS = ['status', 'headers', 'body', 'latency'] as const;

export function trafficMetrics(v: TrafficView): MetricFamily[] {
  const per = (pick: (s: ShadowRouteStats) => number): Sample[] => v.shadow.map((s) => ({ labels: { route: s.route, shadow_service: s.shadow_service }, value: pick(s) }));
  const mismatches: Sample[] = [];
  for (const s of v.shadow) {
    for (const kind of MISMATCH_KINDS) mismatches.push({ labels: { route: s.route, shadow_service: s.shadow_service, kind }, value: s[`mismatch_${kind}`] });
  }
  return [
    {
      name: 'gatehouse_traffic_split_requests_total',
      help: 'Requests traffic-split sent to each service, by the route or service the split is attached to.',
      type: 'counter',
      samples: v.split.map((s) => ({ labels: { scope: s.scope, service: s.service }, value: s.requests })),
    },
    {
      name: 'gatehouse_traffic_split_unavailable_total',
      help: 'Requests traffic-split chose a disabled service for (they stayed on the route\'s service).',
      type: 'counter',
      samples: v.split.map((s) => ({ labels: { scope: s.scope, service: s.service }, value: s.unavailable })),
    },
    { name: 'gatehouse_mirror_requests_total', help: 'Requests copied to a shadow service.', type: 'counter', samples: per((s) => s.mirrored) },
    { name: 'gatehouse_mirror_dropped_total', help: 'Sampled requests not copied because queue_size mirrors were in flight.', type: 'counter', samples: per((s) => s.dropped) },
    { name: 'gatehouse_mirror_skipped_body_total', help: 'Sampled requests not copied because of their body size (or unknown length).', type: 'counter', samples: per((s) => s.skipped_body) },
    { name: 'gatehouse_mirror_errors_total', help: 'Mirrors that failed (connection, timeout, no healthy target).', type: 'counter', samples: per((s) => s.shadow_errors) },
    { name: 'gatehouse_shadow_compared_total', help: 'Mirrored responses compared with the primary\'s.', type: 'counter', samples: per((s) => s.compared) },
    { name: 'gatehouse_shadow_matched_total', help: 'Compared responses without differences.', type: 'counter', samples: per((s) => s.matched) },
    { name: 'gatehouse_shadow_mismatches_total', help: 'Compared responses with differences, by kind (one response may count under several).', type: 'counter', samples: mismatches },
    { name: 'gatehouse_shadow_uncomparable_total', help: 'Comparisons whose bodies could not be compared (over the cap, or cut short).', type: 'counter', samples: per((s) => s.uncomparable) },
    { name: 'gatehouse_shadow_primary_latency_ms_sum', help: 'Sum of the primary\'s latency over compared requests (ms); divide by gatehouse_shadow_compared_total.', type: 'counter', samples: per((s) => s.primary_latency_ms_sum) },
    { name: 'gatehouse_shadow_latency_ms_sum', help: 'Sum of the shadow\'s latency over compared requests (ms); divide by gatehouse_shadow_compared_total.', type: 'counter', samples: per((s) => s.shadow_latency_ms_sum) },
  ];
}
