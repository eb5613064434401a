// The Docker provider against a stand-in Engine API on a unix socket (test-support/docker-api-standin.ts):
// no Docker daemon runs on the test machines.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { validate } from '../../config/validate.js';
import { ConfigDocumentSchema, type ConfigDocument } from '../../config/schema.js';
import { DiscoveryRegistry } from '../registry.js';
import { startDockerStandin, type DockerStandin } from '../test-support/docker-api-standin.js';
import { dockerProvider, healthOf, targetOfContainer, type ContainerSummary } from './docker.js';

const logger = pino({ level: 'silent' });

function doc(discovery: Record<string, unknown>): ConfigDocument {
  const r = validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'api', discovery: { provider: 'docker', ...discovery } }] });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.value;
}

function container(over: Partial<ContainerSummary> = {}): ContainerSummary {
  return {
    Id: 'f'.repeat(64),
    Names: ['/web-1'],
    Labels: {},
    State: 'running',
    Status: 'Up 2 minutes',
    Ports: [{ PrivatePort: 8080, Type: 'tcp' }],
    NetworkSettings: { Networks: { bridge: { IPAddress: '172.17.0.5', GlobalIPv6Address: '' } } },
    ...over,
  };
}

describe('docker containers as targets', () => {
  const cfg = { weight: 100 };

  it('takes the single network and the single exposed TCP port', () => {
    expect(targetOfContainer(container(), cfg)).toEqual({ target: { target: '172.17.0.5:8080', weight: 100 } });
    // A UDP port and a duplicate of the published mapping do not count as further ports.
    const ports = [{ PrivatePort: 8080, Type: 'tcp' }, { IP: '0.0.0.0', PrivatePort: 8080, PublicPort: 32768, Type: 'tcp' }, { PrivatePort: 53, Type: 'udp' }];
    expect(targetOfContainer(container({ Ports: ports }), cfg)).toEqual({ target: { target: '172.17.0.5:8080', weight: 100 } });
  });

  it('prefers the labels gatehouse.port, gatehouse.network and gatehouse.weight over the block', () => {
    const c = container({
      Labels: { 'gatehouse.port': '9000', 'gatehouse.network': 'back', 'gatehouse.weight': '7' },
      Ports: [{ PrivatePort: 80, Type: 'tcp' }, { PrivatePort: 443, Type: 'tcp' }],
      NetworkSettings: { Networks: { front: { IPAddress: '10.1.0.2' }, back: { IPAddress: '10.2.0.2' } } },
    });
    expect(targetOfContainer(c, { ...cfg, network: 'front', port: 81 })).toEqual({ target: { target: '10.2.0.2:9000', weight: 7 } });
    const noLabels = container({ Ports: c.Ports, NetworkSettings: c.NetworkSettings });
    expect(targetOfContainer(noLabels, { ...cfg, network: 'front', port: 81 })).toEqual({ target: { target: '10.1.0.2:81', weight: 100 } });
  });

  it('uses the IPv6 address of a network without an IPv4 one, bracketed', () => {
    const c = container({ NetworkSettings: { Networks: { v6: { IPAddress: '', GlobalIPv6Address: 'fd00::5' } } } });
    expect(targetOfContainer(c, cfg)).toEqual({ target: { target: '[fd00::5]:8080', weight: 100 } });
  });

  it('skips, with the reason, what it cannot turn into a target', () => {
    const skip = (c: ContainerSummary, extra = {}) => {
      const v = targetOfContainer(c, { ...cfg, ...extra });
      return 'skipped' in v ? v.skipped : `not skipped: ${JSON.stringify(v)}`;
    };
    expect(skip(container({ Labels: { 'gatehouse.port': 'http' } }))).toBe("web-1: label gatehouse.port='http' is not a port");
    expect(skip(container({ Labels: { 'gatehouse.port': '70000' } }))).toMatch(/is not a port/);
    expect(skip(container({ Labels: { 'gatehouse.weight': '-1' } }))).toMatch(/label gatehouse.weight='-1' is not a weight/);
    expect(skip(container({ Ports: [] }))).toMatch(/exposes no TCP port; set the label gatehouse.port/);
    expect(skip(container({ Ports: [{ PrivatePort: 443, Type: 'tcp' }, { PrivatePort: 80, Type: 'tcp' }] }))).toMatch(/exposes 2 TCP ports \(80, 443\)/);
    const two = { NetworkSettings: { Networks: { a: { IPAddress: '10.0.0.1' }, b: { IPAddress: '10.0.1.1' } } } };
    expect(skip(container(two))).toMatch(/attached to 2 networks \(a, b\); set the label gatehouse.network/);
    expect(skip(container(), { network: 'missing' })).toBe("web-1: not attached to network 'missing'");
    expect(skip(container({ NetworkSettings: { Networks: { host: { IPAddress: '' } } } }))).toBe("web-1: no IP address on network 'host'");
  });

  it('reads health from Health (API 1.52) or from Status, and excludes unhealthy and starting containers', () => {
    expect(healthOf(container())).toBe('none');
    expect(healthOf(container({ Status: 'Up 3 seconds (health: starting)' }))).toBe('starting');
    expect(healthOf(container({ Status: 'Up 2 minutes (healthy)' }))).toBe('healthy');
    expect(healthOf(container({ Status: 'Up 2 minutes (unhealthy)' }))).toBe('unhealthy');
    expect(healthOf(container({ Status: 'Up 2 minutes (healthy)', Health: { Status: 'unhealthy' } }))).toBe('unhealthy');
    expect(targetOfContainer(container({ Status: 'Up 1 second (health: starting)' }), cfg)).toEqual({ unhealthy: 'web-1 (starting)' });
    expect(targetOfContainer(container({ Status: 'Up 1 hour (unhealthy)' }), cfg)).toEqual({ unhealthy: 'web-1 (unhealthy)' });
    expect(targetOfContainer(container({ Status: 'Up 1 hour (healthy)' }), cfg)).toHaveProperty('target');
  });

  it('validates the block', () => {
    expect(validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'a', discovery: { provider: 'docker', host: 'tcp://10.0.0.1' } }] }).ok).toBe(false);
    expect(validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'a', discovery: { provider: 'docker', host: 'tcp://10.0.0.1:2375' } }] }).ok).toBe(true);
    expect(validate(ConfigDocumentSchema, { _format_version: '1', upstreams: [{ name: 'a', discovery: { provider: 'docker', port: 0 } }] }).ok).toBe(false);
  });
});

