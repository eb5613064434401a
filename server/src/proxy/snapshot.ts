/**
 * Compiles a config document into what the data plane executes: the router, per-route plugin chains,
 * per-service balancers and pools. Built off the hot path once per config version; a broken entity is
 * disabled and reported in `errors` without failing the rest.
 */
import type { CertificateConfig, ConfigDocument, PluginInstanceConfig, RouteConfig, ServiceConfig, UpstreamConfig } from '../config/schema.js';
import type { SnapshotError } from '../runtime/gateway-runtime.js';
import type { Phase, PluginDefinition, PluginHandler, PluginLogger, RouteAuthPlan, RouteInfo, Scope } from '../plugins/types.js';
import { PLUGIN_RANK } from '../plugins/order.js';
import { GatewayError } from '../errors/registry.js';
import { parsePathMatcher } from '../config/check.js';
import { Router, type RouteSpec } from './router.js';
import { createBalancer, parseHostPort, Target, type Balancer } from './balancer.js';
import { healthRegistry, type HealthLease, type HealthRegistry } from '../resilience/health.js';
import type { UpstreamDispatcher } from './h1-client.js';
import { PoolRegistry, type UpstreamTls } from './upstream-pool.js';
import { CredentialIndex } from '../auth/credential-index.js';
import { AUTH_PLUGIN_NAMES } from '../auth/gate.js';
import { activeCredentialKeys, decryptSecret, type CredentialKeys } from '../auth/secrets.js';
import { RetryBudget } from '../resilience/retry-budget.js';

export type { SnapshotError };

export interface ChainEntry {
  readonly name: string;
  readonly rank: number;
  readonly handler: PluginHandler;
}

/** The plugin handlers of one route (or consumer override), per phase, in execution order. */
export class PhaseChains {
  readonly rewrite: ChainEntry[];
  readonly access: ChainEntry[];
  readonly upstream: ChainEntry[];
  readonly response: ChainEntry[];
  readonly log: ChainEntry[];
  constructor(entries: readonly ChainEntry[]) {
    const sorted = [...entries].sort((a, b) => a.rank - b.rank);
    const of = (p: Phase) => sorted.filter((e) => typeof e.handler[p] === 'function');
    this.rewrite = of('rewrite');
    this.access = of('access');
    this.upstream = of('upstream');
    this.response = of('response');
    this.log = of('log');
  }
}

const EMPTY_CHAINS = new PhaseChains([]);

/** A service as the proxy uses it: where to send, with which timeouts, through which pools. */
export class CompiledService {
  constructor(
    readonly name: string,
    readonly enabled: boolean,
    readonly protocol: 'http' | 'https' | 'grpc' | 'grpcs',
    /** Path prefix prepended upstream; '' when none. */
    readonly basePath: string,
    readonly connectTimeout: number,
    readonly readTimeout: number,
    readonly writeTimeout: number,
    readonly retries: number,
    readonly balancer: Balancer,
    /** Pool per target, aligned with `balancer.targets`. */
    readonly pools: Map<Target, UpstreamDispatcher>,
    /** Host header value per target when preserve_host is off. */
    readonly hostHeaders: Map<Target, string>,
    readonly hashOn: UpstreamConfig['hash_on'],
    readonly hashHeader: string | undefined,
    readonly hashCookie: string | undefined,
    /** What the circuit breaker and health state are keyed by: `upstream:<name>`, or the single target's `host:port`. */
    readonly group: string,
    /** Upstream statuses retried like a failed connection; undefined when none. */
    readonly retryOn: ReadonlySet<number> | undefined,
    /** Undefined when the service never retries. */
    readonly retryBudget: RetryBudget | undefined,
    /** SNI and name checked on the target's certificate (tls_server_name); undefined: from the Host sent upstream. */
    readonly tlsServerName: string | undefined = undefined,
    /** TLS settings of the targets' connections (https, grpcs); also used by the WebSocket tunnel. */
    readonly tls: UpstreamTls | undefined = undefined,
  ) {}

