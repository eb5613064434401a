// The Kubernetes provider against the API server stand-in (test-support/kube-api-standin.ts), through
// @kubernetes/client-node and a kubeconfig pointing at it.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validate } from '../../config/validate.js';
import { ConfigDocumentSchema, type ConfigDocument } from '../../config/schema.js';
import { DiscoveryRegistry } from '../registry.js';
import { endpointSlice, service, startKubeApiStandin, type KubeApiStandin } from '../test-support/kube-api-standin.js';
import { endpointSliceTargets, kubernetesProvider } from './kubernetes.js';
import { loadKubeClient } from './kubernetes-client.js';

const logger = pino({ level: 'silent' });

function doc(discovery: Record<string, unknown>): ConfigDocument {
  const r = validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'api', discovery: { provider: 'kubernetes', ...discovery } }] });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

describe('EndpointSlice targets', () => {
  it('takes ready endpoints on the named port, or the only port, and counts slices without it', () => {
    const a = endpointSlice('shop', 'api-a', 'api', [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9090 }], [
      { ip: '10.1.0.1' },
      { ip: '10.1.0.2', ready: false },
    ]);
    const b = endpointSlice('shop', 'api-b', 'api', [{ port: 8081 }], [{ ip: 'fd00::3' }]);
    const slices = [a, b] as never[];
    expect(endpointSliceTargets(slices, 'http', 100)).toEqual({
      targets: [{ target: '10.1.0.1:8080', weight: 100 }],
      skipped: 1,
      note: "EndpointSlices without the port: api-b: no port 'http'",
    });
    expect(endpointSliceTargets(slices, undefined, 7)).toMatchObject({ targets: [{ target: '[fd00::3]:8081', weight: 7 }], skipped: 1 });
    // A slice without `conditions` counts as ready (the API: unknown means ready).
    const c = { ...b, endpoints: [{ addresses: ['10.1.0.4'] }] };
    expect(endpointSliceTargets([c] as never[], '', 1).targets).toEqual([{ target: '10.1.0.4:8081', weight: 1 }]);
  });
});

