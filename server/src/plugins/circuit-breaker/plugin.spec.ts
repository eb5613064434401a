import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { request, type IncomingMessage, type ServerResponse } from 'node:http';
import { deadPort, send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import { validate } from '../../config/validate.js';
import { Admission, BREAKERS, UPSTREAM_FAILED, type BreakerTransition } from '../../resilience/circuit-breaker.js';
import { LAST_GOOD_MEMORY } from '../../resilience/last-good.js';
import plugin from './plugin.js';
import { CircuitBreakerSchema } from './schema.js';

type Mode = 'ok' | 'fail' | 'bad-request' | 'slow-ok' | 'held-ok';

/** An upstream whose answer the test switches; counts the requests it saw per path. */
async function controllable(): Promise<{ up: Upstream; set(m: Mode): void; seen(): number; release(): void }> {
  let mode: Mode = 'ok';
  let count = 0;
  // `held-ok` answers only on release(): a probe that stays in flight however slowly the callers arrive.
  const held: (() => void)[] = [];
  const up = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
    count++;
    req.resume();
    const answer = (): void => {
      if (mode === 'fail') {
        res.statusCode = 503;
        res.end('down');
      } else if (mode === 'bad-request') {
        res.statusCode = 400;
        res.end('bad');
      } else {
        res.setHeader('content-type', 'text/plain');
        res.setHeader('set-cookie', 'session=secret');
        res.end(`fresh ${req.url}`);
      }
    };
    if (mode === 'slow-ok') setTimeout(answer, 150);
    else if (mode === 'held-ok') held.push(answer);
    else answer();
  });
  return { up, set: (m) => (mode = m), seen: () => count, release: () => held.splice(0).forEach((a) => a()) };
}

function breakerDoc(up: Upstream, config: Record<string, unknown>, extra: { services?: unknown[]; routes?: unknown[] } = {}): unknown {
  return {
    services: [{ name: 'orders', url: `http://${up.address}` }, ...(extra.services ?? [])],
    routes: [{ name: 'orders', service: 'orders', paths: ['/orders'] }, ...(extra.routes ?? [])],
    plugins: [
      {
        name: 'circuit-breaker',
        service: 'orders',
        config: { volume_threshold: 4, error_threshold_percentage: 50, reset_timeout: 300, rolling_window: 10_000, ...config },
      },
    ],
  };
}

async function openBreaker(gw: Gateway, n = 4): Promise<void> {
  for (let i = 0; i < n; i++) await send(gw.port, '/orders/x');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('circuit-breaker config', () => {
  it('fills defaults and describes every field', () => {
    const r = validate(CircuitBreakerSchema, {});
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value).toMatchObject({ strategy: 'fast-fail', error_threshold_percentage: 50, failure_statuses: [500, 502, 503, 504] });
    for (const [name, s] of Object.entries(CircuitBreakerSchema.properties)) expect((s as { description?: string }).description, name).toBeTruthy();
  });

  it('refuses a fallback strategy without a fallback service', () => {
    const cfg = validate(CircuitBreakerSchema, { strategy: 'fallback' });
    expect(cfg.ok).toBe(true);
    if (cfg.ok) expect(() => plugin.create(cfg.value, { logger: console, scope: 'global', route: undefined })).toThrow(/fallback_service/);
  });
});

