/**
 * The admin thread's side of the live stream: collects the per-second aggregates of this node's proxy
 * (live-aggregates.ts) and, when Redis is configured, of every other node, and hands one merged tick per
 * second to its listeners (the socket.io gateway in admin/live/).
 *
 * Across nodes: each node publishes its own second on LIVE_CHANNEL and subscribes to everyone's. A second
 * is merged and emitted `graceMs` after it closed (nodes' timers and clocks differ by a few milliseconds,
 * Redis adds its round trip); whatever arrives later is counted as late and dropped, so one slow node never
 * holds the stream back. `nodes` in the tick says how many contributed. Without Redis the local second is
 * emitted as soon as it arrives.
 *
 * Publishing goes through a client that never queues while Redis is down (a lost second is better than a
 * burst of stale ones); the subscriber has a connection of its own, as a subscribed connection can send no
 * other command, and re-subscribes by itself after a reconnect.
 */
import { Redis } from 'ioredis';
import type { PluginLogger } from '../plugins/types.js';
import { createRedisClient, reconnectDelay } from '../limits/redis-client.js';
import type { BreakerStateName } from '../resilience/circuit-breaker.js';
import { LatencyHistogram, type LiveCell, type LiveSecond } from './live-aggregates.js';

export const LIVE_CHANNEL = 'gatehouse:live';
export const DEFAULT_GRACE_MS = 300;

/** One row of a tick: requests per second, share of errors, latency percentiles in ms (null: no requests). */
export interface LiveRate {
  rps: number;
  errors: number;
  error_rate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface LiveBreakerTick {
  group: string;
  breaker: string;
  /** The worst state among the nodes: open, then half-open, then closed. */
  state: BreakerStateName;
  /** Nodes in each state. */
  nodes: { closed: number; open: number; half_open: number };
}

/** What the dashboard receives each second (socket.io event `tick`). */
export interface LiveTick {
  /** Start of the second, epoch milliseconds. */
  at: number;
  /** Nodes whose aggregates were merged. */
  nodes: number;
  total: LiveRate;
  routes: (LiveRate & { route: string })[];
  services: (LiveRate & { service: string })[];
  breakers: LiveBreakerTick[];
}

export type LiveTickListener = (tick: LiveTick) => void;

class Merged {
  count = 0;
  errors = 0;
  readonly latency = new LatencyHistogram();
  add(c: LiveCell): void {
    this.count += c.count;
    this.errors += c.errors;
    this.latency.addSparse(c.latency);
  }
  rate(): LiveRate {
    return {
      rps: this.count,
      errors: this.errors,
      error_rate: this.count === 0 ? 0 : Math.round((this.errors / this.count) * 10_000) / 10_000,
      p50: this.latency.percentile(0.5),
      p95: this.latency.percentile(0.95),
      p99: this.latency.percentile(0.99),
    };
  }
}

function mergeCells(into: Map<string, Merged>, cells: readonly LiveCell[]): void {
  for (const c of cells) {
    let m = into.get(c.name);
    if (m === undefined) into.set(c.name, (m = new Merged()));
    m.add(c);
  }
}

const SEVERITY: Record<BreakerStateName, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Merges the seconds of several nodes (the same second) into one tick; percentiles come from the summed buckets. */
export function mergeSeconds(second: number, parts: readonly LiveSecond[]): LiveTick {
  const total = new Merged();
  const routes = new Map<string, Merged>();
  const services = new Map<string, Merged>();
  const breakers = new Map<string, LiveBreakerTick>();
  for (const p of parts) {
    total.add(p.total);
    mergeCells(routes, p.routes);
    mergeCells(services, p.services);
    for (const b of p.breakers) {
      let t = breakers.get(b.id);
      if (t === undefined) breakers.set(b.id, (t = { group: b.group, breaker: b.id, state: b.state, nodes: { closed: 0, open: 0, half_open: 0 } }));
      if (SEVERITY[b.state] > SEVERITY[t.state]) t.state = b.state;
      t.nodes[b.state === 'half-open' ? 'half_open' : b.state]++;
    }
  }
  const byName = (a: { n: string }, b: { n: string }) => (a.n < b.n ? -1 : a.n > b.n ? 1 : 0);
  return {
    at: second * 1000,
    nodes: parts.length,
    total: total.rate(),
    routes: [...routes].map(([n, m]) => ({ n, r: { route: n, ...m.rate() } })).sort(byName).map((x) => x.r),
    services: [...services].map(([n, m]) => ({ n, r: { service: n, ...m.rate() } })).sort(byName).map((x) => x.r),
    breakers: [...breakers.values()].sort((a, b) => (a.breaker < b.breaker ? -1 : a.breaker > b.breaker ? 1 : 0)),
  };
}

export interface LiveHubOptions {
  nodeId: string;
  logger: PluginLogger;
  /** Cross-node merging through this Redis; this node only when unset. */
  redisUrl?: string;
  graceMs?: number;
  channel?: string;
}

interface Pending {
  parts: Map<string, LiveSecond>;
  timer: NodeJS.Timeout | undefined;
}

/** Seconds kept in flight at most; bounds memory if a peer's clock is far off. */
const MAX_PENDING = 10;

export class LiveHub {
  private readonly listeners = new Set<LiveTickListener>();
  private readonly pending = new Map<number, Pending>();
  /** The newest second emitted: anything for it or before is late. */
  private emittedUpTo = 0;
  private readonly graceMs: number;
  private readonly channel: string;
  private readonly pub: Redis | undefined;
  private readonly sub: Redis | undefined;
  private closed = false;
  /** Seconds from other nodes that arrived after their tick was emitted (or unreadable ones). */
  late = 0;
  /** The last tick emitted, for a socket that connects between two ticks. */
  last: LiveTick | undefined = undefined;

