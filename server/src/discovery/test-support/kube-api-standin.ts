/**
 * A stand-in for the Kubernetes API server, on a real node:http server on a loopback port, speaking the wire
 * protocol the client library speaks to a real one, with objects and answers shaped as kube-apiserver's:
 *
 * - `GET /api/v1/namespaces/{ns}/services/{name}`, and list paths of services, endpointslices
 *   (discovery.k8s.io/v1), ingresses (networking.k8s.io/v1) and httproutes (gateway.networking.k8s.io/v1),
 *   cluster-wide or namespaced, with `labelSelector` (equality terms): `{kind: XList, apiVersion,
 *   metadata: {resourceVersion}, items}`.
 * - The same paths with `?watch=true` (or `1`): a chunked 200 streaming one JSON event per line, `{type,
 *   object}` with ADDED / MODIFIED / DELETED, BOOKMARK (when `allowWatchBookmarks`), and `ERROR` with a
 *   Status object. From `resourceVersion` N the events after N are replayed; from none (or `0`) the current
 *   objects come as ADDED; N older than the last compaction gets `ERROR` 410 Expired and the stream ends,
 *   as kube-apiserver's watch cache does.
 * - Bearer token authentication (401 Status otherwise) and a kubeconfig file pointing at it.
 *
 * `stop`/`start` simulate an outage on the same port; `expireWatches` compacts and ends every open watch
 * with a 410, which makes a correct client list again.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string>; resourceVersion?: string; [k: string]: unknown };
  [k: string]: unknown;
}

interface Resource {
  kind: string;
  apiVersion: string;
  prefix: string;
}

/** plural → what the API server says about it. */
const RESOURCES: Record<string, Resource> = {
  services: { kind: 'Service', apiVersion: 'v1', prefix: '/api/v1' },
  endpointslices: { kind: 'EndpointSlice', apiVersion: 'discovery.k8s.io/v1', prefix: '/apis/discovery.k8s.io/v1' },
  ingresses: { kind: 'Ingress', apiVersion: 'networking.k8s.io/v1', prefix: '/apis/networking.k8s.io/v1' },
  httproutes: { kind: 'HTTPRoute', apiVersion: 'gateway.networking.k8s.io/v1', prefix: '/apis/gateway.networking.k8s.io/v1' },
};

const PATH = /^\/(api\/v1|apis\/[^/]+\/[^/]+)(?:\/namespaces\/([^/]+))?\/([a-z]+)(?:\/([^/]+))?$/;

interface Event {
  rv: number;
  plural: string;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  object: KubeObject;
}

interface Watcher {
  plural: string;
  namespace: string | undefined;
  selector: [string, string][];
  bookmarks: boolean;
  res: ServerResponse;
}

export interface RecordedRequest {
  method: string;
  path: string;
  watch: boolean;
  resourceVersion: string | null;
  labelSelector: string | null;
}

export interface KubeApiStandin {
  url: string;
  token: string;
  /** A kubeconfig (current context: this server, the token) in a temp folder. */
  kubeconfig: string;
  requests: RecordedRequest[];
  /** Creates or replaces an object (plural from its kind), notifying watches with ADDED or MODIFIED. */
  apply(object: KubeObject): void;
  remove(kind: string, namespace: string, name: string): void;
  /** Sends a BOOKMARK with the current resourceVersion to watches that asked for bookmarks. */
  bookmark(): void;
  /** Compacts history up to now and ends every open watch with ERROR 410 (Expired). */
  expireWatches(): void;
  /** Ends every open watch cleanly, as kube-apiserver does when a watch's timeout runs out. */
  closeWatches(): void;
  /** The current resourceVersion. */
  resourceVersion(): string;
  /** Open watch streams. */
  watchers(): number;
  stop(): Promise<void>;
  start(): Promise<void>;
  close(): Promise<void>;
}

function pluralOf(kind: string): string {
  const p = Object.entries(RESOURCES).find(([, r]) => r.kind === kind)?.[0];
  if (!p) throw new Error(`the stand-in does not serve kind ${kind}`);
  return p;
}

