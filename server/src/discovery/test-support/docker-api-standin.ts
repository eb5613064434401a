/**
 * A stand-in for the Docker Engine API, for tests of the Docker discovery provider where no Docker daemon
 * runs: a node:http server on a unix socket in a temp directory, speaking the Engine's wire protocol for
 * the parts the provider uses:
 *
 * - `GET /_ping` with the `Api-Version` header, and version-prefixed paths refused outside
 *   [minApiVersion, apiVersion] with the Engine's 400 JSON message (Engine 29 refuses clients below 1.44);
 * - `GET /vX/containers/json?filters=...` returning container summaries in the Engine's JSON shape, honouring
 *   the `label` (`key` or `key=value`, all must match) and `status` filters (also in the legacy map form);
 * - `GET /vX/events?filters=...`, a stream of newline-delimited event objects as the Engine writes them
 *   (headers flushed at once, `type`/`event`/`label` filters, `health_status: <state>` actions matched by the
 *   `health_status` event filter as the Engine does).
 *
 * `kill` closes the socket and every connection (the daemon stopping), `restart` listens again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface StandinContainerSpec {
  name: string;
  image?: string;
  labels?: Record<string, string>;
  /** Network name → IPv4 address ('' for a network without one, e.g. `host`). */
  networks?: Record<string, string>;
  /** Exposed ports: `80` (tcp) or `{ port: 53, type: 'udp', published?: 32768 }`. */
  ports?: (number | { port: number; type?: 'tcp' | 'udp'; published?: number })[];
  /** The healthcheck's state; unset: the container has no healthcheck. */
  health?: 'starting' | 'healthy' | 'unhealthy';
}

interface Container {
  id: string;
  spec: StandinContainerSpec;
  state: 'running' | 'exited' | 'paused';
  health: 'starting' | 'healthy' | 'unhealthy' | undefined;
  created: number;
  startedAt: number;
}

