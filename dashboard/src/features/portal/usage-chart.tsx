/**
 * An application's own traffic per minute (GET /me/applications/:app/usage), as stacked bars: answered,
 * server errors, refused by a rate limit. The sentence above the chart is its text alternative.
 */
import { useLayoutEffect, useRef, useState } from 'react';
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import type { Usage } from './types';

const FALLBACK_WIDTH = 600;

function useWidth(): [React.RefObject<HTMLDivElement | null>, number] {
  const ref = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(FALLBACK_WIDTH);
  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    const measure = () => setWidth(el.clientWidth > 0 ? el.clientWidth : FALLBACK_WIDTH);
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  return [ref, width];
}

const clock = (iso: string) => {
  const d = new Date(iso);
  return `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
};

function plural(n: number, one: string, many: string): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;
}

export function usageSummary(u: Usage): string {
  const window = u.minutes % 60 === 0 ? plural(u.minutes / 60, 'hour', 'hours') : plural(u.minutes, 'minute', 'minutes');
  const { requests, errors, limited } = u.totals;
  if (requests === 0) return `No requests in the last ${window}.`;
  return `${plural(requests, 'request', 'requests')} in the last ${window}: ${plural(errors, 'server error', 'server errors')}, ${plural(limited, 'refused by a rate limit', 'refused by a rate limit')}.`;
}

export function UsageChart({ usage, height = 200 }: { usage: Usage; height?: number }) {
  const [ref, width] = useWidth();
  const points = usage.data.map((p) => ({ at: p.at, ok: Math.max(0, p.requests - p.errors - p.limited), errors: p.errors, limited: p.limited }));
  return (
    <figure className="usage-chart" aria-describedby="usage-summary">
      <p id="usage-summary" className="chart-summary">
        {usageSummary(usage)}
      </p>
      <div ref={ref} className="chart-plot" aria-hidden="true" data-points={points.length}>
        <BarChart width={width} height={height} data={points} margin={{ top: 6, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
          <CartesianGrid stroke="currentColor" strokeOpacity={0.12} vertical={false} />
          <XAxis dataKey="at" tickFormatter={clock} stroke="currentColor" strokeOpacity={0.4} tick={{ fill: 'currentColor', fontSize: 11 }} minTickGap={40} />
          <YAxis width={44} allowDecimals={false} stroke="currentColor" strokeOpacity={0.4} tick={{ fill: 'currentColor', fontSize: 11 }} />
          <Tooltip labelFormatter={(v) => clock(String(v))} contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)', borderRadius: 6, color: 'var(--text)' }} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Bar dataKey="ok" name="Answered" stackId="r" fill="#3b82f6" isAnimationActive={false} />
          <Bar dataKey="errors" name="Server errors" stackId="r" fill="#ef4444" isAnimationActive={false} />
          <Bar dataKey="limited" name="Rate limited (429)" stackId="r" fill="#f59e0b" isAnimationActive={false} />
        </BarChart>
      </div>
    </figure>
  );
}
