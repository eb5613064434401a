/**
 * Environment configuration, validated once at start: a bad value stops the process with a message
 * naming the variable, instead of surfacing later as a confusing runtime error.
 */
import path from 'node:path';
import { availableParallelism } from 'node:os';
import { parseCidr } from '../proxy/ip-set.js';
import { UPSTREAM_CLIENTS, type UpstreamClientKind } from '../proxy/h1-client.js';
import { DEFAULT_CLIENT_LIMITS, UNDERSCORE_HEADERS, type ClientLimits, type UnderscoreHeaders } from '../proxy/client-limits.js';
import type { Propagation, TracingSettings } from '../observability/tracing.js';
import { ACCESS_LOG_FIELDS, DEFAULT_ACCESS_LOG_FIELDS, type AccessLogField, type AccessLogSettings } from '../observability/access-log.js';
import type { KubernetesConnection } from '../discovery/types.js';
import type { KubernetesRoutesSettings } from '../discovery/kubernetes-routes.js';

export interface Listen {
  host: string;
  port: number;
}

export interface GatewayEnv {
  proxyListen: Listen;
  adminListen: Listen;
  databaseUrl: string | undefined;
  dataDir: string;
  configFile: string | undefined;
  adminToken: string | undefined;
  adminUser: string | undefined;
  adminPassword: string | undefined;
  jwtSecret: string | undefined;
  trustedProxies: string[];
  redisUrl: string | undefined;
  /** Seed a demo service, route and echo upstream when the store is empty (embedded mode only). */
  demo: boolean;
  demoUpstreamPort: number;
  nodeId: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** The HTTPS listener (GATEHOUSE_PROXY_TLS, GATEHOUSE_PROXY_TLS_PORT); undefined when `off`. */
  proxyTls: (Listen & { mode: 'auto' | 'on' }) | undefined;
  /** Prior-knowledge h2c listener (GATEHOUSE_PROXY_H2C_PORT); undefined: none. */
  proxyH2c: Listen | undefined;
  /** Largest request head the proxy accepts, in bytes (431 above). */
  maxHeaderSize: number;
  /** Longest request target the proxy accepts, in characters (414 above). */
  maxUriLength: number;
  /** Client timeouts and connection caps of the proxy listener (GATEHOUSE_*_TIMEOUT_MS, GATEHOUSE_MAX_CONNECTIONS*, …). */
  clientLimits: ClientLimits;
  /** Prometheus request metrics of the proxy (GATEHOUSE_METRICS, default on). */
  requestMetrics: boolean;
  /** Client for clear-text HTTP/1.1 upstreams (GATEHOUSE_UPSTREAM_CLIENT): the gateway's own, or undici's Pool. */
  upstreamClient: UpstreamClientKind;
  /** OpenTelemetry tracing; undefined when no OTLP endpoint is configured (tracing off). */
  tracing: TracingSettings | undefined;
  /** The access log (GATEHOUSE_ACCESS_LOG*); the node id is filled in by main. */
  accessLog: Omit<AccessLogSettings, 'nodeId'>;
  /** Gateway processes of this node (GATEHOUSE_WORKERS; 1: no cluster primary, see runtime/cluster.ts). */
  workers: number;
  /** Where the last applied snapshot is cached (GATEHOUSE_CONFIG_CACHE); undefined: no cache. */
  configCache: string | undefined;
  /** Service discovery defaults (GATEHOUSE_ETCD_ENDPOINTS, GATEHOUSE_DNS_SERVERS); a discovery block may override them. */
  discovery: { etcdEndpoints: string[] | undefined; dnsServers: string[] | undefined; dockerHost: string | undefined; consulAddr: string | undefined; consulToken: string | undefined; kubernetes: KubernetesConnection | undefined };
  /** Routes from Kubernetes Ingresses / HTTPRoutes (GATEHOUSE_KUBERNETES_INGRESS_CLASS, _GATEWAY); undefined: off. */
  kubernetesRoutes: KubernetesRoutesSettings | undefined;
}

