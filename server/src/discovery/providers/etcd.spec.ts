// The etcd provider against a real etcd (Debian package `etcd-server`) through its HTTP/JSON gateway.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validate } from '../../config/validate.js';
import { ConfigDocumentSchema, type ConfigDocument } from '../../config/schema.js';
import { DiscoveryRegistry } from '../registry.js';
import { startEtcd, type Etcd } from '../test-support/etcd.js';
import { etcdProvider, prefixRangeEnd, targetOfEntry } from './etcd.js';

const logger = pino({ level: 'silent' });

function doc(discovery: Record<string, unknown>): ConfigDocument {
  const r = validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'api', discovery: { provider: 'etcd', ...discovery } }] });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

describe('etcd entries', () => {
  it('reads host:port, URLs, JSON with an address or host and port, and the key as a fallback', () => {
    expect(targetOfEntry('/s/api/1', '10.0.0.1:8080', 100)).toEqual({ target: '10.0.0.1:8080', weight: 100 });
    expect(targetOfEntry('/s/api/1', 'http://10.0.0.1', 100)).toEqual({ target: '10.0.0.1:80', weight: 100 });
    expect(targetOfEntry('/s/api/1', 'https://[::1]/x', 100)).toEqual({ target: '[::1]:443', weight: 100 });
    expect(targetOfEntry('/s/api/1', '{"address":"10.0.0.2:81","weight":7}', 100)).toEqual({ target: '10.0.0.2:81', weight: 7 });
    expect(targetOfEntry('/s/api/1', '{"host":"::1","port":82}', 100)).toEqual({ target: '[::1]:82', weight: 100 });
    expect(targetOfEntry('/s/api/10.0.0.3:83', '', 100)).toEqual({ target: '10.0.0.3:83', weight: 100 });
    expect(targetOfEntry('/s/api/10.0.0.3:83', '{"weight":3}', 100)).toEqual({ target: '10.0.0.3:83', weight: 3 });
    expect(targetOfEntry('/s/api/node-1', 'not an address', 100)).toBeUndefined();
    expect(targetOfEntry('/s/api/node-1', '{"address":"nope"}', 100)).toBeUndefined();
    expect(targetOfEntry('/s/api/node-1', '{broken', 100)).toBeUndefined();
  });

  it('computes the prefix range end as etcd clients do', () => {
    expect(Buffer.from(prefixRangeEnd('/s/api/'), 'base64').toString()).toBe('/s/api0');
    // UTF-8 is incremented byte-wise: 'é' is C3 A9, so the end is C3 AA ('ê').
    expect(Buffer.from(prefixRangeEnd('/café'), 'base64').toString()).toBe('/cafê');
  });
});

describe('etcd discovery against a real etcd', () => {
  let etcd: Etcd;
  const registries: DiscoveryRegistry[] = [];
  beforeAll(async () => {
    etcd = await startEtcd();
  }, 30_000);
  afterAll(async () => {
    await etcd?.close();
  });
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.close();
  });
  async function discover(discovery: Record<string, unknown>): Promise<DiscoveryRegistry> {
    const r = new DiscoveryRegistry({ providers: [etcdProvider as never], logger, coalesceMs: 10, firstAnswerMs: 5_000, defaults: { etcdEndpoints: [etcd.endpoint] } });
    registries.push(r);
    await r.reconcile(doc(discovery));
    return r;
  }

  it('lists the prefix, follows puts and deletes, and counts unreadable entries', async () => {
    await etcd.put('/svc/a/1', '127.0.0.1:9001');
    await etcd.put('/svc/a/2', '{"address":"127.0.0.1:9002","weight":5}');
    await etcd.put('/svc/a/junk', 'not an address');
    await etcd.put('/svc/ab/1', '127.0.0.1:9999');
    const r = await discover({ prefix: '/svc/a/' });
    const targets = () => r.get('api')!.targets;
    expect(r.get('api')).toMatchObject({ state: 'ok', skipped: 1 });
    expect(targets()).toEqual([
      { target: '127.0.0.1:9001', weight: 100 },
      { target: '127.0.0.1:9002', weight: 5 },
    ]);
    await etcd.put('/svc/a/3', 'http://127.0.0.1:9003');
    await etcd.del('/svc/a/1');
    await expect.poll(() => targets().map((t) => t.target), { timeout: 3_000 }).toEqual(['127.0.0.1:9002', '127.0.0.1:9003']);
  });

  it('an emptied prefix empties the discovered targets (deregistered), a compaction re-lists without an error', async () => {
    await etcd.put('/svc/c/1', '127.0.0.1:9101');
    const r = await discover({ prefix: '/svc/c/' });
    expect(r.get('api')!.targets).toHaveLength(1);
    await etcd.del('/svc/c/1');
    await expect.poll(() => r.get('api')!.targets.length, { timeout: 3_000 }).toBe(0);
    expect(r.get('api')!.state).toBe('ok');
    await etcd.compact();
    await etcd.put('/svc/c/2', '127.0.0.1:9102');
    await expect.poll(() => r.get('api')!.targets.map((t) => t.target), { timeout: 3_000 }).toEqual(['127.0.0.1:9102']);
    expect(r.get('api')!.consecutive_failures).toBe(0);
  });

  it('keeps the last known targets while etcd is down, reports the error, and re-lists when it is back', async () => {
    await etcd.put('/svc/d/1', '127.0.0.1:9201');
    const r = await discover({ prefix: '/svc/d/' });
    expect(r.get('api')!.targets.map((t) => t.target)).toEqual(['127.0.0.1:9201']);
    await etcd.stop();
    await expect.poll(() => r.get('api')!.state, { timeout: 5_000 }).toBe('error');
    expect(r.get('api')!.error).toMatch(/^etcd http:\/\/127\.0\.0\.1:\d+: /);
    expect(r.get('api')!.targets.map((t) => t.target)).toEqual(['127.0.0.1:9201']);
    await etcd.start();
    // A change made right after the restart is seen: the provider re-lists, then watches from there.
    await etcd.put('/svc/d/2', '127.0.0.1:9202');
    await expect.poll(() => r.get('api')!.targets.map((t) => t.target), { timeout: 10_000 }).toEqual(['127.0.0.1:9201', '127.0.0.1:9202']);
    expect(r.get('api')!.state).toBe('ok');
  }, 30_000);

  it('reports missing endpoints', async () => {
    const r = new DiscoveryRegistry({ providers: [etcdProvider as never], logger, firstAnswerMs: 100 });
    registries.push(r);
    await r.reconcile(doc({ prefix: '/svc/e/' }));
    expect(r.get('api')).toMatchObject({ state: 'error', error: expect.stringContaining('GATEHOUSE_ETCD_ENDPOINTS') });
  });
});
