/**
 * Limiter algorithms as pure functions over a small numeric state, shared by the in-memory store and
 * mirrored line by line in the Redis Lua script (redis-scripts.ts), so both policies decide identically.
 *
 * A limit set is a list of windows evaluated together: every window must admit the request, and only
 * then are all of them charged (check-all-then-commit), so a request refused by the hour window does not
 * use up the second window. State per window: 3 numbers (meaning depends on the kind).
 *
 *   gcra            [tat]                    theoretical arrival time, ms. Exact: at most `limit` in any
 *                                            `window`-long interval, no 2x burst at window edges.
 *   sliding-window  [index, current, prev]   fixed-window counts weighted by overlap (see README bound).
 *   quota-day/month [period, count]          calendar periods in UTC, renewing at 00:00 / the 1st.
 */

export type WindowKind = 'gcra' | 'sliding-window' | 'quota-day' | 'quota-month';

export interface WindowSpec {
  readonly kind: WindowKind;
  /** Name used in the RateLimit-Policy field ("second", "minute", "hour", "day", "quota-day", "quota-month"). */
  readonly name: string;
  /** Window length in ms (gcra, sliding-window); 86_400_000 for quota-day; 0 for quota-month (calendar). */
  readonly windowMs: number;
  readonly limit: number;
}

export const STATE_SLOTS = 3;

/**
 * The outcome of one evaluation, written into a caller-owned object so the local hot path allocates
 * nothing. `remaining` and `resetMs` are per window, aligned with the specs.
 */
export class Decision {
  allowed = true;
  /** Time until the request would be admitted (0 when allowed). */
  retryAfterMs = 0;
  /** Index of the window with the fewest remaining units (the one legacy headers report). */
  tightest = 0;
  /** Units charged by a `redis` decision: the request's own, plus a lease the node admits itself (redis-lease.ts). */
  granted = 0;
  readonly remaining: number[];
  readonly resetMs: number[];
  constructor(n: number) {
    this.remaining = new Array<number>(n).fill(0);
    this.resetMs = new Array<number>(n).fill(0);
  }
  /** A copy that outlives the next evaluation into this reusable object. */
  copy(): Decision {
    const d = new Decision(this.remaining.length);
    d.allowed = this.allowed;
    d.retryAfterMs = this.retryAfterMs;
    d.tightest = this.tightest;
    d.granted = this.granted;
    for (let i = 0; i < this.remaining.length; i++) {
      d.remaining[i] = this.remaining[i]!;
      d.resetMs[i] = this.resetMs[i]!;
    }
    return d;
  }
}

/** Slack for floating-point accumulation of fractional emission intervals (same value in Lua). */
const EPSILON_MS = 0.01;
const DAY_MS = 86_400_000;

/** UTC month boundaries, cached: recomputed only when `now` leaves the cached month. */
let monthStart = 0;
let monthEnd = 0;
let monthId = 0;
export function utcMonth(now: number): number {
  if (now >= monthStart && now < monthEnd) return monthId;
  const d = new Date(now);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  monthStart = Date.UTC(y, m, 1);
  monthEnd = Date.UTC(y, m + 1, 1);
  monthId = y * 12 + m;
  return monthId;
}
/** End of the UTC month containing `now` (valid right after utcMonth(now)). */
function utcMonthEnd(now: number): number {
  utcMonth(now);
  return monthEnd;
}

/**
 * Evaluates `specs` against `state` (STATE_SLOTS numbers per window) at time `now` for `cost` units;
 * charges every window only when all admit. Returns `out`.
 */
