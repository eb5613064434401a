/**
 * Health of upstream targets, as in Kong's upstream `healthchecks`: passive checks count the proxy's own
 * failures per target and eject a target after consecutive ones; active checks probe each target on a
 * timer and decide when it is healthy again. The balancer only reads `up`.
 *
 * State lives in a process-wide registry keyed by upstream and target address, shared by reference
 * count between config snapshots, so a reload neither forgets an ejected target nor restarts its probes.
 */
import { EventEmitter } from 'node:events';
import { Agent, request, type Dispatcher } from 'undici';
import type { HealthchecksConfig } from '../config/schema.js';

export type { HealthchecksConfig };

/** Why an attempt failed before a response head: refused/unreachable/connect timeout, read/write timeout, reset. */
export type FailureKind = 'connect' | 'timeout' | 'reset';

/** What the proxy and the balancer see of a target's health. */
export interface TargetHealth {
  /** false: the balancer skips the target. */
  readonly up: boolean;
  /** The upstream answered with this status (response head received). */
  reportStatus(status: number): void;
  /** The attempt failed before a response head. */
  reportFailure(kind: FailureKind): void;
}

/** Shared by every target of an upstream without health checks: always up, reports ignored. */
export const ALWAYS_UP: TargetHealth = Object.freeze({
  up: true,
  reportStatus(): void {},
  reportFailure(): void {},
});

export interface HealthTransition {
  upstream: string;
  /** The target's `host:port`. */
  target: string;
  up: boolean;
  reason: string;
  /** Epoch milliseconds. */
  at: number;
}

export type CheckKind = 'active' | 'passive' | 'active+passive';

/** One target's state, for the admin API. */
export interface TargetHealthState {
  upstream: string;
  target: string;
  up: boolean;
  checks: CheckKind;
  /** Why the target is in its current state. */
  reason: string;
  /** Epoch milliseconds of the last transition, or of when tracking started. */
  since: number;
  /** Passive: consecutive failures (connect errors, resets, unhealthy statuses). */
  failures: number;
  /** Passive: consecutive timeouts. */
  timeouts: number;
  /** Active: consecutive failed probes. */
  probeFailures: number;
  /** Active: consecutive successful probes. */
  probeSuccesses: number;
  /** Epoch milliseconds when a passively ejected target returns (passive only). */
  ejectedUntil?: number;
  lastProbe?: { at: number; durationMs: number; status?: number; error?: string };
  /** Config snapshots holding this target. */
  refs: number;
}

/** Where a probe goes. */
export interface HealthTargetSpec {
  upstream: string;
  /** `host:port` as configured; part of the registry key. */
  address: string;
  host: string;
  port: number;
}

/** True when the config turns on at least one kind of check; otherwise targets use ALWAYS_UP. */
export function healthchecksEnabled(cfg: HealthchecksConfig | undefined): cfg is HealthchecksConfig {
  return cfg !== undefined && (cfg.active.enabled || cfg.passive.enabled);
}

function statusSet(statuses: readonly number[]): Uint8Array<ArrayBuffer> {
  const set = new Uint8Array(600);
  for (const s of statuses) if (s >= 0 && s < 600) set[s] = 1;
  return set;
}

function describeError(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown; name?: unknown } | null;
  if (e && typeof e.code === 'string') return e.code;
  if (e && e.name === 'TimeoutError') return 'timeout';
  if (e && typeof e.message === 'string') return e.message;
  return String(err);
}

class ProbeTimeoutError extends Error {
  override readonly name = 'TimeoutError';
  constructor(ms: number) {
    super(`probe timed out after ${ms} ms`);
  }
}

function runProbe(e: HealthEntry): void {
  e.probeTimer = undefined;
  void e.probe();
}

function endEjection(e: HealthEntry): void {
  e.ejectTimer = undefined;
  e.ejectedUntil = 0;
  if (!e.up) e.setUp('passive: eject_duration elapsed');
}

/** One target's health; shared by every snapshot whose config has the same upstream and address. */
class HealthEntry implements TargetHealth {
  up = true;
  refs = 0;
  configKey = '';
  since: number;
  reason = 'initial state';

