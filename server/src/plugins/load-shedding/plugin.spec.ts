import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { validate } from '../../config/validate.js';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from '../../proxy/test-support/harness.js';
import plugin, { inFlight, loadSheddingStats } from './plugin.js';
import { LoadMonitor, setLoadMonitor, type LoadSample } from './monitor.js';
import { LoadSheddingSchema } from './schema.js';

const calm: LoadSample = { eventLoopDelayMs: 1, heapUsedRatio: 0.1, rssMb: 100 };
const quiet = { info() {}, warn() {}, error() {} };

describe('load-shedding: config', () => {
  it('fills the default Retry-After', () => {
    const v = validate(LoadSheddingSchema, { max_concurrent_requests: 5 });
    expect(v.ok && v.value).toEqual({ max_concurrent_requests: 5, retry_after_seconds: 1 });
  });

  it('refuses a heap ratio above 1 and an instance with no threshold', () => {
    expect(validate(LoadSheddingSchema, { max_heap_used_ratio: 1.5 }).ok).toBe(false);
    expect(() => plugin.create({ retry_after_seconds: 1 }, { logger: quiet, scope: 'global', route: undefined })).toThrow(/at least one/);
  });
});

describe('LoadMonitor', () => {
  it('runs only while someone watches', () => {
    const m = new LoadMonitor({ intervalMs: 3_600_000 });
    const seen: LoadSample[] = [];
    const w = { onSample: (s: LoadSample) => seen.push(s) };
    expect(m.running).toBe(false);
    m.watch(w);
    expect(m.running).toBe(true);
    m.sample({ eventLoopDelayMs: 7, heapUsedRatio: 0.5, rssMb: 10 });
    expect(seen.at(-1)).toEqual({ eventLoopDelayMs: 7, heapUsedRatio: 0.5, rssMb: 10 });
    m.unwatch(w);
    expect(m.running).toBe(false);
  });

  it('measures a blocked event loop, heap and RSS from its own timer', async () => {
    const m = new LoadMonitor({ intervalMs: 20, resolutionMs: 1 });
    const seen: LoadSample[] = [];
    const w = { onSample: (s: LoadSample) => seen.push(s) };
    m.watch(w);
    try {
      await new Promise((r) => setTimeout(r, 50));
      const end = Date.now() + 150;
      while (Date.now() < end); // block the loop
      // The stall reaches the sample that follows the histogram's own timer; when both timers are due at
      // once (a busy machine left this process waiting), that is the next sample, not the first one.
      const worstSoFar = (): number => Math.max(...seen.map((s) => s.eventLoopDelayMs));
      for (let i = 0; i < 50 && worstSoFar() <= 100; i++) await new Promise((r) => setTimeout(r, 20));
      expect(worstSoFar()).toBeGreaterThan(100);
      await new Promise((r) => setTimeout(r, 60));
      const last = seen.at(-1)!;
      // The window after the stall is calm again: the histogram is reset at every sample.
      expect(last.eventLoopDelayMs).toBeLessThan(100);
      expect(last.heapUsedRatio).toBeGreaterThan(0);
      expect(last.heapUsedRatio).toBeLessThan(1);
      expect(last.rssMb).toBeGreaterThan(10);
    } finally {
      m.unwatch(w);
    }
  });
});

