import { describe, expect, it } from 'vitest';
import { createBalancer, parseHostPort, Target, type TargetHealth } from './balancer.js';
import { HealthRegistry } from '../resilience/health.js';
import { Value } from '@sinclair/typebox/value';
import { HealthchecksSchema } from '../config/schema.js';

const ALGORITHMS = ['round-robin', 'weighted-round-robin', 'least-connections', 'consistent-hashing'] as const;

const targets = (...weights: number[]) => weights.map((w, i) => new Target(`10.0.0.${i}:80`, `10.0.0.${i}`, 80, w));

/** A health switch the test flips directly; the registry's own logic is covered in resilience/health.spec.ts. */
class Switch implements TargetHealth {
  up = true;
  reportStatus(): void {}
  reportFailure(): void {}
}

function switched(...weights: number[]): { ts: Target[]; sw: Switch[] } {
  const sw = weights.map(() => new Switch());
  return { ts: weights.map((w, i) => new Target(`10.0.0.${i}:80`, `10.0.0.${i}`, 80, w, sw[i])), sw };
}

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

  it('every algorithm skips unhealthy targets, and uses them again once up', () => {
    for (const alg of ALGORITHMS) {
      const { ts, sw } = switched(100, 100, 100);
      const b = createBalancer(alg, ts);
      sw[1]!.up = false;
      const c = counts(Array.from({ length: 300 }, (_, i) => b.pick(`k${i}`, undefined)));
      expect(c['10.0.0.1:80'], alg).toBeUndefined();
      expect(c['10.0.0.0:80'], alg).toBeGreaterThan(0);
      expect(c['10.0.0.2:80'], alg).toBeGreaterThan(0);
      sw[1]!.up = true;
      const back = counts(Array.from({ length: 300 }, (_, i) => b.pick(`k${i}`, undefined)));
      expect(back['10.0.0.1:80'], alg).toBeGreaterThan(0);
    }
  });

  it('answers undefined when every target is down, even for retries', () => {
    for (const alg of ALGORITHMS) {
      const { ts, sw } = switched(100, 100);
      const b = createBalancer(alg, ts);
      for (const s of sw) s.up = false;
      expect(b.pick('k', undefined), alg).toBeUndefined();
      expect(b.pick('k', [ts[0]!]), alg).toBeUndefined();
      sw[0]!.up = true;
      expect(b.pick('k', undefined), alg).toBe(ts[0]);
    }
  });

  it('a retry goes back to an excluded target when the only other one is down', () => {
    for (const alg of ALGORITHMS) {
      const { ts, sw } = switched(100, 100, 100);
      const b = createBalancer(alg, ts);
      sw[1]!.up = false;
      sw[2]!.up = false;
      expect(b.pick('k', [ts[0]!]), alg).toBe(ts[0]);
      sw[2]!.up = true;
      expect(b.pick('k', [ts[0]!]), alg).toBe(ts[2]);
    }
  });

  it('round-robin shares evenly among the healthy targets', () => {
    const { ts, sw } = switched(100, 100, 100);
    const b = createBalancer('round-robin', ts);
    sw[2]!.up = false;
    expect(counts(Array.from({ length: 300 }, () => b.pick('', undefined)))).toEqual({ '10.0.0.0:80': 150, '10.0.0.1:80': 150 });
  });

  it('smooth weighted round-robin keeps its sequence while a target is down, without drift', () => {
    const { ts, sw } = switched(5, 1, 1);
    const b = createBalancer('weighted-round-robin', ts);
    const seq = (len: number) => Array.from({ length: len }, () => b.pick('', undefined)!.address.slice(-4, -3)).join('');
    expect(seq(7)).toBe('0010200');
    sw[1]!.up = false;
    // Weights 5 and 1 alone: 5 to 1 in every cycle of 6, however long the target stays down.
    for (let cycle = 0; cycle < 50; cycle++) {
      const c = seq(6);
      expect(c.split('').filter((x) => x === '0')).toHaveLength(5);
      expect(c.split('').filter((x) => x === '2')).toHaveLength(1);
    }
    sw[1]!.up = true;
    // Back to 5:1:1 over whole cycles once the target returns.
    const c = counts(Array.from({ length: 700 }, () => b.pick('', undefined)));
    expect(c).toEqual({ '10.0.0.0:80': 500, '10.0.0.1:80': 100, '10.0.0.2:80': 100 });
  });

  it('consistent hashing moves only the keys of an unhealthy target, and moves them back', () => {
    const { ts, sw } = switched(100, 100, 100, 100);
    const b = createBalancer('consistent-hashing', ts);
    const keys = Array.from({ length: 4000 }, (_, i) => `user-${i}`);
    const first = keys.map((k) => b.pick(k, undefined)!);
    sw[3]!.up = false;
    let moved = 0;
    keys.forEach((k, i) => {
      const after = b.pick(k, undefined)!;
      expect(after).not.toBe(ts[3]);
      if (first[i] !== ts[3]) expect(after).toBe(first[i]);
      else moved++;
    });
    expect(moved).toBeGreaterThan(600);
    sw[3]!.up = true;
    expect(keys.map((k) => b.pick(k, undefined))).toEqual(first);
  });

  it('skips a target ejected by real passive health checks', () => {
    const registry = new HealthRegistry();
    const cfg = Value.Default(HealthchecksSchema, { passive: { enabled: true, unhealthy: { failures: 2 } } }) as never;
    const hs = [0, 1].map((i) => registry.acquire({ upstream: 'u', address: `10.0.0.${i}:80`, host: `10.0.0.${i}`, port: 80 }, cfg));
    const ts = hs.map((h, i) => new Target(`10.0.0.${i}:80`, `10.0.0.${i}`, 80, 100, h));
    const b = createBalancer('round-robin', ts);
    hs[0]!.reportStatus(502);
    hs[0]!.reportFailure('connect');
    for (let i = 0; i < 10; i++) expect(b.pick('', undefined)).toBe(ts[1]);
    hs[1]!.reportFailure('reset');
    hs[1]!.reportFailure('reset');
    expect(b.pick('', undefined)).toBeUndefined();
    void registry.close();
  });

  it('parses host:port forms', () => {
    expect(parseHostPort('a.b:81')).toEqual({ host: 'a.b', port: 81 });
    expect(parseHostPort('[::1]:8080')).toEqual({ host: '::1', port: 8080 });
  });
});

describe('consistent hashing spread', () => {
  it('spreads similar keys over the targets whatever their ports', () => {
    // Before the hash had a finaliser, keys like u0…u19 and a target's own points clustered on the ring,
    // and for some port triples one target owned every key.
    for (let base = 30_000; base < 30_600; base += 7) {
      const targets = [0, 1, 2].map((k) => new Target(`127.0.0.1:${base + k * 13}`, '127.0.0.1', base + k * 13, 100));
      const b = createBalancer('consistent-hashing', targets);
      const owners = new Map<Target, number>();
      for (let i = 0; i < 60; i++) {
        const t = b.pick(`u${i}`, undefined)!;
        owners.set(t, (owners.get(t) ?? 0) + 1);
      }
      expect(owners.size, `ports from ${base}`).toBe(3);
      for (const n of owners.values()) expect(n, `ports from ${base}`).toBeGreaterThanOrEqual(6);
    }
  });
});
