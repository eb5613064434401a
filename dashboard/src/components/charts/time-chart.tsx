/**
 * The line chart every live chart is drawn with (recharts): time on the x axis over a fixed window, one
 * line per series, gaps where there is no data. Not used by pages directly: they use the domain charts
 * (traffic-chart.tsx, error-rate-chart.tsx, latency-chart.tsx), which say what is drawn and summarise it
 * in text. The SVG is hidden from assistive technology; the summary is its text alternative.
 */
import { useLayoutEffect, useRef, useState, type ReactNode } from 'react';
import { CartesianGrid, Legend, Line, LineChart, Tooltip, XAxis, YAxis } from 'recharts';
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

const FALLBACK_WIDTH = 600;

/** The container's width, following resizes; a fixed width where it cannot be measured (jsdom). */
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
          <LineChart width={width} height={height} data={points} margin={{ top: 6, right: 8, bottom: 0, left: 0 }} accessibilityLayer={false}>
            <CartesianGrid stroke="currentColor" strokeOpacity={0.12} vertical={false} />
            <XAxis
              dataKey="at"
              type="number"
              scale="time"
              domain={[end - (windowSeconds - 1) * 1000, end]}
              tickFormatter={(v: number) => formatClock(v).slice(0, narrow || windowSeconds > 300 ? 5 : 8)}
              stroke="currentColor"
              strokeOpacity={0.4}
              tick={{ fill: 'currentColor', fontSize: 11 }}
              minTickGap={narrow ? 40 : 60}
              allowDataOverflow
            />
            <YAxis width={narrow ? 54 : 62} stroke="currentColor" strokeOpacity={0.4} tick={{ fill: 'currentColor', fontSize: 11 }} tickFormatter={(v: number) => axisFormat(v)} allowDecimals />
            <Tooltip
              labelFormatter={(v) => formatClock(Number(v))}
              formatter={(v) => format(typeof v === 'number' ? v : null)}
              contentStyle={{ background: 'var(--surface)', border: '1px solid var(--border)', borderRadius: 6, color: 'var(--text)' }}
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