describe('load-shedding', () => {
  let up: Upstream;
  let gw: Gateway;
  let monitor: LoadMonitor;
  let previous: LoadMonitor;
  const held: ServerResponse[] = [];
  const releaseAll = () => {
    for (const r of held.splice(0)) r.end('done');
  };
  const waitHeld = async (n: number) => {
    while (held.length < n) await new Promise((r) => setTimeout(r, 5));
  };
  const settle = () => new Promise((r) => setTimeout(r, 20)); // the log phase runs after the response finished

  const doc = {
    services: [{ name: 's', url: 'http://127.0.0.1:1' }],
    routes: [
      { name: 'ls-a', service: 's', paths: ['/a'] },
      { name: 'ls-b', service: 's', paths: ['/b'] },
      { name: 'ls-capped', service: 's', paths: ['/capped'] },
    ],
    plugins: [
      { name: 'load-shedding', config: { max_event_loop_delay_ms: 100, max_heap_used_ratio: 0.9, max_concurrent_requests: 1, retry_after_seconds: 3 } },
      { name: 'load-shedding', route: 'ls-capped', config: { max_concurrent_requests: 2 } },
    ],
  };

  beforeAll(async () => {
    up = await startUpstream((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      if (req.url?.includes('hold')) held.push(res);
      else res.end('ok');
    });
    doc.services[0]!.url = `http://${up.address}`;
    // A sampler whose timer never fires in the test: the samples are the ones the tests give it.
    monitor = new LoadMonitor({ intervalMs: 3_600_000 });
    previous = setLoadMonitor(monitor);
    gw = await startGateway(doc);
  });
  afterAll(async () => {
    releaseAll();
    await gw.close();
    setLoadMonitor(previous);
    await up.close();
  });

  it('sheds with 503 problem+json and Retry-After while the event loop is slow, without reaching the upstream', async () => {
    monitor.sample({ ...calm, eventLoopDelayMs: 250 });
    const hits = up.hits;
    const before = loadSheddingStats.overloaded;
    const r = await send(gw.port, '/a');
    expect(r.status).toBe(503);
    expect(r.headers['content-type']).toBe('application/problem+json');
    expect(r.headers['retry-after']).toBe('3');
    expect(r.json()).toMatchObject({ code: 'GW_ERR_OVERLOADED', status: 503, request_id: r.headers['x-request-id'] });
    expect(up.hits).toBe(hits);
    expect(loadSheddingStats.overloaded).toBe(before + 1);

    monitor.sample(calm);
    expect((await send(gw.port, '/a')).status).toBe(200);
  });

  it('sheds while the heap is nearly full', async () => {
    monitor.sample({ ...calm, heapUsedRatio: 0.95 });
    expect((await send(gw.port, '/b')).status).toBe(503);
    monitor.sample(calm);
    expect((await send(gw.port, '/b')).status).toBe(200);
  });

  it('a route instance replaces the global one: it has no load thresholds, only its cap', async () => {
    monitor.sample({ ...calm, eventLoopDelayMs: 250 });
    try {
      expect((await send(gw.port, '/capped')).status).toBe(200);
    } finally {
      monitor.sample(calm);
    }
  });

  it('caps the requests in flight per route and gives the slot back when a request finishes', async () => {
    const first = [send(gw.port, '/capped/hold'), send(gw.port, '/capped/hold')];
    await waitHeld(2);
    expect(inFlight('ls-capped')).toBe(2);
    const before = loadSheddingStats.concurrency;
    const third = await send(gw.port, '/capped/hold');
    expect(third.status).toBe(503);
    expect(third.json()).toMatchObject({ code: 'GW_ERR_OVERLOADED' });
    expect(loadSheddingStats.concurrency).toBe(before + 1);
    releaseAll();
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    await settle();
    expect(inFlight('ls-capped')).toBe(0);
    // A leaked slot would refuse the second of these.
    const again = [send(gw.port, '/capped/hold'), send(gw.port, '/capped/hold')];
    await waitHeld(2);
    releaseAll();
    expect((await Promise.all(again)).map((r) => r.status)).toEqual([200, 200]);
    await settle();
  });

  it('a global instance counts each route on its own', async () => {
    const a = send(gw.port, '/a/hold');
    await waitHeld(1);
    expect((await send(gw.port, '/a/hold')).status).toBe(503);
    // Route b has its own count under the same global instance.
    const b = send(gw.port, '/b/hold');
    await waitHeld(2);
    releaseAll();
    expect((await Promise.all([a, b])).map((r) => r.status)).toEqual([200, 200]);
    await settle();
    expect(inFlight('ls-a')).toBe(0);
    expect(inFlight('ls-b')).toBe(0);
  });

  it('a slot is given back when the client goes away mid-request', async () => {
    const { request } = await import('node:http');
    const req = request({ host: '127.0.0.1', port: gw.port, path: '/a/hold', agent: false });
    req.on('error', () => {});
    req.end();
    await waitHeld(1);
    expect(inFlight('ls-a')).toBe(1);
    req.destroy();
    for (let i = 0; i < 100 && inFlight('ls-a') !== 0; i++) await settle();
    expect(inFlight('ls-a')).toBe(0);
    releaseAll();
  });

  it('counts survive a config change, and the sampler stops with the last instance', async () => {
    const held1 = send(gw.port, '/capped/hold');
    await waitHeld(1);
    gw.apply(doc); // new instances; the request above still runs on the old snapshot
    expect(monitor.running).toBe(true);
    const second = send(gw.port, '/capped/hold');
    await waitHeld(2);
    expect((await send(gw.port, '/capped/hold')).status).toBe(503);
    releaseAll();
    expect((await Promise.all([held1, second])).map((r) => r.status)).toEqual([200, 200]);
    await settle();
    expect(inFlight('ls-capped')).toBe(0);
    expect(monitor.watcherCount).toBe(1); // the retired snapshot's global instance was closed
    gw.apply({ ...doc, plugins: [] });
    await settle();
    expect(monitor.running).toBe(false);
  });
});