  // Passive checks. Thresholds are copied out of the config so reports touch only this object.
  passiveOn = false;
  private passiveFailures = 0;
  private passiveTimeouts = 0;
  private passiveBad = new Uint8Array(600);
  private ejectDuration = 0;
  failures = 0;
  timeouts = 0;
  ejectTimer: NodeJS.Timeout | undefined;
  ejectedUntil = 0;

  // Active checks.
  activeOn = false;
  private active: HealthchecksConfig['active'] | undefined;
  private probeGood = new Uint8Array(600);
  private probeBad = new Uint8Array(600);
  private url = '';
  private headers: Record<string, string> = {};
  private checking = false;
  /** Bumped when checking stops, so a probe that was in flight then is not counted. */
  private generation = 0;
  private probing = false;
  private probeAbort: AbortController | undefined;
  probeTimer: NodeJS.Timeout | undefined;
  probeFailures = 0;
  probeSuccesses = 0;
  lastProbe: TargetHealthState['lastProbe'];

  constructor(
    private readonly registry: HealthRegistry,
    readonly key: string,
    readonly spec: HealthTargetSpec,
  ) {
    this.since = registry.now();
  }

  get checks(): CheckKind {
    return this.activeOn ? (this.passiveOn ? 'active+passive' : 'active') : 'passive';
  }

  reportStatus(status: number): void {
    if (!this.passiveOn || !this.up) return;
    if (status >= 0 && status < 600 && this.passiveBad[status] === 1) {
      if (++this.failures >= this.passiveFailures) this.eject(`passive: ${this.failures} consecutive failures, last HTTP ${status}`);
    } else if (this.failures !== 0 || this.timeouts !== 0) {
      this.failures = 0;
      this.timeouts = 0;
    }
  }

  reportFailure(kind: FailureKind): void {
    if (!this.passiveOn || !this.up) return;
    if (kind === 'timeout') {
      if (++this.timeouts >= this.passiveTimeouts) this.eject(`passive: ${this.timeouts} consecutive timeouts`);
    } else if (++this.failures >= this.passiveFailures) {
      this.eject(`passive: ${this.failures} consecutive failures, last ${kind === 'connect' ? 'connection failure' : 'connection reset'}`);
    }
  }

  configure(cfg: HealthchecksConfig, key: string): void {
    this.configKey = key;
    const p = cfg.passive;
    this.passiveOn = p.enabled;
    this.passiveFailures = p.unhealthy.failures;
    this.passiveTimeouts = p.unhealthy.timeouts;
    this.passiveBad = statusSet(p.unhealthy.http_statuses);
    this.ejectDuration = p.eject_duration;
    const a = cfg.active;
    this.active = a;
    this.probeGood = statusSet(a.healthy.http_statuses);
    this.probeBad = statusSet(a.unhealthy.http_statuses);
    const h = this.spec.host.includes(':') ? `[${this.spec.host}]` : this.spec.host;
    this.url = `${a.type}://${h}:${this.spec.port}${a.http_path}`;
    this.headers = { 'user-agent': 'gatehouse-healthcheck', ...a.headers };
    const wasActive = this.activeOn;
    this.activeOn = a.enabled;
    if (this.refs > 0) this.applyLifecycle(wasActive);
  }

  /** Starts or stops the timers that the current config and reference count call for. */
  applyLifecycle(wasActive: boolean): void {
    if (this.activeOn && !this.checking) {
      // The probes decide recovery now.
      this.clearEjection();
      this.startChecking();
    } else if (!this.activeOn && (this.checking || wasActive)) {
      this.stopChecking();
      if (!this.up && this.passiveOn) this.scheduleEjectionEnd();
      else if (!this.up) this.setUp('health checks reconfigured');
    }
  }

  private eject(reason: string): void {
    this.setDown(reason);
    if (!this.activeOn) this.scheduleEjectionEnd();
  }

  private scheduleEjectionEnd(): void {
    this.clearEjection();
    this.ejectedUntil = this.registry.now() + this.ejectDuration;
    this.ejectTimer = setTimeout(endEjection, this.ejectDuration, this);
    this.ejectTimer.unref();
  }

  private clearEjection(): void {
    if (this.ejectTimer !== undefined) clearTimeout(this.ejectTimer);
    this.ejectTimer = undefined;
    this.ejectedUntil = 0;
  }

  setUp(reason: string): void {
    this.up = true;
    this.resetCounters();
    this.transition(reason);
  }

