import { describe, expect, it } from 'vitest';
import { Decision } from './algorithms.js';
import { LeaseTable } from './redis-lease.js';

function grant(granted: number, remaining: number[]): Decision {
  const d = new Decision(remaining.length);
  d.granted = granted;
  remaining.forEach((r, i) => (d.remaining[i] = r));
  return d;
}

describe('LeaseTable', () => {
  it('hands out the extra units of a grant, reporting them as remaining, then asks again', () => {
    const back: [string, number][] = [];
    const t = new LeaseTable(1_000, (k, u) => back.push([k, u]));
    const d = grant(4, [50, 900]);
    t.add('k', d, 0);
    expect(d.remaining).toEqual([53, 903]); // the grant's request sees the leased units as its own
    expect(t.take('k', 1)?.remaining).toEqual([52, 902]);
    expect(t.take('k', 2)?.remaining).toEqual([51, 901]);
    expect(t.take('k', 3)?.remaining).toEqual([50, 900]);
    expect(t.take('k', 4)).toBeUndefined();
    expect(t.take('other', 4)).toBeUndefined();
    expect(back).toEqual([]);
    t.close();
  });

  it('a grant without extra units leaves no lease', () => {
    const t = new LeaseTable(1_000, () => {});
    t.add('k', grant(1, [7]), 0);
    expect(t.size).toBe(0);
    expect(t.take('k', 1)).toBeUndefined();
    t.close();
  });

  it('gives back what an expired lease holds, on the next take or on the sweep, and everything on close', () => {
    const back: [string, number][] = [];
    const t = new LeaseTable(100, (k, u) => back.push([k, u]));
    t.add('a', grant(6, [10]), 0);
    t.add('b', grant(3, [10]), 0);
    t.add('c', grant(9, [10]), 50);
    t.take('a', 10);
    expect(t.take('a', 100)).toBeUndefined(); // expired: 4 left go back
    t.sweep(120); // b expired (2 left); c still live
    expect(back).toEqual([
      ['a', 4],
      ['b', 2],
    ]);
    expect(t.size).toBe(1);
    t.close();
    expect(back.at(-1)).toEqual(['c', 8]);
    expect(t.size).toBe(0);
  });

  it('two grants of one key in one batch add up', () => {
    const t = new LeaseTable(1_000, () => {});
    t.add('k', grant(3, [20]), 0);
    const second = grant(3, [17]);
    t.add('k', second, 0);
    expect(second.remaining).toEqual([21]);
    let n = 0;
    while (t.take('k', 1) !== undefined) n++;
    expect(n).toBe(4);
    t.close();
  });
});
