import { describe, expect, it } from 'vitest';
import { RetryBudget } from './retry-budget.js';

describe('RetryBudget', () => {
  it('allows min_per_second retries per second of window even without requests', () => {
    let t = 1_000_000;
    const b = new RetryBudget(0, 1, () => t);
    let allowed = 0;
    for (let i = 0; i < 50; i++) if (b.tryRetry()) allowed++;
    expect(allowed).toBe(10);
    t += 10_000;
    expect(b.tryRetry()).toBe(true);
  });

  it('caps retries at the ratio of recent requests', () => {
    let t = 5_000_000;
    const b = new RetryBudget(0.2, 0, () => t);
    for (let i = 0; i < 100; i++) b.recordRequest();
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (b.tryRetry()) allowed++;
    expect(allowed).toBe(20);
    // The requests age out of the 10 s window with their seconds.
    t += 11_000;
    expect(b.tryRetry()).toBe(false);
  });

  it('forgets only the seconds that passed', () => {
    let t = 7_000_000;
    const b = new RetryBudget(0.5, 0, () => t);
    for (let i = 0; i < 10; i++) b.recordRequest();
    t += 5_000;
    for (let i = 0; i < 10; i++) b.recordRequest();
    let allowed = 0;
    for (let i = 0; i < 20; i++) if (b.tryRetry()) allowed++;
    expect(allowed).toBe(10);
    t += 5_000; // the first 10 requests leave the window, their retries stay counted with the second batch's second
    expect(b.tryRetry()).toBe(false);
  });
});
