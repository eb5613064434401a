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
 *
 * The hub also remembers: the last HISTORY_SECONDS merged ticks (a dashboard that opens draws its 5/15/60
 * minute charts at once, see admin/live/), and per-consumer counts by minute for the last 24 hours
 * (ConsumerUsage, read by the developer portal). Consumers never go out in ticks: a tick is broadcast to
 * every operator's browser, and one consumer's traffic is its own business.
 */
import { Redis } from 'ioredis';
import type { PluginLogger } from '../plugins/types.js';
import { createRedisClient, reconnectDelay, seedNodeUrl } from '../limits/redis-client.js';
import type { BreakerStateName } from '../resilience/circuit-breaker.js';
import { CONSUMER_OTHER, LatencyHistogram, type LiveCell, type LiveSecond } from './live-aggregates.js';

export const LIVE_CHANNEL = 'gatehouse:live';
export const DEFAULT_GRACE_MS = 300;

/** One row of a tick: requests per second, share of errors, latency percentiles in ms (null: no requests). */
export interface LiveRate {
  rps: number;
  errors: number;
  /** Responses with status 429 in that second. */
  limited: number;
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
  limited = 0;
  readonly latency = new LatencyHistogram();
  add(c: LiveCell): void {
    this.count += c.count;
    this.errors += c.errors;
    // A node on an older version sends no `limited`.
    this.limited += c.limited ?? 0;
    this.latency.addSparse(c.latency);
  }
  rate(): LiveRate {
    return {
      rps: this.count,
      errors: this.errors,
      limited: this.limited,
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

/** Ticks kept for a dashboard that connects: 60 minutes of seconds. */
export const HISTORY_SECONDS = 3600;

/** One minute of a consumer's traffic, as the developer portal's usage chart reads it. */
export interface ConsumerUsagePoint {
  /** Start of the minute, epoch milliseconds. */
  at: number;
  requests: number;
  /** Server errors (as a tick's `errors`: 5xx and broken upstream exchanges). */
  errors: number;
  /** Responses with status 429. */
  limited: number;
}

/** Minutes of per-consumer usage kept. */
export const USAGE_MINUTES = 24 * 60;
/**
 * Consumers whose usage is kept at most; the one idle the longest is forgotten for a new one. A consumer
 * busy every minute of the day costs ~23 KB, so this bounds the worst case at ~46 MB (a realistic
 * gateway, whose consumers are not all busy around the clock, uses a small fraction of it).
 */
export const MAX_USAGE_CONSUMERS = 2000;
const QUAD = 4;

/** One consumer's minutes with traffic, oldest first: quads [minute, requests, errors, limited] in a growable ring-free buffer. */
class UsageSeries {
  buf = new Uint32Array(8 * QUAD);
  /** Quad index of the oldest minute kept. */
  head = 0;
  /** Quads kept. */
  n = 0;

  lastMinute(): number {
    return this.n === 0 ? -1 : this.buf[(this.head + this.n - 1) * QUAD]!;
  }

  add(minute: number, requests: number, errors: number, limited: number): void {
    // Seconds reach the hub in order, so the minute is the newest one or a new one; an older one (a clock
    // step back) is counted into the newest rather than searched for.
    if (this.n > 0 && minute <= this.lastMinute()) {
      const i = (this.head + this.n - 1) * QUAD;
      const b = this.buf;
      b[i + 1] = b[i + 1]! + requests;
      b[i + 2] = b[i + 2]! + errors;
      b[i + 3] = b[i + 3]! + limited;
      return;
    }
    if ((this.head + this.n + 1) * QUAD > this.buf.length) this.makeRoom();
    const i = (this.head + this.n) * QUAD;
    this.buf[i] = minute;
    this.buf[i + 1] = requests;
    this.buf[i + 2] = errors;
    this.buf[i + 3] = limited;
    this.n++;
  }

  /** Forgets minutes before `oldest`. */
  trim(oldest: number): void {
    while (this.n > 0 && this.buf[this.head * QUAD]! < oldest) {
      this.head++;
      this.n--;
    }
    if (this.n === 0) this.head = 0;
  }

  private makeRoom(): void {
    // Trimmed minutes leave space at the front: slide down first, grow only when the buffer is really full
    // (never past a day's minutes plus one).
    if (this.head > 0 && this.n < (this.buf.length / QUAD) * 0.75) {
      this.buf.copyWithin(0, this.head * QUAD, (this.head + this.n) * QUAD);
      this.head = 0;
      return;
    }
    const quads = Math.min(Math.max(8, (this.buf.length / QUAD) * 2), USAGE_MINUTES + 2);
    const next = new Uint32Array(Math.max(quads, this.n + 1) * QUAD);
    next.set(this.buf.subarray(this.head * QUAD, (this.head + this.n) * QUAD));
    this.buf = next;
    this.head = 0;
  }
}

/** Per-consumer requests, errors and 429s by minute, for the last USAGE_MINUTES, across the cluster. */
export class ConsumerUsage {
  /** Insertion order is recency of traffic (a consumer is moved to the end when seen), so the first is the idlest. */
  private readonly series = new Map<string, UsageSeries>();

  /** Consumers currently held (bounded by MAX_USAGE_CONSUMERS). */
  get size(): number {
    return this.series.size;
  }

  /** Adds one merged second's consumer cells (`CONSUMER_OTHER` included: the portal never asks for it). */
  add(second: number, cells: readonly LiveCell[]): void {
    const minute = Math.floor(second / 60);
    for (const c of cells) {
      // Cells may come from another node through Redis: skip anything malformed.
      if (typeof c.name !== 'string' || !(c.count > 0)) continue;
      let s = this.series.get(c.name);
      if (s === undefined) {
        if (this.series.size >= MAX_USAGE_CONSUMERS) {
          const idlest = this.series.keys().next().value as string;
          this.series.delete(idlest);
        }
        s = new UsageSeries();
      } else {
        // Re-inserting moves it to the recent end (at most a second's consumers, MAX_LIVE_CONSUMERS a node).
        this.series.delete(c.name);
        if (s.lastMinute() !== minute) s.trim(minute - USAGE_MINUTES + 1);
      }
      this.series.set(c.name, s);
      s.add(minute, c.count, c.errors, c.limited ?? 0);
    }
    // Consumers with nothing in the last day: the idlest come first, so stop at the first one still active.
    for (const [name, s] of this.series) {
      if (s.lastMinute() > minute - USAGE_MINUTES) break;
      this.series.delete(name);
    }
  }

  /**
   * One point per minute from `sinceMs` (clamped to the last 24 hours) up to the current, still running
   * minute, zeros where the consumer sent nothing; empty when `sinceMs` is in the future.
   */
  query(consumerId: string, sinceMs: number, nowMs: number): ConsumerUsagePoint[] {
    const now = Math.floor(nowMs / 60_000);
    const from = Math.max(Math.floor(sinceMs / 60_000), now - USAGE_MINUTES + 1);
    const out: ConsumerUsagePoint[] = [];
    for (let m = from; m <= now; m++) out.push({ at: m * 60_000, requests: 0, errors: 0, limited: 0 });
    const s = consumerId === CONSUMER_OTHER ? undefined : this.series.get(consumerId);
    if (s === undefined) return out;
    for (let q = 0; q < s.n; q++) {
      const i = (s.head + q) * QUAD;
      const k = s.buf[i]! - from;
      if (k < 0 || k >= out.length) continue;
      const p = out[k]!;
      p.requests = s.buf[i + 1]!;
      p.errors = s.buf[i + 2]!;
      p.limited = s.buf[i + 3]!;
    }
    return out;
  }
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
  /** Ring of the last HISTORY_SECONDS ticks; `ringNext` is where the next one goes. */
  private readonly ring: (LiveTick | undefined)[] = new Array<LiveTick | undefined>(HISTORY_SECONDS);
  private ringNext = 0;
  private readonly usage = new ConsumerUsage();

  constructor(private readonly opts: LiveHubOptions) {
    this.graceMs = opts.graceMs ?? DEFAULT_GRACE_MS;
    this.channel = opts.channel ?? LIVE_CHANNEL;
    if (opts.redisUrl) {
      this.pub = createRedisClient(opts.redisUrl, opts.logger);
      // A cluster URL names several nodes; pub/sub works through any one of them (seedNodeUrl).
      this.sub = new Redis(seedNodeUrl(opts.redisUrl), { retryStrategy: reconnectDelay, maxRetriesPerRequest: null, connectTimeout: 2_000 });
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

  /**
   * The merged ticks of the last `seconds` seconds (at most HISTORY_SECONDS), oldest first, for a dashboard
   * that just connected. Seconds without a tick (the gateway was down) are simply absent.
   */
  history(seconds: number = HISTORY_SECONDS, nowMs: number = Date.now()): LiveTick[] {
    const since = nowMs - Math.min(Math.max(0, seconds), HISTORY_SECONDS) * 1000 - 1000;
    const out: LiveTick[] = [];
    for (let k = 0; k < HISTORY_SECONDS; k++) {
      const t = this.ring[(this.ringNext + k) % HISTORY_SECONDS];
      if (t !== undefined && t.at >= since) out.push(t);
    }
    return out;
  }

  /**
   * A consumer's traffic through the whole cluster, one point per minute: requests, server errors and
   * 429s, from `sinceMs` (clamped to the last 24 hours) to the current minute (still counting), with
   * zeros for minutes without traffic. `consumerId` is the consumer's username (for a developer's
   * application, `dev.<developer>.<app>`). Counts only requests authenticated as that consumer; kept in
   * memory on each node (every node sees the whole cluster's seconds when Redis is configured), so it
   * starts empty after a restart. A consumer idle for longer than the others may be forgotten when more
   * than MAX_USAGE_CONSUMERS are active within a day; a second's consumers beyond MAX_LIVE_CONSUMERS per
   * node are not attributed at all.
   */
  consumerUsage(consumerId: string, sinceMs: number, nowMs: number = Date.now()): ConsumerUsagePoint[] {
    return this.usage.query(consumerId, sinceMs, nowMs);
  }

  /** Consumers whose usage is held (bounded by MAX_USAGE_CONSUMERS). */
  get usageConsumers(): number {
    return this.usage.size;
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
    const parts = [...p.parts.values()];
    const tick = mergeSeconds(second, parts);
    this.last = tick;
    this.ring[this.ringNext] = tick;
    this.ringNext = (this.ringNext + 1) % HISTORY_SECONDS;
    for (const part of parts) if (Array.isArray(part.consumers)) this.usage.add(second, part.consumers);
    for (const l of this.listeners) {
      try {
        l(tick);
      } catch (err) {
        this.opts.logger.error({ err }, 'live tick listener failed');
      }
    }
  }
}
