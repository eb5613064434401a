import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Value } from '@sinclair/typebox/value';
import { HealthchecksSchema, UpstreamSchema } from '../config/schema.js';
import { checkDocument } from '../config/check.js';
import { buildSnapshot } from '../proxy/snapshot.js';
import { PoolRegistry } from '../proxy/upstream-pool.js';
import { MemoryLogger } from '../proxy/test-support/harness.js';
import { ALWAYS_UP, HealthRegistry, healthchecksEnabled, type HealthchecksConfig, type HealthTargetSpec, type HealthTransition, type TargetHealth } from './health.js';

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? (T[K] extends readonly unknown[] ? T[K] : DeepPartial<T[K]>) : T[K] };

function cfg(partial: DeepPartial<HealthchecksConfig>): HealthchecksConfig {
  const v = Value.Default(HealthchecksSchema, Value.Clone(partial));
  expect(Value.Check(HealthchecksSchema, v)).toBe(true);
  return v as HealthchecksConfig;
}

const spec = (address = '10.0.0.1:80', upstream = 'orders'): HealthTargetSpec => {
  const i = address.lastIndexOf(':');
  return { upstream, address, host: address.slice(0, i), port: Number(address.slice(i + 1)) };
};

let registry: HealthRegistry;
let transitions: HealthTransition[];

function newRegistry(): HealthRegistry {
  registry = new HealthRegistry();
  transitions = [];
  registry.on('transition', (e) => transitions.push(e));
  return registry;
}

afterEach(async () => {
  vi.useRealTimers();
  await registry?.close();
});

describe('schema', () => {
  it('fills Kong-like defaults and keeps health checks off unless enabled', () => {
    const up = Value.Default(UpstreamSchema, { name: 'u', healthchecks: {} }) as { healthchecks: HealthchecksConfig };
    expect(Value.Check(UpstreamSchema, up)).toBe(true);
    const hc = up.healthchecks;
    expect(hc.active).toMatchObject({ enabled: false, http_path: '/', interval: 5000, timeout: 1000, healthy: { successes: 2 }, unhealthy: { failures: 3, http_statuses: [429, 500, 503] } });
    expect(hc.active.healthy.http_statuses).toContain(200);
    expect(hc.active.healthy.http_statuses).toContain(302);
    expect(hc.passive).toMatchObject({ enabled: false, eject_duration: 30000, unhealthy: { failures: 5, timeouts: 3, http_statuses: [500, 502, 503, 504] } });
    expect(healthchecksEnabled(hc)).toBe(false);
    expect(healthchecksEnabled(undefined)).toBe(false);
    expect(Value.Check(UpstreamSchema, { ...up, healthchecks: { ...hc, active: { ...hc.active, interval: 50 } } })).toBe(false);
  });

  it('hands out the no-op ALWAYS_UP when no check is enabled', () => {
    newRegistry();
    const lease = registry.lease();
    const h = lease.acquire(spec(), cfg({}));
    expect(h).toBe(ALWAYS_UP);
    expect(lease.acquire(spec(), undefined)).toBe(ALWAYS_UP);
    for (let i = 0; i < 100; i++) {
      h.reportStatus(500);
      h.reportFailure('connect');
    }
    expect(h.up).toBe(true);
    expect(registry.size).toBe(0);
    expect(lease.count).toBe(0);
  });
});

