/**
 * What mirroring and shadow comparison observed, per route: counters (for /metrics and the admin API)
 * and a bounded ring of sample records of the differences an operator can inspect. Lives for the thread,
 * not the snapshot: a config change must not reset counters or lose the samples being investigated.
 */
import type { Difference, ResponseSide } from './compare.js';

export interface ShadowCounters {
  /** Requests copied to the shadow. */
  mirrored: number;
  /** Sampled requests not copied because `queue_size` mirrors were already in flight. */
  dropped: number;
  /** Sampled requests not copied because their body was over `max_body_size` or of unknown length. */
  skipped_body: number;
  /** Mirrors that failed (connection, timeout, no healthy target, disabled shadow service). */
  shadow_errors: number;
  /** Mirrors whose responses were compared with the primary's. */
  compared: number;
  matched: number;
  mismatched: number;
  /** Mismatches by kind (one mismatch may count under several kinds). */
  mismatch_status: number;
  mismatch_headers: number;
  mismatch_body: number;
  mismatch_latency: number;
  /** Comparisons where a body could not be compared (over the compare cap, or the primary was cut short). */
  uncomparable: number;
  /** Sums over the compared requests, for mean latencies (divide by `compared`). */
  primary_latency_ms_sum: number;
  shadow_latency_ms_sum: number;
}

export interface ShadowRouteStats extends ShadowCounters {
  route: string;
  /** The shadow service of the latest mirror on this route. */
  shadow_service: string;
}

export interface ShadowSample {
  /** ISO 8601 time the comparison was recorded. */
  at: string;
  route: string;
  shadow_service: string;
  request_id: string;
  method: string;
  /** The path sent to the shadow (with the query). */
  path: string;
  primary: ResponseSide;
  shadow: ResponseSide;
  differences: Difference[];
}

const ZERO: ShadowCounters = {
  mirrored: 0,
  dropped: 0,
  skipped_body: 0,
  shadow_errors: 0,
  compared: 0,
  matched: 0,
  mismatched: 0,
  mismatch_status: 0,
  mismatch_headers: 0,
  mismatch_body: 0,
  mismatch_latency: 0,
  uncomparable: 0,
  primary_latency_ms_sum: 0,
  shadow_latency_ms_sum: 0,
};

/** Keeps the newest `capacity` records. */
export class Ring<T> {
  private items: T[] = [];
  private next = 0;
  constructor(private capacity: number) {}

  push(item: T): void {
    if (this.capacity <= 0) return;
    if (this.items.length < this.capacity) this.items.push(item);
    else this.items[this.next] = item;
    this.next = (this.next + 1) % this.capacity;
  }

  /** Changes the bound (a config change), keeping the newest records. */
  resize(capacity: number): void {
    if (capacity === this.capacity) return;
    const kept = this.newestFirst().slice(0, Math.max(capacity, 0)).reverse();
    this.capacity = capacity;
    this.items = kept;
    this.next = capacity > 0 ? kept.length % capacity : 0;
  }

  newestFirst(): T[] {
    const n = this.items.length;
    const out: T[] = [];
    for (let i = 1; i <= n; i++) out.push(this.items[(this.next - i + n * 2) % n]!);
    return out;
  }

  clear(): void {
    this.items = [];
    this.next = 0;
  }

  get length(): number {
    return this.items.length;
  }
}

/** The counters and samples of one route; the mirror plugin holds it for the duration of a request. */
export class RouteShadow {
  readonly counters: ShadowCounters = { ...ZERO };
  shadowService = '';
  readonly samples: Ring<ShadowSample>;
  constructor(
    readonly route: string,
    capacity: number,
  ) {
    this.samples = new Ring(capacity);
  }
}

const routes = new Map<string, RouteShadow>();

/** The state of a route, created on first use; `capacity` (the plugin's sample_size) resizes its ring. */
export function routeShadow(route: string, capacity: number): RouteShadow {
  let r = routes.get(route);
  if (r === undefined) routes.set(route, (r = new RouteShadow(route, capacity)));
  else r.samples.resize(capacity);
  return r;
}

/** Counters per route, as one structured-clonable value. */
export function shadowStats(): ShadowRouteStats[] {
  return [...routes.values()].map((r) => ({ route: r.route, shadow_service: r.shadowService, ...r.counters }));
}

/** Sample records, newest first: of one route, or of every route merged by time. */
export function shadowSamples(route?: string): ShadowSample[] {
  if (route !== undefined) return routes.get(route)?.samples.newestFirst() ?? [];
  const all: ShadowSample[] = [];
  for (const r of routes.values()) all.push(...r.samples.newestFirst());
  return all.sort((a, b) => (a.at < b.at ? 1 : a.at > b.at ? -1 : 0));
}

/** Forgets the samples (of one route, or all); counters are kept. Returns how many were removed. */
export function clearShadowSamples(route?: string): number {
  let n = 0;
  for (const r of routes.values()) {
    if (route !== undefined && r.route !== route) continue;
    n += r.samples.length;
    r.samples.clear();
  }
  return n;
}
