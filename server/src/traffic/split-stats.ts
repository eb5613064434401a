/**
 * Requests per traffic-split scope and service, for the admin API and /metrics. Counters live for the
 * thread, not the snapshot: a weight change must not reset them (Prometheus counters never go back).
 */

export interface SplitCounter {
  /** Requests sent to the service by the split. */
  requests: number;
  /** Requests the split chose the service for while it was disabled (they stayed on the route's service). */
  unavailable: number;
}

export interface SplitStat {
  /** The route or service the traffic-split instance is attached to. */
  scope: string;
  service: string;
  requests: number;
  unavailable: number;
}

const counters = new Map<string, SplitCounter & { scope: string; service: string }>();

/** The counter of one scope and service; the plugin fetches its counters once per snapshot. */
export function splitCounter(scope: string, service: string): SplitCounter {
  const k = `${scope}\n${service}`;
  let c = counters.get(k);
  if (c === undefined) counters.set(k, (c = { scope, service, requests: 0, unavailable: 0 }));
  return c;
}

export function trafficSplitStats(): SplitStat[] {
  return [...counters.values()].map((c) => ({ scope: c.scope, service: c.service, requests: c.requests, unavailable: c.unavailable }));
}