describe('passive checks', () => {
  const passive = (unhealthy: DeepPartial<HealthchecksConfig['passive']['unhealthy']> = {}, eject_duration = 30_000) =>
    cfg({ passive: { enabled: true, unhealthy, eject_duration } });

  it('ejects a target after the configured consecutive failures, once', () => {
    newRegistry();
    const h = registry.acquire(spec(), passive({ failures: 3 }));
    h.reportFailure('connect');
    h.reportStatus(502);
    expect(h.up).toBe(true);
    expect(registry.list()[0]).toMatchObject({ up: true, failures: 2, checks: 'passive' });
    h.reportFailure('reset');
    expect(h.up).toBe(false);
    // Late reports of in-flight requests change nothing while ejected.
    h.reportFailure('connect');
    h.reportStatus(200);
    expect(h.up).toBe(false);
    expect(transitions).toHaveLength(1);
    expect(transitions[0]).toMatchObject({ upstream: 'orders', target: '10.0.0.1:80', up: false });
    expect(transitions[0]!.reason).toMatch(/3 consecutive failures/);
    expect(registry.list()[0]).toMatchObject({ upstream: 'orders', target: '10.0.0.1:80', up: false, refs: 1 });
  });

  it('only counts the configured statuses, and any other status resets the count', () => {
    newRegistry();
    const h = registry.acquire(spec(), passive({ failures: 3, http_statuses: [503] }));
    for (let round = 0; round < 10; round++) {
      h.reportStatus(503);
      h.reportStatus(503);
      h.reportStatus(round % 2 ? 200 : 404);
    }
    h.reportStatus(500); // not in the list
    h.reportStatus(500);
    h.reportStatus(500);
    expect(h.up).toBe(true);
    h.reportStatus(503);
    h.reportStatus(503);
    h.reportStatus(503);
    expect(h.up).toBe(false);
  });

  it('counts timeouts apart from failures', () => {
    newRegistry();
    const h = registry.acquire(spec(), passive({ failures: 5, timeouts: 3 }));
    h.reportFailure('timeout');
    h.reportFailure('timeout');
    for (let i = 0; i < 4; i++) h.reportFailure('connect');
    expect(registry.list()[0]).toMatchObject({ up: true, failures: 4, timeouts: 2 });
    h.reportStatus(200); // resets both
    h.reportFailure('timeout');
    h.reportFailure('timeout');
    expect(h.up).toBe(true);
    h.reportFailure('timeout');
    expect(h.up).toBe(false);
    expect(transitions[0]!.reason).toMatch(/3 consecutive timeouts/);
  });

  it('brings an ejected target back after eject_duration', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    newRegistry();
    const h = registry.acquire(spec(), passive({ failures: 2 }, 10_000));
    h.reportFailure('connect');
    h.reportFailure('connect');
    expect(h.up).toBe(false);
    expect(registry.list()[0]!.ejectedUntil).toBe(1_010_000);
    vi.advanceTimersByTime(9_999);
    expect(h.up).toBe(false);
    vi.advanceTimersByTime(1);
    expect(h.up).toBe(true);
    expect(transitions.map((t) => [t.up, t.at])).toEqual([
      [false, 1_000_000],
      [true, 1_010_000],
    ]);
    expect(transitions[1]!.reason).toMatch(/eject_duration/);
    // Counting starts over after the return.
    h.reportFailure('connect');
    expect(h.up).toBe(true);
    h.reportFailure('connect');
    expect(h.up).toBe(false);
    expect(transitions).toHaveLength(3);
  });

  it('leaves recovery to the active checker when both are on', () => {
    vi.useFakeTimers();
    newRegistry();
    // Probes go to a closed port, but the interval is long: none completes within the test.
    const h = registry.acquire(spec('127.0.0.1:9'), cfg({ passive: { enabled: true, unhealthy: { failures: 1 }, eject_duration: 1000 }, active: { enabled: true, interval: 3_600_000 } }));
    h.reportStatus(500);
    expect(h.up).toBe(false);
    vi.advanceTimersByTime(5_000);
    expect(h.up).toBe(false);
    expect(registry.list()[0]).toMatchObject({ checks: 'active+passive' });
    expect(registry.list()[0]!.ejectedUntil).toBeUndefined();
  });

  it('report calls are cheap: a million of them allocate nothing measurable', () => {
    newRegistry();
    const h: TargetHealth = registry.acquire(spec(), passive({ failures: 255 }));
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) {
      h.reportStatus(200);
      h.reportStatus(i % 100 === 0 ? 500 : 204);
    }
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(4 * 1024 * 1024);
    expect(h.up).toBe(true);
  });
});

type Mode = 'ok' | 'fail' | 'slow' | 'hang';

/** A real upstream whose health answer the test switches. */
class Upstream {
  mode: Mode = 'ok';
  requests = 0;
  inFlight = 0;
  maxInFlight = 0;
  slowMs = 350;
  lastHeaders: IncomingMessage['headers'] = {};
  lastUrl = '';
  private server: Server;
  port = 0;

  constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    this.requests++;
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.lastHeaders = req.headers;
    this.lastUrl = req.url ?? '';
    res.on('close', () => this.inFlight--);
    switch (this.mode) {
      case 'ok':
        res.end('ok');
        break;
      case 'fail':
        res.statusCode = 500;
        res.end('boom');
        break;
      case 'slow':
        setTimeout(() => res.end('slow'), this.slowMs);
        break;
      case 'hang':
        break;
    }
  }

  async listen(port = 0): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => resolve());
    });
    this.port = (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Listens again on the same port (a fresh server: a closed one cannot listen again). */
  async reopen(): Promise<void> {
    this.server = createServer((req, res) => this.handle(req, res));
    await this.listen(this.port);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
}

const upstreams: Upstream[] = [];
async function startUpstream(): Promise<Upstream> {
  const u = new Upstream();
  await u.listen();
  upstreams.push(u);
  return u;
}
afterEach(async () => {
  await Promise.all(upstreams.splice(0).map((u) => u.close().catch(() => undefined)));
});

const active = (over: DeepPartial<HealthchecksConfig['active']> = {}) =>
  cfg({ active: { enabled: true, interval: 100, timeout: 250, healthy: { successes: 2 }, unhealthy: { failures: 3 }, ...over } });

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const waitFor = <T>(fn: () => T) => vi.waitFor(fn, { timeout: 5_000, interval: 20 });

describe('active checks', () => {
  it('marks a target down after the failed probes, up after the successful ones, one event per transition', async () => {
    const u = await startUpstream();
    newRegistry();
    const h = registry.acquire(spec(u.address), active({ http_path: '/healthz?deep=1', headers: { host: 'orders.internal', 'x-probe': 'yes' } }));
    await waitFor(() => expect(registry.list()[0]!.probeSuccesses).toBeGreaterThanOrEqual(2));
    expect(h.up).toBe(true);
    expect(u.lastUrl).toBe('/healthz?deep=1');
    expect(u.lastHeaders).toMatchObject({ host: 'orders.internal', 'x-probe': 'yes' });
    expect(transitions).toHaveLength(0);

    u.mode = 'fail';
    const failedFrom = u.requests;
    await waitFor(() => expect(h.up).toBe(false));
    // Three failed probes were needed, not one.
    expect(u.requests - failedFrom).toBeGreaterThanOrEqual(3);
    expect(registry.list()[0]).toMatchObject({ up: false, checks: 'active', lastProbe: { status: 500 } });
    expect(transitions).toHaveLength(1);
    expect(transitions[0]).toMatchObject({ upstream: 'orders', target: u.address, up: false });
    expect(transitions[0]!.reason).toMatch(/3 consecutive failed probes, last HTTP 500/);

    await sleep(350); // more failed probes: no further event
    expect(transitions).toHaveLength(1);

    u.mode = 'ok';
    const okFrom = u.requests;
    await waitFor(() => expect(h.up).toBe(true));
    expect(u.requests - okFrom).toBeGreaterThanOrEqual(2);
    await sleep(350);
    expect(transitions.map((t) => t.up)).toEqual([false, true]);
    expect(transitions[1]!.reason).toMatch(/2 consecutive successful probes/);
  });

  it('counts a closed listener and a probe timeout as failures', async () => {
    const u = await startUpstream();
    newRegistry();
    const h = registry.acquire(spec(u.address), active());
    await waitFor(() => expect(registry.list()[0]!.lastProbe?.status).toBe(200));
    await u.close();
    await waitFor(() => expect(h.up).toBe(false));
    expect(registry.list()[0]!.lastProbe?.error).toBe('ECONNREFUSED');
    expect(transitions[0]!.reason).toMatch(/ECONNREFUSED/);

    await u.reopen();
    await waitFor(() => expect(h.up).toBe(true));

    u.mode = 'hang';
    await waitFor(() => expect(h.up).toBe(false));
    expect(registry.list()[0]!.lastProbe).toMatchObject({ error: 'timeout' });
    expect(registry.list()[0]!.lastProbe!.durationMs).toBeGreaterThanOrEqual(240);
    expect(transitions.map((t) => t.up)).toEqual([false, true, false]);
  });

  it('ignores a status in neither list, as Kong does', async () => {
    const u = await startUpstream();
    newRegistry();
    u.mode = 'fail';
    const h = registry.acquire(spec(u.address), active({ unhealthy: { failures: 1, http_statuses: [503] } }));
    await waitFor(() => expect(registry.list()[0]!.lastProbe?.status).toBe(500));
    await sleep(300);
    expect(h.up).toBe(true);
    expect(registry.list()[0]).toMatchObject({ probeFailures: 0, probeSuccesses: 0 });
  });

  it('never overlaps two probes of a target when a probe outlasts the interval', async () => {
    const u = await startUpstream();
    u.mode = 'slow';
    u.slowMs = 300;
    newRegistry();
    const h = registry.acquire(spec(u.address), active({ interval: 100, timeout: 2_000 }));
    await sleep(1_400);
    expect(u.maxInFlight).toBe(1);
    // Back to back at ~300 ms each, not one every 100 ms.
    expect(u.requests).toBeGreaterThanOrEqual(2);
    expect(u.requests).toBeLessThanOrEqual(6);
    expect(registry.probesStarted).toBe(u.requests);
    expect(h.up).toBe(true);
  });

  it('stops probing when the last reference is released', async () => {
    const u = await startUpstream();
    newRegistry();
    const c = active();
    const a = registry.lease();
    const b = registry.lease();
    a.acquire(spec(u.address), c);
    b.acquire(spec(u.address), c);
    expect(registry.checkers).toBe(1);
    await waitFor(() => expect(u.requests).toBeGreaterThanOrEqual(2));
    a.release();
    a.release(); // idempotent
    expect(registry.checkers).toBe(1);
    const before = u.requests;
    await waitFor(() => expect(u.requests).toBeGreaterThan(before));
    b.release();
    expect(registry.checkers).toBe(0);
    expect(registry.size).toBe(0);
    await sleep(50); // a probe that was already on the wire may still land
    const stoppedAt = u.requests;
    await sleep(500);
    expect(u.requests).toBe(stoppedAt);
    expect(registry.list()).toEqual([]);
  });

  it('keeps state across a reload that re-acquires the same target', async () => {
    const u = await startUpstream();
    newRegistry();
    u.mode = 'fail';
    const old = registry.lease();
    const h1 = old.acquire(spec(u.address), active());
    await waitFor(() => expect(h1.up).toBe(false));
    const since = registry.list()[0]!.since;

    // The new snapshot is built before the old one is retired; a changed threshold reconfigures in place.
    const next = registry.lease();
    const h2 = next.acquire(spec(u.address), active({ healthy: { successes: 3 } }));
    old.release();
    expect(h2).toBe(h1);
    expect(h2.up).toBe(false);
    expect(registry.checkers).toBe(1);
    expect(registry.list()[0]).toMatchObject({ up: false, since, refs: 1 });
    expect(transitions).toHaveLength(1);

    u.mode = 'ok';
    const okFrom = u.requests;
    await waitFor(() => expect(h2.up).toBe(true));
    expect(u.requests - okFrom).toBeGreaterThanOrEqual(3);
    expect(transitions.map((t) => t.up)).toEqual([false, true]);
    next.release();
    expect(registry.checkers).toBe(0);
  });

  it('starts from scratch once every reference was released', async () => {
    const u = await startUpstream();
    newRegistry();
    u.mode = 'fail';
    const first = registry.lease();
    const h1 = first.acquire(spec(u.address), active());
    await waitFor(() => expect(h1.up).toBe(false));
    first.release();
    u.mode = 'ok';
    const h2 = registry.lease().acquire(spec(u.address), active());
    expect(h2).not.toBe(h1);
    expect(h2.up).toBe(true);
  });

  it('keys targets by upstream and address', async () => {
    const u = await startUpstream();
    newRegistry();
    const l = registry.lease();
    const a = l.acquire(spec(u.address, 'a'), active());
    const b = l.acquire(spec(u.address, 'b'), cfg({ passive: { enabled: true } }));
    expect(a).not.toBe(b);
    expect(registry.checkers).toBe(1);
    expect(
      registry
        .list()
        .map((s) => [s.upstream, s.checks])
        .sort(),
    ).toEqual([
      ['a', 'active'],
      ['b', 'passive'],
    ]);
    l.release();
    expect(registry.size).toBe(0);
  });
});

describe('snapshots', () => {
  it('attach shared health to upstream targets and release it when retired', async () => {
    const plugins = new Map();
    const checked = checkDocument(
      {
        _format_version: '1',
        upstreams: [
          { name: 'checked', targets: [{ target: '10.0.0.1:80' }, { target: '10.0.0.2:80' }], healthchecks: { passive: { enabled: true, unhealthy: { failures: 1 } } } },
          { name: 'plain', targets: [{ target: '10.0.0.3:80' }] },
        ],
        services: [
          { name: 'a', host: 'checked' },
          { name: 'b', host: 'checked' },
          { name: 'c', host: 'plain' },
          { name: 'd', url: 'http://10.0.0.4:80' },
        ],
      },
      plugins,
    );
    if (!checked.ok) throw new Error(JSON.stringify(checked.issues));
    newRegistry();
    const pools = new PoolRegistry();
    const opts = { logger: new MemoryLogger(), pools, health: registry };
    const s1 = buildSnapshot(checked.document, plugins, opts);
    const targetsOf = (s: typeof s1, name: string) => s.services.get(name)!.balancer.targets;
    expect(targetsOf(s1, 'c')[0]!.health).toBe(ALWAYS_UP);
    expect(targetsOf(s1, 'd')[0]!.health).toBe(ALWAYS_UP);
    // Two services over one upstream share its targets' health.
    expect(targetsOf(s1, 'a')[0]!.health).toBe(targetsOf(s1, 'b')[0]!.health);
    expect(registry.size).toBe(2);
    targetsOf(s1, 'a')[0]!.health.reportFailure('connect');
    expect(targetsOf(s1, 'b')[0]!.health.up).toBe(false);
    expect(s1.services.get('b')!.balancer.pick('', undefined)).toBe(targetsOf(s1, 'b')[1]);

    const s2 = buildSnapshot(checked.document, plugins, opts);
    expect(targetsOf(s2, 'a')[0]!.health).toBe(targetsOf(s1, 'a')[0]!.health);
    expect(targetsOf(s2, 'a')[0]!.health.up).toBe(false);
    await s1.retire();
    expect(registry.size).toBe(2);
    expect(registry.list().map((s) => s.refs)).toEqual([2, 2]);
    await s2.retire();
    expect(registry.size).toBe(0);
  });
});
