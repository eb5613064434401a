// The resilience part of the proxy-plane protocol: what the in-process plane reads and purges, and what the
// worker answers the control thread — passed through a real MessagePort, so it must survive structured clone.
import { MessageChannel } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BREAKERS, type BreakerSettings, type ServiceBreaker } from '../resilience/circuit-breaker.js';
import { CachedResponse, memoryStoreFor } from '../plugins/proxy-cache/store.js';
import { PLUGINS } from '../plugins/index.js';
import type { GatewayEvent } from '../observability/events.js';
import { answerResilienceRequest, InProcessProxyPlane, type ToWorker, type WorkerDone } from './proxy-plane.js';
import { ProxyServer } from './proxy-server.js';

const SETTINGS: BreakerSettings = { errorThresholdPercentage: 50, volumeThreshold: 5, rollingWindowMs: 10_000, rollingBuckets: 10, resetTimeoutMs: 60_000 };
const KEY = 'c'.repeat(64);

function plane(): InProcessProxyPlane {
  const logger = pino({ level: 'silent' });
  return new InProcessProxyPlane(new ProxyServer({ trustedProxies: [], logger }), PLUGINS, logger);
}

function throughPort<T>(value: T): Promise<T> {
  const { port1, port2 } = new MessageChannel();
  return new Promise((resolve) => {
    port2.once('message', (m: T) => {
      port1.close();
      resolve(m);
    });
    port1.postMessage(value);
  });
}

describe('proxy plane: resilience protocol', () => {
  const held: ServiceBreaker[] = [];
  afterEach(() => {
    for (const b of held.splice(0)) BREAKERS.release(b);
  });

  it('in process: reads the registries, and feeds transitions until unsubscribed', async () => {
    const p = plane();
    const events: GatewayEvent[] = [];
    const off = p.onEvent((e) => events.push(e));
    const b = BREAKERS.acquire('plane-group', SETTINGS);
    held.push(b);
    b.breaker.open();
    expect(events).toEqual([{ kind: 'circuit-breaker', at: expect.any(Number), group: 'plane-group', breaker: b.id, from: 'closed', to: 'open' }]);
    const view = await p.resilience();
    expect(view.breakers.find((v) => v.id === b.id)?.state).toBe('open');
    expect(view.breaker_transitions).toContainEqual({ group: 'plane-group', to: 'open', count: expect.any(Number) });
    off();
    b.breaker.close();
    expect(events).toHaveLength(1);
  });

  it('keeps transition totals after the breaker is released (a counter never goes back)', async () => {
    const p = plane();
    const total = async () => (await p.resilience()).breaker_transitions.find((t) => t.group === 'released-group' && t.to === 'open')?.count ?? 0;
    const b = BREAKERS.acquire('released-group', SETTINGS);
    b.breaker.open();
    BREAKERS.release(b);
    expect((await p.resilience()).breakers.some((v) => v.group === 'released-group')).toBe(false);
    expect(await total()).toBe(1);
  });

  it('worker side: answers `resilience` and `purge-cache` with structured-clonable results, ignores the rest', async () => {
    const p = plane();
    const b = BREAKERS.acquire('worker-group', SETTINGS);
    held.push(b);
    b.breaker.open();
    const reply = await answerResilienceRequest(p, { type: 'resilience', id: 7 });
    const received = await throughPort(reply);
    expect(received).toEqual(reply);
    expect(received).toMatchObject({ type: 'done', id: 7 });
    const view = (received as WorkerDone).result as Awaited<ReturnType<InProcessProxyPlane['resilience']>>;
    expect(view.breakers.find((v) => v.id === b.id)).toMatchObject({ state: 'open', transitions: { opened: 1 } });
    expect(Object.keys(view).sort()).toEqual(['breaker_transitions', 'breakers', 'cache', 'limits_store', 'load_shedding', 'request_size', 'targets']);

    const now = Date.now();
    memoryStoreFor('plane-spec', 10, 100_000).set(KEY, new CachedResponse(200, {}, Buffer.from('x'), now, now + 60_000, 0, undefined, NaN));
    expect(await throughPort(await answerResilienceRequest(p, { type: 'purge-cache', id: 8, key: KEY }))).toEqual({ type: 'done', id: 8, result: 1 });
    expect(await answerResilienceRequest(p, { type: 'purge-cache', id: 9, key: KEY })).toEqual({ type: 'done', id: 9, result: 0 });
    expect(await answerResilienceRequest(p, { type: 'listen', id: 10, host: '127.0.0.1', port: 0 } satisfies ToWorker)).toBeUndefined();
  });

  it('events survive structured clone too', async () => {
    const p = plane();
    const got: GatewayEvent[] = [];
    const off = p.onEvent((e) => got.push(e));
    const b = BREAKERS.acquire('clone-group', SETTINGS);
    held.push(b);
    b.breaker.open();
    off();
    expect(await throughPort({ type: 'event', event: got[0] })).toEqual({ type: 'event', event: got[0] });
  });
});
