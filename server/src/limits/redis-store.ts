/**
 * The `redis` policy: one EVALSHA per evaluation (ioredis `defineCommand` sends EVAL once per connection
 * and EVALSHA after, re-sending on NOSCRIPT after a Redis restart). With `enableAutoPipelining` on the
 * shared client, evaluations issued by concurrent requests in the same tick travel in one write.
 *
 * Every call has a deadline: Redis down or slow must turn into a decision (the limit's fault policy)
 * within `timeoutMs`, never a hanging request.
 */
import type { RedisConnection } from './redis-client.js';
import { ACQUIRE_SCRIPT, LIMIT_SCRIPT, RELEASE_SCRIPT } from './redis-scripts.js';
import { Decision } from './algorithms.js';

type Reply = (number | string)[];

interface LimiterCommands {
  ghLimit(...args: (string | number)[]): Promise<Reply>;
  ghAcquire(key: string, max: number, leaseMs: number, member: string): Promise<number>;
  ghRelease(key: string, member: string): Promise<number>;
}

export class RedisUnavailableError extends Error {
  constructor(reason: string) {
    super(`redis unavailable: ${reason}`);
    this.name = 'RedisUnavailableError';
  }
}

const TIMEOUT = new RedisUnavailableError('timed out');

function onDeadline(reject: (e: Error) => void): void {
  reject(TIMEOUT);
}

/** Races `p` against a timer (no closure: the timer gets `reject` as its argument). */
export function withDeadline<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(onDeadline, ms, reject);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new RedisUnavailableError(String(err)));
      },
    );
  });
}

export class RedisLimiterStore {
  private readonly cmd: LimiterCommands;
  /** A Redis Cluster client: a script call may then only carry keys of one slot. */
  readonly cluster: boolean;

  constructor(readonly client: RedisConnection) {
    this.cluster = client.isCluster;
    // defineCommand is idempotent per name; several stores over one client share the scripts.
    client.defineCommand('ghLimit', { lua: LIMIT_SCRIPT });
    client.defineCommand('ghAcquire', { lua: ACQUIRE_SCRIPT, numberOfKeys: 1 });
    client.defineCommand('ghRelease', { lua: RELEASE_SCRIPT, numberOfKeys: 1 });
    this.cmd = client as unknown as LimiterCommands;
  }

  /** True when a command can be sent now (with the offline queue off, anything else fails at once). */
  get ready(): boolean {
    return this.client.status === 'ready';
  }

  /** Runs the limit script: `[numKeys, ...keys, leaseDivisor, leaseCap, ...windowArgs, ...costs]` (see LimitBatcher for the usual caller). */
  limit(args: (string | number)[], timeoutMs: number): Promise<Reply> {
    if (this.client.status !== 'ready') return Promise.reject(new RedisUnavailableError(`connection ${this.client.status}`));
    return withDeadline(this.cmd.ghLimit(...args), timeoutMs);
  }

  acquire(key: string, max: number, leaseMs: number, member: string, timeoutMs: number): Promise<number> {
    if (this.client.status !== 'ready') return Promise.reject(new RedisUnavailableError(`connection ${this.client.status}`));
    return withDeadline(this.cmd.ghAcquire(key, max, leaseMs, member), timeoutMs);
  }

  release(key: string, member: string): Promise<number> {
    if (this.client.status !== 'ready') return Promise.reject(new RedisUnavailableError(`connection ${this.client.status}`));
    return this.cmd.ghRelease(key, member);
  }
}

interface Waiter {
  resolve(d: Decision): void;
  reject(err: Error): void;
}

function flushBatch(b: LimitBatcher): void {
  b.scheduled = false;
  b.flush();
}

/**
 * Auto-batching for one limit: requests of this limit are checked together in ONE script call (keys
 * evaluated in order, so exactness holds even for the same key twice). A batch is sent on the next turn
 * (setImmediate) when no call of this limit is outstanding; while one is, arrivals wait and go out
 * together the moment it settles. Each script call costs the gateway a write, a read and an epoll wake-up
 * whatever its size, so under load this turns the `redis` policy's cost per request from a round trip
 * into a share of one; alone, a request still goes out on the next turn. The wait is bounded by the
 * outstanding call's own deadline, and a batch's deadline counts from its first request's arrival, so a
 * decision still comes within `timeoutMs` of the request asking.
 *
 * On a Redis Cluster a batch mixes clients, hence slots, which one script call may not: the batch is split
 * into one call per distinct key (a hot key's requests of one batch still share a call), and the client's
 * auto-pipelining groups those calls per node into one write.
 */
/** The waiter of a give-back: nothing waits for its outcome. */
const IGNORE: Waiter = { resolve() {}, reject() {} };

export class LimitBatcher {
  private keys: string[] = [];
  private costs: number[] = [];
  private waiters: Waiter[] = [];
  /** When the pending batch's first request arrived (ms, performance.now()). */
  private firstAt = 0;
  /** Script calls sent and not yet settled (the cluster split counts once per flush). */
  private inFlight = 0;
  /** @internal set while a flush is queued */
  scheduled = false;