export interface DockerStandin {
  /** `unix:///…/docker.sock`, as GATEHOUSE_DOCKER_HOST takes it. */
  host: string;
  /** Request paths (without query) in arrival order. */
  requests: string[];
  /** Open event streams. */
  streams(): number;
  /** Creates and starts a container (events `create`, `start`); returns its id. */
  run(spec: StandinContainerSpec): string;
  /** Events `kill`, `die`, `stop`; the container is `exited`. */
  stop(id: string): void;
  /** Event `start` for an exited container. */
  start(id: string): void;
  /** Event `health_status: <health>`. */
  setHealth(id: string, health: 'starting' | 'healthy' | 'unhealthy'): void;
  /** Changes a running container without any event (as a network attach would, seen by the next listing). */
  change(id: string, spec: Partial<StandinContainerSpec>): void;
  kill(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

const compare = (a: string, b: string) => {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
};

/** Docker's filters argument: `{"key":["v1","v2"]}` or the legacy `{"key":{"v1":true}}`. */
function parseFilters(raw: string | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  if (!raw) return out;
  const parsed = JSON.parse(raw) as Record<string, string[] | Record<string, boolean>>;
  for (const [k, v] of Object.entries(parsed)) out.set(k, Array.isArray(v) ? v : Object.keys(v).filter((x) => v[x]));
  return out;
}

function labelsMatch(labels: Record<string, string>, wanted: readonly string[]): boolean {
  return wanted.every((w) => {
    const eq = w.indexOf('=');
    if (eq < 0) return w in labels;
    return labels[w.slice(0, eq)] === w.slice(eq + 1);
  });
}

function statusText(c: Container, now: number): string {
  if (c.state === 'exited') return 'Exited (0) 1 second ago';
  const secs = Math.max(1, Math.round((now - c.startedAt) / 1000));
  const up = `Up ${secs} second${secs === 1 ? '' : 's'}`;
  const paused = c.state === 'paused' ? ' (Paused)' : '';
  if (!c.health) return up + paused;
  return `${up} (${c.health === 'starting' ? 'health: starting' : c.health})${paused}`;
}

function summary(c: Container, now: number): object {
  const networks: Record<string, object> = {};
  for (const [name, ip] of Object.entries(c.spec.networks ?? { bridge: '172.17.0.2' })) {
    networks[name] = {
      IPAMConfig: null,
      Links: null,
      Aliases: null,
      MacAddress: ip ? '02:42:ac:11:00:02' : '',
      DriverOpts: null,
      GwPriority: 0,
      NetworkID: randomBytes(32).toString('hex'),
      EndpointID: ip ? randomBytes(32).toString('hex') : '',
      Gateway: ip ? ip.replace(/\.\d+$/, '.1') : '',
      IPAddress: ip,
      IPPrefixLen: ip ? 16 : 0,
      IPv6Gateway: '',
      GlobalIPv6Address: '',
      GlobalIPv6PrefixLen: 0,
      DNSNames: null,
    };
  }
  const image = c.spec.image ?? 'nginx:1.27';
  return {
    Id: c.id,
    Names: [`/${c.spec.name}`],
    Image: image,
    ImageID: `sha256:${'a'.repeat(64)}`,
    Command: '/docker-entrypoint.sh nginx -g \'daemon off;\'',
    Created: Math.floor(c.created / 1000),
    Ports: (c.spec.ports ?? []).map((p) => {
      const o = typeof p === 'number' ? { port: p } : p;
      return o.published ? { IP: '0.0.0.0', PrivatePort: o.port, PublicPort: o.published, Type: o.type ?? 'tcp' } : { PrivatePort: o.port, Type: o.type ?? 'tcp' };
    }),
    Labels: c.spec.labels ?? {},
    State: c.state,
    Status: statusText(c, now),
    HostConfig: { NetworkMode: Object.keys(c.spec.networks ?? { bridge: '' })[0] ?? 'bridge' },
    NetworkSettings: { Networks: networks },
    Mounts: [],
  };
}

export async function startDockerStandin(opts: { apiVersion?: string; minApiVersion?: string } = {}): Promise<DockerStandin> {
  const apiVersion = opts.apiVersion ?? '1.52';
  const minApiVersion = opts.minApiVersion ?? '1.44';
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-docker-'));
  const socketPath = path.join(dir, 'docker.sock');
  const containers = new Map<string, Container>();
  const requests: string[] = [];
  const subscribers = new Set<{ res: ServerResponse; filters: Map<string, string[]> }>();
  let server: Server | undefined;
  const sockets = new Set<Socket>();

  const json = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body) + '\n';
    res.writeHead(status, { 'Content-Type': 'application/json', 'Api-Version': apiVersion, 'Docker-Experimental': 'false', Ostype: 'linux', Server: 'Docker/29.0.0 (linux)' });
    res.end(text);
  };

