import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Decision, type WindowSpec } from './algorithms.js';
import { LocalConcurrency, LocalLimiterStore } from './local-store.js';

const gcra = (limit: number, windowMs: number, name = 'w'): WindowSpec => ({ kind: 'gcra', name, windowMs, limit });
const sliding = (limit: number, windowMs: number): WindowSpec => ({ kind: 'sliding-window', name: 'w', windowMs, limit });

/** Fires `n` requests at `key` at the current fake time; returns how many were admitted. */
function burst(store: LocalLimiterStore, specs: WindowSpec[], n: number, key = 'k'): number {
  const d = new Decision(specs.length);
  let ok = 0;
  for (let i = 0; i < n; i++) if (store.consume(key, specs, 3_600_000, 1, d).allowed) ok++;
  return ok;
}

describe('local limiter algorithms (fake timers)', () => {
  let store: LocalLimiterStore;
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date('2026-03-31T23:59:00.000Z'));
    store = new LocalLimiterStore({ sweepIntervalMs: 60_000 });
  });
  afterEach(() => {
    store.close();
    vi.useRealTimers();
  });

  it.each([
    { limit: 1, windowMs: 1_000 },
    { limit: 7, windowMs: 60_000 }, // fractional emission interval (8571.43 ms)
    { limit: 100, windowMs: 60_000 },
    { limit: 3, windowMs: 3_600_000 },
  ])('gcra admits exactly $limit of a burst per $windowMs ms', ({ limit, windowMs }) => {
    expect(burst(store, [gcra(limit, windowMs)], limit * 3)).toBe(limit);
  });

  it('gcra has no 2x burst at a window edge: after a full burst, one unit per emission interval', () => {
    const specs = [gcra(10, 10_000)];
    expect(burst(store, specs, 10)).toBe(10);
    vi.advanceTimersByTime(999);
    expect(burst(store, specs, 5)).toBe(0);
    vi.advanceTimersByTime(1); // one emission interval (1 s) since the burst
    expect(burst(store, specs, 5)).toBe(1);
    // A fixed-window counter would hand out 10 more at the next window start; GCRA admits 10 over the next 10 s only.
    vi.advanceTimersByTime(10_000);
    expect(burst(store, specs, 20)).toBe(10);
  });

  it('reports remaining, reset and retry-after', () => {
    const specs = [gcra(4, 60_000)];
    const d = new Decision(1);
    store.consume('k', specs, 60_000, 1, d);
    expect(d).toMatchObject({ allowed: true, retryAfterMs: 0, remaining: [3], resetMs: [15_000] });
    for (let i = 0; i < 3; i++) store.consume('k', specs, 60_000, 1, d);
    expect(d.remaining[0]).toBe(0);
    store.consume('k', specs, 60_000, 1, d);
    expect(d.allowed).toBe(false);
    expect(d.retryAfterMs).toBe(15_000);
    vi.advanceTimersByTime(15_000);
    expect(store.consume('k', specs, 60_000, 1, d).allowed).toBe(true);
  });

  it('several windows: all must admit, and a refusal charges none of them', () => {
    const specs = [gcra(2, 1_000, 'second'), gcra(3, 60_000, 'minute')];
    expect(burst(store, specs, 5)).toBe(2); // the second window stops the burst
    vi.advanceTimersByTime(1_000);
    expect(burst(store, specs, 5)).toBe(1); // the minute window has 1 left (refusals above charged nothing)
    const d = new Decision(2);
    store.consume('k', specs, 60_000, 1, d);
    expect(d.allowed).toBe(false);
    expect(d.tightest).toBe(1);
  });

  it('keys never share state', () => {
    const specs = [gcra(2, 60_000)];
    expect(burst(store, specs, 5, 'a')).toBe(2);
    expect(burst(store, specs, 5, 'b')).toBe(2);
  });

  it('sliding window: exact inside one window, weighted across the edge within the documented bound', () => {
    const specs = [sliding(10, 60_000)];
    vi.setSystemTime(new Date('2026-01-01T00:00:00.000Z')); // a window start
    expect(burst(store, specs, 30)).toBe(10);
    vi.advanceTimersByTime(60_000 + 15_000); // 25% into the next window: previous weighs 75%
    expect(burst(store, specs, 30)).toBe(2); // 10 * 0.75 = 7.5 → 2 more fit under 10
    vi.advanceTimersByTime(45_000 + 60_000); // two windows later: nothing carried over
    expect(burst(store, specs, 30)).toBe(10);
  });

  it('sliding window: an edge burst never exceeds limit × (1 + elapsed/window)', () => {
    const specs = [sliding(100, 10_000)];
    vi.setSystemTime(new Date('2026-01-01T00:00:09.999Z'));
    expect(burst(store, specs, 200)).toBe(100); // all at the very end of a window
    vi.advanceTimersByTime(2_001); // 2 s into the next one
    const extra = burst(store, specs, 200);
    expect(extra).toBeGreaterThan(0);
    expect(100 + extra).toBeLessThanOrEqual(100 * (1 + 2_002 / 10_000) + 1);
  });

  it('daily quota renews at 00:00 UTC; monthly on the 1st', () => {
    const day: WindowSpec[] = [{ kind: 'quota-day', name: 'quota-day', windowMs: 86_400_000, limit: 3 }];
    const month: WindowSpec[] = [{ kind: 'quota-month', name: 'quota-month', windowMs: 0, limit: 2 }];
    expect(burst(store, day, 5, 'd')).toBe(3);
    expect(burst(store, month, 5, 'm')).toBe(2);
    const d = new Decision(1);
    store.consume('m', month, 1, 1, d);
    expect(d.retryAfterMs).toBe(60_000); // 23:59 on 31 March → 1 April
    vi.advanceTimersByTime(59_999);
    expect(burst(store, day, 1, 'd')).toBe(0);
    expect(burst(store, month, 1, 'm')).toBe(0);
    vi.advanceTimersByTime(1);
    expect(burst(store, day, 5, 'd')).toBe(3);
    expect(burst(store, month, 5, 'm')).toBe(2);
  });

  it('sweeps idle keys after their ttl', () => {
    const d = new Decision(1);
    store.consume('x', [gcra(1, 1_000)], 1_000, 1, d);
    expect(store.size).toBe(1);
    vi.advanceTimersByTime(60_000);
    expect(store.size).toBe(0);
  });
});

describe('local concurrency', () => {
  it('hands out at most max slots per key and takes them back', () => {
    const c = new LocalConcurrency();
    expect([c.acquire('k', 2), c.acquire('k', 2), c.acquire('k', 2)]).toEqual([true, true, false]);
    expect(c.acquire('other', 2)).toBe(true);
    c.release('k');
    expect(c.acquire('k', 2)).toBe(true);
    c.release('k');
    c.release('k');
    c.release('k'); // extra releases never go negative
    expect(c.inUse('k')).toBe(0);
  });
});
