/**
 * Circuit breakers, one per upstream target group and breaker settings, per node (the proxy thread),
 * built on opossum. They live in a process-wide registry rather than in a config snapshot so that a
 * config change elsewhere does not close an open breaker; snapshots take references and the last one
 * shuts the breaker down.
 *
 * opossum drives the state machine: it counts outcomes in a rolling window of buckets, opens when the
 * failure percentage crosses the threshold (once the window holds `volumeThreshold` calls), moves to
 * half-open after `resetTimeout`, and in half-open admits exactly one call — the probe — whose outcome
 * closes or reopens it. A probe is a real `fire()`: the proxy's exchange is callback-driven, so it hands
 * opossum a promise that the request settles when the upstream's head (or failure) arrives.
 *
 * Cost on the hot path: `fire()` allocates about six promises and closures per call, which measured as
 * ~8% of the proxy thread's CPU on a plain route. So while the breaker is closed a request goes straight
 * through, and its outcome is reported as opossum reports its own calls: a success by emitting the
 * documented `fire` and `success` events (opossum's own listeners count them in the window, exactly as for
 * a fired call), a failure through a real `fire()` of an action that rejects, so opossum's own code
 * decides whether to open.
 */
import CircuitBreaker from 'opossum';

export interface BreakerSettings {
  /** Failure percentage over the rolling window above which the breaker opens. */
  readonly errorThresholdPercentage: number;
  /** Calls the window must hold before the percentage is considered. */
  readonly volumeThreshold: number;
  readonly rollingWindowMs: number;
  readonly rollingBuckets: number;
  /** Time spent open before the half-open probe is let through. */
  readonly resetTimeoutMs: number;
}

export type BreakerStateName = 'closed' | 'open' | 'half-open';

export interface BreakerTransition {
  readonly group: string;
  /** Identity of the breaker: its group plus its settings. */
  readonly id: string;
  readonly from: BreakerStateName;
  readonly to: BreakerStateName;
  /** Epoch milliseconds. */
  readonly at: number;
}

export interface BreakerView {
  id: string;
  group: string;
  state: BreakerStateName;
  /** When the breaker last opened (epoch ms), null when it never did. */
  opened_at: number | null;
  /** When an open breaker lets its probe through (epoch ms); null unless open. */
  half_open_at: number | null;
  settings: BreakerSettings;
  /** Counts over the rolling window. */
  window: { calls: number; successes: number; failures: number; rejects: number };
  transitions: { opened: number; half_opened: number; closed: number };
  recent: BreakerTransition[];
}

/** What each admitted exchange settles: resolved = success, rejected = failure. */
export interface Outcome {
  resolve(): void;
  reject(reason: Error): void;
}

/** The rejection reason of a failed exchange; one instance, so failing allocates nothing. */
export const UPSTREAM_FAILED = new Error('upstream failure');

const RECENT = 20;

export class ServiceBreaker {
  readonly breaker: CircuitBreaker<[{ begin(): Promise<void> }], void>;
  refs = 0;
  openedAt: number | null = null;
  private state: BreakerStateName = 'closed';
  readonly counts = { opened: 0, half_opened: 0, closed: 0 };
  readonly recent: BreakerTransition[] = [];
  /** Requests refused while open or half-open, since the breaker was created. */
  rejected = 0;

  constructor(
    readonly id: string,
    readonly group: string,
    readonly settings: BreakerSettings,
    private readonly emit: (t: BreakerTransition) => void,
  ) {
    this.breaker = new CircuitBreaker(admit, {
      name: group,
      // Timeouts are the proxy's (connect/read/write per service); opossum's own timer would be a second one.
      timeout: false,
      errorThresholdPercentage: settings.errorThresholdPercentage,
      volumeThreshold: settings.volumeThreshold,
      rollingCountTimeout: settings.rollingWindowMs,
      rollingCountBuckets: settings.rollingBuckets,
      resetTimeout: settings.resetTimeoutMs,
      rollingPercentilesEnabled: false,
      enableSnapshots: false,
    });
    this.breaker.on('open', () => this.transition('open'));
    this.breaker.on('halfOpen', () => this.transition('half-open'));
    this.breaker.on('close', () => this.transition('closed'));
  }

  get stateName(): BreakerStateName {
    return this.state;
  }

  /** Whole seconds until an open breaker admits its probe (at least 1). */
  retryAfterSeconds(now = Date.now()): number {
    if (this.state !== 'open' || this.openedAt === null) return 1;
    return Math.max(1, Math.ceil((this.openedAt + this.settings.resetTimeoutMs - now) / 1000));
  }

  /** True when requests go straight through (report them with recordSuccess/recordFailure). */
  get isClosed(): boolean {
    return this.breaker.closed;
  }

  /** A request let through while closed succeeded: counted exactly as opossum counts a successful call. */
  recordSuccess(): void {
    const b = this.breaker;
    b.emit('fire', NO_ARGS);
    b.emit('success', undefined, 0);
  }

