/**
 * From live ticks to chart series: one scope (the whole gateway, a service or a route), one point per
 * step. Seconds the stream has no tick for (gateway down, socket dropped) are null points, so a chart
 * shows a gap instead of a line drawn across the outage; a second with a tick where the scope had no
 * request is a real zero.
 *
 * Long windows are drawn in steps of several seconds (a line of 3,600 points redrawn every second costs
 * more than it shows): per step, rates are averages, the error rate is errors over requests, and each
 * latency percentile is the worst second's, so a spike is never averaged away.
 */
import type { LiveRate, LiveTick } from '../../lib/live';

export type Scope = { kind: 'gateway' } | { kind: 'service'; name: string } | { kind: 'route'; name: string };

export const GATEWAY: Scope = { kind: 'gateway' };

/** `service:<name>` / `route:<name>` / empty for the gateway: the URL's `scope` parameter. */
export function scopeKey(s: Scope): string {
  return s.kind === 'gateway' ? '' : `${s.kind}:${s.name}`;
}

export function parseScope(key: string | null): Scope {
  if (key?.startsWith('service:') && key.length > 8) return { kind: 'service', name: key.slice(8) };
  if (key?.startsWith('route:') && key.length > 6) return { kind: 'route', name: key.slice(6) };
  return GATEWAY;
}

export function scopeLabel(s: Scope): string {
  return s.kind === 'gateway' ? 'whole gateway' : `${s.kind} ${s.name}`;
}

const IDLE: LiveRate = { rps: 0, errors: 0, limited: 0, error_rate: 0, p50: null, p95: null, p99: null };

/** The scope's row of one tick; an idle row when the scope had no request that second. */
export function rateOf(tick: LiveTick, scope: Scope): LiveRate {
  if (scope.kind === 'gateway') return tick.total;
  if (scope.kind === 'service') return tick.services.find((s) => s.service === scope.name) ?? IDLE;
  return tick.routes.find((r) => r.route === scope.name) ?? IDLE;
}

export interface SeriesPoint {
  /** Start of the step, epoch milliseconds. */
  at: number;
  /** Requests per second (average over the step); null: no data. */
  rps: number | null;
  /** 429 responses per second. */
  limited: number | null;
  /** Errors per second. */
  errors: number | null;
  /** Share of requests that failed, in percent; null also when there was no request. */
  errorPct: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

/** Seconds per point for a window: ~300 points at most. */
export function stepFor(windowSeconds: number): number {
  return windowSeconds <= 300 ? 1 : windowSeconds <= 900 ? 5 : 15;
}

const round = (n: number, digits = 2) => Math.round(n * 10 ** digits) / 10 ** digits;
const worst = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Points for the window ending at `endAt` (default: the newest tick), oldest first, step-aligned. */
export function seriesOf(ticks: readonly LiveTick[], scope: Scope, windowSeconds: number, endAt?: number): SeriesPoint[] {
  const newest = endAt ?? ticks.at(-1)?.at;
  if (newest === undefined) return [];
  const step = stepFor(windowSeconds) * 1000;
  const last = Math.floor(newest / step) * step;
  const first = last - (Math.ceil((windowSeconds * 1000) / step) - 1) * step;
  const n = (last - first) / step + 1;
  const acc = Array.from({ length: n }, () => ({ seconds: 0, count: 0, errors: 0, limited: 0, p50: null as number | null, p95: null as number | null, p99: null as number | null }));
  for (const t of ticks) {
    if (t.at < first || t.at > newest) continue;
    const a = acc[Math.floor((t.at - first) / step)];
    if (a === undefined) continue;
    const r = rateOf(t, scope);
    a.seconds++;
    a.count += r.rps;
    a.errors += r.errors;
    a.limited += r.limited ?? 0;
    a.p50 = worst(a.p50, r.p50);
    a.p95 = worst(a.p95, r.p95);
    a.p99 = worst(a.p99, r.p99);
  }
  return acc.map((a, i) => {
    const at = first + i * step;
    if (a.seconds === 0) return { at, rps: null, limited: null, errors: null, errorPct: null, p50: null, p95: null, p99: null };
    return {
      at,
      rps: round(a.count / a.seconds),
      limited: round(a.limited / a.seconds),
      errors: round(a.errors / a.seconds),
      errorPct: a.count === 0 ? null : round((a.errors / a.count) * 100),
      p50: a.p50,
      p95: a.p95,
      p99: a.p99,
    };
  });
}

export interface WindowTotals {
  requests: number;
  errors: number;
  limited: number;
  /** Seconds with a tick. */
  seconds: number;
  /** The busiest second's requests (not a step's average). */
  peakRps: number;
  /** The worst second's p99 in ms; null without requests. */
  worstP99: number | null;
}

/** Sums of the scope over the ticks of the window (for the "over the window" figures). */
export function totalsOf(ticks: readonly LiveTick[], scope: Scope): WindowTotals {
  const t: WindowTotals = { requests: 0, errors: 0, limited: 0, seconds: ticks.length, peakRps: 0, worstP99: null };
  for (const tick of ticks) {
    const r = rateOf(tick, scope);
    t.requests += r.rps;
    if (r.rps > t.peakRps) t.peakRps = r.rps;
    t.worstP99 = worst(t.worstP99, r.p99);
    t.errors += r.errors;
    t.limited += r.limited ?? 0;
  }
  return t;
}

export interface RankedRow {
  name: string;
  service?: string;
  requests: number;
  errors: number;
  limited: number;
  /** Errors over requests, percent. */
  errorPct: number;
}

/** Routes of the window ranked by requests or by errors (then requests), at most `limit`. */
export function topRoutes(ticks: readonly LiveTick[], by: 'requests' | 'errors', limit = 5): RankedRow[] {
  const rows = new Map<string, RankedRow>();
  for (const t of ticks) {
    for (const r of t.routes) {
      let row = rows.get(r.route);
      if (row === undefined) rows.set(r.route, (row = { name: r.route, requests: 0, errors: 0, limited: 0, errorPct: 0 }));
      row.requests += r.rps;
      row.errors += r.errors;
      row.limited += r.limited ?? 0;
    }
  }
  const list = [...rows.values()].filter((r) => (by === 'errors' ? r.errors > 0 : r.requests > 0));
  for (const r of list) r.errorPct = r.requests === 0 ? 0 : round((r.errors / r.requests) * 100);
  list.sort((a, b) => (by === 'errors' ? b.errors - a.errors || b.requests - a.requests : b.requests - a.requests) || (a.name < b.name ? -1 : 1));
  return list.slice(0, limit);
}

/** "12.5", "1.2k", "0" — compact numbers for stats and axes. */
export function formatCount(n: number | null): string {
  if (n === null) return '–';
  if (Math.abs(n) >= 10_000) return `${round(n / 1000, 1)}k`;
  if (Number.isInteger(n)) return String(n);
  return String(round(n, Math.abs(n) < 10 ? 2 : 1));
}

/** Axis labels: like formatMs without the space, so they fit the axis. */
export function formatMsShort(ms: number | null): string {
  return formatMs(ms).replace(' ', '');
}

export function formatMs(ms: number | null): string {
  if (ms === null) return '–';
  if (ms >= 1000) return `${round(ms / 1000, 2)} s`;
  return `${round(ms, ms < 10 ? 2 : 1)} ms`;
}

export function formatPct(p: number | null): string {
  return p === null ? '–' : `${round(p, p < 1 ? 2 : 1)}%`;
}

export function formatClock(ms: number): string {
  const d = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}