describe('kubernetes discovery against an API server stand-in', () => {
  let api: KubeApiStandin;
  const registries: DiscoveryRegistry[] = [];
  beforeAll(async () => {
    api = await startKubeApiStandin();
    // Loaded on first use, in seconds on a busy machine: not part of what the tests time.
    await loadKubeClient();
  }, 60_000);
  afterAll(async () => {
    await api?.close();
  });
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.close();
  });
  async function discover(discovery: Record<string, unknown>): Promise<DiscoveryRegistry> {
    const r = new DiscoveryRegistry({ providers: [kubernetesProvider as never], logger, coalesceMs: 10, firstAnswerMs: 5_000, defaults: { kubernetes: { kubeconfig: api.kubeconfig } } });
    registries.push(r);
    await r.reconcile(doc(discovery));
    return r;
  }
  const targetsOf = (r: DiscoveryRegistry) => r.get('api')!.targets.map((t) => t.target);

  it('merges every slice of the Service, excludes not-ready endpoints, and follows endpoint changes', async () => {
    api.apply(endpointSlice('shop', 'cart-1', 'cart', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.1' }, { ip: '10.0.0.2', ready: false }]));
    api.apply(endpointSlice('shop', 'cart-2', 'cart', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.3' }]));
    api.apply(endpointSlice('shop', 'other-1', 'other', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.99' }]));
    api.apply(endpointSlice('default', 'cart-x', 'cart', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.98' }]));
    const r = await discover({ namespace: 'shop', service: 'cart', port: 'http', weight: 5 });
    expect(r.get('api')).toMatchObject({ state: 'ok', provider: 'kubernetes', skipped: 0 });
    expect(r.get('api')!.targets).toEqual([
      { target: '10.0.0.1:8080', weight: 5 },
      { target: '10.0.0.3:8080', weight: 5 },
    ]);
    // The list and the watch both carry the label selector; the watch starts at the list's resourceVersion.
    const requests = () => api.requests.filter((q) => q.path === '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices');
    await expect.poll(() => requests().length, { timeout: 2_000 }).toBe(2);
    const [list, watch] = requests();
    expect(list).toMatchObject({ watch: false, labelSelector: 'kubernetes.io/service-name=cart' });
    expect(watch).toMatchObject({ watch: true, labelSelector: 'kubernetes.io/service-name=cart' });
    expect(Number(watch!.resourceVersion)).toBeGreaterThan(1000);

    // The not-ready endpoint becomes ready, a new one arrives not ready, one slice goes away.
    api.apply(endpointSlice('shop', 'cart-1', 'cart', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }, { ip: '10.0.0.4', ready: false }]));
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.3:8080']);
    api.remove('EndpointSlice', 'shop', 'cart-2');
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.0.1:8080', '10.0.0.2:8080']);
    // Changes to other Services' slices do not count as changes.
    const changes = r.get('api')!.changes;
    api.apply(endpointSlice('shop', 'other-1', 'other', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.97' }]));
    api.bookmark();
    await new Promise((res) => setTimeout(res, 100));
    expect(r.get('api')!.changes).toBe(changes);
    // Every endpoint turns not ready (a bad rollout): that is the Service's state, not a failure.
    api.apply(endpointSlice('shop', 'cart-1', 'cart', [{ name: 'http', port: 8080 }], [{ ip: '10.0.0.1', ready: false }]));
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual([]);
    expect(r.get('api')!.state).toBe('ok');
  });

  it('translates a Service port number to the endpoint port through the Service', async () => {
    api.apply(service('shop', 'orders', [{ name: 'web', port: 80, targetPort: 8080 }, { name: 'admin', port: 81, targetPort: 9000 }]));
    api.apply(endpointSlice('shop', 'orders-1', 'orders', [{ name: 'web', port: 8080 }, { name: 'admin', port: 9000 }], [{ ip: '10.0.1.1' }]));
    const r = await discover({ namespace: 'shop', service: 'orders', port: 81 });
    expect(targetsOf(r)).toEqual(['10.0.1.1:9000']);
    const bad = await discover({ namespace: 'shop', service: 'orders', port: 82 });
    expect(bad.get('api')).toMatchObject({ state: 'error', error: expect.stringContaining('Service shop/orders has no port 82') });
  });

  it('lists again after 410 Gone, without reporting an error, and sees what changed meanwhile', async () => {
    api.apply(endpointSlice('shop', 'pay-1', 'pay', [{ port: 7000 }], [{ ip: '10.0.2.1' }]));
    const r = await discover({ namespace: 'shop', service: 'pay' });
    expect(targetsOf(r)).toEqual(['10.0.2.1:7000']);
    const lists = () => api.requests.filter((q) => q.path.endsWith('/endpointslices') && q.labelSelector === 'kubernetes.io/service-name=pay' && !q.watch).length;
    expect(lists()).toBe(1);
    // The history is compacted and open watches end with ERROR 410; a change lands before the client is back.
    api.expireWatches();
    api.apply(endpointSlice('shop', 'pay-1', 'pay', [{ port: 7000 }], [{ ip: '10.0.2.1' }, { ip: '10.0.2.2' }]));
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.2.1:7000', '10.0.2.2:7000']);
    expect(lists()).toBe(2);
    // No failure was ever reported (error_at stays set after a recovery).
    expect(r.get('api')).toMatchObject({ state: 'ok', consecutive_failures: 0, error_at: null });
    // And it watches again from the new list.
    api.apply(endpointSlice('shop', 'pay-1', 'pay', [{ port: 7000 }], [{ ip: '10.0.2.3' }]));
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.2.3:7000']);
  });

  it('resumes a watch the server ended from the last resourceVersion (a bookmark\'s included), without listing again', async () => {
    api.apply(endpointSlice('shop', 'ship-1', 'ship', [{ port: 7100 }], [{ ip: '10.0.4.1' }]));
    const r = await discover({ namespace: 'shop', service: 'ship' });
    const mine = () => api.requests.filter((q) => q.labelSelector === 'kubernetes.io/service-name=ship');
    await expect.poll(() => mine().filter((q) => q.watch).length, { timeout: 2_000 }).toBe(1);
    // Other objects change; the bookmark tells the watch how far the server has got.
    api.apply(endpointSlice('shop', 'unrelated', 'unrelated', [{ port: 1 }], [{ ip: '10.9.9.9' }]));
    api.bookmark();
    const bookmarked = api.resourceVersion();
    await new Promise((res) => setTimeout(res, 100));
    api.closeWatches();
    await expect.poll(() => mine().filter((q) => q.watch).length, { timeout: 2_000 }).toBe(2);
    expect(mine().filter((q) => q.watch)[1]!.resourceVersion).toBe(bookmarked);
    api.apply(endpointSlice('shop', 'ship-1', 'ship', [{ port: 7100 }], [{ ip: '10.0.4.2' }]));
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.4.2:7100']);
    expect(mine().filter((q) => !q.watch)).toHaveLength(1);
    expect(r.get('api')).toMatchObject({ state: 'ok', error_at: null });
  });

  it('keeps the last known targets while the API server is down, reports the error, and recovers', async () => {
    api.apply(endpointSlice('shop', 'inv-1', 'inv', [{ name: 'http', port: 8000 }], [{ ip: '10.0.3.1' }]));
    const r = await discover({ namespace: 'shop', service: 'inv', port: 'http' });
    expect(targetsOf(r)).toEqual(['10.0.3.1:8000']);
    await api.stop();
    await expect.poll(() => r.get('api')!.state, { timeout: 5_000 }).toBe('error');
    expect(r.get('api')!.error).toMatch(/^kubernetes shop\/inv: ECONNREFUSED/);
    expect(targetsOf(r)).toEqual(['10.0.3.1:8000']);
    // Changed while the server was down (the stand-in keeps its store): seen by the re-list.
    api.apply(endpointSlice('shop', 'inv-1', 'inv', [{ name: 'http', port: 8000 }], [{ ip: '10.0.3.2' }]));
    await api.start();
    await expect.poll(() => targetsOf(r), { timeout: 10_000 }).toEqual(['10.0.3.2:8000']);
    expect(r.get('api')).toMatchObject({ state: 'ok', error: null, consecutive_failures: 0 });
    // And the new watch follows changes again.
    api.apply(endpointSlice('shop', 'inv-1', 'inv', [{ name: 'http', port: 8000 }], [{ ip: '10.0.3.3' }]));
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.3.3:8000']);
  }, 20_000);

  it('reports a refused token and a missing connection, and stops its watch', async () => {
    const r = new DiscoveryRegistry({ providers: [kubernetesProvider as never], logger, firstAnswerMs: 3_000, defaults: { kubernetes: { apiServer: api.url } } });
    registries.push(r);
    await r.reconcile(doc({ namespace: 'shop', service: 'cart' }));
    expect(r.get('api')).toMatchObject({ state: 'error', error: expect.stringContaining('HTTP 401') });
    const none = new DiscoveryRegistry({ providers: [kubernetesProvider as never], logger, firstAnswerMs: 100 });
    registries.push(none);
    const saved = process.env.KUBERNETES_SERVICE_HOST;
    delete process.env.KUBERNETES_SERVICE_HOST;
    try {
      await none.reconcile(doc({ namespace: 'shop', service: 'cart' }));
    } finally {
      if (saved !== undefined) process.env.KUBERNETES_SERVICE_HOST = saved;
    }
    expect(none.get('api')).toMatchObject({ state: 'error', error: expect.stringContaining('GATEHOUSE_KUBECONFIG') });

    const before = api.watchers();
    const w = await discover({ namespace: 'shop', service: 'cart', port: 'http' });
    await expect.poll(() => api.watchers(), { timeout: 2_000 }).toBe(before + 1);
    await w.close();
    await expect.poll(() => api.watchers(), { timeout: 2_000 }).toBe(before);
  });
});
