/**
 * Tests of the 429 sums the Limits page shows from live ticks.
 */
import { describe, expect, it } from 'vitest';
import type { LiveRate, LiveTick } from '../../lib/live';
import { sumLimited } from './live-limited';

const rate = (limited: number, rps = 10): LiveRate => ({ rps, errors: limited, limited, error_rate: 0, p50: 1, p95: 2, p99: 3 });
const tick = (at: number, routes: Record<string, number>, services: Record<string, number>): LiveTick => ({
  at,
  nodes: 1,
  total: rate(Object.values(routes).reduce((a, b) => a + b, 0)),
  routes: Object.entries(routes).map(([route, n]) => ({ ...rate(n), route })),
  services: Object.entries(services).map(([service, n]) => ({ ...rate(n), service })),
  breakers: [],
});

describe('sumLimited', () => {
  it('sums the 429s of every tick per route, per service and in total', () => {
    const s = sumLimited({ status: 'live', ticks: [tick(1000, { a: 2, b: 0 }, { s: 2 }), tick(2000, { a: 1, b: 4 }, { s: 5 })] }, 60);
    expect(s.total).toBe(7);
    expect([...s.byRoute]).toEqual([
      ['a', 3],
      ['b', 4],
    ]);
    expect([...s.byService]).toEqual([['s', 7]]);
    expect(s.status).toBe('live');
    expect(s.seconds).toBe(60);
  });

  it('is empty without ticks and keeps the stream status', () => {
    const s = sumLimited({ status: 'offline', ticks: [], error: 'refused' }, 60);
    expect(s).toMatchObject({ status: 'offline', total: 0 });
    expect(s.byRoute.size).toBe(0);
  });
});