  /** gRPC pass-through: HTTP/2 upstream, trailers forwarded, `te: trailers` sent. */
  get grpc(): boolean {
    return this.protocol === 'grpc' || this.protocol === 'grpcs';
  }

  /** Whether the targets are reached over TLS. */
  get secure(): boolean {
    return this.protocol === 'https' || this.protocol === 'grpcs';
  }
}

type TemplatePart = string | { param: string } | { rest: true };

/** `/v2/{id}/{path}`: `{name}` is a named regex capture, `{path}` the remainder after the match without its leading slash. */
export class RewriteTemplate {
  private readonly parts: TemplatePart[] = [];
  constructor(template: string) {
    const re = /\{([A-Za-z_][A-Za-z0-9_]*)\}/g;
    let last = 0;
    for (let m = re.exec(template); m; m = re.exec(template)) {
      if (m.index > last) this.parts.push(template.slice(last, m.index));
      this.parts.push(m[1] === 'path' ? { rest: true } : { param: m[1]! });
      last = m.index + m[0].length;
    }
    if (last < template.length) this.parts.push(template.slice(last));
  }
  render(params: Readonly<Record<string, string>> | undefined, remainder: string): string {
    let out = '';
    for (const p of this.parts) {
      if (typeof p === 'string') out += p;
      else if ('rest' in p) out += remainder.charCodeAt(0) === 47 ? remainder.slice(1) : remainder;
      else out += params?.[p.param] ?? '';
    }
    return out;
  }
}

export class CompiledRoute {
  constructor(
    readonly info: RouteInfo,
    readonly service: CompiledService | undefined,
    readonly stripPath: boolean,
    readonly preserveHost: boolean,
    readonly rewrite: RewriteTemplate | undefined,
    readonly chains: PhaseChains,
    /** Chains with consumer-scoped instances applied, by consumer username; undefined when the route has none. */
    readonly consumerChains: Map<string, PhaseChains> | undefined,
  ) {}

  /** The path sent upstream (without the query). */
  upstreamPath(path: string, prefixLength: number, params: Readonly<Record<string, string>> | undefined, service = this.service): string {
    let remainder = path.slice(prefixLength);
    if (remainder !== '' && remainder.charCodeAt(0) !== 47) remainder = '/' + remainder;
    let rest: string;
    if (this.rewrite) rest = this.rewrite.render(params, remainder);
    else rest = this.stripPath ? remainder : path;
    return this.withBasePath(rest, service);
  }

  /** `rest` under the service's base path (also for a path a plugin set with setUpstreamPath). */
  withBasePath(rest: string, service = this.service): string {
    const base = service?.basePath ?? '';
    if (base === '') return rest === '' ? '/' : rest;
    if (rest === '' || rest === '/') return rest === '/' && !base.endsWith('/') ? base + '/' : base;
    return base.endsWith('/') ? base + rest.slice(1) : base + rest;
  }
}

export interface SnapshotOptions {
  logger: PluginLogger;
  /** Shared across snapshots so unchanged targets keep their warm connections. */
  pools?: PoolRegistry;
  version?: number;
  /** Pepper and encryption key for consumers' credentials; default: the process's active keys (auth/secrets.ts). */
  credentialKeys?: CredentialKeys;
  /** Where target health lives across snapshots; default: the thread's `healthRegistry`. */
  health?: HealthRegistry;
}

/** One immutable compiled config; retired (pools released, plugins closed) after its last request ends. */
export class Snapshot {
  private inflight = 0;
  private retired = false;
  private closing: Promise<void> | undefined;
  private retiredDone: (() => void) | undefined;
  private retiredPromise: Promise<void> | undefined;

  constructor(
    /** Assigned again when a snapshot built ahead of its write's commit is swapped in (InProcessProxyPlane.prebuild). */
    public version: number,
    readonly router: Router<CompiledRoute>,
    readonly errors: SnapshotError[],
    /** Global instances, used for the rewrite phase and for requests that match no route. */
    readonly globalChains: PhaseChains,
    private readonly handlers: PluginHandler[],
    private readonly pools: UpstreamDispatcher[],
    private readonly registry: PoolRegistry,
    private readonly logger: PluginLogger,
    /** Every compiled service by name (fallback services are looked up here). */
    readonly services: ReadonlyMap<string, CompiledService> = new Map(),
    /** This snapshot's references on target health; released with the pools. */
    private readonly health: HealthLease | undefined = undefined,
  ) {}

