/**
 * The Overview's live charts as domain components: each takes the stream's ticks, the scope and the
 * window, and says in text what the newest second and the window show (the charts' text alternative,
 * and what a screen reader or a test reads).
 */
import { useMemo } from 'react';
import type { LiveTick } from '../../lib/live';
import { formatCount, formatMs, formatMsShort, formatPct, rateOf, seriesOf, totalsOf, type Scope, type SeriesPoint } from './series';
import { TimeChart } from './time-chart';

export interface LiveChartProps {
  ticks: readonly LiveTick[];
  scope: Scope;
  windowSeconds: number;
}

export const COLORS = { requests: '#3b82f6', limited: '#f59e0b', errors: '#ef4444', p50: '#10b981', p95: '#8b5cf6', p99: '#ec4899' } as const;

export function windowLabel(windowSeconds: number): string {
  return windowSeconds % 60 === 0 ? `${windowSeconds / 60} minute${windowSeconds === 60 ? '' : 's'}` : `${windowSeconds} seconds`;
}

function useSeries(ticks: readonly LiveTick[], scope: Scope, windowSeconds: number): SeriesPoint[] {
  return useMemo(() => seriesOf(ticks, scope, windowSeconds), [ticks, scope, windowSeconds]);
}

const plural = (n: number, one: string, many = `${one}s`) => `${formatCount(n)} ${n === 1 ? one : many}`;

/** What every live chart reads from the ticks: the plotted series, the latest second, and the window's totals. */
function useLiveView(ticks: readonly LiveTick[], scope: Scope, windowSeconds: number) {
  const points = useSeries(ticks, scope, windowSeconds);
  const last = ticks.at(-1);
  const now = last ? rateOf(last, scope) : undefined;
  const totals = useMemo(() => totalsOf(ticks, scope), [ticks, scope]);
  return { points, now, totals };
}

export function TrafficChart({ ticks, scope, windowSeconds }: LiveChartProps) {
  const { points, now, totals } = useLiveView(ticks, scope, windowSeconds);
  const summary = now ? (
    <>
      Now <strong data-testid="traffic-now">{formatCount(now.rps)}</strong> requests/s, <strong data-testid="limited-now">{formatCount(now.limited)}</strong> rejected with
      429/s. Last {windowLabel(windowSeconds)}: {plural(totals.requests, 'request')}, {formatCount(totals.limited)} with 429, peak {formatCount(totals.peakRps)}/s.
    </>
  ) : (
    'No data yet.'
  );
  return (
    <TimeChart
      title="Requests per second"
      points={points}
      windowSeconds={windowSeconds}
      format={formatCount}
      summary={summary}
      lines={[
        { key: 'rps', label: 'Requests/s', color: COLORS.requests },
        { key: 'limited', label: '429s/s', color: COLORS.limited },
      ]}
    />
  );
}

export function ErrorRateChart({ ticks, scope, windowSeconds }: LiveChartProps) {
  const { points, now, totals } = useLiveView(ticks, scope, windowSeconds);
  const windowPct = totals.requests === 0 ? null : (totals.errors / totals.requests) * 100;
  const summary = now ? (
    <>
      {now.rps === 0 ? 'No requests in the last second.' : (
        <>
          Now <strong data-testid="error-rate-now">{formatPct(now.error_rate * 100)}</strong> of requests failed ({formatCount(now.errors)}/s).
        </>
      )}{' '}
      Last {windowLabel(windowSeconds)}: {formatPct(windowPct)} ({plural(totals.errors, 'error')}).
    </>
  ) : (
    'No data yet.'
  );
  return <TimeChart title="Error rate" points={points} windowSeconds={windowSeconds} format={formatPct} summary={summary} lines={[{ key: 'errorPct', label: 'Errors %', color: COLORS.errors }]} />;
}

export function LatencyChart({ ticks, scope, windowSeconds }: LiveChartProps) {
  const { points, now, totals } = useLiveView(ticks, scope, windowSeconds);
  const summary = now ? (
    <>
      {now.p50 === null ? 'No requests in the last second.' : (
        <>
          Now p50 <strong>{formatMs(now.p50)}</strong>, p95 <strong data-testid="p95-now">{formatMs(now.p95)}</strong>, p99 <strong>{formatMs(now.p99)}</strong>.
        </>
      )}{' '}
      Worst p99 in the last {windowLabel(windowSeconds)}: {formatMs(totals.worstP99)}.
    </>
  ) : (
    'No data yet.'
  );
  return (
    <TimeChart
      title="Latency"
      points={points}
      windowSeconds={windowSeconds}
      format={formatMs}
      axisFormat={formatMsShort}
      summary={summary}
      lines={[
        { key: 'p50', label: 'p50', color: COLORS.p50 },
        { key: 'p95', label: 'p95', color: COLORS.p95 },
        { key: 'p99', label: 'p99', color: COLORS.p99, dashed: true },
      ]}
    />
  );
}
