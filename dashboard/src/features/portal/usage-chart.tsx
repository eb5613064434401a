/**
 * An application's own traffic per minute (GET /me/applications/:app/usage), as stacked bars: answered,
 * server errors, refused by a rate limit. The sentence above the chart is its text alternative.
 */
import { Bar, BarChart, CartesianGrid, Legend, Tooltip, XAxis, YAxis } from 'recharts';
import { AXIS, GRID, PLOT_MARGIN, TOOLTIP_STYLE, useWidth } from '../../components/charts/frame';
import { formatClock } from '../../components/charts/series';
import type { Usage } from './types';

// Hours and minutes: the bars are one a minute.
const clock = (iso: string) => formatClock(Date.parse(iso)).slice(0, 5);

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
        <BarChart width={width} height={height} data={points} margin={PLOT_MARGIN} accessibilityLayer={false}>
          <CartesianGrid {...GRID} />
          <XAxis dataKey="at" tickFormatter={clock} {...AXIS} minTickGap={40} />
          <YAxis width={44} allowDecimals={false} {...AXIS} />
          <Tooltip labelFormatter={(v) => clock(String(v))} contentStyle={TOOLTIP_STYLE} />
          <Legend wrapperStyle={{ fontSize: 12 }} />
          <Bar dataKey="ok" name="Answered" stackId="r" fill="#3b82f6" isAnimationActive={false} />
          <Bar dataKey="errors" name="Server errors" stackId="r" fill="#ef4444" isAnimationActive={false} />
          <Bar dataKey="limited" name="Rate limited (429)" stackId="r" fill="#f59e0b" isAnimationActive={false} />
        </BarChart>
      </div>
    </figure>
  );
}