describe('docker discovery against a stand-in Engine API', () => {
  let docker: DockerStandin;
  const registries: DiscoveryRegistry[] = [];
  beforeEach(async () => {
    docker = await startDockerStandin();
  });
  afterEach(async () => {
    for (const r of registries.splice(0)) await r.close();
    await docker.close();
  });
  async function discover(discovery: Record<string, unknown> = {}, defaults = { dockerHost: docker.host }): Promise<DiscoveryRegistry> {
    const r = new DiscoveryRegistry({ providers: [dockerProvider as never], logger, coalesceMs: 10, firstAnswerMs: 5_000, defaults });
    registries.push(r);
    await r.reconcile(doc(discovery));
    return r;
  }
  const targetsOf = (r: DiscoveryRegistry) => r.get('api')!.targets.map((t) => t.target);

  it('lists the labelled running containers, then follows start and stop events', async () => {
    docker.run({ name: 'api-1', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.2' }, ports: [8080] });
    docker.run({ name: 'other', labels: { 'gatehouse.upstream': 'billing' }, networks: { bridge: '172.17.0.9' }, ports: [8080] });
    docker.run({ name: 'unlabelled', networks: { bridge: '172.17.0.10' }, ports: [8080] });
    const r = await discover();
    expect(r.get('api')).toMatchObject({ state: 'ok', skipped: 0, targets: [{ target: '172.17.0.2:8080', weight: 100 }] });
    // Negotiated: the stand-in speaks 1.52, as Engine 29 does.
    expect(docker.requests).toContain('/v1.52/containers/json');
    const second = docker.run({ name: 'api-2', labels: { 'gatehouse.upstream': 'api', 'gatehouse.weight': '5' }, networks: { bridge: '172.17.0.3' }, ports: [8080] });
    await expect.poll(() => r.get('api')!.targets, { timeout: 3_000 }).toEqual([
      { target: '172.17.0.2:8080', weight: 100 },
      { target: '172.17.0.3:8080', weight: 5 },
    ]);
    docker.stop(second);
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['172.17.0.2:8080']);
    docker.start(second);
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['172.17.0.2:8080', '172.17.0.3:8080']);
  });

  it('matches the block\'s service and labels, and follows an emptied service to no targets', async () => {
    const a = docker.run({ name: 'shop-a', labels: { 'gatehouse.upstream': 'shop', env: 'prod' }, networks: { bridge: '172.17.0.4' }, ports: [80] });
    docker.run({ name: 'shop-b', labels: { 'gatehouse.upstream': 'shop', env: 'staging' }, networks: { bridge: '172.17.0.5' }, ports: [80] });
    const r = await discover({ service: 'shop', labels: ['env=prod'] });
    expect(targetsOf(r)).toEqual(['172.17.0.4:80']);
    docker.stop(a);
    // The Engine's answer is authoritative: no container left means no discovered target (not an error).
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual([]);
    expect(r.get('api')!.state).toBe('ok');
  });

  it('leaves out containers while their healthcheck is starting or unhealthy', async () => {
    const id = docker.run({ name: 'api-h', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.6' }, ports: [8080], health: 'starting' });
    docker.run({ name: 'api-plain', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.7' }, ports: [8080] });
    const r = await discover();
    expect(targetsOf(r)).toEqual(['172.17.0.7:8080']);
    expect(r.get('api')!.note).toBe('not healthy: api-h (starting)');
    docker.setHealth(id, 'healthy');
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['172.17.0.6:8080', '172.17.0.7:8080']);
    docker.setHealth(id, 'unhealthy');
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['172.17.0.7:8080']);
    expect(r.get('api')!.note).toBe('not healthy: api-h (unhealthy)');
  });

  it('counts containers with unusable labels or ports as skipped, naming them', async () => {
    docker.run({ name: 'good', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.2' }, ports: [8080] });
    docker.run({ name: 'bad-port', labels: { 'gatehouse.upstream': 'api', 'gatehouse.port': 'eighty' }, networks: { bridge: '172.17.0.3' }, ports: [8080] });
    docker.run({ name: 'two-ports', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.4' }, ports: [80, 443] });
    const r = await discover();
    const s = r.get('api')!;
    expect(s).toMatchObject({ state: 'ok', skipped: 2 });
    expect(s.targets.map((t) => t.target)).toEqual(['172.17.0.2:8080']);
    expect(s.note).toContain("bad-port: label gatehouse.port='eighty' is not a port");
    expect(s.note).toContain('two-ports: exposes 2 TCP ports (80, 443)');
  });

  it('keeps the last known targets while the Engine is gone, reports it, and lists again when it is back', async () => {
    docker.run({ name: 'api-1', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.2' }, ports: [8080] });
    const r = await discover();
    expect(targetsOf(r)).toEqual(['172.17.0.2:8080']);
    await docker.kill();
    await expect.poll(() => r.get('api')!.state, { timeout: 5_000 }).toBe('error');
    expect(r.get('api')!.error).toMatch(new RegExp(`^docker ${docker.host}: `));
    expect(targetsOf(r)).toEqual(['172.17.0.2:8080']);
    // Started while the Engine was unreachable: only the new listing can know.
    docker.run({ name: 'api-2', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.3' }, ports: [8080] });
    await docker.restart();
    await expect.poll(() => targetsOf(r), { timeout: 10_000 }).toEqual(['172.17.0.2:8080', '172.17.0.3:8080']);
    expect(r.get('api')!.state).toBe('ok');
    // And the event stream is followed again.
    await expect.poll(() => docker.streams(), { timeout: 3_000 }).toBe(1);
    docker.run({ name: 'api-3', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.4' }, ports: [8080] });
    await expect.poll(() => targetsOf(r).length, { timeout: 3_000 }).toBe(3);
  }, 20_000);

  it('re-lists every `resync` to see changes without an event', async () => {
    const id = docker.run({ name: 'api-1', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.2' }, ports: [8080] });
    const r = await discover({ resync: 1_000 });
    expect(targetsOf(r)).toEqual(['172.17.0.2:8080']);
    docker.change(id, { networks: { bridge: '172.17.0.20' } });
    await expect.poll(() => targetsOf(r), { timeout: 3_000 }).toEqual(['172.17.0.20:8080']);
  });

  it('negotiates down to an older Engine, and reports an Engine that refuses every version it can speak', async () => {
    await docker.close();
    docker = await startDockerStandin({ apiVersion: '1.45', minApiVersion: '1.24' });
    docker.run({ name: 'api-1', labels: { 'gatehouse.upstream': 'api' }, networks: { bridge: '172.17.0.2' }, ports: [8080] });
    let r = await discover();
    expect(targetsOf(r)).toEqual(['172.17.0.2:8080']);
    expect(docker.requests).toContain('/v1.45/containers/json');
    await r.close();
    await docker.close();
    docker = await startDockerStandin({ apiVersion: '1.60', minApiVersion: '1.55' });
    r = await discover();
    expect(r.get('api')).toMatchObject({ state: 'error', error: expect.stringContaining('client version 1.52 is too old') });
  });

  it('reports a socket that is not there', async () => {
    const r = await discover({}, { dockerHost: 'unix:///nonexistent/docker.sock' });
    expect(r.get('api')).toMatchObject({ state: 'error', error: 'docker unix:///nonexistent/docker.sock: ENOENT', targets: [] });
  });
});