  acquire(): void {
    this.inflight++;
  }

  release(): void {
    if (--this.inflight === 0 && this.retired) {
      const done = this.retiredDone ?? noop;
      this.close().then(done, done);
    }
  }

  /** Stops taking new requests; resolves once the in-flight ones finished and everything is closed. */
  retire(): Promise<void> {
    if (this.retiredPromise) return this.retiredPromise;
    this.retired = true;
    if (this.inflight === 0) return (this.retiredPromise = this.close());
    this.retiredPromise = new Promise<void>((resolve) => (this.retiredDone = resolve));
    return this.retiredPromise;
  }

  get inFlight(): number {
    return this.inflight;
  }

  close(): Promise<void> {
    this.closing ??= this.doClose();
    return this.closing;
  }

  private async doClose(): Promise<void> {
    this.health?.release();
    await Promise.all([
      ...this.pools.map((p) => this.registry.release(p)),
      ...this.handlers.map(async (h) => {
        try {
          await h.close?.();
        } catch (err) {
          this.logger.error({ err }, 'plugin close failed');
        }
      }),
    ]);
  }
}

function noop(): void {}

function scopeOf(p: PluginInstanceConfig): Scope {
  return p.consumer !== undefined ? 'consumer' : p.route !== undefined ? 'route' : p.service !== undefined ? 'service' : 'global';
}

function defaultPort(protocol: string): number {
  return protocol === 'https' || protocol === 'grpcs' ? 443 : 80;
}

/**
 * The service's TLS settings, with the client certificate's key decrypted from its `certificates` entity.
 * Throws (disabling the service) when the named certificate is missing or its key cannot be decrypted.
 */
function upstreamTlsOf(s: ServiceConfig, certificates: ReadonlyMap<string, CertificateConfig>, keys: CredentialKeys): UpstreamTls {
  let cert: string | undefined;
  let key: string | undefined;
  if (s.client_certificate !== undefined) {
    const c = certificates.get(s.client_certificate);
    if (c === undefined) throw new Error(`client_certificate '${s.client_certificate}' is not a known certificate`);
    if (c.key_encrypted === undefined) throw new Error(`client_certificate '${s.client_certificate}' has no private key`);
    try {
      key = decryptSecret(keys, c.key_encrypted).toString('utf8');
    } catch (err) {
      throw new Error(`the private key of client_certificate '${s.client_certificate}' cannot be decrypted: ${(err as Error).message}`, { cause: err });
    }
    cert = c.cert;
  }
  const ca = s.ca_certificates !== undefined && s.ca_certificates.length > 0 ? s.ca_certificates : undefined;
  // Documents stored before tls_verify existed lack it: verify, as the default says.
  return { verify: s.tls_verify !== false, ca, cert, key };
}

function hostHeaderOf(host: string, port: number, protocol: string): string {
  const h = host.includes(':') ? `[${host}]` : host;
  return port === defaultPort(protocol) ? h : `${h}:${port}`;
}

