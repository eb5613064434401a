/**
 * Per-second aggregates for the dashboard's live stream (issue 7), computed in the proxy thread and posted
 * to the admin thread once a second; the admin merges them across nodes (live-hub.ts) and pushes them over
 * socket.io (admin/live/).
 *
 * Latency goes into a histogram of fixed, log-spaced buckets rather than a list of samples: a bucket count
 * is a plain sum across seconds, routes and nodes, so the percentiles of a whole cluster are computed from
 * the merged counts, which averaging per-node percentiles cannot do. The buckets are 8 per doubling from
 * 0.1 ms (width ×2^(1/8)); a percentile reports the geometric middle of the bucket that holds the
 * nearest-rank sample, so it is within ±4.4% (2^(1/16) − 1) of that sample for latencies between 0.1 ms
 * and ~28 min. Below 0.1 ms it reports 0.1; above the last bucket, the last bucket's upper edge.
 *
 * Cost per request: one Math.log2, two to four Map lookups and a few increments; nothing allocated
 * except a route's, service's or consumer's cell the first second it is seen.
 *
 * Consumers (the developer portal's usage chart) are counted per authenticated consumer, without latency,
 * and capped at MAX_LIVE_CONSUMERS distinct consumers a second: the rest of that second's requests go to
 * one overflow cell named CONSUMER_OTHER, so a flood of consumers never grows the map or the message.
 * Consumer cells start afresh every second (one small object per active consumer and second, not per
 * request), so the cap counts the consumers of that second only.
 */
import type { ProxyRequest, RequestObserver } from '../proxy/proxy-request.js';
import type { BreakerStateName, BreakerView } from '../resilience/circuit-breaker.js';

/** Lower edge of the first regular bucket, in milliseconds. */
export const LATENCY_MIN_MS = 0.1;
/** Buckets per doubling of latency. */
export const BUCKETS_PER_DOUBLING = 8;
const DOUBLINGS = 24;
const REGULAR = BUCKETS_PER_DOUBLING * DOUBLINGS;
/** Index 0: under LATENCY_MIN_MS; 1..REGULAR: the log-spaced buckets; REGULAR + 1: overflow. */
export const BUCKET_COUNT = REGULAR + 2;
/** Largest relative distance between a percentile and the sample it stands for (bucket half-width, log scale). */
export const PERCENTILE_RELATIVE_ERROR = 2 ** (1 / (2 * BUCKETS_PER_DOUBLING)) - 1;

export function bucketIndex(ms: number): number {
  if (!(ms >= LATENCY_MIN_MS)) return 0;
  const i = 1 + Math.floor(Math.log2(ms / LATENCY_MIN_MS) * BUCKETS_PER_DOUBLING);
  return i > REGULAR ? REGULAR + 1 : i;
}

/** The latency a bucket stands for: its geometric middle (the edges for the two open-ended buckets). */
export function bucketValue(i: number): number {
  if (i <= 0) return LATENCY_MIN_MS;
  if (i > REGULAR) return LATENCY_MIN_MS * 2 ** DOUBLINGS;
  return LATENCY_MIN_MS * 2 ** ((i - 0.5) / BUCKETS_PER_DOUBLING);
}

/** Latency counts by bucket; sparse form `[index, count, index, count, …]` crosses threads and nodes. */
export class LatencyHistogram {
  readonly counts = new Uint32Array(BUCKET_COUNT);
  total = 0;

  addIndex(i: number, n = 1): void {
    this.counts[i] = this.counts[i]! + n;
    this.total += n;
  }

  addSparse(pairs: readonly number[]): void {
    for (let k = 0; k + 1 < pairs.length; k += 2) {
      const i = pairs[k]!;
      const n = pairs[k + 1]!;
      // A peer on another version (or a corrupt message) must not write outside the array.
      if (Number.isInteger(i) && i >= 0 && i < BUCKET_COUNT && n > 0) this.addIndex(i, n);
    }
  }

