/**
 * Routes from Kubernetes: Ingresses of one IngressClass (networking.k8s.io/v1) and HTTPRoutes attached to one
 * Gateway (gateway.networking.k8s.io/v1), turned into services, upstreams, routes (and traffic-split plugin
 * instances for weighted backendRefs) that the discovering plane adds to every document it applies.
 *
 * - Each backend (a Service and port) becomes one upstream `k8s.<namespace>.<service>.<port>` with a
 *   `kubernetes` discovery block, so its targets are the Service's ready endpoints, followed by the
 *   registry like any discovered upstream, and one service of the same name pointing at it.
 * - Nothing is stored: the entities carry the tag `kubernetes`, are absent from the admin API's entity
 *   lists (read-only: changed in the cluster, not here), and a stored entity with the same name wins.
 * - Both kinds are listed then watched (kubernetes-client.ts). A failing watch keeps the last known objects,
 *   so an API server outage never removes routes; a successful list that no longer holds an object does.
 *
 * Not a Gateway API controller: Gateways are not watched, no status is written, HTTPRoute filters are
 * ignored, and backendRefs to another namespace are refused (no ReferenceGrant support).
 */
import { createHash } from 'node:crypto';
import type * as K8s from '@kubernetes/client-node';
type KubernetesObject = K8s.KubernetesObject;
import { validate } from '../config/validate.js';
import {
  PluginInstanceSchema,
  RouteSchema,
  ServiceSchema,
  UpstreamSchema,
  type ConfigDocument,
  type PluginInstanceConfig,
  type RouteConfig,
  type ServiceConfig,
  type UpstreamConfig,
} from '../config/schema.js';
import { TrafficSplitSchema } from '../plugins/traffic-split/schema.js';
import type { DiscoveryLogger } from './registry.js';
import type { DocumentSource, KubernetesConnection } from './types.js';
import { kubeConfigFor, ListWatch, loadKubeClient, type ListedCollection } from './providers/kubernetes-client.js';

export interface KubernetesRoutesSettings {
  /** Ingresses with this `spec.ingressClassName` (or legacy `kubernetes.io/ingress.class` annotation); undefined: none. */
  ingressClass: string | undefined;
  /** HTTPRoutes whose parentRefs name this Gateway (`name`: any namespace; `namespace/name`); undefined: none. */
  gateway: string | undefined;
  /** Only this namespace; undefined: all. */
  namespace: string | undefined;
}

/** The fields read from an Ingress (the API's JSON; the client's models have the same names). */
export interface Ingress extends KubernetesObject {
  spec?: {
    ingressClassName?: string;
    defaultBackend?: IngressBackend;
    rules?: { host?: string; http?: { paths?: { path?: string; pathType?: string; backend?: IngressBackend }[] } }[];
  };
}
interface IngressBackend {
  service?: { name?: string; port?: { number?: number; name?: string } };
}

export interface HttpRoute extends KubernetesObject {
  spec?: {
    parentRefs?: { group?: string; kind?: string; namespace?: string; name?: string }[];
    hostnames?: string[];
    rules?: {
      matches?: {
        path?: { type?: string; value?: string };
        method?: string;
        headers?: { type?: string; name?: string; value?: string }[];
        queryParams?: { type?: string; name?: string; value?: string }[];
      }[];
      backendRefs?: { group?: string; kind?: string; name?: string; namespace?: string; port?: number; weight?: number }[];
    }[];
  };
}

export interface Contribution {
  services: ServiceConfig[];
  upstreams: UpstreamConfig[];
  routes: RouteConfig[];
  plugins: PluginInstanceConfig[];
  /** Why parts of objects were left out, e.g. `Ingress shop/web rule 0: resource backends are not supported`. */
  skipped: string[];
}

const TAGS = ['kubernetes'];