  constructor(private readonly opts: LiveHubOptions) {
    this.graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    this.channel = opts.channel ?? LIVE_CHANNEL;
    if (opts.redisUrl) {
      this.pub = createRedisClient(opts.redisUrl, opts.logger);
      this.sub = new Redis(opts.redisUrl, { retryStrategy: reconnectDelay, maxRetriesPerRequest: null, connectTimeout: 2_000 });
      // The publisher logs reachability; the subscriber's errors are the same outage.
      this.sub.on('error', () => {});
      this.sub.on('message', (channel: string, message: string) => {
        if (channel === this.channel) this.receive(message);
      });
      this.sub.subscribe(this.channel).catch((err: unknown) => opts.logger.warn({ err: (err as Error).message }, 'live stream: redis subscribe failed'));
    }
  }

  /** True when other nodes' seconds are merged in. */
  get clustered(): boolean {
    return this.pub !== undefined;
  }

  /** A second of this node's proxy. */
  push(second: LiveSecond): void {
    if (this.closed) return;
    if (this.pub !== undefined) {
      this.pub.publish(this.channel, JSON.stringify(second)).catch(() => {
        // Redis down: the other nodes miss this node's second (their `nodes` count shows it); nothing to retry.
      });
    }
    this.add(second);
  }

  subscribe(listener: LiveTickListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const p of this.pending.values()) if (p.timer) clearTimeout(p.timer);
    this.pending.clear();
    this.listeners.clear();
    this.pub?.disconnect();
    this.sub?.disconnect();
  }

  private receive(message: string): void {
    let s: LiveSecond;
    try {
      s = JSON.parse(message) as LiveSecond;
    } catch {
      this.late++;
      return;
    }
    if (typeof s !== 'object' || s === null || typeof s.node !== 'string' || !Number.isInteger(s.second) || typeof s.total !== 'object' || !Array.isArray(s.routes) || !Array.isArray(s.services) || !Array.isArray(s.breakers)) {
      this.late++;
      return;
    }
    // Our own second came in through push() already.
    if (s.node === this.opts.nodeId) return;
    this.add(s);
  }

  private add(s: LiveSecond): void {
    if (this.closed) return;
    if (s.second <= this.emittedUpTo) {
      this.late++;
      return;
    }
    let p = this.pending.get(s.second);
    if (p === undefined) {
      if (this.pending.size >= MAX_PENDING) this.emit(Math.min(...this.pending.keys()));
      p = { parts: new Map(), timer: undefined };
      this.pending.set(s.second, p);
      if (this.pub !== undefined) {
        const wait = Math.max(0, (s.second + 1) * 1000 + this.graceMs - Date.now());
        p.timer = setTimeout(() => this.emit(s.second), wait);
        p.timer.unref();
      }
    }
    p.parts.set(s.node, s);
    if (this.pub === undefined) this.emit(s.second);
  }

  private emit(second: number): void {
    const p = this.pending.get(second);
    if (p === undefined) return;
    this.pending.delete(second);
    if (p.timer) clearTimeout(p.timer);
    if (second > this.emittedUpTo) this.emittedUpTo = second;
    const tick = mergeSeconds(second, [...p.parts.values()]);
    this.last = tick;
    for (const l of this.listeners) {
      try {
        l(tick);
      } catch (err) {
        this.opts.logger.error({ err }, 'live tick listener failed');
      }
    }
  }
}