  sparse(): number[] {
    const out: number[] = [];
    const c = this.counts;
    for (let i = 0; i < c.length; i++) if (c[i] !== 0) out.push(i, c[i]!);
    return out;
  }

  /** Nearest-rank percentile (q in (0, 1]) in milliseconds, rounded to 0.01 ms; null without samples. */
  percentile(q: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil(q * this.total));
    let seen = 0;
    const c = this.counts;
    for (let i = 0; i < c.length; i++) {
      seen += c[i]!;
      if (seen >= rank) return Math.round(bucketValue(i) * 100) / 100;
    }
    return Math.round(bucketValue(BUCKET_COUNT - 1) * 100) / 100;
  }

  reset(): void {
    this.counts.fill(0);
    this.total = 0;
  }
}

/** One route's, service's or the node's second. */
export interface LiveCell {
  name: string;
  count: number;
  errors: number;
  /** Responses with status 429 (rate limits, concurrency limits, quotas). */
  limited: number;
  /** Sparse latency histogram (LatencyHistogram.sparse()). */
  latency: number[];
}

export interface LiveBreaker {
  /** Breaker identity (group plus settings). */
  id: string;
  group: string;
  state: BreakerStateName;
}

/** What a node's proxy thread reports for one closed second; structured-clonable and JSON-safe. */
export interface LiveSecond {
  node: string;
  /** Epoch second the counts belong to. */
  second: number;
  /** Every request of the node, matched to a route or not. */
  total: LiveCell;
  routes: LiveCell[];
  services: LiveCell[];
  breakers: LiveBreaker[];
  /**
   * Authenticated consumers' counts (`latency` always empty); at most MAX_LIVE_CONSUMERS plus one
   * CONSUMER_OTHER cell. Never sent to browsers: the admin thread keeps it for per-consumer usage.
   * Optional so seconds from a node on an older version still merge.
   */
  consumers?: LiveCell[];
}

/** Distinct consumers counted per second and node; beyond it, requests go to CONSUMER_OTHER. */
export const MAX_LIVE_CONSUMERS = 1000;
/** Name of the overflow cell; not a valid consumer name (see config/schema.ts Name), so it never collides. */
export const CONSUMER_OTHER = '(other)';

export type LiveListener = (second: LiveSecond) => void;

/**
 * A server error (5xx, the gateway's own 502/503/504 included), or an upstream exchange that broke after
 * its head was sent (reset, timeout). A client that went away is not an error of the gateway.
 */
export function isLiveError(req: Pick<ProxyRequest, 'status' | 'upstreamFailure'>): boolean {
  if (req.status >= 500) return true;
  const f = req.upstreamFailure;
  return f !== undefined && f !== 'client-abort';
}

class Cell {
  count = 0;
  errors = 0;
  limited = 0;
  /** Seconds in a row without a request; the cell is dropped after IDLE_SECONDS (a removed route). */
  idle = 0;
  readonly latency = new LatencyHistogram();

  add(bucket: number, error: boolean, limited: boolean): void {
    this.count++;
    if (error) this.errors++;
    if (limited) this.limited++;
    this.latency.addIndex(bucket);
  }

  take(name: string): LiveCell {
    const out: LiveCell = { name, count: this.count, errors: this.errors, limited: this.limited, latency: this.latency.sparse() };
    this.count = 0;
    this.errors = 0;
    this.limited = 0;
    this.latency.reset();
    return out;
  }
}

/** A consumer's second: counts only (the usage chart shows no latency), so no histogram to carry. */
class CountCell {
  count = 0;
  errors = 0;
  limited = 0;

  add(error: boolean, limited: boolean): void {
    this.count++;
    if (error) this.errors++;
    if (limited) this.limited++;
  }
}

const NO_LATENCY: number[] = [];

const IDLE_SECONDS = 60;

function takeAll(cells: Map<string, Cell>): LiveCell[] {
  const out: LiveCell[] = [];
  for (const [name, cell] of cells) {
    if (cell.count === 0) {
      if (++cell.idle > IDLE_SECONDS) cells.delete(name);
      continue;
    }
    cell.idle = 0;
    out.push(cell.take(name));
  }
  return out;
}

