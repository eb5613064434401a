/**
 * The provider interface of service discovery. A provider turns an upstream's `discovery` block into a
 * watch that reports complete target lists (or failures) to a sink; the registry (registry.ts) owns what
 * happens next: keeping the last known targets, merging them into the document, waking the proxy.
 *
 * A new provider (Consul, Kubernetes, Docker) is a DiscoveryProvider registered in providers/index.ts and a
 * branch of DiscoverySchema (schema.ts).
 */
import type { DiscoveryConfig } from './schema.js';
import type { ConfigDocument } from '../config/schema.js';
import type { KubernetesRoutesStatus } from './kubernetes-routes.js';

export interface DiscoveredTarget {
  /** `host:port`, `[v6]:port` for IPv6, as in TargetSchema. */
  target: string;
  weight: number;
}

/** How a provider reports; a sink belongs to one watch and ignores calls once that watch is replaced. */
export interface DiscoverySink {
  /**
   * A complete, successful answer: it replaces the upstream's discovered targets. `refreshInMs` is when the
   * provider will ask again (polling providers), for the status view.
   */
  update(targets: readonly DiscoveredTarget[], info?: { refreshInMs?: number; skipped?: number; note?: string }): void;
  /** A failed refresh: the last known targets stay; the error is shown until the next success. */
  fail(error: Error, info?: { retryInMs?: number }): void;
}

export interface DiscoveryWatch {
  /** Stops timers, closes connections; no sink call happens after it resolves. */
  stop(): Promise<void>;
}

/** What providers may read from the process environment (main.ts fills it from GatewayEnv). */
export interface DiscoveryDefaults {
  /** GATEHOUSE_ETCD_ENDPOINTS. */
  etcdEndpoints?: readonly string[];
  /** GATEHOUSE_DNS_SERVERS; undefined: the system resolver. */
  dnsServers?: readonly string[];
  /** GATEHOUSE_DOCKER_HOST (`unix:///path` or `tcp://host:port`); undefined: unix:///var/run/docker.sock. */
  dockerHost?: string;
  /** GATEHOUSE_CONSUL_ADDR (`http(s)://host:port`); undefined: http://127.0.0.1:8500. */
  consulAddr?: string;
  /** GATEHOUSE_CONSUL_TOKEN, sent as X-Consul-Token. */
  consulToken?: string;
  /** How to reach the Kubernetes API (GATEHOUSE_KUBECONFIG, GATEHOUSE_KUBERNETES_*); empty: in-cluster. */
  kubernetes?: KubernetesConnection;
}

/** Where the Kubernetes API is: a kubeconfig file, else an API server URL with a token file, else in-cluster. */
export interface KubernetesConnection {
  /** GATEHOUSE_KUBECONFIG: a kubeconfig file, its current context. */
  kubeconfig?: string;
  /** GATEHOUSE_KUBERNETES_API_SERVER, e.g. `https://10.0.0.1:6443`. */
  apiServer?: string;
  /** GATEHOUSE_KUBERNETES_TOKEN_FILE: a bearer token, re-read as it rotates. */
  tokenFile?: string;
  /** GATEHOUSE_KUBERNETES_CA_FILE: the CA bundle that signed the API server's certificate. */
  caFile?: string;
}

/**
 * Contributes entities to the document the proxy runs, besides the stored config (kubernetes-routes.ts turns
 * Ingresses and HTTPRoutes into services, upstreams and routes). What it adds is never stored: it is
 * read-only in the admin API, and a stored entity of the same name wins.
 */
export interface DocumentSource {
  readonly name: string;
  /** `document` with the source's entities added (the same object when there is nothing to add). */
  contribute(document: ConfigDocument): ConfigDocument;
  /** Identifies what the source contributes now; the plane re-applies only when it changed. */
  signature(): string;
  /** Called (coalesced by the source) when what it contributes changed. */
  onChange(listener: () => void): void;
  /** Resolves once the source has answered once (or failed), so the first document carries its entities. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

export interface DiscoveryProvider<C extends DiscoveryConfig = DiscoveryConfig> {
  readonly name: C['provider'];
  /** Starts following `config` for `upstream`; must not throw (a bad setting is reported through the sink). */
  watch(upstream: string, config: C, sink: DiscoverySink, defaults: DiscoveryDefaults): DiscoveryWatch;
}

export type DiscoveryState = 'starting' | 'ok' | 'error';

/** One upstream's discovery as the admin API shows it (GET /discovery, GET /upstreams/:name/targets). */
export interface DiscoveryStatus {
  upstream: string;
  provider: DiscoveryConfig['provider'];
  /** `starting`: no answer yet; `ok`: the last refresh succeeded; `error`: it failed (the last known targets stay). */
  state: DiscoveryState;
  targets: DiscoveredTarget[];
  /** The last error, cleared by the next success. */
  error: string | null;
  error_at: string | null;
  /** Failed refreshes in a row. */
  consecutive_failures: number;
  last_success_at: string | null;
  /** When the discovered target set last changed. */
  last_change_at: string | null;
  /** Target set changes since the watch started. */
  changes: number;
  next_refresh_at: string | null;
  /** Entries the provider could not turn into a target (unreadable etcd values, SRV names without addresses). */
  skipped: number;
  note: string | null;
}

/** What the admin plane reads (provided as ADMIN_DISCOVERY). */
export interface DiscoveryView {
  list(): DiscoveryStatus[];
  get(upstream: string): DiscoveryStatus | undefined;
  /** Snapshot applies caused by discovered changes since start (config versions not counted). */
  applies(): number;
  /** The Ingress / HTTPRoute source's state; absent when the node does not watch Kubernetes routes. */
  kubernetesRoutes?(): KubernetesRoutesStatus;
}