function compileService(
  s: ServiceConfig,
  upstreams: Map<string, UpstreamConfig>,
  registry: PoolRegistry,
  pools: UpstreamDispatcher[],
  health: HealthLease,
  certificates: ReadonlyMap<string, CertificateConfig>,
  keys: CredentialKeys,
): CompiledService {
  let protocol: CompiledService['protocol'] = s.protocol ?? 'http';
  let host = s.host ?? '';
  let port = s.port;
  let basePath = s.path ?? '';
  if (s.url) {
    const u = new URL(s.url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`unsupported protocol '${u.protocol}'`);
    protocol = u.protocol === 'https:' ? 'https' : 'http';
    host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
    port = u.port ? Number(u.port) : undefined;
    basePath = u.pathname === '/' ? '' : u.pathname;
  }
  if (!host) throw new Error('service has no host');
  if (basePath === '/') basePath = '';
  const secure = protocol === 'https' || protocol === 'grpcs';
  const h2 = protocol === 'grpc' || protocol === 'grpcs';
  const tls = secure ? upstreamTlsOf(s, certificates, keys) : undefined;
  const up = upstreams.get(host);
  const targets: Target[] = [];
  let connections = 256;
  let keepAlive = 60_000;
  if (up) {
    connections = up.keepalive_connections;
    keepAlive = up.keepalive_timeout;
    for (const t of up.targets) {
      const hp = parseHostPort(t.target);
      const h = health.acquire({ upstream: up.name, address: t.target, host: hp.host, port: hp.port }, up.healthchecks);
      targets.push(new Target(t.target, hp.host, hp.port, t.weight, h));
    }
  } else {
    const p = port ?? defaultPort(protocol);
    targets.push(new Target(`${host}:${p}`, host, p, 100));
  }
  const poolMap = new Map<Target, UpstreamDispatcher>();
  const hostHeaders = new Map<Target, string>();
  for (const t of targets) {
    const origin = `${secure ? 'https' : 'http'}://${t.host.includes(':') ? `[${t.host}]` : t.host}:${t.port}`;
    const pool = registry.acquire({ origin, connections, keepAliveTimeout: keepAlive, connectTimeout: s.connect_timeout, ...(tls ? { tls } : {}), ...(h2 ? { h2 } : {}) });
    pools.push(pool);
    poolMap.set(t, pool);
    hostHeaders.set(t, hostHeaderOf(t.host, t.port, protocol));
  }
  const balancer = createBalancer(up?.algorithm ?? 'round-robin', targets);
  return new CompiledService(
    s.name,
    s.enabled,
    protocol,
    basePath,
    s.connect_timeout,
    s.read_timeout,
    s.write_timeout,
    s.retries,
    balancer,
    poolMap,
    hostHeaders,
    up?.hash_on ?? 'none',
    up?.hash_on_header?.toLowerCase(),
    up?.hash_on_cookie,
    up ? `upstream:${up.name}` : targets[0]!.address,
    retryOnOf(s),
    s.retries > 0 ? new RetryBudget(s.retry_budget?.ratio ?? 0.2, s.retry_budget?.min_per_second ?? 10) : undefined,
    secure ? s.tls_server_name : undefined,
    tls,
  );
}

// Documents stored before these fields existed may lack them (the store does not rewrite old rows).
function retryOnOf(s: Partial<Pick<ServiceConfig, 'retry_on_statuses'>>): ReadonlySet<number> | undefined {
  const list = s.retry_on_statuses;
  return list !== undefined && list.length > 0 ? new Set(list) : undefined;
}

/** Throws when a route's matchers cannot compile, so the route alone is disabled. */
function precheckRoute(r: RouteConfig): void {
  for (const p of r.paths) {
    const m = parsePathMatcher(p);
    if (m.kind !== 'regex' && !m.path.startsWith('/')) throw new Error(`path '${p}' must start with '/'`);
  }
  for (const values of Object.values(r.headers ?? {})) {
    for (const v of values) if (v.startsWith('~')) new RegExp(v.startsWith('~*') ? v.slice(2) : v.slice(1));
  }
}

/** Stands in for a plugin instance whose config did not build (see buildSnapshot). */
class Misconfigured implements PluginHandler {
  private readonly detail: string;
  constructor(name: string) {
    this.detail = `plugin '${name}' is misconfigured; see the gateway status`;
  }
  access(): void {
    throw new GatewayError('GW_ERR_PLUGIN_MISCONFIGURED', this.detail);
  }
}

interface BuiltInstance {
  cfg: PluginInstanceConfig;
  entry: ChainEntry;
}

/**
 * The built instances that can apply to a route, in document order: those scoped to no route and no
 * service, to the route's service, or to the route itself. With a plugin on each of 10,000 routes,
 * scanning every instance for every route would be 10^8 checks per build.
 */