export function evaluate(specs: readonly WindowSpec[], state: Float64Array, now: number, cost: number, out: Decision): Decision {
  let allowed = true;
  let retry = 0;
  // Pass 1: decide per window without writing state.
  for (let i = 0; i < specs.length; i++) {
    const s = specs[i]!;
    const o = i * STATE_SLOTS;
    let ok: boolean;
    let wait = 0;
    switch (s.kind) {
      case 'gcra': {
        const t = s.windowMs / s.limit;
        const tat = state[o]! > now ? state[o]! : now;
        const newTat = tat + t * cost;
        ok = newTat - now <= s.windowMs + EPSILON_MS;
        if (!ok) wait = newTat - s.windowMs - now;
        break;
      }
      case 'sliding-window': {
        const w = s.windowMs;
        const idx = Math.floor(now / w);
        let cur = state[o + 1]!;
        let prev = state[o + 2]!;
        if (state[o] !== idx) {
          prev = state[o] === idx - 1 ? cur : 0;
          cur = 0;
        }
        const elapsed = now - idx * w;
        const est = (prev * (w - elapsed)) / w + cur;
        ok = est + cost <= s.limit;
        if (!ok) wait = slidingWait(s.limit, cost, cur, prev, elapsed, w);
        break;
      }
      case 'quota-day': {
        const p = Math.floor(now / DAY_MS);
        const count = state[o] === p ? state[o + 1]! : 0;
        ok = count + cost <= s.limit;
        if (!ok) wait = (p + 1) * DAY_MS - now;
        break;
      }
      case 'quota-month': {
        const p = utcMonth(now);
        const count = state[o] === p ? state[o + 1]! : 0;
        ok = count + cost <= s.limit;
        if (!ok) wait = utcMonthEnd(now) - now;
        break;
      }
    }
    if (!ok) {
      allowed = false;
      if (wait > retry) retry = wait;
    }
  }
  // Pass 2: charge (when allowed) and report remaining/reset per window.
  let tightest = 0;
  let least = Infinity;
  for (let i = 0; i < specs.length; i++) {
    const s = specs[i]!;
    const o = i * STATE_SLOTS;
    let remaining = 0;
    let reset = 0;
    switch (s.kind) {
      case 'gcra': {
        const t = s.windowMs / s.limit;
        let tat = state[o]! > now ? state[o]! : now;
        if (allowed) {
          tat += t * cost;
          state[o] = tat;
        }
        remaining = Math.floor((s.windowMs - (tat - now) + EPSILON_MS) / t);
        reset = tat - now;
        break;
      }
      case 'sliding-window': {
        const w = s.windowMs;
        const idx = Math.floor(now / w);
        if (state[o] !== idx) {
          state[o + 2] = state[o] === idx - 1 ? state[o + 1]! : 0;
          state[o + 1] = 0;
          state[o] = idx;
        }
        if (allowed) state[o + 1] = state[o + 1]! + cost;
        const elapsed = now - idx * w;
        remaining = Math.floor(s.limit - ((state[o + 2]! * (w - elapsed)) / w + state[o + 1]!));
        reset = w - elapsed;
        break;
      }
      case 'quota-day':
      case 'quota-month': {
        const p = s.kind === 'quota-day' ? Math.floor(now / DAY_MS) : utcMonth(now);
        if (state[o] !== p) {
          state[o] = p;
          state[o + 1] = 0;
        }
        if (allowed) state[o + 1] = state[o + 1]! + cost;
        remaining = s.limit - state[o + 1]!;
        reset = (s.kind === 'quota-day' ? (p + 1) * DAY_MS : utcMonthEnd(now)) - now;
        break;
      }
    }
    if (remaining < 0) remaining = 0;
    out.remaining[i] = remaining;
    out.resetMs[i] = reset;
    if (remaining < least) {
      least = remaining;
      tightest = i;
    }
  }
  out.allowed = allowed;
  out.retryAfterMs = allowed ? 0 : retry;
  out.tightest = tightest;
  return out;
}

/** When a sliding-window estimate will have dropped enough to admit `cost` more units. */
function slidingWait(limit: number, cost: number, cur: number, prev: number, elapsed: number, w: number): number {
  if (cur + cost > limit) {
    // Not before the next window; there the current count becomes the weighted previous one.
    if (cost > limit) return w - elapsed + w;
    return w - elapsed + w * (1 - (limit - cost) / cur);
  }
  // The previous window's weight must shrink: prev * (w - e) / w + cur + cost <= limit.
  const e = w - (w * (limit - cur - cost)) / prev;
  return e > elapsed ? e - elapsed : 0;
}

/** How long the state of `specs` must be kept after the last request (Redis key TTL, local sweep). */
export function ttlMs(specs: readonly WindowSpec[]): number {
  let ttl = 0;
  for (const s of specs) {
    const t = s.kind === 'sliding-window' ? 2 * s.windowMs : s.kind === 'quota-month' ? 31 * DAY_MS : s.kind === 'quota-day' ? DAY_MS : s.windowMs;
    if (t > ttl) ttl = t;
  }
  return ttl;
}
