/** The admin API shapes the Overview reads (server: admin/resilience/, observability/recent-errors.ts). */

/** The part of `GET /resilience` the Overview shows: health-checked targets. */
export interface ResilienceSummary {
  targets: { upstream: string; target: string; up: boolean; reason: string; since: number }[];
}

/** An upstream as `GET /upstreams` lists it (only what the Overview reads). */
export interface UpstreamSummary {
  name: string;
  targets: { target: string; weight: number }[];
}

export interface RecentError {
  at: string;
  request_id: string;
  code: string;
  status: number;
  route: string | null;
  service: string | null;
  method: string;
  path: string;
  target: string | null;
}

/** `GET /errors`: newest first. */
export interface RecentErrorsView {
  total: number;
  capacity: number;
  counts: Record<string, number>;
  data: RecentError[];
}
