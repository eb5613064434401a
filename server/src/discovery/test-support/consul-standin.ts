/**
 * A stand-in for Consul's HTTP API, for tests of the Consul discovery provider where no Consul binary is
 * installed: a node:http server on a loopback port speaking the wire protocol of
 * `GET /v1/health/service/<name>`:
 *
 * - entries in Consul's JSON shape (Node, Service, Checks with the node's serfHealth check);
 * - `passing` (every check passing), `tag`, `dc` (another datacenter: 500 "No path to datacenter");
 * - blocking queries: with `index`, the answer is held while the store's index is not above it, up to `wait`
 *   (Go duration: `10s`, `100ms`, `1m`; capped at 10 minutes as Consul does), then answered anyway;
 * - `X-Consul-Index`, `X-Consul-KnownLeader`, `X-Consul-LastContact` headers;
 * - ACLs when a token is set: a request without a token sees the entries filtered away (200, `[]`,
 *   `X-Consul-Results-Filtered-By-ACLs: true`), an unknown token gets 403 "ACL not found".
 *
 * `setIndex` moves the store's index (backwards too, as after a snapshot restore); `kill` closes the port and
 * every connection, held queries included; `restart` listens on the same port again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';

export type CheckStatus = 'passing' | 'warning' | 'critical';

export interface StandinInstance {
  id: string;
  service: string;
  node?: string;
  nodeAddress?: string;
  /** Service.Address; '' (the default) makes clients use the node's address. */
  address?: string;
  port: number;
  tags?: string[];
  weights?: { Passing: number; Warning: number };
  status?: CheckStatus;
}

export interface ConsulStandin {
  address: string;
  /** Every query received (path and query string), in order. */
  requests: { path: string; query: URLSearchParams; token: string | undefined }[];
  index(): number;
  register(instance: StandinInstance): void;
  deregister(id: string): void;
  setStatus(id: string, status: CheckStatus): void;
  /** Sets the store's index without a change (lower than before: as after a snapshot restore) and wakes held queries. */
  setIndex(index: number): void;
  kill(): Promise<void>;
  restart(): Promise<void>;
  close(): Promise<void>;
}

interface Stored {
  instance: StandinInstance;
  status: CheckStatus;
  createIndex: number;
  modifyIndex: number;
}

/** Go's time.ParseDuration for the units Consul clients send. */
function parseWait(raw: string | null): number | undefined {
  if (!raw) return undefined;
  const m = /^([0-9]+)(ms|s|m|h)?$/.exec(raw);
  if (!m) return NaN;
  const n = Number(m[1]);
  return m[2] === 'ms' ? n : m[2] === 'm' ? n * 60_000 : m[2] === 'h' ? n * 3_600_000 : n * 1000;
}