  const emit = (c: Container, action: string) => {
    const now = Date.now();
    const attributes: Record<string, string> = { ...(c.spec.labels ?? {}), image: c.spec.image ?? 'nginx:1.27', name: c.spec.name };
    if (action === 'die') attributes.exitCode = '0';
    const event = { Type: 'container', Action: action, Actor: { ID: c.id, Attributes: attributes }, scope: 'local', time: Math.floor(now / 1000), timeNano: now * 1_000_000 };
    for (const s of subscribers) {
      const f = s.filters;
      if (f.has('type') && !f.get('type')!.includes('container')) continue;
      // The Engine matches `health_status` (and exec_*) filters against the action's prefix before the colon.
      if (f.has('event') && !f.get('event')!.includes(action) && !f.get('event')!.includes(action.split(':')[0]!)) continue;
      if (f.has('label') && !labelsMatch(attributes, f.get('label')!)) continue;
      s.res.write(JSON.stringify(event) + '\n');
    }
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://docker');
    requests.push(url.pathname);
    if (url.pathname === '/_ping') {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Api-Version': apiVersion, 'Builder-Version': '2', 'Cache-Control': 'no-cache, no-store, must-revalidate', 'Docker-Experimental': 'false', Ostype: 'linux', Pragma: 'no-cache', Server: 'Docker/29.0.0 (linux)', Swarm: 'inactive' });
      res.end('OK');
      return;
    }
    const m = /^\/v([0-9]+\.[0-9]+)(\/.*)$/.exec(url.pathname);
    const route = m ? m[2]! : url.pathname;
    if (m) {
      if (compare(m[1]!, minApiVersion) < 0) {
        json(res, 400, { message: `client version ${m[1]} is too old. Minimum supported API version is ${minApiVersion}, please upgrade your client to a newer version` });
        return;
      }
      if (compare(m[1]!, apiVersion) > 0) {
        json(res, 400, { message: `client version ${m[1]} is too new. Maximum supported API version is ${apiVersion}` });
        return;
      }
    }
    let filters: Map<string, string[]>;
    try {
      filters = parseFilters(url.searchParams.get('filters'));
    } catch {
      json(res, 400, { message: 'invalid filter' });
      return;
    }
    if (req.method === 'GET' && route === '/containers/json') {
      for (const k of filters.keys()) {
        if (!['label', 'status', 'name', 'id', 'health', 'network'].includes(k)) {
          json(res, 400, { message: `invalid filter '${k}'` });
          return;
        }
      }
      const all = url.searchParams.get('all') === '1' || url.searchParams.get('all') === 'true';
      const now = Date.now();
      const list = [...containers.values()]
        .filter((c) => (filters.has('status') ? filters.get('status')!.includes(c.state) : all || c.state === 'running'))
        .filter((c) => !filters.has('label') || labelsMatch(c.spec.labels ?? {}, filters.get('label')!))
        .sort((a, b) => b.created - a.created)
        .map((c) => summary(c, now));
      json(res, 200, list);
      return;
    }
    if (req.method === 'GET' && route === '/events') {
      res.writeHead(200, { 'Content-Type': 'application/json', 'Api-Version': apiVersion, 'Docker-Experimental': 'false', Ostype: 'linux', Server: 'Docker/29.0.0 (linux)' });
      res.flushHeaders();
      const sub = { res, filters };
      subscribers.add(sub);
      res.on('close', () => subscribers.delete(sub));
      return;
    }
    json(res, 404, { message: 'page not found' });
  };

  const listen = async () => {
    rmSync(socketPath, { force: true });
    const s = createServer(handle);
    s.on('connection', (sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(socketPath, () => resolve());
    });
    server = s;
  };

  const kill = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    subscribers.clear();
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const sock of sockets) sock.destroy();
    await closed;
  };

  const get = (id: string) => {
    const c = containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    return c;
  };

  await listen();
  return {
    host: `unix://${socketPath}`,
    requests,
    streams: () => subscribers.size,
    run(spec) {
      const id = randomBytes(32).toString('hex');
      const now = Date.now();
      const c: Container = { id, spec, state: 'running', health: spec.health ?? undefined, created: now, startedAt: now };
      containers.set(id, c);
      emit(c, 'create');
      emit(c, 'start');
      return id;
    },
    stop(id) {
      const c = get(id);
      c.state = 'exited';
      emit(c, 'kill');
      emit(c, 'die');
      emit(c, 'stop');
    },
    start(id) {
      const c = get(id);
      c.state = 'running';
      c.startedAt = Date.now();
      if (c.health) c.health = 'starting';
      emit(c, 'start');
    },
    setHealth(id, health) {
      const c = get(id);
      c.health = health;
      emit(c, `health_status: ${health}`);
    },
    change(id, spec) {
      const c = get(id);
      c.spec = { ...c.spec, ...spec };
    },
    kill,
    restart: listen,
    async close() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