export class EnvError extends Error {
  constructor(variable: string, reason: string) {
    super(`${variable}: ${reason}`);
    this.name = 'EnvError';
  }
}

function parseListen(name: string, value: string | undefined, fallback: string): Listen {
  const raw = value && value.trim() !== '' ? value.trim() : fallback;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(raw) ?? /^()()(\d{1,5})$/.exec(raw);
  if (!m) throw new EnvError(name, `expected host:port or port, got '${raw}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new EnvError(name, `port out of range in '${raw}'`);
  const host = m[1] || m[2] || fallback.slice(0, fallback.lastIndexOf(':'));
  return { host, port };
}

function parseCidrList(name: string, value: string | undefined): string[] {
  if (!value) return [];
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const cidr of list) {
    try {
      parseCidr(cidr);
    } catch (err) {
      throw new EnvError(name, (err as Error).message);
    }
  }
  return list;
}

function parseBool(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new EnvError(name, `expected true/false, got '${value}'`);
}

/** GATEHOUSE_WORKERS: a count, or `auto` for one process per core. */
function parseWorkers(value: string | undefined): number {
  const raw = (value ?? '').trim();
  if (raw === '') return 1;
  if (/^auto$/i.test(raw)) return Math.max(1, availableParallelism());
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new EnvError('GATEHOUSE_WORKERS', `expected an integer from 1 to 256 or 'auto', got '${value}'`);
  return n;
}

function parseSize(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < min || n > max) throw new EnvError(name, `expected an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

function parseAccessLog(env: NodeJS.ProcessEnv): Omit<AccessLogSettings, 'nodeId'> {
  const raw = (env.GATEHOUSE_ACCESS_LOG ?? '').trim();
  const destination = raw === '' ? 'stdout' : /^(off|false|0|no|none)$/i.test(raw) ? 'off' : /^stdout$/i.test(raw) ? 'stdout' : path.resolve(raw);
  let fields: AccessLogField[] = [...DEFAULT_ACCESS_LOG_FIELDS];
  const list = (env.GATEHOUSE_ACCESS_LOG_FIELDS ?? '').trim();
  if (list !== '') {
    fields = list.split(',').map((f) => f.trim()).filter(Boolean) as AccessLogField[];
    const unknown = fields.filter((f) => !(ACCESS_LOG_FIELDS as readonly string[]).includes(f));
    if (unknown.length > 0) throw new EnvError('GATEHOUSE_ACCESS_LOG_FIELDS', `unknown field(s) ${unknown.join(', ')}; known: ${ACCESS_LOG_FIELDS.join(', ')}`);
  }
  const httpUrl = (env.GATEHOUSE_ACCESS_LOG_HTTP_URL ?? '').trim() || undefined;
  if (httpUrl !== undefined && !/^https?:\/\/[^\s]+$/.test(httpUrl)) throw new EnvError('GATEHOUSE_ACCESS_LOG_HTTP_URL', 'must be an http:// or https:// URL');
  return {
    destination,
    fields,
    maxSize: parseSize('GATEHOUSE_ACCESS_LOG_MAX_SIZE', env.GATEHOUSE_ACCESS_LOG_MAX_SIZE, 100 * 1024 * 1024, 1024, Number.MAX_SAFE_INTEGER),
    maxFiles: parseSize('GATEHOUSE_ACCESS_LOG_MAX_FILES', env.GATEHOUSE_ACCESS_LOG_MAX_FILES, 5, 1, 1000),
    httpUrl,
    httpAuthorization: env.GATEHOUSE_ACCESS_LOG_HTTP_AUTHORIZATION || undefined,
    redactParams: (env.GATEHOUSE_ACCESS_LOG_REDACT ?? '').split(',').map((p) => p.trim()).filter(Boolean),
  };
}

const TRACE_SAMPLERS = ['always_on', 'always_off', 'traceidratio', 'parentbased_always_on', 'parentbased_always_off', 'parentbased_traceidratio'] as const;

function httpUrl(name: string, value: string): string {
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    throw new EnvError(name, `'${value}' is not a URL`);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new EnvError(name, 'must be an http:// or https:// URL');
  return value;
}

/**
 * Tracing is on when an OTLP endpoint is set: GATEHOUSE_OTLP_ENDPOINT (a base URL, `/v1/traces` appended
 * unless present), else the standard OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is) or
 * OTEL_EXPORTER_OTLP_ENDPOINT (base). The standard OTEL_* sampler, propagator and batch variables are
 * honoured; the GATEHOUSE_TRACE_* ones take precedence.
 */
function parseTracing(env: NodeJS.ProcessEnv): TracingSettings | undefined {
  if (parseBool('OTEL_SDK_DISABLED', env.OTEL_SDK_DISABLED, false)) return undefined;
  const base = (name: string, v: string): string => {
    const url = httpUrl(name, v).replace(/\/+$/, '');
    return url.endsWith('/v1/traces') ? url : `${url}/v1/traces`;
  };
  let endpoint: string | undefined;
  if (env.GATEHOUSE_OTLP_ENDPOINT?.trim()) endpoint = base('GATEHOUSE_OTLP_ENDPOINT', env.GATEHOUSE_OTLP_ENDPOINT.trim());
  else if (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT?.trim()) endpoint = httpUrl('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT', env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT.trim());
  else if (env.OTEL_EXPORTER_OTLP_ENDPOINT?.trim()) endpoint = base('OTEL_EXPORTER_OTLP_ENDPOINT', env.OTEL_EXPORTER_OTLP_ENDPOINT.trim());
  if (endpoint === undefined) return undefined;

  const sampler = (env.OTEL_TRACES_SAMPLER?.trim() || 'parentbased_traceidratio') as (typeof TRACE_SAMPLERS)[number];
  if (!TRACE_SAMPLERS.includes(sampler)) throw new EnvError('OTEL_TRACES_SAMPLER', `one of ${TRACE_SAMPLERS.join(', ')}`);
  const ratioOf = (name: string, v: string): number => {
    const n = Number(v.trim());
    if (v.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new EnvError(name, `expected a number from 0 to 1, got '${v}'`);
    return n;
  };
  let sampleRatio = 0.1;
  if (env.GATEHOUSE_TRACE_SAMPLE_RATIO?.trim()) sampleRatio = ratioOf('GATEHOUSE_TRACE_SAMPLE_RATIO', env.GATEHOUSE_TRACE_SAMPLE_RATIO);
  else if (sampler.endsWith('always_on')) sampleRatio = 1;
  else if (sampler.endsWith('always_off')) sampleRatio = 0;
  else if (env.OTEL_TRACES_SAMPLER_ARG?.trim()) sampleRatio = ratioOf('OTEL_TRACES_SAMPLER_ARG', env.OTEL_TRACES_SAMPLER_ARG);

  const [propName, propRaw] = env.GATEHOUSE_TRACE_PROPAGATION?.trim()
    ? ['GATEHOUSE_TRACE_PROPAGATION', env.GATEHOUSE_TRACE_PROPAGATION]
    : ['OTEL_PROPAGATORS', env.OTEL_PROPAGATORS?.trim() || 'w3c'];
  const propagation: Propagation[] = [];
  for (const item of propRaw.split(',').map((s) => s.trim().toLowerCase()).filter(Boolean)) {
    const p = item === 'tracecontext' ? 'w3c' : item;
    // `baggage` is an OTel propagator the gateway has nothing to add to; the client's header passes through.
    if (p === 'baggage' || p === 'none') continue;
    if (p !== 'w3c' && p !== 'b3' && p !== 'b3multi') throw new EnvError(propName, `unknown format '${item}' (w3c, b3, b3multi)`);
    if (!propagation.includes(p)) propagation.push(p);
  }
  return {
    endpoint,
    sampleRatio,
    parentBased: sampler.startsWith('parentbased_'),
    propagation,
    serviceName: env.OTEL_SERVICE_NAME?.trim() || 'gatehouse',
    exportDelayMs: parseSize('OTEL_BSP_SCHEDULE_DELAY', env.OTEL_BSP_SCHEDULE_DELAY, 5_000, 10, 600_000),
    maxQueueSize: parseSize('OTEL_BSP_MAX_QUEUE_SIZE', env.OTEL_BSP_MAX_QUEUE_SIZE, 2_048, 1, 1_000_000),
  };
}

/** GATEHOUSE_DOCKER_HOST: `unix:///path` or `tcp://host:port` (the forms of Docker's own DOCKER_HOST, TLS aside). */
function parseDockerHost(value: string | undefined): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  if (!/^(unix:\/\/\/\S+|tcp:\/\/[^/\s]+:[0-9]{1,5}\/?)$/.test(v)) throw new EnvError('GATEHOUSE_DOCKER_HOST', `expected unix:///var/run/docker.sock or tcp://host:port, got '${v}'`);
  return v;
}

/** GATEHOUSE_CONSUL_ADDR: a URL, or `host:port` as Consul's CONSUL_HTTP_ADDR allows (then http). */
function parseConsulAddr(value: string | undefined): string | undefined {
  const v = value?.trim();
  if (!v) return undefined;
  const url = /^https?:\/\//.test(v) ? v : `http://${v}`;
  if (!/^https?:\/\/[^/\s]+\/?$/.test(url)) throw new EnvError('GATEHOUSE_CONSUL_ADDR', `expected http://host:port, got '${v}'`);
  return url;
}

const KUBE_NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

/**
 * How to reach the Kubernetes API: GATEHOUSE_KUBECONFIG (a kubeconfig file), else GATEHOUSE_KUBERNETES_API_SERVER
 * with GATEHOUSE_KUBERNETES_TOKEN_FILE and GATEHOUSE_KUBERNETES_CA_FILE; undefined: in-cluster.
 */
function parseKubernetes(env: NodeJS.ProcessEnv): KubernetesConnection | undefined {
  const kubeconfig = env.GATEHOUSE_KUBECONFIG?.trim();
  const apiServer = env.GATEHOUSE_KUBERNETES_API_SERVER?.trim();
  const tokenFile = env.GATEHOUSE_KUBERNETES_TOKEN_FILE?.trim();
  const caFile = env.GATEHOUSE_KUBERNETES_CA_FILE?.trim();
  if (apiServer && !/^https?:\/\/[^/\s]+\/?$/.test(apiServer)) throw new EnvError('GATEHOUSE_KUBERNETES_API_SERVER', `expected https://host:port, got '${apiServer}'`);
  if ((tokenFile || caFile) && !apiServer) throw new EnvError(tokenFile ? 'GATEHOUSE_KUBERNETES_TOKEN_FILE' : 'GATEHOUSE_KUBERNETES_CA_FILE', 'needs GATEHOUSE_KUBERNETES_API_SERVER');
  if (!kubeconfig && !apiServer) return undefined;
  return {
    ...(kubeconfig ? { kubeconfig: path.resolve(kubeconfig) } : {}),
    ...(apiServer ? { apiServer } : {}),
    ...(tokenFile ? { tokenFile: path.resolve(tokenFile) } : {}),
    ...(caFile ? { caFile: path.resolve(caFile) } : {}),
  };
}

/** GATEHOUSE_KUBERNETES_INGRESS_CLASS, GATEHOUSE_KUBERNETES_GATEWAY (`name` or `namespace/name`), GATEHOUSE_KUBERNETES_NAMESPACE. */
function parseKubernetesRoutes(env: NodeJS.ProcessEnv): KubernetesRoutesSettings | undefined {
  const ingressClass = env.GATEHOUSE_KUBERNETES_INGRESS_CLASS?.trim() || undefined;
  const gateway = env.GATEHOUSE_KUBERNETES_GATEWAY?.trim() || undefined;
  const namespace = env.GATEHOUSE_KUBERNETES_NAMESPACE?.trim() || undefined;
  if (ingressClass && !KUBE_NAME.test(ingressClass)) throw new EnvError('GATEHOUSE_KUBERNETES_INGRESS_CLASS', `expected an IngressClass name like gatehouse, got '${ingressClass}'`);
  const parts = gateway?.split('/') ?? [];
  if (gateway && (parts.length > 2 || !parts.every((p) => KUBE_NAME.test(p)))) {
    throw new EnvError('GATEHOUSE_KUBERNETES_GATEWAY', `expected a Gateway name or namespace/name, got '${gateway}'`);
  }
  if (namespace && !KUBE_NAME.test(namespace)) throw new EnvError('GATEHOUSE_KUBERNETES_NAMESPACE', `expected a namespace name, got '${namespace}'`);
  if (!ingressClass && !gateway) {
    if (namespace) throw new EnvError('GATEHOUSE_KUBERNETES_NAMESPACE', 'needs GATEHOUSE_KUBERNETES_INGRESS_CLASS or GATEHOUSE_KUBERNETES_GATEWAY');
    return undefined;
  }
  return { ingressClass, gateway, namespace };
}

/**
 * GATEHOUSE_PROXY_TLS: `auto` (default) starts the HTTPS listener once a certificate exists, `on` always,
 * `off` never. GATEHOUSE_PROXY_TLS_PORT: a port or host:port (default 8443 on the proxy listener's host).
 */
const bracketed = (host: string): string => (host.includes(':') ? `[${host}]` : host);

function parseTls(env: NodeJS.ProcessEnv, proxyHost: string): GatewayEnv['proxyTls'] {
  const mode = (env.GATEHOUSE_PROXY_TLS ?? '').trim().toLowerCase() || 'auto';
  if (mode !== 'auto' && mode !== 'on' && mode !== 'off') throw new EnvError('GATEHOUSE_PROXY_TLS', `one of auto, on, off; got '${mode}'`);
  if (mode === 'off') return undefined;
  const l = parseListen('GATEHOUSE_PROXY_TLS_PORT', env.GATEHOUSE_PROXY_TLS_PORT, `${bracketed(proxyHost)}:8443`);
  // A bare port takes the proxy's host from the fallback, brackets included.
  return { host: l.host.replace(/^\[(.*)\]$/, '$1'), port: l.port, mode };
}

/** Comma-separated list; undefined when unset or empty. Each item must match `pattern`. */
function parseList(name: string, value: string | undefined, pattern: RegExp, expected: string): string[] | undefined {
  const items = (value ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  for (const item of items) if (!pattern.test(item)) throw new EnvError(name, `expected ${expected}, got '${item}'`);
  return items.length ? items : undefined;
}

function parseUnderscoreHeaders(value: string | undefined, fallback: UnderscoreHeaders): UnderscoreHeaders {
  const v = value?.trim().toLowerCase();
  if (v === undefined || v === '') return fallback;
  const found = UNDERSCORE_HEADERS.find((u) => u === v);
  if (found === undefined) throw new EnvError('GATEHOUSE_UNDERSCORE_HEADERS', `expected ${UNDERSCORE_HEADERS.join(', ')}, got '${value}'`);
  return found;
}

function parseUpstreamClient(value: string | undefined): UpstreamClientKind {
  const v = value?.trim().toLowerCase();
  if (v === undefined || v === '') return 'gatehouse';
  const found = UPSTREAM_CLIENTS.find((c) => c === v);
  if (found === undefined) throw new EnvError('GATEHOUSE_UPSTREAM_CLIENT', `expected ${UPSTREAM_CLIENTS.join(', ')}, got '${value}'`);
  return found;
}

function parseClientLimits(env: NodeJS.ProcessEnv): ClientLimits {
  const d = DEFAULT_CLIENT_LIMITS;
  const hour = 3_600_000;
  const lim: ClientLimits = {
    headersTimeoutMs: parseSize('GATEHOUSE_HEADERS_TIMEOUT_MS', env.GATEHOUSE_HEADERS_TIMEOUT_MS, d.headersTimeoutMs, 0, hour),
    requestTimeoutMs: parseSize('GATEHOUSE_REQUEST_TIMEOUT_MS', env.GATEHOUSE_REQUEST_TIMEOUT_MS, d.requestTimeoutMs, 0, 24 * hour),
    idleTimeoutMs: parseSize('GATEHOUSE_IDLE_TIMEOUT_MS', env.GATEHOUSE_IDLE_TIMEOUT_MS, d.idleTimeoutMs, 0, 24 * hour),
    keepAliveTimeoutMs: parseSize('GATEHOUSE_KEEPALIVE_TIMEOUT_MS', env.GATEHOUSE_KEEPALIVE_TIMEOUT_MS, d.keepAliveTimeoutMs, 100, hour),
    maxConnections: parseSize('GATEHOUSE_MAX_CONNECTIONS', env.GATEHOUSE_MAX_CONNECTIONS, d.maxConnections, 0, 10_000_000),
    maxConnectionsPerIp: parseSize('GATEHOUSE_MAX_CONNECTIONS_PER_IP', env.GATEHOUSE_MAX_CONNECTIONS_PER_IP, d.maxConnectionsPerIp, 0, 10_000_000),
    maxHeadersCount: parseSize('GATEHOUSE_MAX_HEADERS_COUNT', env.GATEHOUSE_MAX_HEADERS_COUNT, d.maxHeadersCount, 10, 10_000),
    strictPaths: parseBool('GATEHOUSE_STRICT_PATHS', env.GATEHOUSE_STRICT_PATHS, d.strictPaths),
    underscoreHeaders: parseUnderscoreHeaders(env.GATEHOUSE_UNDERSCORE_HEADERS, d.underscoreHeaders),
  };
  // Node refuses a head timeout longer than the whole-request one.
  if (lim.requestTimeoutMs > 0 && lim.headersTimeoutMs > lim.requestTimeoutMs) {
    throw new EnvError('GATEHOUSE_HEADERS_TIMEOUT_MS', `must not exceed GATEHOUSE_REQUEST_TIMEOUT_MS (${lim.requestTimeoutMs})`);
  }
  return lim;
}

export function loadEnv(env: NodeJS.ProcessEnv = process.env): GatewayEnv {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new EnvError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  const configFile = env.GATEWAY_CONFIG || undefined;
  if (configFile && databaseUrl) throw new EnvError('GATEWAY_CONFIG', 'DB-less mode cannot be combined with DATABASE_URL');
  const logLevel = (env.GATEHOUSE_LOG_LEVEL || 'info') as GatewayEnv['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw new EnvError('GATEHOUSE_LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`);
  const adminPassword = env.GATEHOUSE_ADMIN_PASSWORD || undefined;
  if (adminPassword !== undefined && adminPassword.length < 8) throw new EnvError('GATEHOUSE_ADMIN_PASSWORD', 'must be at least 8 characters');
  const adminToken = env.GATEHOUSE_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) throw new EnvError('GATEHOUSE_ADMIN_TOKEN', 'must be at least 16 characters');
  // Embedded PGlite is one process's database: several processes on one data folder would corrupt it.
  if (parseWorkers(env.GATEHOUSE_WORKERS) > 1 && !databaseUrl && !configFile) throw new EnvError('GATEHOUSE_WORKERS', 'cluster mode needs DATABASE_URL (or GATEWAY_CONFIG): the embedded store serves one process');
  const demoPort = Number(env.GATEHOUSE_DEMO_UPSTREAM_PORT || 8002);
  if (!Number.isInteger(demoPort) || demoPort < 1 || demoPort > 65535) throw new EnvError('GATEHOUSE_DEMO_UPSTREAM_PORT', 'must be a port number');
  return {
    proxyListen: parseListen('GATEHOUSE_PROXY_LISTEN', env.GATEHOUSE_PROXY_LISTEN, '0.0.0.0:8000'),
    adminListen: parseListen('GATEHOUSE_ADMIN_LISTEN', env.GATEHOUSE_ADMIN_LISTEN, '127.0.0.1:8001'),
    databaseUrl,
    dataDir: path.resolve(env.GATEHOUSE_DATA_DIR || 'data'),
    configFile: configFile ? path.resolve(configFile) : undefined,
    adminToken,
    adminUser: env.GATEHOUSE_ADMIN_USER || undefined,
    adminPassword,
    jwtSecret: env.GATEHOUSE_JWT_SECRET || undefined,
    trustedProxies: parseCidrList('GATEHOUSE_TRUSTED_PROXIES', env.GATEHOUSE_TRUSTED_PROXIES),
    redisUrl: env.REDIS_URL || undefined,
    demo: parseBool('GATEHOUSE_DEMO', env.GATEHOUSE_DEMO, !databaseUrl && !configFile),
    demoUpstreamPort: demoPort,
    nodeId: env.GATEHOUSE_NODE_ID || `${process.pid}`,
    logLevel,
    proxyTls: parseTls(env, parseListen('GATEHOUSE_PROXY_LISTEN', env.GATEHOUSE_PROXY_LISTEN, '0.0.0.0:8000').host),
    proxyH2c: env.GATEHOUSE_PROXY_H2C_PORT?.trim() ? parseListen('GATEHOUSE_PROXY_H2C_PORT', env.GATEHOUSE_PROXY_H2C_PORT, `${bracketed(parseListen('GATEHOUSE_PROXY_LISTEN', env.GATEHOUSE_PROXY_LISTEN, '0.0.0.0:8000').host)}:0`) : undefined,
    maxHeaderSize: parseSize('GATEHOUSE_MAX_HEADER_SIZE', env.GATEHOUSE_MAX_HEADER_SIZE, 16 * 1024, 1024, 1024 * 1024),
    maxUriLength: parseSize('GATEHOUSE_MAX_URI_LENGTH', env.GATEHOUSE_MAX_URI_LENGTH, 8 * 1024, 256, 1024 * 1024),
    clientLimits: parseClientLimits(env),
    requestMetrics: parseBool('GATEHOUSE_METRICS', env.GATEHOUSE_METRICS, true),
    upstreamClient: parseUpstreamClient(env.GATEHOUSE_UPSTREAM_CLIENT),
    tracing: parseTracing(env),
    accessLog: parseAccessLog(env),
    workers: parseWorkers(env.GATEHOUSE_WORKERS),
    // Beside the embedded store by default; `off` disables it.
    configCache: /^(off|false|0|no|none)$/i.test((env.GATEHOUSE_CONFIG_CACHE ?? '').trim())
      ? undefined
      : path.resolve(env.GATEHOUSE_CONFIG_CACHE?.trim() || path.join(env.GATEHOUSE_DATA_DIR || 'data', 'config-cache.json')),
    discovery: {
      etcdEndpoints: parseList('GATEHOUSE_ETCD_ENDPOINTS', env.GATEHOUSE_ETCD_ENDPOINTS, /^https?:\/\/[^/\s]+\/?$/, 'comma-separated URLs like http://10.0.0.2:2379'),
      dnsServers: parseList('GATEHOUSE_DNS_SERVERS', env.GATEHOUSE_DNS_SERVERS, /^(\[[0-9A-Fa-f:.]+\]|[0-9A-Fa-f:.]+)(:[0-9]{1,5})?$/, 'comma-separated addresses like 10.0.0.53 or 10.0.0.53:5353'),
      dockerHost: parseDockerHost(env.GATEHOUSE_DOCKER_HOST),
      consulAddr: parseConsulAddr(env.GATEHOUSE_CONSUL_ADDR),
      consulToken: env.GATEHOUSE_CONSUL_TOKEN?.trim() || undefined,
      kubernetes: parseKubernetes(env),
    },
    kubernetesRoutes: parseKubernetesRoutes(env),
  };
}
