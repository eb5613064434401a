/**
 * The line chart every live chart is drawn with (recharts): time on the x axis over a fixed window, one
 * line per series, gaps where there is no data. Not used by pages directly: they use the domain charts
 * (traffic-chart.tsx, error-rate-chart.tsx, latency-chart.tsx), which say what is drawn and summarise it
 * in text. The SVG is hidden from assistive technology; the summary is its text alternative.
 */
import type { ReactNode } from 'react';
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
import { AXIS, GRID, PLOT_MARGIN, TOOLTIP_STYLE, useWidth } from './frame';
import { formatClock, type SeriesPoint } from './series';

export interface ChartLine {
  key: keyof Omit<SeriesPoint, 'at'>;
  label: string;
  /** A mid-tone colour readable on both the light and the dark background. */
  color: string;
  dashed?: boolean;
}

export interface TimeChartProps {
  title: string;
  points: SeriesPoint[];
  lines: ChartLine[];
  windowSeconds: number;
  format: (v: number | null) => string;
  /** Axis labels, when `format` is too wide for the axis. */
  axisFormat?: (v: number | null) => string;
  /** Current values in words: the chart's text alternative, shown under the title. */
  summary: ReactNode;
  height?: number;
}

export function TimeChart({ title, points, lines, windowSeconds, format, axisFormat = format, summary, height = 190 }: TimeChartProps) {
  const [ref, width] = useWidth();
  const id = `chart-${title.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  const end = points.at(-1)?.at ?? 0;
  const narrow = width < 480;
  return (
    <figure className="chart card" aria-labelledby={`${id}-title`} aria-describedby={`${id}-summary`}>
      <h2 id={`${id}-title`} className="chart-title">
        {title}
      </h2>
      <p id={`${id}-summary`} className="chart-summary" aria-live="off">
        {summary}
      </p>
      <div ref={ref} className="chart-plot" aria-hidden="true" data-points={points.length}>
        {points.length === 0 ? (
          <div className="chart-empty" style={{ height }}>
            Waiting for data…
          </div>
        ) : (
          <LineChart width={width} height={height} data={points} margin={PLOT_MARGIN} accessibilityLayer={false}>
            <CartesianGrid {...GRID} />
            <XAxis
              dataKey="at"
              type="number"
              scale="time"
              domain={[end - (windowSeconds - 1) * 1000, end]}
              tickFormatter={(v: number) => formatClock(v).slice(0, narrow || windowSeconds > 300 ? 5 : 8)}
              {...AXIS}
              minTickGap={narrow ? 40 : 60}
              allowDataOverflow
            />
            <YAxis width={narrow ? 54 : 62} {...AXIS} tickFormatter={(v: number) => axisFormat(v)} allowDecimals />
            <Tooltip
              labelFormatter={(v) => formatClock(Number(v))}
              formatter={(v) => format(typeof v === 'number' ? v : null)}
              contentStyle={TOOLTIP_STYLE}
            />
            {lines.length > 1 && <Legend wrapperStyle={{ fontSize: 12 }} />}
            {lines.map((l) => (
              <Line
                key={l.key}
                dataKey={l.key}
                name={l.label}
                stroke={l.color}
                strokeWidth={l.dashed ? 1.5 : 2}
                strokeDasharray={l.dashed ? '4 3' : undefined}
                dot={false}
                isAnimationActive={false}
                connectNulls={false}
                className={`chart-line chart-line-${l.key}`}
              />
            ))}
          </LineChart>
        )}
      </div>
    </figure>
  );
}