/** A valid entity name from parts; names over 128 characters keep their start and end a hash of the rest. */
export function entityName(...parts: (string | number)[]): string {
  const name = parts.join('.');
  if (name.length <= 128) return name;
  return `${name.slice(0, 115)}.${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

const escapeRegex = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** A prefix on path segments, as both APIs define it: `/a/` and `/a` are the same prefix. */
const prefixPath = (p: string | undefined) => {
  const v = p && p.startsWith('/') ? p : '/';
  return v.length > 1 && v.endsWith('/') ? v.replace(/\/+$/, '') || '/' : v;
};

/** Host-specific rules first, as both APIs order them before paths; the router ranks paths before hosts. */
const hostPriority = (hosts: readonly string[]) => (hosts.length === 0 ? 0 : hosts.every((h) => !h.includes('*')) ? 2 : 1);

class Builder {
  readonly out: Contribution = { services: [], upstreams: [], routes: [], plugins: [], skipped: [] };
  private readonly backends = new Set<string>();

  /** The service (and upstream) of a Service port; created once however many routes use it. */
  backend(namespace: string, service: string, port: number | string | undefined): string {
    const name = entityName('k8s', namespace, service, port ?? 'default');
    if (this.backends.has(name)) return name;
    this.backends.add(name);
    const upstream = validate(UpstreamSchema, {
      name,
      tags: TAGS,
      discovery: { provider: 'kubernetes', namespace, service, ...(port !== undefined ? { port } : {}) },
    });
    const svc = validate(ServiceSchema, { name, host: name, protocol: 'http', tags: TAGS });
    if (!upstream.ok || !svc.ok) {
      this.out.skipped.push(`backend ${namespace}/${service}:${port}: ${JSON.stringify(upstream.ok ? (svc.ok ? [] : svc.issues) : upstream.issues)}`);
      return name;
    }
    this.out.upstreams.push(upstream.value);
    this.out.services.push(svc.value);
    return name;
  }

  route(what: string, raw: Record<string, unknown>): boolean {
    const r = validate(RouteSchema, { strip_path: false, preserve_host: true, tags: TAGS, ...raw });
    if (!r.ok) {
      this.out.skipped.push(`${what}: ${r.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
      return false;
    }
    this.out.routes.push(r.value);
    return true;
  }

  /** A traffic-split instance, its config with the plugin's defaults (as the config checker fills them for stored ones). */
  split(what: string, route: string, targets: { service: string; weight: number }[]): void {
    const config = validate(TrafficSplitSchema, { targets });
    const p = config.ok ? validate(PluginInstanceSchema, { name: 'traffic-split', route, config: config.value, tags: TAGS }) : config;
    if (p.ok) this.out.plugins.push(p.value);
    else this.out.skipped.push(`${what}: traffic-split: ${p.issues.map((i) => `${i.path} ${i.message}`).join('; ')}`);
  }
}

export function ingressMatchesClass(ing: Ingress, ingressClass: string): boolean {
  return (ing.spec?.ingressClassName ?? ing.metadata?.annotations?.['kubernetes.io/ingress.class']) === ingressClass;
}

function addIngress(b: Builder, ing: Ingress): void {
  const ns = ing.metadata?.namespace ?? 'default';
  const name = ing.metadata?.name ?? '';
  const what = `Ingress ${ns}/${name}`;
  const backendOf = (be: IngressBackend | undefined, where: string): string | undefined => {
    const s = be?.service;
    if (!s?.name) {
      b.out.skipped.push(`${what} ${where}: only Service backends are supported`);
      return undefined;
    }
    return b.backend(ns, s.name, s.port?.number ?? s.port?.name);
  };
  (ing.spec?.rules ?? []).forEach((rule, i) => {
    const hosts = rule.host ? [rule.host] : [];
    (rule.http?.paths ?? []).forEach((p, j) => {
      const service = backendOf(p.backend, `rule ${i} path ${j}`);
      if (!service) return;
      // ImplementationSpecific is a prefix here, as in most controllers.
      const path = p.pathType === 'Exact' ? `=${p.path ?? '/'}` : prefixPath(p.path);
      b.route(`${what} rule ${i} path ${j}`, { name: entityName('k8s', 'ing', ns, name, i, j), service, hosts, paths: [path], priority: hostPriority(hosts) });
    });
  });
  if (ing.spec?.defaultBackend) {
    const service = backendOf(ing.spec.defaultBackend, 'defaultBackend');
    // Below every rule: it answers what no rule of any Ingress matched.
    if (service) b.route(`${what} defaultBackend`, { name: entityName('k8s', 'ing', ns, name, 'default'), service, priority: -1 });
  }
}