  constructor(
    private readonly store: () => RedisLimiterStore | undefined,
    /** lease divisor, lease cap, then kind, window ms, limit per window (redis-scripts.ts) */
    private readonly specArgs: readonly number[],
    private readonly windows: number,
    private readonly timeoutMs: number,
    private readonly maxBatch = 256,
  ) {}

  consume(key: string): Promise<Decision> {
    return new Promise<Decision>((resolve, reject) => this.enqueue(key, 1, { resolve, reject }));
  }

  /** Returns `units` a node took as a lease and did not use; best effort, nothing waits for it. */
  giveBack(key: string, units: number): void {
    if (units > 0) this.enqueue(key, -units, IGNORE);
  }

  private enqueue(key: string, cost: number, waiter: Waiter): void {
    if (this.keys.push(key) === 1) this.firstAt = performance.now();
    this.costs.push(cost);
    this.waiters.push(waiter);
    if (this.keys.length >= this.maxBatch) this.flush();
    else if (!this.scheduled && this.inFlight === 0) {
      this.scheduled = true;
      setImmediate(flushBatch, this);
    }
  }

  flush(): void {
    const keys = this.keys;
    const costs = this.costs;
    const waiters = this.waiters;
    if (keys.length === 0) return;
    this.keys = [];
    this.costs = [];
    this.waiters = [];
    const store = this.store();
    if (store === undefined) {
      failAll(waiters, new RedisUnavailableError('REDIS_URL is not set'));
      return;
    }
    // What is left of the first request's deadline; never under 1 ms so a call is still attempted.
    const timeoutMs = Math.max(1, Math.floor(this.timeoutMs - (performance.now() - this.firstAt)));
    this.inFlight++;
    if (store.cluster) return this.flushPerKey(store, keys, costs, waiters, timeoutMs);
    const args: (string | number)[] = [keys.length, ...keys, ...this.specArgs, ...costs];
    store.limit(args, timeoutMs).then(
      (reply) => {
        this.settled();
        this.dispatch(reply, waiters);
      },
      (err: unknown) => {
        this.settled();
        failAll(waiters, err instanceof Error ? err : new RedisUnavailableError(String(err)));
      },
    );
  }

  /** A call settled: what arrived meanwhile goes out now rather than a turn later. */
  private settled(): void {
    if (--this.inFlight === 0 && this.keys.length > 0 && !this.scheduled) this.flush();
  }

  private flushPerKey(store: RedisLimiterStore, keys: string[], costs: number[], waiters: Waiter[], timeoutMs: number): void {
    const groups = new Map<string, { costs: number[]; waiters: Waiter[] }>();
    for (let i = 0; i < keys.length; i++) {
      const g = groups.get(keys[i]!);
      if (g === undefined) groups.set(keys[i]!, { costs: [costs[i]!], waiters: [waiters[i]!] });
      else {
        g.costs.push(costs[i]!);
        g.waiters.push(waiters[i]!);
      }
    }
    let pending = groups.size;
    const done = () => {
      if (--pending === 0) this.settled();
    };
    for (const [key, group] of groups) {
      const args: (string | number)[] = [group.waiters.length];
      for (let i = 0; i < group.waiters.length; i++) args.push(key);
      for (let i = 0; i < this.specArgs.length; i++) args.push(this.specArgs[i]!);
      for (let i = 0; i < group.costs.length; i++) args.push(group.costs[i]!);
      store.limit(args, timeoutMs).then(
        (reply) => {
          done();
          this.dispatch(reply, group.waiters);
        },
        (err: unknown) => {
          done();
          failAll(group.waiters, err instanceof Error ? err : new RedisUnavailableError(String(err)));
        },
      );
    }
  }

  private dispatch(reply: (number | string)[], waiters: Waiter[]): void {
    const stride = 4 + 2 * this.windows;
    for (let k = 0; k < waiters.length; k++) {
      const w = waiters[k]!;
      if (w === IGNORE) continue;
      w.resolve(decodeDecision(reply, k * stride, this.windows));
    }
  }
}

function failAll(waiters: Waiter[], err: Error): void {
  for (const w of waiters) w.reject(err);
}

/** One key's part of the limit script's reply, from offset `o` (layout in redis-scripts.ts). */
export function decodeDecision(reply: readonly (number | string)[], o: number, windows: number): Decision {
  const d = new Decision(windows);
  d.allowed = reply[o] === 1;
  d.retryAfterMs = Number(reply[o + 1]);
  d.tightest = Number(reply[o + 2]);
  d.granted = Number(reply[o + 3]);
  for (let i = 0; i < windows; i++) {
    d.remaining[i] = Number(reply[o + 4 + 2 * i]);
    d.resetMs[i] = Number(reply[o + 5 + 2 * i]);
  }
  return d;
}
