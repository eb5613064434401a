// The Consul provider against a stand-in speaking Consul's blocking-query protocol
// (test-support/consul-standin.ts): no Consul binary is installed on the test machines.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validate } from '../../config/validate.js';
import { ConfigDocumentSchema, type ConfigDocument } from '../../config/schema.js';
import { DiscoveryRegistry } from '../registry.js';
import { startConsulStandin, type ConsulStandin } from '../test-support/consul-standin.js';
import { consulProvider, nextIndex, targetOfEntry } from './consul.js';
import type { DiscoveryDefaults } from '../types.js';

const logger = pino({ level: 'silent' });

function doc(discovery: Record<string, unknown>): ConfigDocument {
  const r = validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'api', discovery: { provider: 'consul', service: 'web', ...discovery } }] });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

describe('consul entries', () => {
  it('takes Service.Address, else Node.Address, and the passing weight', () => {
    expect(targetOfEntry({ Node: { Address: '10.0.0.1' }, Service: { ID: 'w1', Address: '10.0.1.1', Port: 8080, Weights: { Passing: 3, Warning: 1 } } }, 100)).toEqual({ target: { target: '10.0.1.1:8080', weight: 3 } });
    expect(targetOfEntry({ Node: { Address: '10.0.0.1' }, Service: { ID: 'w1', Address: '', Port: 8080 } }, 100)).toEqual({ target: { target: '10.0.0.1:8080', weight: 100 } });
    expect(targetOfEntry({ Node: { Address: 'fd00::1' }, Service: { ID: 'w1', Port: 80, Weights: { Passing: 1, Warning: 1 } } }, 100)).toEqual({ target: { target: '[fd00::1]:80', weight: 1 } });
    expect(targetOfEntry({ Node: { Address: '10.0.0.1' }, Service: { ID: 'w1', Address: 'web-1.node.consul.', Port: 80 } }, 100)).toEqual({ target: { target: 'web-1.node.consul:80', weight: 100 } });
  });

  it('skips entries without a port or a usable address', () => {
    expect(targetOfEntry({ Node: { Address: '10.0.0.1' }, Service: { ID: 'w1', Port: 0 } }, 100)).toEqual({ skipped: 'w1: no port' });
    expect(targetOfEntry({ Node: { Address: '' }, Service: { ID: 'w1', Port: 80 } }, 100)).toEqual({ skipped: 'w1: no address' });
    expect(targetOfEntry({ Node: { Address: '10.0.0.1' }, Service: { ID: 'w1', Address: 'not a host', Port: 80 } }, 100)).toEqual({ skipped: "w1: address 'not a host' is not a host" });
  });

  it('resets an index that went backwards, and never blocks on 0', () => {
    expect(nextIndex(0, 15)).toBe(15);
    expect(nextIndex(15, 20)).toBe(20);
    expect(nextIndex(15, 15)).toBe(15);
    expect(nextIndex(20, 7)).toBe(0);
    expect(nextIndex(0, 0)).toBe(1);
  });
});