/** Whether the route attaches to the Gateway `gateway` (`name` or `namespace/name`). */
export function attachesTo(route: HttpRoute, gateway: string): boolean {
  const [gwNs, gwName] = gateway.includes('/') ? gateway.split('/') : [undefined, gateway];
  const ns = route.metadata?.namespace ?? 'default';
  return (route.spec?.parentRefs ?? []).some(
    (ref) =>
      (ref.group ?? 'gateway.networking.k8s.io') === 'gateway.networking.k8s.io' &&
      (ref.kind ?? 'Gateway') === 'Gateway' &&
      ref.name === gwName &&
      (gwNs === undefined || (ref.namespace ?? ns) === gwNs),
  );
}

function addHttpRoute(b: Builder, hr: HttpRoute): void {
  const ns = hr.metadata?.namespace ?? 'default';
  const name = hr.metadata?.name ?? '';
  const hosts = hr.spec?.hostnames ?? [];
  (hr.spec?.rules ?? []).forEach((rule, i) => {
    const what = `HTTPRoute ${ns}/${name} rule ${i}`;
    const backends: { service: string; weight: number }[] = [];
    for (const ref of rule.backendRefs ?? []) {
      if ((ref.group ?? '') !== '' || (ref.kind ?? 'Service') !== 'Service' || !ref.name) {
        b.out.skipped.push(`${what}: backendRef ${ref.kind ?? ''} ${ref.name ?? ''}: only Services are supported`);
      } else if ((ref.namespace ?? ns) !== ns) {
        b.out.skipped.push(`${what}: backendRef ${ref.namespace}/${ref.name}: other namespaces are refused (no ReferenceGrant support)`);
      } else {
        backends.push({ service: b.backend(ns, ref.name, ref.port), weight: ref.weight ?? 1 });
      }
    }
    const live = backends.filter((x) => x.weight > 0);
    if (live.length === 0) {
      b.out.skipped.push(`${what}: no backend with a weight above 0`);
      return;
    }
    const matches = rule.matches?.length ? rule.matches : [{}];
    matches.forEach((m, k) => {
      const type = m.path?.type ?? 'PathPrefix';
      const value = m.path?.value ?? '/';
      const path = type === 'Exact' ? `=${value}` : type === 'RegularExpression' ? `~${value}` : prefixPath(value);
      const headers: Record<string, string[]> = {};
      for (const h of m.headers ?? []) {
        if (!h.name || h.value === undefined) continue;
        // A literal value starting with `~` would read as a regex to the router.
        const v = (h.type ?? 'Exact') === 'RegularExpression' ? `~${h.value}` : h.value.startsWith('~') ? `~^${escapeRegex(h.value)}$` : h.value;
        (headers[h.name] ??= []).push(v);
      }
      const query: Record<string, string[]> = {};
      for (const q of m.queryParams ?? []) {
        if (!q.name || q.value === undefined) continue;
        if ((q.type ?? 'Exact') !== 'Exact') {
          b.out.skipped.push(`${what} match ${k}: query parameter ${q.name}: only Exact is supported`);
          return;
        }
        (query[q.name] ??= []).push(q.value);
      }
      const routeName = entityName('k8s', 'hr', ns, name, i, k);
      const ok = b.route(`${what} match ${k}`, {
        name: routeName,
        service: live[0]!.service,
        hosts,
        paths: [path],
        ...(m.method ? { methods: [m.method] } : {}),
        ...(Object.keys(headers).length ? { headers } : {}),
        ...(Object.keys(query).length ? { query } : {}),
        priority: hostPriority(hosts),
      });
      if (ok && live.length > 1) b.split(`${what} match ${k}`, routeName, live);
    });
  });
}

