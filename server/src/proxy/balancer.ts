/**
 * Target selection for one upstream: round-robin, smooth weighted round-robin (nginx's algorithm),
 * weighted least-connections and consistent hashing on a ketama-style ring. A weight of 0 drains a
 * target: it gets no new requests, and in-flight ones finish. Every algorithm skips a target whose
 * `health.up` is false (resilience/health.ts) and answers undefined when none is left.
 */
import type { LB_ALGORITHMS } from '../config/schema.js';
import { ALWAYS_UP, type TargetHealth } from '../resilience/health.js';

export type { TargetHealth };

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
    /** Read by the balancer, fed by the proxy's reports; ALWAYS_UP when the upstream has no health checks. */
    readonly health: TargetHealth = ALWAYS_UP,
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
   * Picks a healthy target, avoiding the ones in `exclude` when another healthy one is available (retries
   * go elsewhere). `hashKey` is only read by consistent hashing. Returns undefined when every target is
   * drained or unhealthy.
   */
  pick(hashKey: string, exclude: readonly Target[] | undefined): Target | undefined;
}

/**
 * FNV-1a, 32 bit, with murmur3's finaliser. FNV alone barely moves the high bits for keys that differ in
 * their last character (`u1`, `u2`… land within 1/256 of the ring of each other), so similar keys and a
 * target's own points (`addr#0`, `addr#1`…) clustered on the ring and one target could own them all.
 */
export function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Whether some healthy target is not in `exclude`, i.e. whether excluded ones must be passed over. */
function canAvoid(live: readonly Target[], exclude: readonly Target[] | undefined): boolean {
  if (exclude === undefined || exclude.length === 0) return false;
  for (let i = 0; i < live.length; i++) {
    const t = live[i]!;
    if (t.health.up && !exclude.includes(t)) return true;
  }
  return false;
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
    let fallback: Target | undefined;
    for (let tries = 0; tries < n; tries++) {
      const i = this.next;
      this.next = i + 1 >= n ? 0 : i + 1;
      const t = live[i]!;
      if (!t.health.up) continue;
      if (!exclude || !exclude.includes(t)) return t;
      fallback ??= t;
    }
    return fallback;
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
    const avoid = canAvoid(live, exclude);
    let best: Target | undefined;
    let total = 0;
    for (let i = 0; i < live.length; i++) {
      const t = live[i]!;
      // A target left out neither gains nor pays weight, so the others' turns stay smooth meanwhile.
      if (!t.health.up || (avoid && exclude!.includes(t))) continue;
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
    const avoid = canAvoid(live, exclude);
    let best: Target | undefined;
    let bestScore = Infinity;
    const s = this.start++;
    for (let k = 0; k < n; k++) {
      const t = live[(s + k) % n]!;
      if (!t.health.up || (avoid && exclude!.includes(t))) continue;
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
    // An unhealthy owner or a retry walks the ring to the next target, so the choice stays
    // deterministic for the key and only the keys of the missing target move.
    const owners = this.owners;
    let fallback: Target | undefined;
    for (let k = 0; k < n; k++) {
      const t = owners[(lo + k) % n]!;
      if (!t.health.up) continue;
      if (!exclude || !exclude.includes(t)) return t;
      fallback ??= t;
    }
    return fallback;
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
