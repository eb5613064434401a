import { describe, expect, it } from 'vitest';
import { createBalancer, parseHostPort, Target } from './balancer.js';

const targets = (...weights: number[]) => weights.map((w, i) => new Target(`10.0.0.${i}:80`, `10.0.0.${i}`, 80, w));

function counts(picks: (Target | undefined)[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const p of picks) c[p?.address ?? 'none'] = (c[p?.address ?? 'none'] ?? 0) + 1;
  return c;
}

describe('balancers', () => {
  it('round-robin rotates evenly and skips drained targets', () => {
    const ts = targets(100, 5, 0);
    const b = createBalancer('round-robin', ts);
    const c = counts(Array.from({ length: 300 }, () => b.pick('', undefined)));
    expect(c).toEqual({ '10.0.0.0:80': 150, '10.0.0.1:80': 150 });
  });

  it('weighted round-robin follows weights smoothly', () => {
    const ts = targets(5, 1, 1);
    const b = createBalancer('weighted-round-robin', ts);
    const seq = Array.from({ length: 7 }, () => b.pick('', undefined)!.address.slice(-4, -3));
    // nginx's documented sequence for weights 5,1,1: a a b a c a a
    expect(seq.join('')).toBe('0010200');
    const c = counts(Array.from({ length: 700 }, () => b.pick('', undefined)));
    expect(c).toEqual({ '10.0.0.0:80': 500, '10.0.0.1:80': 100, '10.0.0.2:80': 100 });
  });

  it('least-connections prefers the target with the fewest in flight per weight', () => {
    const ts = targets(100, 100, 200);
    const b = createBalancer('least-connections', ts);
    ts[0]!.active = 3;
    ts[1]!.active = 2;
    ts[2]!.active = 3; // (3+1)/200 = 0.02 < (2+1)/100
    expect(b.pick('', undefined)).toBe(ts[2]);
    ts[2]!.active = 10;
    expect(b.pick('', undefined)).toBe(ts[1]);
    // Simulated load: picks that are never released spread by weight.
    for (const t of ts) t.active = 0;
    for (let i = 0; i < 400; i++) b.pick('', undefined)!.active++;
    expect(ts.map((t) => t.active)).toEqual([100, 100, 200]);
  });

  it('consistent hashing is sticky, spread, and stable when a target drains', () => {
    const ts = targets(100, 100, 100, 100);
    const b = createBalancer('consistent-hashing', ts);
    const keys = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const first = keys.map((k) => b.pick(k, undefined));
    expect(keys.map((k) => b.pick(k, undefined))).toEqual(first);
    const c = counts(first);
    for (const t of ts) expect(c[t.address]).toBeGreaterThan(600);
    const drained = targets(100, 100, 100, 0);
    const b2 = createBalancer('consistent-hashing', drained);
    let moved = 0;
    keys.forEach((k, i) => {
      const before = first[i]!.address;
      const after = b2.pick(k, undefined)!.address;
      if (before !== '10.0.0.3:80') expect(after).toBe(before);
      else moved++;
    });
    expect(moved).toBeGreaterThan(600);
  });

  it('retries avoid excluded targets', () => {
    for (const alg of ['round-robin', 'weighted-round-robin', 'least-connections', 'consistent-hashing'] as const) {
      const ts = targets(100, 100);
      const b = createBalancer(alg, ts);
      for (let i = 0; i < 10; i++) expect(b.pick(`k${i}`, [ts[0]!])).toBe(ts[1]);
    }
  });

  it('answers undefined when every target is drained', () => {
    for (const alg of ['round-robin', 'weighted-round-robin', 'least-connections', 'consistent-hashing'] as const) {
      expect(createBalancer(alg, targets(0, 0)).pick('k', undefined)).toBeUndefined();
    }
  });

  it('parses host:port forms', () => {
    expect(parseHostPort('a.b:81')).toEqual({ host: 'a.b', port: 81 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
  });
});