  /** A request let through while closed failed: a real call that fails, so opossum decides on opening. */
  recordFailure(): void {
    const b = this.breaker;
    // Already open: the failure changes nothing, and a refused call would only dilute the window.
    if (!b.closed && !b.pendingClose) return;
    b.fire(FAILED_CALL).catch(noop);
  }

  /**
   * Asks the breaker to admit one exchange. When it does, the exchange's `proceed()` runs synchronously
   * and the exchange must later settle the admission; returns false when the breaker refused (open, or
   * half-open with its probe out).
   */
  tryAdmit(a: Admission): boolean {
    const b = this.breaker;
    // The same test opossum makes, done first: opossum counts a refused call as a call of the window, so
    // the requests refused during an outage (and each retry-strategy attempt) would dilute the failure
    // rate, and a flapping upstream would need as many new failures to reopen the breaker.
    if (!b.closed && !b.pendingClose) {
      this.rejected++;
      return false;
    }
    a.admitted = false;
    b.fire(a).catch(noop);
    return a.admitted;
  }

  /**
   * The client of an admitted exchange went away: the exchange proves nothing, so it is not counted. When
   * it was the half-open probe, the breaker goes back to open and waits another reset timeout for a
   * probe that finishes (counting it a success would close the breaker on a still-broken upstream).
   */
  abandon(a: Admission): void {
    if (!a.pending) return;
    a.forget();
    if (this.breaker.halfOpen) this.breaker.open();
  }

  private transition(to: BreakerStateName): void {
    const from = this.state;
    if (from === to) return;
    this.state = to;
    const at = Date.now();
    if (to === 'open') {
      this.openedAt = at;
      this.counts.opened++;
    } else if (to === 'half-open') this.counts.half_opened++;
    else this.counts.closed++;
    const t: BreakerTransition = { group: this.group, id: this.id, from, to, at };
    this.recent.push(t);
    if (this.recent.length > RECENT) this.recent.shift();
    this.emit(t);
  }

  view(): BreakerView {
    const s = this.breaker.stats;
    return {
      id: this.id,
      group: this.group,
      state: this.state,
      opened_at: this.openedAt,
      half_open_at: this.state === 'open' && this.openedAt !== null ? this.openedAt + this.settings.resetTimeoutMs : null,
      settings: this.settings,
      window: { calls: s.fires, successes: s.successes, failures: s.failures, rejects: this.rejected },
      transitions: { ...this.counts },
      recent: [...this.recent],
    };
  }
}

/**
 * One request's passage through a breaker. The guard reuses it for every admission attempt of the
 * request (the retry strategy asks again after a backoff).
 */
export class Admission implements Outcome {
  admitted = false;
  private settleWith: ((v: void) => void) | undefined = undefined;
  private failWith: ((e: Error) => void) | undefined = undefined;

  constructor(readonly exchange: { proceed(): void }) {}

  /** Called by opossum (through `admit`) when the breaker lets the exchange through. */
  begin(): Promise<void> {
    this.admitted = true;
    const p = new Promise<void>((resolve, reject) => {
      this.settleWith = resolve;
      this.failWith = reject;
    });
    this.exchange.proceed();
    return p;
  }

  resolve(): void {
    const f = this.settleWith;
    this.settleWith = this.failWith = undefined;
    f?.();
  }

  reject(reason: Error): void {
    const f = this.failWith;
    this.settleWith = this.failWith = undefined;
    f?.(reason);
  }

  /** Drops the outcome: opossum never hears of this exchange (its unsettled promise is collected). */
  forget(): void {
    this.settleWith = this.failWith = undefined;
  }

  /** True between admission and settlement. */
  get pending(): boolean {
    return this.settleWith !== undefined;
  }
}

function admit(a: { begin(): Promise<void> }): Promise<void> {
  return a.begin();
}

const NO_ARGS: unknown[] = [];
/** The action of a call that reports a failure already observed. */
const FAILED_CALL = {
  begin(): Promise<void> {
    return Promise.reject(UPSTREAM_FAILED);
  },
};

function noop(): void {}

/** All breakers of this process, with reference counts, and a feed of their transitions. */
export class BreakerRegistry {
  private readonly byId = new Map<string, ServiceBreaker>();
  private readonly listeners = new Set<(t: BreakerTransition) => void>();

  acquire(group: string, settings: BreakerSettings): ServiceBreaker {
    const id = `${group}|${settings.errorThresholdPercentage}|${settings.volumeThreshold}|${settings.rollingWindowMs}|${settings.rollingBuckets}|${settings.resetTimeoutMs}`;
    let b = this.byId.get(id);
    if (b === undefined) {
      b = new ServiceBreaker(id, group, settings, (t) => {
        for (const l of this.listeners) l(t);
      });
      this.byId.set(id, b);
    }
    b.refs++;
    return b;
  }

  release(b: ServiceBreaker): void {
    if (--b.refs > 0) return;
    this.byId.delete(b.id);
    b.breaker.shutdown();
  }

  onTransition(listener: (t: BreakerTransition) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  list(): BreakerView[] {
    return [...this.byId.values()].map((b) => b.view());
  }

  get size(): number {
    return this.byId.size;
  }
}

/** The proxy thread's breakers. */
export const BREAKERS = new BreakerRegistry();