function cellOf(cells: Map<string, Cell>, name: string): Cell {
  let c = cells.get(name);
  if (c === undefined) {
    c = new Cell();
    cells.set(name, c);
  }
  return c;
}

export interface LiveAggregatorOptions {
  node: string;
  /** The breakers to report each second (the proxy thread's BREAKERS.list()). */
  breakers: () => readonly BreakerView[];
}

export class LiveAggregator implements RequestObserver {
  private readonly total = new Cell();
  private readonly routes = new Map<string, Cell>();
  private readonly services = new Map<string, Cell>();
  private readonly consumers = new Map<string, CountCell>();
  private readonly consumerOther = new CountCell();
  private timer: NodeJS.Timeout | undefined = undefined;
  private sink: LiveListener | undefined = undefined;

  constructor(private readonly opts: LiveAggregatorOptions) {}

  begin(_req: ProxyRequest): void {}

  end(req: ProxyRequest): void {
    const bucket = bucketIndex(req.endedAt - req.startedAt);
    const error = isLiveError(req);
    const limited = req.status === 429;
    this.total.add(bucket, error, limited);
    const route = req.route;
    if (route !== undefined) cellOf(this.routes, route.name).add(bucket, error, limited);
    const service = req.serviceName;
    if (service !== undefined) cellOf(this.services, service).add(bucket, error, limited);
    const consumer = req.consumer;
    if (consumer !== undefined) {
      let c = this.consumers.get(consumer.username);
      if (c === undefined) {
        if (this.consumers.size >= MAX_LIVE_CONSUMERS) c = this.consumerOther;
        else this.consumers.set(consumer.username, (c = new CountCell()));
      }
      c.add(error, limited);
    }
  }

  /** Distinct consumers held for the current second (bounded by MAX_LIVE_CONSUMERS). */
  get consumerCells(): number {
    return this.consumers.size;
  }

  private takeConsumers(): LiveCell[] {
    const out: LiveCell[] = [];
    // Every held consumer had a request this second (the map is cleared each second), so none is empty.
    for (const [name, c] of this.consumers) out.push({ name, count: c.count, errors: c.errors, limited: c.limited, latency: NO_LATENCY });
    this.consumers.clear();
    const o = this.consumerOther;
    if (o.count > 0) {
      out.push({ name: CONSUMER_OTHER, count: o.count, errors: o.errors, limited: o.limited, latency: NO_LATENCY });
      o.count = o.errors = o.limited = 0;
    }
    return out;
  }

  /** Closes the current interval as epoch second `second` and starts the next one. */
  flush(second: number): LiveSecond {
    const breakers: LiveBreaker[] = [];
    for (const b of this.opts.breakers()) breakers.push({ id: b.id, group: b.group, state: b.state });
    return {
      node: this.opts.node,
      second,
      total: this.total.take(''),
      routes: takeAll(this.routes),
      services: takeAll(this.services),
      breakers,
      consumers: this.takeConsumers(),
    };
  }

  /**
   * Reports each second to `sink` shortly after it closes. The timer is re-aimed at the next wall-clock
   * second every time, so the seconds of different nodes line up (give or take their clock skew) and can
   * be merged by number; the closed second is the one the timer's firing time rounds down to.
   */
  start(sink: LiveListener): void {
    this.sink = sink;
    this.schedule();
  }

  stop(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.sink = undefined;
  }

  private schedule(): void {
    const now = Date.now();
    this.timer = setTimeout(onTick, 1000 - (now % 1000), this);
    this.timer.unref();
  }

  /** @internal */
  tick(): void {
    const sink = this.sink;
    if (sink === undefined) return;
    // Fired at (or a little after) a second boundary: rounding absorbs a late or slightly early timer.
    const second = Math.round(Date.now() / 1000) - 1;
    try {
      sink(this.flush(second));
    } finally {
      this.schedule();
    }
  }
}

function onTick(agg: LiveAggregator): void {
  agg.tick();
}
