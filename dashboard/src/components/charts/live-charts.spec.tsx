/** The domain charts render real recharts SVG from ticks and summarise the newest second and the window in text. */
import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { tickAt } from '../../features/overview/test-support/live-peer';
import type { LiveTick } from '../../lib/live';
import { ErrorRateChart, LatencyChart, TrafficChart } from './live-charts';

const T0 = 1_750_000_000_000;
const ticks: LiveTick[] = Array.from({ length: 60 }, (_, i) => tickAt(T0 + i * 1000, { rps: 10 + i, limited: i === 59 ? 4 : 0, errors: i === 59 ? 7 : 0, p50: i === 30 ? 500 : 20 }));
const gateway = { kind: 'gateway' } as const;

/** The figure's text alternative (aria-describedby), whitespace collapsed. */
function description(figure: HTMLElement): string {
  const id = figure.getAttribute('aria-describedby') ?? '';
  return (document.getElementById(id)?.textContent ?? '').replace(/\s+/g, ' ').trim();
}

function lines(figure: HTMLElement): string[] {
  return [...figure.querySelectorAll('path.recharts-line-curve')].map((p) => p.getAttribute('d') ?? '');
}

describe('TrafficChart', () => {
  it('draws requests/s and 429s/s and says the current values', () => {
    render(<TrafficChart ticks={ticks} scope={gateway} windowSeconds={300} />);
    const figure = screen.getByRole('figure', { name: 'Requests per second' });
    expect(description(figure)).toMatch(/^Now 69 requests\/s, 4 rejected with 429\/s\. Last 5 minutes: 2,?370 requests, 4 with 429, peak 69\/s\.$/);
    const d = lines(figure);
    expect(d).toHaveLength(2);
    for (const path of d) expect(path).toMatch(/^M[\d.]+,[\d.]+L/);
    expect(figure.querySelector('[aria-hidden="true"]')?.getAttribute('data-points')).toBe('300');
  });

  it('over 60 minutes the line is drawn in 15 s steps, but the peak is still the busiest second', () => {
    render(<TrafficChart ticks={ticks} scope={gateway} windowSeconds={3600} />);
    const figure = screen.getByRole('figure', { name: 'Requests per second' });
    expect(description(figure)).toMatch(/Last 60 minutes: 2370 requests, 4 with 429, peak 69\/s\.$/);
    expect(figure.querySelector('[aria-hidden="true"]')?.getAttribute('data-points')).toBe('240');
  });

  it('follows the scope: a route without traffic is a flat zero, not the gateway’s numbers', () => {
    render(<TrafficChart ticks={ticks} scope={{ kind: 'route', name: 'elsewhere' }} windowSeconds={300} />);
    expect(description(screen.getByRole('figure', { name: 'Requests per second' }))).toMatch(/^Now 0 requests\/s, 0 rejected with 429\/s/);
  });

  it('says so when there is nothing yet', () => {
    render(<TrafficChart ticks={[]} scope={gateway} windowSeconds={300} />);
    const figure = screen.getByRole('figure', { name: 'Requests per second' });
    expect(description(figure)).toBe('No data yet.');
    expect(figure.textContent).toContain('Waiting for data…');
    expect(lines(figure)).toEqual([]);
  });
});

describe('ErrorRateChart', () => {
  it('reports the current error rate and the window’s', () => {
    render(<ErrorRateChart ticks={ticks} scope={gateway} windowSeconds={900} />);
    const figure = screen.getByRole('figure', { name: 'Error rate' });
    expect(description(figure)).toBe('Now 10.1% of requests failed (7/s). Last 15 minutes: 0.3% (7 errors).');
    expect(lines(figure)).toHaveLength(1);
  });

  it('an idle second has no error rate', () => {
    render(<ErrorRateChart ticks={[tickAt(T0, { rps: 0 })]} scope={gateway} windowSeconds={300} />);
    expect(description(screen.getByRole('figure', { name: 'Error rate' }))).toBe('No requests in the last second. Last 5 minutes: – (0 errors).');
  });
});

describe('LatencyChart', () => {
  it('draws p50/p95/p99 and names the worst p99 of the window', () => {
    render(<LatencyChart ticks={ticks} scope={gateway} windowSeconds={3600} />);
    const figure = screen.getByRole('figure', { name: 'Latency' });
    expect(description(figure)).toBe('Now p50 20 ms, p95 60 ms, p99 120 ms. Worst p99 in the last 60 minutes: 3 s.');
    expect(lines(figure)).toHaveLength(3);
  });
});