export async function startConsulStandin(opts: { token?: string; datacenter?: string; port?: number } = {}): Promise<ConsulStandin> {
  const dc = opts.datacenter ?? 'dc1';
  const instances = new Map<string, Stored>();
  const nodeIds = new Map<string, string>();
  const requests: ConsulStandin['requests'] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  let index = 12;
  let server: Server | undefined;
  let port = opts.port ?? 0;

  const bump = () => {
    index++;
    wake();
  };
  const wake = () => {
    for (const w of [...waiters]) w();
  };

  const entry = (s: Stored) => {
    const i = s.instance;
    const node = i.node ?? 'node-1';
    if (!nodeIds.has(node)) nodeIds.set(node, randomUUID());
    const nodeAddress = i.nodeAddress ?? '127.0.0.1';
    return {
      Node: {
        ID: nodeIds.get(node),
        Node: node,
        Address: nodeAddress,
        Datacenter: dc,
        TaggedAddresses: { lan: nodeAddress, lan_ipv4: nodeAddress, wan: nodeAddress, wan_ipv4: nodeAddress },
        Meta: { 'consul-network-segment': '', 'consul-version': '1.20.1' },
        CreateIndex: 5,
        ModifyIndex: 5,
      },
      Service: {
        ID: i.id,
        Service: i.service,
        Tags: i.tags ?? [],
        Address: i.address ?? '',
        Meta: null,
        Port: i.port,
        Weights: i.weights ?? { Passing: 1, Warning: 1 },
        EnableTagOverride: false,
        Proxy: { Mode: '', MeshGateway: {}, Expose: {} },
        Connect: {},
        PeerName: '',
        CreateIndex: s.createIndex,
        ModifyIndex: s.modifyIndex,
      },
      Checks: [
        { Node: node, CheckID: 'serfHealth', Name: 'Serf Health Status', Status: 'passing', Notes: '', Output: 'Agent alive and reachable', ServiceID: '', ServiceName: '', ServiceTags: [], Type: '', Interval: '', Timeout: '', ExposedPort: 0, Definition: {}, CreateIndex: 5, ModifyIndex: 5 },
        { Node: node, CheckID: `service:${i.id}`, Name: `Service '${i.service}' check`, Status: s.status, Notes: '', Output: s.status === 'passing' ? 'HTTP GET: 200 OK' : 'HTTP GET: 503 Service Unavailable', ServiceID: i.id, ServiceName: i.service, ServiceTags: i.tags ?? [], Type: 'http', Interval: '10s', Timeout: '1s', ExposedPort: 0, Definition: {}, CreateIndex: s.createIndex, ModifyIndex: s.modifyIndex },
      ],
    };
  };

  const answer = (res: ServerResponse, status: number, body: unknown, extra: Record<string, string> = {}) => {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, {
      'Content-Type': typeof body === 'string' ? 'text/plain; charset=utf-8' : 'application/json',
      Vary: 'Accept-Encoding',
      ...(status === 200 ? { 'X-Consul-Index': String(index), 'X-Consul-Knownleader': 'true', 'X-Consul-Lastcontact': '0', 'X-Consul-Effective-Consistency': 'leader' } : {}),
      ...extra,
    });
    res.end(text);
  };

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://consul');
    const token = (req.headers['x-consul-token'] as string | undefined) ?? undefined;
    requests.push({ path: url.pathname, query: url.searchParams, token });
    const m = /^\/v1\/health\/service\/([^/]+)$/.exec(url.pathname);
    if (req.method !== 'GET' || !m) {
      answer(res, 404, '');
      return;
    }
    const service = decodeURIComponent(m[1]!);
    const q = url.searchParams;
    if (q.has('dc') && q.get('dc') !== dc) {
      answer(res, 500, 'No path to datacenter');
      return;
    }
    if (opts.token && token !== undefined && token !== opts.token) {
      answer(res, 403, 'ACL not found');
      return;
    }
    const wait = parseWait(q.get('wait'));
    if (Number.isNaN(wait)) {
      answer(res, 400, `Invalid wait time: ${q.get('wait')}`);
      return;
    }
    const minIndex = q.has('index') ? Number(q.get('index')) : 0;
    if (!Number.isFinite(minIndex) || minIndex < 0) {
      answer(res, 400, `Invalid index: ${q.get('index')}`);
      return;
    }
    const respond = () => {
      const passing = q.has('passing') && q.get('passing') !== 'false';
      const tag = q.get('tag');
      const filteredByAcl = opts.token !== undefined && token === undefined;
      const list = filteredByAcl
        ? []
        : [...instances.values()]
            .filter((s) => s.instance.service === service)
            .filter((s) => !passing || s.status === 'passing')
            .filter((s) => !tag || (s.instance.tags ?? []).includes(tag))
            .map(entry);
      answer(res, 200, list, filteredByAcl ? { 'X-Consul-Results-Filtered-By-Acls': 'true' } : {});
    };
    if (minIndex > 0 && index <= minIndex) {
      const waitMs = Math.min(wait ?? 300_000, 600_000);
      const done = () => {
        clearTimeout(timer);
        waiters.delete(onWake);
        respond();
      };
      const onWake = () => {
        // A wake without the index passing the one asked for (setIndex backwards) keeps the query held, as
        // Consul's blocking loop does; the client sees the lower index when `wait` runs out.
        if (index > minIndex) done();
      };
      const timer = setTimeout(done, waitMs);
      waiters.add(onWake);
      res.on('close', () => {
        clearTimeout(timer);
        waiters.delete(onWake);
      });
      return;
    }
    respond();
  };

  const listen = async () => {
    const s = createServer(handle);
    s.on('connection', (sock) => {
      sockets.add(sock);
      sock.on('close', () => sockets.delete(sock));
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as { port: number }).port;
    server = s;
  };

  const kill = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    waiters.clear();
    const closed = new Promise<void>((r) => s.close(() => r()));
    for (const sock of sockets) sock.destroy();
    await closed;
  };

  await listen();
  return {
    address: `http://127.0.0.1:${port}`,
    requests,
    index: () => index,
    register(instance) {
      const prev = instances.get(instance.id);
      instances.set(instance.id, { instance, status: instance.status ?? 'passing', createIndex: prev?.createIndex ?? index + 1, modifyIndex: index + 1 });
      bump();
    },
    deregister(id) {
      if (instances.delete(id)) bump();
    },
    setStatus(id, status) {
      const s = instances.get(id);
      if (!s) throw new Error(`no instance ${id}`);
      s.status = status;
      s.modifyIndex = index + 1;
      bump();
    },
    setIndex(n) {
      index = n;
      wake();
    },
    kill,
    restart: listen,
    async close() {
      await kill();
    },
  };
}
