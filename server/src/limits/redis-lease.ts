/**
 * Leases for the `redis` policy: when a client is far from its limit, the limit script charges a few
 * units more than the request needs (at most 1/LEASE_DIVISOR of what every window has left, and at most
 * the instance's `redis_lease` cap) and this node admits that many further requests of the key itself,
 * without a Redis call. Near the limit the extra is 0 and every request is decided in Redis, so the
 * cluster-wide count stays exact: units are only ever taken from Redis's budget before they are used,
 * never after, and the time that decides them is still Redis's.
 *
 * A lease lives `leaseMs`. Units not used by then go back to Redis (a negative cost), so a node whose
 * client went quiet holds nothing another node could have admitted for longer than that.
 */
import type { Decision } from './algorithms.js';

/** A node takes at most this fraction (1/n) of what a key has left in one lease. */
export const LEASE_DIVISOR = 8;
/** Keys with a live lease per limit; past it, new leases are given straight back (memory stays bounded). */
const MAX_LEASES = 100_000;

interface Lease {
  /** Units this node may still admit. */
  left: number;
  /** performance.now() after which the lease is over. */
  until: number;
  /** The lease's own copy of the grant's decision; `remaining` is rewritten on each take. */
  readonly decision: Decision;
  /** Remaining per window after the latest grant: a take reports it plus what the lease still holds. */
  readonly base: number[];
}

export class LeaseTable {
  private readonly leases = new Map<string, Lease>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly leaseMs: number,
    /** Hands unused units back to Redis (LimitBatcher.giveBack). */
    private readonly giveBack: (key: string, units: number) => void,
  ) {
    this.timer = setInterval(sweepLeases, Math.max(10, leaseMs), this);
    this.timer.unref();
  }

  /** One unit of `key`'s lease, with the decision to report; undefined when there is none left (ask Redis). */
  take(key: string, now: number): Decision | undefined {
    const l = this.leases.get(key);
    if (l === undefined || l.left === 0) return undefined;
    if (now >= l.until) {
      this.giveBack(key, l.left);
      this.leases.delete(key);
      return undefined;
    }
    l.left--;
    const d = l.decision;
    for (let i = 0; i < l.base.length; i++) d.remaining[i] = l.base[i]! + l.left;
    return d;
  }

  /**
   * Keeps the extra units of an admitting Redis decision (`granted` beyond the request's own one), and
   * makes `d` report them as remaining: they are still this client's to use.
   */
  add(key: string, d: Decision, now: number): void {
    const extra = d.granted - 1;
    if (extra <= 0) return;
    let l = this.leases.get(key);
    if (l !== undefined && l.left > 0 && now < l.until) {
      // Two requests of one key asked Redis in the same batch: both grants are this node's.
      l.left += extra;
      for (let i = 0; i < l.base.length; i++) l.base[i] = d.remaining[i]!;
    } else {
      if (l === undefined && this.leases.size >= MAX_LEASES) return this.giveBack(key, extra);
      if (l !== undefined && l.left > 0) this.giveBack(key, l.left);
      l = { left: extra, until: now + this.leaseMs, decision: d.copy(), base: d.remaining.slice() };
      this.leases.set(key, l);
    }
    for (let i = 0; i < l.base.length; i++) d.remaining[i] = l.base[i]! + l.left;
  }

  get size(): number {
    return this.leases.size;
  }

  /** Gives back what expired leases hold and forgets them. */
  sweep(now: number): void {
    for (const [k, l] of this.leases) {
      if (now < l.until) continue;
      if (l.left > 0) this.giveBack(k, l.left);
      this.leases.delete(k);
    }
  }

  /** Gives every unused unit back (the limit is being replaced or the node stops). */
  close(): void {
    clearInterval(this.timer);
    for (const [k, l] of this.leases) if (l.left > 0) this.giveBack(k, l.left);
    this.leases.clear();
  }
}

function sweepLeases(t: LeaseTable): void {
  t.sweep(performance.now());
}