/** What the selected Ingresses and HTTPRoutes contribute; sorted by object key, so equal inputs give equal output. */
export function translate(ingresses: Iterable<Ingress>, httpRoutes: Iterable<HttpRoute>, settings: KubernetesRoutesSettings): Contribution {
  const b = new Builder();
  const key = (o: KubernetesObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  const byKey = <T extends KubernetesObject>(xs: Iterable<T>) => [...xs].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  if (settings.ingressClass) for (const ing of byKey(ingresses)) if (ingressMatchesClass(ing, settings.ingressClass)) addIngress(b, ing);
  if (settings.gateway) for (const hr of byKey(httpRoutes)) if (attachesTo(hr, settings.gateway)) addHttpRoute(b, hr);
  return b.out;
}

/** `document` plus `c`'s entities whose names it does not already use (a stored entity wins). */
export function contribute(document: ConfigDocument, c: Contribution): ConfigDocument {
  if (c.routes.length === 0 && c.services.length === 0) return document;
  const add = <T extends { name: string }>(mine: T[], theirs: T[]) => {
    const taken = new Set(mine.map((e) => e.name));
    return [...mine, ...theirs.filter((e) => !taken.has(e.name))];
  };
  const routes = add(document.routes, c.routes);
  const kept = new Set(routes.map((r) => r.name));
  return {
    ...document,
    services: add(document.services, c.services),
    upstreams: add(document.upstreams, c.upstreams),
    routes,
    plugins: [...document.plugins, ...c.plugins.filter((p) => p.route !== undefined && kept.has(p.route) && !document.routes.some((r) => r.name === p.route))],
  };
}

export interface KubernetesRoutesStatus {
  state: 'starting' | 'ok' | 'error';
  error: string | null;
  ingresses: number;
  http_routes: number;
  routes: string[];
  skipped: string[];
}

export interface KubernetesRoutesOptions {
  settings: KubernetesRoutesSettings;
  connection: KubernetesConnection | undefined;
  logger: DiscoveryLogger;
  /** Window in which changes are folded into one notification. */
  coalesceMs?: number;
  /** Longest `ready()` waits for the first lists. */
  firstAnswerMs?: number;
}

const EMPTY: Contribution = { services: [], upstreams: [], routes: [], plugins: [], skipped: [] };

export class KubernetesRoutes implements DocumentSource {
  readonly name = 'kubernetes';
  private ingresses: ReadonlyMap<string, Ingress> = new Map();
  private httpRoutes: ReadonlyMap<string, HttpRoute> = new Map();
  private current: Contribution = EMPTY;
  private sig = '';
  private listener: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly watches: ListWatch<KubernetesObject>[] = [];
  private readonly waiting = new Set<string>();
  private readonly errors = new Map<string, string>();
  private firstAnswer!: () => void;
  private readonly answered = new Promise<void>((resolve) => (this.firstAnswer = resolve));
  private closed = false;
  private readonly starting: Promise<void>;

  constructor(private readonly opts: KubernetesRoutesOptions) {
    if (opts.settings.ingressClass) this.waiting.add('Ingress');
    if (opts.settings.gateway) this.waiting.add('HTTPRoute');
    if (this.waiting.size === 0) this.firstAnswer();
    this.starting = this.start().catch((err: unknown) => {
      this.errors.set('connection', (err as Error).message);
      opts.logger.error({ err: (err as Error).message }, 'kubernetes routes cannot start');
      this.firstAnswer();
    });
  }

  private async start(): Promise<void> {
    const lib = await loadKubeClient();
    if (this.closed) return;
    const { settings, connection } = this.opts;
    const kc = kubeConfigFor(lib, undefined, connection);
    const ns = settings.namespace;
    const listed = (body: { items?: unknown[]; metadata?: { resourceVersion?: string } }): ListedCollection<KubernetesObject> => ({
      items: (body.items ?? []) as KubernetesObject[],
      resourceVersion: body.metadata?.resourceVersion ?? '',
    });
    if (settings.ingressClass) {
      const net = kc.makeApiClient(lib.NetworkingV1Api);
      this.follow('Ingress', new lib.Watch(kc), ns ? `/apis/networking.k8s.io/v1/namespaces/${ns}/ingresses` : '/apis/networking.k8s.io/v1/ingresses', async () =>
        listed(ns ? await net.listNamespacedIngress({ namespace: ns }) : await net.listIngressForAllNamespaces()),
        (m) => (this.ingresses = m as ReadonlyMap<string, Ingress>),
      );
    }
    if (settings.gateway) {
      const custom = kc.makeApiClient(lib.CustomObjectsApi);
      const crd = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
      this.follow('HTTPRoute', new lib.Watch(kc), ns ? `/apis/gateway.networking.k8s.io/v1/namespaces/${ns}/httproutes` : '/apis/gateway.networking.k8s.io/v1/httproutes', async () =>
        listed((ns ? await custom.listNamespacedCustomObject({ ...crd, namespace: ns }) : await custom.listClusterCustomObject(crd)) as { items?: unknown[] }),
        (m) => (this.httpRoutes = m as ReadonlyMap<string, HttpRoute>),
      );
    }
  }

  private follow(kind: string, watcher: K8s.Watch, path: string, list: () => Promise<ListedCollection<KubernetesObject>>, keep: (m: ReadonlyMap<string, KubernetesObject>) => void): void {
    const log = this.opts.logger;
    this.watches.push(
      new ListWatch<KubernetesObject>({
        watcher,
        path,
        list,
        listTimeoutMs: 10_000,
        onSync: (objects) => {
          keep(objects);
          if (this.errors.delete(kind)) log.info({ kind, objects: objects.size }, 'kubernetes routes recovered');
          this.answer(kind);
          this.schedule();
        },
        onError: (error, retryInMs) => {
          // One line per outage; the objects (and so the routes) stay as last known.
          if (!this.errors.has(kind)) log.warn({ kind, err: error.message, retry_in_ms: retryInMs }, 'kubernetes routes: watch failed; keeping the last known routes');
          this.errors.set(kind, `${kind}: ${error.message}`);
          this.answer(kind);
        },
      }),
    );
  }

  private answer(kind: string): void {
    if (!this.waiting.delete(kind) || this.waiting.size > 0) return;
    this.rebuild();
    this.firstAnswer();
  }

  /** Recomputes the contribution; true when it changed. */
  private rebuild(): boolean {
    const next = translate(this.ingresses.values(), this.httpRoutes.values(), this.opts.settings);
    const sig = JSON.stringify([next.services, next.upstreams, next.routes, next.plugins]);
    if (sig === this.sig) return false;
    const before = new Set(this.current.routes.map((r) => r.name));
    this.current = next;
    this.sig = sig;
    const names = next.routes.map((r) => r.name);
    this.opts.logger.info({ routes: names.length, added: names.filter((n) => !before.has(n)), skipped: next.skipped }, 'kubernetes routes changed');
    return true;
  }

  private schedule(): void {
    if (this.closed || this.waiting.size > 0 || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.closed && this.rebuild()) this.listener?.();
    }, this.opts.coalesceMs ?? 250);
    this.timer.unref();
  }

  contribute(document: ConfigDocument): ConfigDocument {
    return contribute(document, this.current);
  }

  signature(): string {
    return this.sig;
  }

  onChange(listener: () => void): void {
    this.listener = listener;
  }

  async ready(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.answered,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.opts.firstAnswerMs ?? 10_000);
        timer.unref();
      }),
    ]);
    clearTimeout(timer);
  }

  status(): KubernetesRoutesStatus {
    return {
      state: this.errors.size ? 'error' : this.waiting.size ? 'starting' : 'ok',
      error: this.errors.size ? [...this.errors.values()].join('; ') : null,
      ingresses: this.ingresses.size,
      http_routes: this.httpRoutes.size,
      routes: this.current.routes.map((r) => r.name),
      skipped: [...this.current.skipped],
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.starting;
    await Promise.all(this.watches.map((w) => w.stop()));
  }
}