  private setDown(reason: string): void {
    this.up = false;
    this.resetCounters();
    this.transition(reason);
  }

  private resetCounters(): void {
    this.failures = 0;
    this.timeouts = 0;
    this.probeFailures = 0;
    this.probeSuccesses = 0;
  }

  private transition(reason: string): void {
    this.reason = reason;
    this.since = this.registry.now();
    this.registry.emitTransition({ upstream: this.spec.upstream, target: this.spec.address, up: this.up, reason, at: this.since });
  }

  startChecking(): void {
    if (this.checking) return;
    this.checking = true;
    this.registry.checkers++;
    // A probe still in flight from before a stop schedules the next one when it ends: never two at once.
    if (!this.probing) this.scheduleProbe(0);
  }

  stopChecking(): void {
    if (!this.checking) return;
    this.checking = false;
    this.registry.checkers--;
    this.generation++;
    if (this.probeTimer !== undefined) clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    this.probeAbort?.abort();
  }

  /** Stops every timer; called when the last snapshot releases the target. */
  dispose(): void {
    this.stopChecking();
    this.clearEjection();
  }

  private scheduleProbe(delay: number): void {
    this.probeTimer = setTimeout(runProbe, delay, this);
    this.probeTimer.unref();
  }

  async probe(): Promise<void> {
    const a = this.active;
    if (!this.checking || a === undefined) return;
    const gen = this.generation;
    const started = this.registry.now();
    const ac = new AbortController();
    this.probeAbort = ac;
    this.probing = true;
    this.registry.probesStarted++;
    const timer = setTimeout(() => ac.abort(new ProbeTimeoutError(a.timeout)), a.timeout);
    timer.unref();
    let status: number | undefined;
    let error: string | undefined;
    try {
      const res = await request(this.url, {
        dispatcher: this.registry.dispatcher(a.type === 'https' && !a.https_verify_certificate),
        method: 'GET',
        headers: this.headers,
        signal: ac.signal,
        // A fresh connection per probe: a reused socket would hide a listener that stopped accepting.
        reset: true,
        headersTimeout: a.timeout,
        bodyTimeout: a.timeout,
      });
      status = res.statusCode;
      await res.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
    } catch (err) {
      error = ac.signal.aborted && ac.signal.reason instanceof ProbeTimeoutError ? 'timeout' : describeError(err);
    } finally {
      clearTimeout(timer);
      this.probing = false;
      this.probeAbort = undefined;
    }
    if (gen !== this.generation) {
      // Stopped while in flight (result not counted); restarted meanwhile: continue the schedule.
      if (this.checking && this.probeTimer === undefined) this.scheduleProbe(0);
      return;
    }
    const now = this.registry.now();
    this.lastProbe = status !== undefined ? { at: now, durationMs: now - started, status } : { at: now, durationMs: now - started, error };
    this.evaluate(status, error);
    if (this.checking) {
      const cur = this.active ?? a;
      this.scheduleProbe(Math.max(0, started + cur.interval - now));
    }
  }

  private evaluate(status: number | undefined, error: string | undefined): void {
    const a = this.active!;
    let ok: boolean;
    if (status === undefined) ok = false;
    else if (status < 600 && this.probeGood[status] === 1) ok = true;
    else if (status < 600 && this.probeBad[status] === 1) ok = false;
    else return; // A status in neither list counts for nothing, as in Kong.
    const what = status !== undefined ? `HTTP ${status}` : (error ?? 'error');
    if (ok) {
      this.probeFailures = 0;
      this.probeSuccesses++;
      if (!this.up && this.probeSuccesses >= a.healthy.successes) this.setUp(`active: ${this.probeSuccesses} consecutive successful probes, last ${what}`);
    } else {
      this.probeSuccesses = 0;
      this.probeFailures++;
      if (this.up && this.probeFailures >= a.unhealthy.failures) this.setDown(`active: ${this.probeFailures} consecutive failed probes, last ${what}`);
    }
  }