describe('circuit-breaker through the proxy', () => {
  let c: Awaited<ReturnType<typeof controllable>>;
  let gw: Gateway | undefined;
  const transitions: BreakerTransition[] = [];
  let unsubscribe: () => void;

  beforeAll(async () => {
    c = await controllable();
    unsubscribe = BREAKERS.onTransition((t) => transitions.push(t));
  });
  afterEach(async () => {
    await gw?.close();
    gw = undefined;
    c.set('ok');
    transitions.length = 0;
  });
  afterAll(async () => {
    unsubscribe();
    await c.up.close();
  });

  it('opens after the failure percentage, fails fast with Retry-After and no upstream hit', async () => {
    gw = await startGateway(breakerDoc(c.up, { reset_timeout: 5_000 }));
    c.set('fail');
    await openBreaker(gw);
    const before = c.seen();
    const r = await send(gw.port, '/orders/x');
    expect(r.status).toBe(503);
    expect(r.headers['content-type']).toContain('application/problem+json');
    expect(r.json()).toMatchObject({ code: 'GW_ERR_CIRCUIT_OPEN' });
    expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(4);
    expect(Number(r.headers['retry-after'])).toBeLessThanOrEqual(5);
    expect(c.seen()).toBe(before);
    expect(transitions.map((t) => `${t.from}>${t.to}`)).toEqual(['closed>open']);
    expect(transitions[0]!.group).toBe(c.up.address);
  });

  it('never opens on 4xx answers', async () => {
    gw = await startGateway(breakerDoc(c.up, {}));
    c.set('bad-request');
    for (let i = 0; i < 10; i++) expect((await send(gw.port, '/orders/x')).status).toBe(400);
    expect(transitions).toEqual([]);
  });

  it('counts connection errors as failures', async () => {
    const port = await deadPort();
    gw = await startGateway({
      services: [{ name: 'gone', url: `http://127.0.0.1:${port}` }],
      routes: [{ name: 'gone', service: 'gone', paths: ['/gone'] }],
      plugins: [{ name: 'circuit-breaker', config: { volume_threshold: 2, reset_timeout: 5_000 } }],
    });
    expect((await send(gw.port, '/gone')).status).toBe(502);
    expect((await send(gw.port, '/gone')).status).toBe(502);
    expect((await send(gw.port, '/gone')).json()).toMatchObject({ code: 'GW_ERR_CIRCUIT_OPEN' });
  });

  it('lets exactly one probe through in half-open under 100 concurrent callers, then closes', async () => {
    gw = await startGateway(breakerDoc(c.up, {}));
    c.set('fail');
    await openBreaker(gw);
    await sleep(350);
    // Regression (CI under load): with a probe answering after a fixed 150 ms, callers that arrived later
    // than that found the breaker already closed. The probe is now held until the other 99 are answered.
    c.set('held-ok');
    const before = c.seen();
    let settled = 0;
    const pending = Array.from({ length: 100 }, () => send(gw!.port, '/orders/x').finally(() => settled++));
    for (let i = 0; i < 400 && settled < 99; i++) await sleep(25);
    c.release();
    const replies = await Promise.all(pending);
    expect(c.seen() - before).toBe(1);
    expect(replies.filter((r) => r.status === 200)).toHaveLength(1);
    expect(replies.filter((r) => r.status === 503)).toHaveLength(99);
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half-open', 'closed']);
    c.set('ok');
    expect((await send(gw.port, '/orders/x')).status).toBe(200);
  });

  it('reopens when the probe fails', async () => {
    gw = await startGateway(breakerDoc(c.up, {}));
    c.set('fail');
    await openBreaker(gw);
    await sleep(350);
    expect((await send(gw.port, '/orders/x')).status).toBe(503);
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half-open', 'open']);
    expect((await send(gw.port, '/orders/x')).json()).toMatchObject({ code: 'GW_ERR_CIRCUIT_OPEN' });
  });

  it('does not let refused calls dilute the failure rate: a flapping upstream reopens it at once', async () => {
    gw = await startGateway(breakerDoc(c.up, {}));
    c.set('fail');
    await openBreaker(gw);
    for (let i = 0; i < 30; i++) expect((await send(gw.port, '/orders/x')).status).toBe(503);
    await sleep(350);
    c.set('ok');
    expect((await send(gw.port, '/orders/x')).status).toBe(200);
    // 4 failures and 1 success in the window: the next failure is 5 of 6.
    c.set('fail');
    expect((await send(gw.port, '/orders/x')).body).toBe('down');
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half-open', 'closed', 'open']);
    expect(BREAKERS.list().find((b) => b.group === c.up.address)!.window.rejects).toBeGreaterThanOrEqual(30);
  });

  it('does not close on a half-open probe whose client went away', async () => {
    gw = await startGateway(breakerDoc(c.up, {}));
    c.set('fail');
    await openBreaker(gw);
    await sleep(350);
    c.set('slow-ok');
    const before = c.seen();
    await new Promise<void>((resolve) => {
      const req = request({ host: '127.0.0.1', port: gw!.port, path: '/orders/x', agent: false });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => req.destroy(), 50);
    });
    await sleep(200);
    expect(c.seen() - before).toBe(1);
    expect(transitions.map((t) => t.to)).toEqual(['open', 'half-open', 'open']);
    expect((await send(gw.port, '/orders/x')).json()).toMatchObject({ code: 'GW_ERR_CIRCUIT_OPEN' });
  });

  it('keeps its state across a config reload, and is shut down with the last snapshot', async () => {
    gw = await startGateway(breakerDoc(c.up, { reset_timeout: 5_000 }));
    c.set('fail');
    await openBreaker(gw);
    const doc = breakerDoc(c.up, { reset_timeout: 5_000 }) as { routes: unknown[] };
    doc.routes.push({ name: 'other', service: 'orders', paths: ['/other'] });
    const old = gw.proxy.snapshot;
    gw.apply(doc);
    await old.retire();
    expect((await send(gw.port, '/orders/x')).json()).toMatchObject({ code: 'GW_ERR_CIRCUIT_OPEN' });
    expect(BREAKERS.list().filter((b) => b.group === c.up.address)).toHaveLength(1);
    await gw.close();
    gw = undefined;
    expect(BREAKERS.list().filter((b) => b.group === c.up.address)).toHaveLength(0);
  });

  describe('retry strategy', () => {
    it('holds an idempotent request until the upstream is back within the budget', async () => {
      gw = await startGateway(breakerDoc(c.up, { strategy: 'retry', retry_budget: 2_000, retry_base_delay: 50, retry_max_delay: 100 }));
      c.set('fail');
      await openBreaker(gw);
      setTimeout(() => c.set('ok'), 100).unref();
      const t0 = performance.now();
      const r = await send(gw.port, '/orders/x');
      expect(r.status).toBe(200);
      expect(r.body).toBe('fresh /x');
      // Not before the breaker's reset timeout let a probe through.
      expect(performance.now() - t0).toBeGreaterThanOrEqual(250);
    });

    it('fails a POST at once, and a GET once the budget is spent', async () => {
      gw = await startGateway(breakerDoc(c.up, { strategy: 'retry', retry_budget: 400, retry_base_delay: 50, retry_max_delay: 100, reset_timeout: 5_000 }));
      c.set('fail');
      await openBreaker(gw);
      let t0 = performance.now();
      const post = await send(gw.port, '/orders/x', { method: 'POST', body: 'x' });
      expect(post.json()).toMatchObject({ code: 'GW_ERR_CIRCUIT_OPEN' });
      expect(performance.now() - t0).toBeLessThan(350); // the GET below spends the 400 ms budget
      t0 = performance.now();
      const get = await send(gw.port, '/orders/x');
      const elapsed = performance.now() - t0;
      expect(get.json()).toMatchObject({ code: 'GW_ERR_CIRCUIT_OPEN' });
      expect(elapsed).toBeGreaterThanOrEqual(380);
      expect(elapsed).toBeLessThan(1_500);
    });
  });

  describe('serve-stale strategy', () => {
    it('answers the last good response, marked with Age and Warning, while open', async () => {
      gw = await startGateway(breakerDoc(c.up, { strategy: 'serve-stale', reset_timeout: 5_000 }));
      expect((await send(gw.port, '/orders/stored')).body).toBe('fresh /stored');
      c.set('fail');
      await openBreaker(gw);
      const r = await send(gw.port, '/orders/stored');
      expect(r.status).toBe(200);
      expect(r.body).toBe('fresh /stored');
      expect(r.headers['x-gatehouse-stale']).toBe('circuit-open');
      expect(r.headers.warning).toMatch(/^110 /);
      expect(Number(r.headers.age)).toBeGreaterThanOrEqual(0);
      // A copy never replays another caller's cookie.
      expect(r.headers['set-cookie']).toBeUndefined();
      const head = await send(gw.port, '/orders/stored', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.body).toBe('');
      // Nothing stored for this path: fast-fail.
      expect((await send(gw.port, '/orders/never')).json()).toMatchObject({ code: 'GW_ERR_CIRCUIT_OPEN' });
    });

    it('neither stores nor serves requests that carry credentials it did not resolve', async () => {
      gw = await startGateway(breakerDoc(c.up, { strategy: 'serve-stale', reset_timeout: 5_000 }));
      const size = LAST_GOOD_MEMORY.size;
      await send(gw.port, '/orders/private', { headers: { cookie: 'session=a' } });
      expect(LAST_GOOD_MEMORY.size).toBe(size);
      c.set('fail');
      await openBreaker(gw);
      expect((await send(gw.port, '/orders/private', { headers: { cookie: 'session=a' } })).status).toBe(503);
    });
  });

  describe('fallback strategy', () => {
    it('sends requests to the fallback service while open, and back to the primary when closed', async () => {
      const fb = await startUpstream((_req, res) => res.end('from fallback'));
      try {
        gw = await startGateway(breakerDoc(c.up, { strategy: 'fallback', fallback_service: 'backup' }, { services: [{ name: 'backup', url: `http://${fb.address}` }] }));
        c.set('fail');
        await openBreaker(gw);
        const r = await send(gw.port, '/orders/x');
        expect(r.status).toBe(200);
        expect(r.body).toBe('from fallback');
        expect(r.headers['x-gatehouse-fallback']).toBe('backup');
        c.set('ok');
        await sleep(350);
        const back = await send(gw.port, '/orders/x');
        expect(back.body).toBe('fresh /x');
        expect(back.headers['x-gatehouse-fallback']).toBeUndefined();
      } finally {
        await fb.close();
      }
    });
  });
});

