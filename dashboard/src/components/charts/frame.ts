/**
 * What every recharts chart in the dashboard shares: the plot's width (recharts needs a number, and
 * ResponsiveContainer renders nothing in jsdom), and the grid, axis and tooltip styling that follows the
 * light/dark theme through currentColor and the CSS variables.
 */
import { useLayoutEffect, useRef, useState, type RefObject } from 'react';

const FALLBACK_WIDTH = 600;

/** The container's width, following resizes; a fixed width where it cannot be measured (jsdom). */
export function useWidth(): [RefObject<HTMLDivElement | null>, number] {
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

export const PLOT_MARGIN = { top: 6, right: 8, bottom: 0, left: 0 };
/** Spread on CartesianGrid. */
export const GRID = { stroke: 'currentColor', strokeOpacity: 0.12, vertical: false };
/** Spread on XAxis and YAxis. */
export const AXIS = { stroke: 'currentColor', strokeOpacity: 0.4, tick: { fill: 'currentColor', fontSize: 11 } };
export const TOOLTIP_STYLE = { background: 'var(--surface)', border: '1px solid var(--border)', borderRadius: 6, color: 'var(--text)' };