describe('consul discovery against a stand-in Consul', () => {
  let consul: ConsulStandin;
  const registries: DiscoveryRegistry[] = [];
  beforeEach(async () => {
    consul = await startConsulStandin();
  });
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.close();
    await consul.close();
  });
  async function discover(discovery: Record<string, unknown> = {}, defaults: DiscoveryDefaults = { consulAddr: consul.address }): Promise<DiscoveryRegistry> {
    const r = new DiscoveryRegistry({ providers: [consulProvider as never], logger, coalesceMs: 10, firstAnswerMs: 5_000, defaults });
    registries.push(r);
    await r.reconcile(doc(discovery));
    return r;
  }
  const targetsOf = (r: DiscoveryRegistry) => r.get('api')!.targets.map((t) => t.target);

  it('lists the passing instances and follows registrations, deregistrations and failing checks with blocking queries', async () => {
    consul.register({ id: 'web-1', service: 'web', address: '10.0.0.1', port: 8080 });
    consul.register({ id: 'web-2', service: 'web', nodeAddress: '10.0.9.2', port: 8081, weights: { Passing: 5, Warning: 1 } });
    consul.register({ id: 'db-1', service: 'db', address: '10.0.0.3', port: 5432 });
    const r = await discover();
    expect(r.get('api')).toMatchObject({ state: 'ok', targets: [{ target: '10.0.0.1:8080', weight: 1 }, { target: '10.0.9.2:8081', weight: 5 }] });
    consul.register({ id: 'web-3', service: 'web', address: '10.0.0.4', port: 8080 });
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.0.1:8080', '10.0.0.4:8080', '10.0.9.2:8081']);
    consul.setStatus('web-1', 'critical');
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.0.4:8080', '10.0.9.2:8081']);
    consul.setStatus('web-1', 'passing');
    consul.deregister('web-2');
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.0.1:8080', '10.0.0.4:8080']);
    // Changes came from held queries: each one carried the index last seen and a wait.
    const blocking = consul.requests.filter((q) => q.query.has('index'));
    expect(blocking.length).toBeGreaterThanOrEqual(3);
    expect(blocking[0]!.query.get('wait')).toBe('60s');
    expect(consul.requests.every((q) => q.query.get('passing') === 'true')).toBe(true);
    // Every instance deregistered: an authoritative empty answer empties the upstream.
    consul.deregister('web-1');
    consul.deregister('web-3');
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual([]);
    expect(r.get('api')!.state).toBe('ok');
  });

  it('asks for the tag and datacenter of the block, and reports an unknown datacenter', async () => {
    consul.register({ id: 'web-1', service: 'web', address: '10.0.0.1', port: 80, tags: ['v2'] });
    consul.register({ id: 'web-2', service: 'web', address: '10.0.0.2', port: 80, tags: ['v1'] });
    const r = await discover({ tag: 'v2', dc: 'dc1' });
    expect(targetsOf(r)).toEqual(['10.0.0.1:80']);
    expect(consul.requests[0]!.query.get('dc')).toBe('dc1');
    await r.close();
    const other = await discover({ dc: 'eu-west' });
    expect(other.get('api')).toMatchObject({ state: 'error', error: `consul ${consul.address}: /v1/health/service/web answered 500: No path to datacenter` });
  });

  it('sends GATEHOUSE_CONSUL_TOKEN as X-Consul-Token', async () => {
    await consul.close();
    consul = await startConsulStandin({ token: 'secret-token' });
    consul.register({ id: 'web-1', service: 'web', address: '10.0.0.1', port: 80 });
    const r = await discover({}, { consulAddr: consul.address, consulToken: 'secret-token' });
    expect(targetsOf(r)).toEqual(['10.0.0.1:80']);
    expect(consul.requests[0]!.token).toBe('secret-token');
    await r.close();
    const wrong = await discover({}, { consulAddr: consul.address, consulToken: 'nope' });
    expect(wrong.get('api')).toMatchObject({ state: 'error', error: expect.stringContaining('answered 403: ACL not found') });
    await wrong.close();
    // Without a token Consul filters the entries away instead of refusing: the note says why it is empty.
    const none = await discover();
    expect(none.get('api')).toMatchObject({ state: 'ok', targets: [], note: expect.stringContaining('filtered instances out by ACL') });
  });

  it('starts over when the index goes backwards (a restored snapshot) and keeps following changes', async () => {
    consul.register({ id: 'web-1', service: 'web', address: '10.0.0.1', port: 80 });
    const r = await discover({ wait: 1_000 });
    expect(targetsOf(r)).toEqual(['10.0.0.1:80']);
    await expect.poll(() => consul.requests.filter((q) => q.query.has('index')).length, { timeout: 2_000 }).toBeGreaterThan(0);
    const held = Number(consul.requests.at(-1)!.query.get('index'));
    consul.setIndex(3);
    // The held query runs out its wait and answers index 3; the provider then asks without an index.
    await expect.poll(() => consul.requests.slice(-2).map((q) => q.query.get('index')), { timeout: 4_000 }).toEqual([null, '3']);
    expect(held).toBeGreaterThan(3);
    consul.register({ id: 'web-2', service: 'web', address: '10.0.0.2', port: 80 });
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
  });

  it('does not spin when Consul answers index 0, nor when changes come faster than queries', async () => {
    consul.register({ id: 'web-1', service: 'web', address: '10.0.0.1', port: 80 });
    const r = await discover({ wait: 1_000 });
    consul.setIndex(0);
    await new Promise((res) => setTimeout(res, 2_500));
    // Held with the old index until the wait ran out, asked without one, then blocked on index 1.
    // (Index 1 is below the stuck 0 too, so it counts as backwards when answered: one query without an index per
    // `wait`, never a loop without a pause.) At most two queries per 1 s wait, plus the first ones: 8 in 2.5 s
    // whatever the phase of the waits against this window (a loaded CI machine saw 6); a spin would be hundreds.
    expect(consul.requests.length).toBeLessThanOrEqual(8);
    expect(consul.requests.map((q) => q.query.get('index'))).toContain('1');
    const start = consul.requests.length;
    const churn = setInterval(() => consul.register({ id: 'web-1', service: 'web', address: '10.0.0.1', port: 80 }), 5);
    await new Promise((res) => setTimeout(res, 1_000));
    clearInterval(churn);
    // At most one query per 200 ms, however often the index moves.
    expect(consul.requests.length - start).toBeLessThanOrEqual(7);
    expect(targetsOf(r)).toEqual(['10.0.0.1:80']);
  });

  it('keeps the last known targets while Consul is down, reports it, and catches up when it is back', async () => {
    consul.register({ id: 'web-1', service: 'web', address: '10.0.0.1', port: 80 });
    const r = await discover();
    expect(targetsOf(r)).toEqual(['10.0.0.1:80']);
    await consul.kill();
    await expect.poll(() => r.get('api')!.state, { timeout: 5_000 }).toBe('error');
    expect(r.get('api')!.error).toMatch(new RegExp(`^consul ${consul.address}: `));
    expect(targetsOf(r)).toEqual(['10.0.0.1:80']);
    consul.register({ id: 'web-2', service: 'web', address: '10.0.0.2', port: 80 });
    await consul.restart();
    await expect.poll(() => targetsOf(r), { timeout: 10_000 }).toEqual(['10.0.0.1:80', '10.0.0.2:80']);
    expect(r.get('api')).toMatchObject({ state: 'ok', consecutive_failures: 0 });
  }, 20_000);

  it('reports a Consul that is not listening', async () => {
    const addr = consul.address;
    await consul.kill();
    const r = await discover({}, { consulAddr: addr });
    expect(r.get('api')).toMatchObject({ state: 'error', error: `consul ${addr}: ECONNREFUSED`, targets: [] });
  });
});
