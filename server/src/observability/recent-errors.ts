/**
 * Error tracking: the proxy thread's most recent failed requests (5xx answers, and upstream timeouts or
 * resets even when the client already had a status), in a fixed ring of entries, plus a count per error
 * code since the thread started. The admin API reads them (`GET /errors`) through the proxy plane.
 *
 * Successful requests cost one comparison; an entry is built only for a failure.
 */
import type { ProxyRequest, RequestObserver } from '../proxy/proxy-request.js';

export const RECENT_ERRORS_CAPACITY = 500;

export interface RecentError {
  /** When the request ended (ISO 8601). */
  at: string;
  request_id: string;
  /**
   * The gateway's error code (GW_ERR_*) when it answered itself; otherwise what happened upstream:
   * `upstream_timeout`, `upstream_reset`, `upstream_connect`, `upstream_other` or `upstream_5xx` (the
   * upstream's own 5xx answer).
   */
  code: string;
  status: number;
  route: string | null;
  service: string | null;
  consumer: string | null;
  method: string;
  /** Without the query. */
  path: string;
  client_ip: string;
  /** `host:port` of the last target tried. */
  target: string | null;
  upstream_failure: string | null;
  /** Milliseconds from the start of the request to each step; null when the step did not happen. */
  timings_ms: {
    total: number;
    routed: number | null;
    access_done: number | null;
    upstream_start: number | null;
    upstream_head: number | null;
    upstream_end: number | null;
  };
  trace_id: string | null;
}

export interface RecentErrorsView {
  /** Failures recorded since the proxy thread started (including those the ring no longer holds). */
  total: number;
  capacity: number;
  /** Failures per `code` since the proxy thread started. */
  counts: Record<string, number>;
  /** Newest first; of one route when asked. */
  data: RecentError[];
}

function rel(t: number, start: number): number | null {
  return t === 0 ? null : Math.round((t - start) * 1000) / 1000;
}

export class RecentErrors implements RequestObserver {
  private readonly ring: (RecentError | undefined)[];
  private next = 0;
  private total = 0;
  private readonly counts = new Map<string, number>();

  constructor(readonly capacity = RECENT_ERRORS_CAPACITY) {
    this.ring = new Array<RecentError | undefined>(capacity).fill(undefined);
  }

  begin(): void {}

  end(r: ProxyRequest): void {
    const failure = r.upstreamFailure;
    if (r.status < 500 && failure !== 'timeout' && failure !== 'reset') return;
    this.record(r);
  }

  private record(r: ProxyRequest): void {
    const failure = r.upstreamFailure;
    const code = r.errorCode ?? (failure !== undefined && failure !== 'client-abort' ? `upstream_${failure}` : 'upstream_5xx');
    const url = r.req.url ?? '';
    const q = url.indexOf('?');
    const start = r.startedAt;
    const entry: RecentError = {
      at: new Date().toISOString(),
      request_id: r.requestId,
      code,
      status: r.status,
      route: r.route?.name ?? null,
      service: r.route !== undefined ? (r.serviceName ?? null) : null,
      consumer: r.consumer?.username ?? null,
      method: r.method,
      path: r.path !== '' ? r.path : q === -1 ? url : url.slice(0, q),
      client_ip: r.clientIp,
      target: r.targetAddress ?? null,
      upstream_failure: failure ?? null,
      timings_ms: {
        total: Math.round((r.endedAt - start) * 1000) / 1000,
        routed: rel(r.routedAt, start),
        access_done: rel(r.accessDoneAt, start),
        upstream_start: rel(r.upstreamStartAt, start),
        upstream_head: rel(r.upstreamHeadAt, start),
        upstream_end: rel(r.upstreamEndAt, start),
      },
      trace_id: r.traceId ?? null,
    };
    this.ring[this.next] = entry;
    this.next = (this.next + 1) % this.capacity;
    this.total++;
    this.counts.set(code, (this.counts.get(code) ?? 0) + 1);
  }

  /** Newest first, at most `limit`, of one route when given. */
  view(route?: string, limit = 100): RecentErrorsView {
    const data: RecentError[] = [];
    for (let k = 1; k <= this.capacity && data.length < limit; k++) {
      const e = this.ring[(this.next - k + this.capacity) % this.capacity];
      if (e === undefined) break;
      if (route === undefined || e.route === route) data.push(e);
    }
    return { total: this.total, capacity: this.capacity, counts: Object.fromEntries(this.counts), data };
  }

  clear(): void {
    this.ring.fill(undefined);
    this.next = 0;
    this.total = 0;
    this.counts.clear();
  }
}

/**
 * The proxy thread's store, as the other data-plane registries (resilience-view.ts): the worker registers
 * it as an observer, and the proxy plane (in-process or the worker's message handler) reads it.
 */
export const recentErrors = new RecentErrors();
