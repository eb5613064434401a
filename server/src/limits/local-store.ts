/**
 * The `local` policy: limiter state in this process's memory. Exact per node, nothing shared; survives
 * config snapshot rebuilds because one store serves the whole process (an admin edit must not hand every
 * client a fresh budget). Idle keys are swept on a timer so memory stays bounded by active clients.
 */
import { Decision, evaluate, STATE_SLOTS, type WindowSpec } from './algorithms.js';

interface Entry {
  state: Float64Array;
  /** Wall-clock ms after which the entry holds nothing a future request needs. */
  expires: number;
}

export interface LocalStoreOptions {
  /** How often idle keys are dropped. */
  sweepIntervalMs?: number;
  /** Hard cap on keys; beyond it the oldest-inserted keys are evicted first (a flood of random keys cannot exhaust memory). */
  maxKeys?: number;
}

export class LocalLimiterStore {
  private readonly entries = new Map<string, Entry>();
  private readonly timer: NodeJS.Timeout;
  private readonly maxKeys: number;

  constructor(opts: LocalStoreOptions = {}) {
    this.maxKeys = opts.maxKeys ?? 1_000_000;
    this.timer = setInterval(() => this.sweep(Date.now()), opts.sweepIntervalMs ?? 10_000);
    this.timer.unref();
  }

  /** Evaluates and charges `key` synchronously; `out` is the caller's reusable decision. */
  consume(key: string, specs: readonly WindowSpec[], ttlMs: number, cost: number, out: Decision): Decision {
    const now = Date.now();
    let e = this.entries.get(key);
    if (e === undefined) {
      if (this.entries.size >= this.maxKeys) this.evictOne();
      e = { state: new Float64Array(specs.length * STATE_SLOTS), expires: 0 };
      this.entries.set(key, e);
    }
    evaluate(specs, e.state, now, cost, out);
    e.expires = now + ttlMs;
    return out;
  }

  get size(): number {
    return this.entries.size;
  }

  sweep(now: number): void {
    for (const [k, e] of this.entries) if (e.expires <= now) this.entries.delete(k);
  }

  private evictOne(): void {
    const first = this.entries.keys().next();
    if (!first.done) this.entries.delete(first.value);
  }

  close(): void {
    clearInterval(this.timer);
    this.entries.clear();
  }
}

/** In-flight counts per key for concurrency limits on the `local` policy. */
export class LocalConcurrency {
  private readonly counts = new Map<string, number>();
  /** Takes a slot when fewer than `max` are in use; returns whether it did. */
  acquire(key: string, max: number): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= max) return false;
    this.counts.set(key, n + 1);
    return true;
  }
  release(key: string): void {
    const n = this.counts.get(key);
    if (n === undefined) return;
    if (n <= 1) this.counts.delete(key);
    else this.counts.set(key, n - 1);
  }
  inUse(key: string): number {
    return this.counts.get(key) ?? 0;
  }
}