class InstancesByScope {
  private readonly unscoped: BuiltInstance[] = [];
  private readonly byService = new Map<string, BuiltInstance[]>();
  private readonly byRoute = new Map<string, BuiltInstance[]>();
  private readonly order = new Map<BuiltInstance, number>();

  constructor(built: readonly BuiltInstance[]) {
    built.forEach((b, i) => {
      this.order.set(b, i);
      if (b.cfg.route !== undefined) push(this.byRoute, b.cfg.route, b);
      else if (b.cfg.service !== undefined) push(this.byService, b.cfg.service, b);
      else this.unscoped.push(b);
    });
  }

  for(r: RouteConfig): readonly BuiltInstance[] {
    const service = r.service !== undefined ? this.byService.get(r.service) : undefined;
    const route = this.byRoute.get(r.name);
    if (!service && !route) return this.unscoped;
    // Document order decides between two instances of a plugin that are equally specific.
    return [...this.unscoped, ...(service ?? []), ...(route ?? [])].sort((a, b) => this.order.get(a)! - this.order.get(b)!);
  }
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

export function buildSnapshot(doc: ConfigDocument, plugins: ReadonlyMap<string, PluginDefinition>, opts: SnapshotOptions): Snapshot {
  const errors: SnapshotError[] = [];
  const registry = opts.pools ?? new PoolRegistry();
  const pools: UpstreamDispatcher[] = [];
  const health = (opts.health ?? healthRegistry).lease();
  const upstreams = new Map(doc.upstreams.map((u) => [u.name, u]));
  const certificates = new Map((doc.certificates ?? []).map((c) => [c.name, c]));
  const keys = opts.credentialKeys ?? activeCredentialKeys();

  const services = new Map<string, CompiledService>();
  doc.services.forEach((s, i) => {
    try {
      services.set(s.name, compileService(s, upstreams, registry, pools, health, certificates, keys));
    } catch (err) {
      errors.push({ path: `/services/${i}`, message: `service '${s.name}' disabled: ${(err as Error).message}` });
    }
  });

  const credentials = new CredentialIndex(doc.consumers, doc.credentials ?? [], keys);
  for (const e of credentials.errors) errors.push({ path: `/credentials/${(doc.credentials ?? []).findIndex((c) => c.id === e.id)}`, message: e.message });

  const built: BuiltInstance[] = [];
  const shared = new Map<string, unknown>();
  const serviceGroups = new Map([...services].map(([name, svc]) => [name, svc.group]));
  const routesByName = new Map(doc.routes.map((r) => [r.name, r]));
  doc.plugins.forEach((p, i) => {
    if (!p.enabled) return;
    const def = plugins.get(p.name);
    const rank = PLUGIN_RANK.get(p.name);
    if (!def || rank === undefined) {
      errors.push({ path: `/plugins/${i}`, message: `unknown plugin '${p.name}'` });
      return;
    }
    const scope = scopeOf(p);
    const routeCfg = p.route !== undefined ? routesByName.get(p.route) : undefined;
    const route: RouteInfo | undefined = routeCfg ? { name: routeCfg.name, service: routeCfg.service, tags: routeCfg.tags } : undefined;
    try {
      const handler = def.create(p.config as never, { logger: opts.logger, scope, route, credentials, attachedTo: { service: p.service, route: p.route, consumer: p.consumer }, shared, serviceGroups, services });
      built.push({ cfg: p, entry: { name: p.name, rank, handler } });
    } catch (err) {
      errors.push({ path: `/plugins/${i}`, message: `plugin '${p.name}' refuses requests: ${(err as Error).message}` });
      // Fail closed: running the routes without an auth plugin or a validator whose config does not build
      // would open them. The instance stays in the chains and answers 500 until its config is fixed.
      built.push({ cfg: p, entry: { name: p.name, rank, handler: new Misconfigured(p.name) } });
    }
  });

  const globals = built.filter((b) => scopeOf(b.cfg) === 'global');
  const globalChains = new PhaseChains(globals.map((b) => b.entry));

  const specs: RouteSpec<CompiledRoute>[] = [];
  const byScope = new InstancesByScope(built);
  doc.routes.forEach((r, i) => {
    if (!r.enabled) return;
    let service: CompiledService | undefined;
    if (r.service !== undefined) {
      service = services.get(r.service);
      if (!service) {
        errors.push({ path: `/routes/${i}`, message: `route '${r.name}' disabled: service '${r.service}' is unavailable` });
        return;
      }
    }
    try {
      precheckRoute(r);
    } catch (err) {
      errors.push({ path: `/routes/${i}`, message: `route '${r.name}' disabled: ${(err as Error).message}` });
      return;
    }
    const candidates = byScope.for(r);
    const auth = authPlanFor(candidates, r);
    const info: RouteInfo = auth ? { name: r.name, service: r.service, tags: r.tags, auth } : { name: r.name, service: r.service, tags: r.tags };
    const chains = chainsFor(candidates, r, undefined);
    let consumerChains: Map<string, PhaseChains> | undefined;
    for (const b of candidates) {
      const c = b.cfg.consumer;
      if (c === undefined || consumerChains?.has(c) || !appliesTo(b.cfg, r)) continue;
      (consumerChains ??= new Map()).set(c, chainsFor(candidates, r, c));
    }
    const route = new CompiledRoute(info, service, r.strip_path, r.preserve_host, r.rewrite ? new RewriteTemplate(r.rewrite) : undefined, chains, consumerChains);
    specs.push({ name: r.name, priority: r.priority, hosts: r.hosts, paths: r.paths, methods: r.methods, headers: r.headers, query: r.query, data: route });
  });

  const router = new Router(specs);
  return new Snapshot(
    opts.version ?? 0,
    router,
    errors,
    globalChains.rewrite.length || globalChains.log.length || globals.length ? globalChains : EMPTY_CHAINS,
    built.map((b) => b.entry.handler),
    pools,
    registry,
    opts.logger,
    services,
    health,
  );
}

function appliesTo(p: PluginInstanceConfig, r: RouteConfig): boolean {
  if (p.route !== undefined && p.route !== r.name) return false;
  if (p.service !== undefined && p.service !== r.service) return false;
  return true;
}

/** Specificity of an instance for a route: higher wins per plugin name. */
function specificity(p: PluginInstanceConfig): number {
  return (p.consumer !== undefined ? 4 : 0) + (p.route !== undefined ? 2 : p.service !== undefined ? 1 : 0);
}

function chainsFor(built: readonly BuiltInstance[], r: RouteConfig, consumer: string | undefined): PhaseChains {
  const best = new Map<string, BuiltInstance>();
  for (const b of built) {
    if (b.cfg.consumer !== undefined && b.cfg.consumer !== consumer) continue;
    if (!appliesTo(b.cfg, r)) continue;
    const cur = best.get(b.cfg.name);
    if (!cur || specificity(b.cfg) > specificity(cur.cfg)) best.set(b.cfg.name, b);
  }
  return new PhaseChains([...best.values()].map((b) => b.entry));
}

/** The route's auth plugins (the instances that win for it) in execution order, and the combination mode. */
function authPlanFor(built: readonly BuiltInstance[], r: RouteConfig): RouteAuthPlan | undefined {
  const best = new Map<string, BuiltInstance>();
  for (const b of built) {
    if (b.cfg.consumer !== undefined || !AUTH_PLUGIN_NAMES.has(b.cfg.name) || !appliesTo(b.cfg, r)) continue;
    const cur = best.get(b.cfg.name);
    if (!cur || specificity(b.cfg) > specificity(cur.cfg)) best.set(b.cfg.name, b);
  }
  if (best.size === 0) return undefined;
  const list = [...best.values()].sort((a, b) => a.entry.rank - b.entry.rank);
  const all = list.some((b) => (b.cfg.config as { auth_mode?: unknown }).auth_mode === 'all');
  return { mode: all ? 'all' : 'any', last: list[list.length - 1]!.cfg.name, plugins: list.map((b) => b.cfg.name) };
}