  state(): TargetHealthState {
    const s: TargetHealthState = {
      upstream: this.spec.upstream,
      target: this.spec.address,
      up: this.up,
      checks: this.checks,
      reason: this.reason,
      since: this.since,
      failures: this.failures,
      timeouts: this.timeouts,
      probeFailures: this.probeFailures,
      probeSuccesses: this.probeSuccesses,
      refs: this.refs,
    };
    if (this.ejectedUntil > 0) s.ejectedUntil = this.ejectedUntil;
    if (this.lastProbe) s.lastProbe = { ...this.lastProbe };
    return s;
  }
}

export interface HealthRegistryOptions {
  /** Clock for `since`/`at`; default Date.now. */
  now?: () => number;
}

interface HealthEvents {
  transition: [HealthTransition];
}

/**
 * Process-wide (per thread) store of target health. Snapshots take references through a HealthLease;
 * a target's probes run while at least one snapshot holds it.
 */
export class HealthRegistry extends EventEmitter<HealthEvents> {
  private readonly entries = new Map<string, HealthEntry>();
  private agents: [Agent | undefined, Agent | undefined] = [undefined, undefined];
  /** Targets with a running active checker. */
  checkers = 0;
  /** Probes started since creation (tests and diagnostics). */
  probesStarted = 0;
  readonly now: () => number;

  constructor(opts: HealthRegistryOptions = {}) {
    super();
    this.now = opts.now ?? Date.now;
  }

  /** A handle that collects this snapshot's references and releases them together. */
  lease(): HealthLease {
    return new HealthLease(this);
  }

  /** Takes a reference on the target's health, creating or reconfiguring it; release it with `release`. */
  acquire(spec: HealthTargetSpec, cfg: HealthchecksConfig): TargetHealth {
    const key = `${spec.upstream}|${spec.address}`;
    const configKey = JSON.stringify(cfg);
    let e = this.entries.get(key);
    if (!e) {
      e = new HealthEntry(this, key, spec);
      e.configure(cfg, configKey);
      this.entries.set(key, e);
    } else if (e.configKey !== configKey) {
      // The newest config wins; the up/down state and counts carry over.
      e.configure(cfg, configKey);
    }
    if (e.refs++ === 0) e.applyLifecycle(false);
    return e;
  }

  release(h: TargetHealth): void {
    if (!(h instanceof HealthEntry) || this.entries.get(h.key) !== h) return;
    if (--h.refs > 0) return;
    h.dispose();
    this.entries.delete(h.key);
  }

  /** Current state of every tracked target. */
  list(): TargetHealthState[] {
    const out: TargetHealthState[] = [];
    for (const e of this.entries.values()) out.push(e.state());
    return out;
  }

  get size(): number {
    return this.entries.size;
  }

  /** @internal */
  emitTransition(t: HealthTransition): void {
    try {
      this.emit('transition', t);
    } catch {
      // A failing listener must not break the proxy's report call or the probe loop.
    }
  }

  /** @internal The probes' own connection pool, never the proxy's. */
  dispatcher(insecure: boolean): Dispatcher {
    const i = insecure ? 1 : 0;
    return (this.agents[i] ??= new Agent({
      connections: 4,
      pipelining: 1,
      keepAliveTimeout: 1_000,
      keepAliveMaxTimeout: 1_000,
      connect: insecure ? { rejectUnauthorized: false } : {},
    }));
  }

  /** Stops every checker and closes the probes' connections (tests, shutdown). */
  async close(): Promise<void> {
    for (const e of this.entries.values()) e.dispose();
    this.entries.clear();
    const agents = this.agents;
    this.agents = [undefined, undefined];
    await Promise.all(agents.map((a) => a?.destroy()));
  }
}

/** The references one snapshot holds; `release` is idempotent. */
export class HealthLease {
  private held: TargetHealth[] = [];
  constructor(private readonly registry: HealthRegistry) {}

  /** ALWAYS_UP when `cfg` turns no check on. */
  acquire(spec: HealthTargetSpec, cfg: HealthchecksConfig | undefined): TargetHealth {
    if (!healthchecksEnabled(cfg)) return ALWAYS_UP;
    const h = this.registry.acquire(spec, cfg);
    this.held.push(h);
    return h;
  }

  release(): void {
    const held = this.held;
    this.held = [];
    for (const h of held) this.registry.release(h);
  }

  get count(): number {
    return this.held.length;
  }
}

/** The proxy thread's registry: the admin API reads it, snapshots default to it. */
export const healthRegistry = new HealthRegistry();
