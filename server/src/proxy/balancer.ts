/**
 * Target selection for one upstream: round-robin, smooth weighted round-robin (nginx's algorithm),
 * weighted least-connections and consistent hashing on a ketama-style ring. A weight of 0 drains a
 * target: it gets no new requests, and in-flight ones finish.
 */
import type { LB_ALGORITHMS } from '../config/schema.js';

export type Algorithm = (typeof LB_ALGORITHMS)[number];

/** One instance; `active` is maintained by the caller (incremented on dispatch, decremented on finish). */
export class Target {
  active = 0;
  /** Smooth WRR state. */
  current = 0;
  constructor(
    readonly address: string,
    readonly host: string,
    readonly port: number,
    readonly weight: number,
  ) {}
}

/** Parses `host:port` or `[v6]:port`. */
export function parseHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  let host = address.slice(0, i);
  if (host.startsWith('[')) host = host.slice(1, -1);
  return { host, port: Number(address.slice(i + 1)) };
}

export interface Balancer {
  readonly targets: readonly Target[];
  /**
   * Picks a target, avoiding the ones in `exclude` when another is available (retries go elsewhere).
   * `hashKey` is only read by consistent hashing. Returns undefined when every target is drained.
   */
  pick(hashKey: string, exclude: readonly Target[] | undefined): Target | undefined;
}

/** FNV-1a, 32 bit: cheap and well spread for short keys. */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

class RoundRobin implements Balancer {
  private next = 0;
  private readonly live: Target[];
  constructor(readonly targets: readonly Target[]) {
    this.live = targets.filter((t) => t.weight > 0);
  }
  pick(_key: string, exclude: readonly Target[] | undefined): Target | undefined {
    const live = this.live;
    const n = live.length;
    if (n === 0) return undefined;
    for (let tries = 0; tries < n; tries++) {
      const t = live[this.next++ % n]!;
      if (!exclude || !exclude.includes(t)) return t;
    }
    return live[this.next++ % n];
  }
}

/** nginx's smooth weighted round-robin: spreads a heavy target's turns instead of bursting them. */
class WeightedRoundRobin implements Balancer {
  private readonly live: Target[];
  private readonly total: number;
  constructor(readonly targets: readonly Target[]) {
    this.live = targets.filter((t) => t.weight > 0);
    this.total = this.live.reduce((s, t) => s + t.weight, 0);
  }
  pick(_key: string, exclude: readonly Target[] | undefined): Target | undefined {
    const live = this.live;
    let best: Target | undefined;
    let total = 0;
    for (let i = 0; i < live.length; i++) {
      const t = live[i]!;
      if (exclude && exclude.includes(t) && live.length > exclude.length) continue;
      t.current += t.weight;
      total += t.weight;
      if (!best || t.current > best.current) best = t;
    }
    if (best) best.current -= total;
    return best;
  }
}

/** Fewest in-flight requests relative to weight; ties rotate so idle targets share the load. */
class LeastConnections implements Balancer {
  private readonly live: Target[];
  private start = 0;
  constructor(readonly targets: readonly Target[]) {
    this.live = targets.filter((t) => t.weight > 0);
  }
  pick(_key: string, exclude: readonly Target[] | undefined): Target | undefined {
    const live = this.live;
    const n = live.length;
    let best: Target | undefined;
    let bestScore = Infinity;
    const s = this.start++;
    for (let k = 0; k < n; k++) {
      const t = live[(s + k) % n]!;
      if (exclude && exclude.includes(t) && n > exclude.length) continue;
      const score = (t.active + 1) / t.weight;
      if (score < bestScore) {
        bestScore = score;
        best = t;
      }
    }
    return best;
  }
}

/** Points per weight unit of 100 (the default weight), as in ketama's 160 points per server. */
const POINTS_PER_100 = 160;

/** Ketama-style ring: adding or draining one target remaps only about 1/n of the keys. */
class ConsistentHashing implements Balancer {
  private readonly points: Uint32Array;
  private readonly owners: Target[];
  constructor(readonly targets: readonly Target[]) {
    const pts: [number, Target][] = [];
    for (const t of targets) {
      if (t.weight <= 0) continue;
      const n = Math.max(1, Math.round((POINTS_PER_100 * t.weight) / 100));
      for (let i = 0; i < n; i++) pts.push([fnv1a(`${t.address}#${i}`), t]);
    }
    pts.sort((a, b) => a[0] - b[0]);
    this.points = Uint32Array.from(pts.map((p) => p[0]));
    this.owners = pts.map((p) => p[1]);
  }
  pick(key: string, exclude: readonly Target[] | undefined): Target | undefined {
    const n = this.points.length;
    if (n === 0) return undefined;
    const h = fnv1a(key);
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.points[mid]! < h) lo = mid + 1;
      else hi = mid;
    }
    const first = this.owners[lo % n]!;
    if (!exclude || !exclude.includes(first)) return first;
    // A retry walks the ring to the next distinct target, so it stays deterministic for the key.
    for (let k = 1; k < n; k++) {
      const t = this.owners[(lo + k) % n]!;
      if (!exclude.includes(t)) return t;
    }
    return first;
  }
}

export function createBalancer(algorithm: Algorithm, targets: readonly Target[]): Balancer {
  switch (algorithm) {
    case 'weighted-round-robin':
      return new WeightedRoundRobin(targets);
    case 'least-connections':
      return new LeastConnections(targets);
    case 'consistent-hashing':
      return new ConsistentHashing(targets);
    default:
      return new RoundRobin(targets);
  }
}
