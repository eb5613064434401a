/**
 * Where a request falls in [0, 1): the common currency of traffic-split (which service) and mirror (whether
 * to copy). A sticky key (cookie, header, consumer) always lands on the same point, so the weights decide
 * only where the boundaries are: raising a canary from 5% to 10% moves the boundary and keeps everyone who
 * was in the first 5% where they were.
 */
import type { RequestContext } from '../plugins/types.js';
import { fnv1a } from '../proxy/balancer.js';

/** Resolution of the point a split cookie stores: ten-thousandths, i.e. 0.01 % steps. */
export const COOKIE_BUCKETS = 10_000;

export type StickyBy = 'none' | 'cookie' | 'header' | 'consumer';

/** Point of a sticky key: the same key always gives the same point. */
export function pointOf(key: string): number {
  return fnv1a(key) / 4_294_967_296;
}

export { cookieValue } from '../proxy/headers.js';

/** A split cookie's value: an integer in [0, COOKIE_BUCKETS); anything else is treated as absent. */
export function parseCookieBucket(v: string | undefined): number | undefined {
  if (v === undefined || v.length === 0 || v.length > 5) return undefined;
  let n = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return undefined;
    n = n * 10 + c;
  }
  return n < COOKIE_BUCKETS ? n : undefined;
}

/**
 * The sticky key of a request for `header`/`consumer` stickiness, or undefined when the request has none
 * (it is then placed at random, i.e. not sticky). Cookie stickiness is handled by the caller, which
 * stores the point itself rather than a key.
 */
export function stickyKey(ctx: RequestContext, by: StickyBy, headerName: string): string | undefined {
  if (by === 'header') {
    const v = ctx.req.headers[headerName];
    if (v === undefined || v === '') return undefined;
    return Array.isArray(v) ? v.join(',') : v;
  }
  if (by === 'consumer') {
    return ctx.consumer?.username;
  }
  return undefined;
}

/**
 * Cumulative weights in the configured order, so a point maps to a target with a short scan. Targets are
 * few (≤ 20): a linear scan beats a binary search at that size.
 */
export class WeightTable<T> {
  private readonly bounds: number[];
  readonly total: number;
  constructor(
    readonly items: readonly T[],
    weights: readonly number[],
  ) {
    let sum = 0;
    this.bounds = weights.map((w) => (sum += w));
    this.total = sum;
  }

  /** The item whose range holds `point` ∈ [0, 1); items of weight 0 are never chosen. */
  pick(point: number): T {
    const x = point * this.total;
    const b = this.bounds;
    for (let i = 0; i < b.length; i++) if (x < b[i]!) return this.items[i]!;
    // point < 1 always lands in a range; floating point at the very end falls to the last non-empty one.
    for (let i = b.length - 1; i > 0; i--) if (b[i]! > b[i - 1]!) return this.items[i]!;
    return this.items[0]!;
  }
}