describe('breaker window (fake timers)', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Runs one admitted exchange that fails or succeeds. */
  function call(b: ReturnType<typeof BREAKERS.acquire>, fail: boolean): boolean {
    const a = new Admission({ proceed() {} });
    if (!b.tryAdmit(a)) return false;
    if (fail) a.reject(UPSTREAM_FAILED);
    else a.resolve();
    return true;
  }
  const flush = () => vi.advanceTimersByTimeAsync(0);

  it('forgets failures that aged out of the rolling window', async () => {
    vi.useFakeTimers();
    const b = BREAKERS.acquire('window-test', { errorThresholdPercentage: 50, volumeThreshold: 4, rollingWindowMs: 1_000, rollingBuckets: 10, resetTimeoutMs: 1_000 });
    try {
      for (let i = 0; i < 3; i++) call(b, true);
      await flush();
      expect(b.stateName).toBe('closed');
      await vi.advanceTimersByTimeAsync(1_100);
      // The three old failures are gone: two new ones are under the volume threshold.
      call(b, true);
      call(b, true);
      await flush();
      expect(b.stateName).toBe('closed');
      call(b, true);
      call(b, true);
      await flush();
      expect(b.stateName).toBe('open');
      expect(b.retryAfterSeconds()).toBe(1);
      await vi.advanceTimersByTimeAsync(1_000);
      expect(b.stateName).toBe('half-open');
      expect(call(b, false)).toBe(true);
      expect(call(b, false)).toBe(false);
      await flush();
      expect(b.stateName).toBe('closed');
      expect(b.view().transitions).toEqual({ opened: 1, half_opened: 1, closed: 1 });
    } finally {
      BREAKERS.release(b);
    }
  });

  it('does not open below the failure percentage', async () => {
    vi.useFakeTimers();
    const b = BREAKERS.acquire('ratio-test', { errorThresholdPercentage: 50, volumeThreshold: 4, rollingWindowMs: 10_000, rollingBuckets: 10, resetTimeoutMs: 1_000 });
    try {
      for (let i = 0; i < 20; i++) call(b, i % 3 === 0);
      await flush();
      expect(b.stateName).toBe('closed');
      expect(b.view().window).toMatchObject({ calls: 20, failures: 7, successes: 13 });
    } finally {
      BREAKERS.release(b);
    }
  });
});
