import { describe, expect, it } from 'vitest';
import { tickAt } from '../../features/overview/test-support/live-peer';
import type { LiveTick } from '../../lib/live';
import { formatCount, formatMs, formatPct, parseScope, rateOf, scopeKey, seriesOf, stepFor, topRoutes, totalsOf } from './series';

const T0 = 1_750_000_005_000; // a multiple of 15 s
const run = (n: number, f: (i: number) => LiveTick) => Array.from({ length: n }, (_, i) => f(i));

describe('scope', () => {
  it('round-trips through the URL key and picks the scope’s row, idle when it had no traffic', () => {
    for (const s of [{ kind: 'gateway' }, { kind: 'service', name: 'shop' }, { kind: 'route', name: 'a:b' }] as const) expect(parseScope(scopeKey(s) || null)).toEqual(s);
    expect(parseScope('route:')).toEqual({ kind: 'gateway' });
    expect(parseScope('nonsense')).toEqual({ kind: 'gateway' });
    const t = tickAt(T0, { rps: 4, route: 'orders', service: 'shop' });
    expect(rateOf(t, { kind: 'route', name: 'orders' }).rps).toBe(4);
    expect(rateOf(t, { kind: 'service', name: 'shop' }).rps).toBe(4);
    expect(rateOf(t, { kind: 'route', name: 'other' })).toMatchObject({ rps: 0, p50: null });
  });
});

describe('seriesOf', () => {
  it('one point per second for 5 minutes; a missing second is a gap (null), an idle second a zero', () => {
    const ticks = run(300, (i) => tickAt(T0 + i * 1000, { rps: i === 10 ? 0 : 5, limited: i === 10 ? 0 : 1 })).filter((_, i) => i !== 20);
    const pts = seriesOf(ticks, { kind: 'gateway' }, 300);
    expect(pts).toHaveLength(300);
    expect(pts[0]!.at).toBe(T0);
    expect(pts[10]).toMatchObject({ rps: 0, limited: 0, errorPct: null, p50: null });
    expect(pts[20]).toMatchObject({ rps: null, limited: null, p99: null });
    expect(pts[299]).toMatchObject({ rps: 5, limited: 1, errorPct: 0, p50: 12 });
  });

  it('steps of 15 s over 60 minutes: averages rates, keeps the worst latency, errors over requests', () => {
    expect(stepFor(3600)).toBe(15);
    const ticks = run(30, (i) => tickAt(T0 + i * 1000, { rps: i < 15 ? 10 : 20, errors: i === 3 ? 5 : 0, p50: i === 7 ? 100 : 10 }));
    const pts = seriesOf(ticks, { kind: 'gateway' }, 3600);
    expect(pts).toHaveLength(240);
    const [a, b] = pts.slice(-2);
    expect(a).toMatchObject({ at: T0, rps: 10, errors: 0.33, errorPct: 3.33, p50: 100, p99: 600 });
    expect(b).toMatchObject({ at: T0 + 15_000, rps: 20, errorPct: 0, p50: 10 });
    expect(pts[0]!.rps).toBeNull();
  });

  it('nothing to draw without ticks', () => {
    expect(seriesOf([], { kind: 'gateway' }, 300)).toEqual([]);
  });
});

describe('rankings and totals', () => {
  it('ranks routes by requests and by errors over the window', () => {
    const ticks = [
      { ...tickAt(T0), routes: [{ route: 'a', rps: 10, errors: 0, limited: 2, error_rate: 0, p50: 1, p95: 1, p99: 1 }, { route: 'b', rps: 3, errors: 3, limited: 0, error_rate: 1, p50: 1, p95: 1, p99: 1 }] },
      { ...tickAt(T0 + 1000), routes: [{ route: 'c', rps: 50, errors: 1, limited: 0, error_rate: 0.02, p50: 1, p95: 1, p99: 1 }] },
    ];
    expect(topRoutes(ticks, 'requests').map((r) => [r.name, r.requests, r.limited])).toEqual([
      ['c', 50, 0],
      ['a', 10, 2],
      ['b', 3, 0],
    ]);
    expect(topRoutes(ticks, 'errors').map((r) => [r.name, r.errors, r.errorPct])).toEqual([
      ['b', 3, 100],
      ['c', 1, 2],
    ]);
    expect(topRoutes(ticks, 'requests', 1)).toHaveLength(1);
    expect(totalsOf(ticks, { kind: 'route', name: 'a' })).toEqual({ requests: 10, errors: 0, limited: 2, seconds: 2, peakRps: 10, worstP99: 1 });
    expect(totalsOf(ticks, { kind: 'gateway' })).toMatchObject({ peakRps: 10, worstP99: 72 });
  });

  it('formats numbers for people', () => {
    expect([formatCount(null), formatCount(3), formatCount(2.345), formatCount(12.34), formatCount(12_345)]).toEqual(['–', '3', '2.35', '12.3', '12.3k']);
    expect([formatMs(null), formatMs(3.456), formatMs(45.67), formatMs(1520)]).toEqual(['–', '3.46 ms', '45.7 ms', '1.52 s']);
    expect([formatPct(null), formatPct(0.5), formatPct(12.34)]).toEqual(['–', '0.5%', '12.3%']);
  });
});