function parseSelector(s: string | null): [string, string][] {
  if (!s) return [];
  return s.split(',').map((term) => {
    const [k, v] = term.split(/==?/);
    return [k!.trim(), (v ?? '').trim()];
  });
}

const matches = (o: KubeObject, namespace: string | undefined, selector: [string, string][]) =>
  (namespace === undefined || o.metadata.namespace === namespace) && selector.every(([k, v]) => o.metadata.labels?.[k] === v);

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

export async function startKubeApiStandin(): Promise<KubeApiStandin> {
  const token = 'standin-token-' + Math.random().toString(36).slice(2);
  const store = new Map<string, Map<string, KubeObject>>(Object.keys(RESOURCES).map((p) => [p, new Map()]));
  const events: Event[] = [];
  const watchers = new Set<Watcher>();
  const requests: RecordedRequest[] = [];
  let rv = 1000;
  let compacted = 0;
  let port = 0;
  let server: Server | undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-kube-'));
  const kubeconfig = path.join(dir, 'kubeconfig');

  const send = (w: Watcher, event: unknown) => w.res.write(JSON.stringify(event) + '\n');

  const handle = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://standin');
    const watch = url.searchParams.get('watch') === 'true' || url.searchParams.get('watch') === '1';
    requests.push({ method: req.method ?? '', path: url.pathname, watch, resourceVersion: url.searchParams.get('resourceVersion'), labelSelector: url.searchParams.get('labelSelector') });
    if (req.headers.authorization !== `Bearer ${token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    const m = PATH.exec(url.pathname);
    const plural = m?.[3];
    const resource = plural ? RESOURCES[plural] : undefined;
    if (!m || !resource || `/${m[1]}` !== resource.prefix || req.method !== 'GET') return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    const namespace = m[2];
    const objects = store.get(plural!)!;
    if (m[4]) {
      const o = objects.get(`${namespace}/${m[4]}`);
      if (!o) return status(res, 404, 'NotFound', `${plural} "${m[4]}" not found`);
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify(o));
    }
    const selector = parseSelector(url.searchParams.get('labelSelector'));
    if (!watch) {
      const items = [...objects.values()].filter((o) => matches(o, namespace, selector));
      res.writeHead(200, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ kind: `${resource.kind}List`, apiVersion: resource.apiVersion, metadata: { resourceVersion: String(rv) }, items }));
    }
    res.writeHead(200, { 'content-type': 'application/json', 'transfer-encoding': 'chunked' });
    // kube-apiserver answers a watch with its headers at once, before any event.
    res.flushHeaders();
    const w: Watcher = { plural: plural!, namespace, selector, bookmarks: url.searchParams.get('allowWatchBookmarks') === 'true', res };
    const from = url.searchParams.get('resourceVersion');
    if (!from || from === '0') {
      for (const o of objects.values()) if (matches(o, namespace, selector)) send(w, { type: 'ADDED', object: o });
    } else if (Number(from) < compacted) {
      send(w, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${compacted})`, reason: 'Expired', code: 410 } });
      return res.end();
    } else {
      for (const e of events) if (e.rv > Number(from) && e.plural === plural && matches(e.object, namespace, selector)) send(w, { type: e.type, object: e.object });
    }
    watchers.add(w);
    res.on('close', () => watchers.delete(w));
  };

  const record = (type: Event['type'], plural: string, object: KubeObject) => {
    events.push({ rv, plural, type, object });
    for (const w of watchers) if (w.plural === plural && matches(object, w.namespace, w.selector)) send(w, { type, object });
  };

  const start = async () => {
    const s = createServer(handle);
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as { port: number }).port;
    server = s;
  };

  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    for (const w of watchers) w.res.destroy();
    watchers.clear();
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
  };

  await start();
  const url = `http://127.0.0.1:${port}`;
  writeFileSync(
    kubeconfig,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      // The client library refuses plain http unless told that there is no TLS to verify.
      clusters: [{ name: 'standin', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'standin', user: { token } }],
      contexts: [{ name: 'standin', context: { cluster: 'standin', user: 'standin', namespace: 'default' } }],
      'current-context': 'standin',
    }),
  );

  return {
    url,
    token,
    kubeconfig,
    requests,
    apply(object) {
      const plural = pluralOf(object.kind ?? '');
      const r = RESOURCES[plural]!;
      const key = `${object.metadata.namespace ?? ''}/${object.metadata.name}`;
      const objects = store.get(plural)!;
      const old = objects.get(key);
      rv++;
      const stored: KubeObject = {
        ...object,
        apiVersion: r.apiVersion,
        kind: r.kind,
        metadata: {
          ...object.metadata,
          uid: old?.metadata.uid ?? `uid-${rv}`,
          creationTimestamp: old?.metadata.creationTimestamp ?? new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
          resourceVersion: String(rv),
          generation: ((old?.metadata.generation as number | undefined) ?? 0) + 1,
        },
      };
      objects.set(key, stored);
      record(old ? 'MODIFIED' : 'ADDED', plural, stored);
    },
    remove(kind, namespace, name) {
      const plural = pluralOf(kind);
      const objects = store.get(plural)!;
      const old = objects.get(`${namespace}/${name}`);
      if (!old) return;
      objects.delete(`${namespace}/${name}`);
      rv++;
      record('DELETED', plural, { ...old, metadata: { ...old.metadata, resourceVersion: String(rv) } });
    },
    bookmark() {
      for (const w of watchers) {
        if (w.bookmarks) send(w, { type: 'BOOKMARK', object: { kind: RESOURCES[w.plural]!.kind, apiVersion: RESOURCES[w.plural]!.apiVersion, metadata: { resourceVersion: String(rv) } } });
      }
    },
    expireWatches() {
      compacted = rv + 1;
      events.length = 0;
      for (const w of watchers) {
        send(w, { type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'too old resource version', reason: 'Expired', code: 410 } });
        w.res.end();
      }
      watchers.clear();
    },
    closeWatches() {
      for (const w of watchers) w.res.end();
      watchers.clear();
    },
    resourceVersion: () => String(rv),
    watchers: () => watchers.size,
    stop,
    start,
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A Service as kube-apiserver returns it (ClusterIP, one entry per port). */
export function service(namespace: string, name: string, ports: { name?: string; port: number; targetPort: number }[]): KubeObject {
  return {
    kind: 'Service',
    metadata: { name, namespace, labels: { app: name } },
    spec: {
      clusterIP: '10.96.0.10',
      clusterIPs: ['10.96.0.10'],
      type: 'ClusterIP',
      selector: { app: name },
      ports: ports.map((p) => ({ ...(p.name ? { name: p.name } : {}), protocol: 'TCP', port: p.port, targetPort: p.targetPort })),
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

/** An EndpointSlice as the EndpointSlice controller writes it. */
export function endpointSlice(
  namespace: string,
  name: string,
  serviceName: string,
  ports: { name?: string; port: number }[],
  endpoints: { ip: string; ready?: boolean; node?: string }[],
): KubeObject {
  return {
    kind: 'EndpointSlice',
    metadata: {
      name,
      namespace,
      generateName: `${serviceName}-`,
      labels: { 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io', 'kubernetes.io/service-name': serviceName },
      ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: serviceName, uid: 'svc-uid', controller: true, blockOwnerDeletion: true }],
    },
    addressType: 'IPv4',
    endpoints: endpoints.map((e, i) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.ready ?? true, terminating: e.ready === false },
      nodeName: e.node ?? 'node-1',
      targetRef: { kind: 'Pod', namespace, name: `${serviceName}-pod-${i}`, uid: `pod-uid-${i}` },
    })),
    ports: ports.map((p) => ({ name: p.name ?? '', protocol: 'TCP', port: p.port })),
  };
}
