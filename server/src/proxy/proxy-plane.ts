/**
 * The data plane as the control plane sees it: apply a config document, read counters, listen, close.
 * Two implementations: `InProcessProxyPlane` (tests, tools) and `WorkerProxyPlane`, which runs the proxy
 * in its own worker thread. The worker is the default for a node because the proxy's tail latency depends
 * on its V8 heap: with the admin plane (Nest, Prisma and their modules) in the same heap, collections
 * grew and the proxy's p99 doubled (docs/performance-log.md); a worker has a heap of its own.
 */
import { Worker } from 'node:worker_threads';
import type { ConfigDocument } from '../config/schema.js';
import { knownJson } from '../config/document-json.js';
import type { PluginDefinition } from '../plugins/types.js';
import type { SnapshotError } from '../runtime/gateway-runtime.js';
import type { CredentialKeys } from '../auth/secrets.js';
import { buildSnapshot, type Snapshot } from './snapshot.js';
import { PoolRegistry } from './upstream-pool.js';
import type { UpstreamClientKind } from './h1-client.js';
import { ProxyServer } from './proxy-server.js';
import { listenerClientCas } from '../plugins/mtls-auth/listener-ca.js';
import type { Logger } from '../observability/logger.js';
import type { EventListener, GatewayEvent } from '../observability/events.js';
import type { LiveAggregator, LiveListener, LiveSecond } from '../observability/live-aggregates.js';
import { recentErrors, type RecentErrorsView } from '../observability/recent-errors.js';
import type { AccessLogSettings } from '../observability/access-log.js';
import type { TracingSettings } from '../observability/tracing.js';
import type { ClientLimits } from './client-limits.js';
import { clearShadowSamples, purgeCache, resilienceView, shadowSamples, subscribeResilienceEvents, type ResilienceView, type ShadowSample } from './resilience-view.js';

export type { ResilienceView, ShadowSample };

export interface ProxyStats {
  active: number;
  total: number;
  requests: number;
}

export interface ProxyPlane {
  /** Builds a snapshot from `document` and swaps it in; resolves with the entities it had to disable. */
  apply(document: ConfigDocument, version: number): Promise<SnapshotError[]>;
  /**
   * A document a write is about to commit (ConfigStore.onWriting): its snapshot is built now, beside the
   * write, and a later apply() of this same object only swaps it in. Optional: a plane that builds on the
   * caller's own thread gains nothing by building early.
   */
  prepare?(document: ConfigDocument, committed: Promise<boolean>): void;
  /** `fd`: listen on an inherited, already bound socket instead (cluster mode). */
  listen(host: string, port: number, fd?: number): Promise<void>;
  /** Stops accepting, drains in-flight requests for up to `graceMs`, then closes. */
  close(graceMs: number): Promise<void>;
  /** The latest counters (the worker reports them every 250 ms). */
  stats(): ProxyStats;
  /** Breakers, target health, cache and shedding counters of the data plane, read now. */
  resilience(): Promise<ResilienceView>;
  /** Removes every cached response (no key) or one cache key; resolves with the number removed. */
  purgeCache(key?: string): Promise<number>;
  /** Shadow-comparison records of one route (any name: unknown ones have none), or of every route; newest first. */
  shadowSamples(route?: string): Promise<ShadowSample[]>;
  /** Forgets shadow-comparison records (one route, or all; counters stay); resolves with the number removed. */
  clearShadowSamples(route?: string): Promise<number>;
  /** The data plane's request metrics as Prometheus text (observability/request-metrics.ts); empty when off. */
  metricsText(): Promise<string>;
  /** The data plane's recent failed requests (5xx, upstream timeouts and resets), newest first, and counts per code. */
  recentErrors(route?: string, limit?: number): Promise<RecentErrorsView>;
  /** Breaker and target-health transitions as they happen; returns the unsubscribe function. */
  onEvent(listener: EventListener): () => void;
  /** The data plane's per-second aggregates (observability/live-aggregates.ts), once a second; returns the unsubscribe function. */
  onLive(listener: LiveListener): () => void;
}

export class InProcessProxyPlane implements ProxyPlane {
  constructor(
    private readonly proxy: ProxyServer,
    private readonly plugins: ReadonlyMap<string, PluginDefinition>,
    private readonly logger: Logger,
    /** The proxy's live aggregator, when it has one (it must also be among the proxy's observers). */
    private readonly live?: LiveAggregator,
    /** The proxy's request metrics, when on (also among the proxy's observers). */
    private readonly metrics?: { text(): Promise<string> },
  ) {}
  metricsText(): Promise<string> {
    return this.metrics?.text() ?? Promise.resolve('');
  }
  private readonly liveListeners = new Set<LiveListener>();
  /**
   * Upstream pools shared by every snapshot this plane builds (reference-counted): a new config version keeps
   * the warm keep-alive connections of the targets it still uses instead of opening them all again.
   */
  private readonly pools = new PoolRegistry();
  /** A snapshot built ahead of its commit (the worker's `prepare`), for apply() of the same document. */
  private prebuilt: { document: ConfigDocument; snapshot: Snapshot } | { document: ConfigDocument; error: unknown } | undefined;
  /** What apply() last swapped in; a discarded prebuild is undone by building it again. */
  private serving: { document: ConfigDocument; version: number } | undefined;

  /**
   * Builds `document`'s snapshot now and keeps it (one at most) for an apply() of the same object.
   *
   * A build is not free of side effects: registries the thread shares take the newest settings of what is
   * built (a target's health checks, a cache's size). A prebuild whose write fails is therefore undone by
   * rebuilding the live document (discardPrebuilt), and one that another document overtakes is dropped
   * when that document is applied (its build sets the settings again).
   */
  prebuild(document: ConfigDocument): void {
    this.dropPrebuilt();
    try {
      this.prebuilt = { document, snapshot: buildSnapshot(document, this.plugins, { logger: this.logger, pools: this.pools }) };
    } catch (error) {
      this.prebuilt = { document, error };
    }
  }

  /** The prebuilt document's snapshot swapped in under `version` (the worker's `commit`). */
  commitPrebuilt(version: number): Promise<SnapshotError[]> {
    const p = this.prebuilt;
    if (p === undefined) return Promise.reject(new Error('commit without a prepared document'));
    return this.apply(p.document, version);
  }

  /** The prebuilt document's write did not commit: its snapshot is closed and the live one built again. */
  async discardPrebuilt(): Promise<void> {
    if (this.prebuilt === undefined) return;
    this.dropPrebuilt();
    const serving = this.serving;
    if (serving !== undefined) await this.apply(serving.document, serving.version);
  }

  private dropPrebuilt(): void {
    const p = this.prebuilt;
    this.prebuilt = undefined;
    if (p && 'snapshot' in p) void p.snapshot.close().catch((err: unknown) => this.logger.error({ err }, 'closing an unused snapshot failed'));
  }

  async apply(document: ConfigDocument, version: number): Promise<SnapshotError[]> {
    let snapshot: Snapshot;
    const p = this.prebuilt;
    if (p?.document === document) {
      this.prebuilt = undefined;
      if ('error' in p) throw p.error;
      snapshot = p.snapshot;
      snapshot.version = version;
    } else {
      // Overtaken (another version, or a discovery re-apply): its write's reload will send it in full.
      this.dropPrebuilt();
      snapshot = buildSnapshot(document, this.plugins, { version, logger: this.logger, pools: this.pools });
    }
    this.serving = { document, version };
    this.proxy.swap(snapshot);
    // Certificates that cannot be used (e.g. sealed under another GATEHOUSE_SECRET_KEY) are reported like disabled entities.
    const tlsErrors = await this.proxy.setCertificates(document.certificates, listenerClientCas(document));
    if (tlsErrors.length === 0) return snapshot.errors;
    const names = (document.certificates ?? []).map((c) => c.name);
    return [...snapshot.errors, ...tlsErrors.map((e) => ({ path: `/certificates/${names.indexOf(e.certificate)}`, message: `certificate '${e.certificate}' unusable: ${e.message}` }))];
  }
  listen(host: string, port: number, fd?: number): Promise<void> {
    return this.proxy.listen(host, port, fd);
  }
  close(graceMs: number): Promise<void> {
    return this.proxy.close(graceMs);
  }
  stats(): ProxyStats {
    return this.proxy.stats();
  }
  resilience(): Promise<ResilienceView> {
    return Promise.resolve(resilienceView());
  }
  purgeCache(key?: string): Promise<number> {
    return purgeCache(key);
  }
  shadowSamples(route?: string): Promise<ShadowSample[]> {
    return Promise.resolve(shadowSamples(route));
  }
  clearShadowSamples(route?: string): Promise<number> {
    return Promise.resolve(clearShadowSamples(route));
  }
  recentErrors(route?: string, limit?: number): Promise<RecentErrorsView> {
    return Promise.resolve(recentErrors.view(route, limit));
  }
  onEvent(listener: EventListener): () => void {
    return subscribeResilienceEvents(listener);
  }
  /** The aggregator's timer runs only while someone listens. */
  onLive(listener: LiveListener): () => void {
    const live = this.live;
    if (live === undefined) return () => {};
    if (this.liveListeners.size === 0) {
      live.start((second) => {
        for (const l of this.liveListeners) {
          try {
            l(second);
          } catch (err) {
            this.logger.error({ err }, 'live aggregate listener failed');
          }
        }
      });
    }
    this.liveListeners.add(listener);
    return () => {
      this.liveListeners.delete(listener);
      if (this.liveListeners.size === 0) live.stop();
    };
  }
}

/** What the worker needs at start; everything is structured-clonable. */
export interface ProxyWorkerData {
  trustedProxies: string[];
  nodeId: string;
  logLevel: string;
  redisUrl: string | undefined;
  credentialKeys: CredentialKeys;
  /** Request size limits of the listener (see ProxyServerOptions); undefined: the defaults. */
  maxHeaderSize?: number;
  maxUriLength?: number;
  /** Client timeouts and connection caps (proxy/client-limits.ts); undefined: the defaults. */
  clientLimits?: ClientLimits;
  /** Request metrics (observability/request-metrics.ts, GATEHOUSE_METRICS); undefined: on. */
  requestMetrics?: boolean;
  /** Client for clear-text HTTP/1.1 upstreams (GATEHOUSE_UPSTREAM_CLIENT); undefined: the gateway's own. */
  upstreamClient?: UpstreamClientKind;
  /** The access log (observability/access-log.ts); undefined: none. */
  accessLog?: AccessLogSettings;
  /** OpenTelemetry tracing (observability/tracing.ts); undefined: off. */
  tracing?: TracingSettings;
  /** The HTTPS listener (ProxyServerOptions.tls; `fd`: the cluster's shared socket); undefined: none. */
  tls?: { host: string; port: number; mode: 'auto' | 'on'; fd?: number };
  /** Prior-knowledge h2c listener (ProxyServerOptions.h2c); undefined: none. */
  h2c?: { host: string; port: number; fd?: number };
  /** Answer ACME HTTP-01 challenges (tls/acme-challenge.ts); undefined: ACME is off. */
  acme?: boolean;
}

export type DocumentMessage = { text: string } | { object: ConfigDocument };

export function documentMessage(document: ConfigDocument): DocumentMessage {
  const text = knownJson(document);
  return text === undefined ? { object: document } : { text };
}

export function documentOf(m: DocumentMessage): ConfigDocument {
  return 'text' in m ? (JSON.parse(m.text) as ConfigDocument) : m.object;
}

export type ToWorker =
  /** A document travels as the JSON text it was parsed from when there is one (config/document-json.ts). */
  | { type: 'apply'; id: number; document: DocumentMessage; version: number }
  /** Build the snapshot of a document being written; `commit` swaps it in, `discard` drops it. No answer. */
  | { type: 'prepare'; document: DocumentMessage }
  | { type: 'commit'; id: number; version: number }
  | { type: 'discard' }
  | { type: 'listen'; id: number; host: string; port: number; fd?: number }
  | { type: 'close'; id: number; graceMs: number }
  | { type: 'resilience'; id: number }
  | { type: 'purge-cache'; id: number; key?: string }
  | { type: 'shadow-samples'; id: number; route?: string }
  | { type: 'clear-shadow-samples'; id: number; route?: string }
  | { type: 'metrics'; id: number }
  | { type: 'recent-errors'; id: number; route?: string; limit?: number }
  | { type: 'acme-challenge'; id: number; token: string; keyAuthorization?: string };

/** The messages the worker answers (with a WorkerDone of the same id). */
export type ToWorkerCall = Exclude<ToWorker, { type: 'prepare' | 'discard' }>;

/**
 * `result` carries the answer of the requests that have one (`resilience`: a ResilienceView, `purge-cache`
 * and `clear-shadow-samples`: a count, `shadow-samples`: ShadowSample[], `metrics`: Prometheus text, `recent-errors`: a RecentErrorsView).
 */
export type WorkerDone = { type: 'done'; id: number; errors?: SnapshotError[]; result?: unknown; failure?: string };

export type FromWorker =
  | WorkerDone
  | { type: 'stats'; stats: ProxyStats }
  | { type: 'event'; event: GatewayEvent }
  | { type: 'live'; second: LiveSecond };

export class WorkerProxyPlane implements ProxyPlane {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: WorkerDone) => void; reject: (e: Error) => void }>();
  private latest: ProxyStats = { active: 0, total: 0, requests: 0 };
  private exited: Error | undefined;
  /** Set by close(): the worker's exit is then expected (terminate() exits with code 1). */
  private closing = false;
  private readonly listeners = new Set<EventListener>();
  private readonly liveListeners = new Set<LiveListener>();

  constructor(data: ProxyWorkerData, logger: Logger) {
    // A thread name of its own (top -H, /proc/<pid>/task/*/comm): the proxy's CPU can be told from the rest.
    this.worker = new Worker(new URL('./proxy-worker.js', import.meta.url), { name: 'gh-proxy', workerData: data });
    this.worker.on('message', (msg: FromWorker) => {
      if (msg.type === 'stats') {
        this.latest = msg.stats;
        return;
      }
      if (msg.type === 'event') {
        for (const l of this.listeners) {
          try {
            l(msg.event);
          } catch (err) {
            logger.error({ err }, 'proxy event listener failed');
          }
        }
        return;
      }
      if (msg.type === 'live') {
        for (const l of this.liveListeners) {
          try {
            l(msg.second);
          } catch (err) {
            logger.error({ err }, 'proxy live listener failed');
          }
        }
        return;
      }
      const p = this.pending.get(msg.id);
      if (!p) return;
      this.pending.delete(msg.id);
      if (msg.failure !== undefined) p.reject(new Error(msg.failure));
      else p.resolve(msg);
    });
    this.worker.on('error', (err) => logger.error({ err }, 'proxy worker failed'));
    this.worker.on('exit', (code) => {
      this.exited = new Error(`proxy worker exited with code ${code}`);
      for (const p of this.pending.values()) p.reject(this.exited);
      this.pending.clear();
      // A node without its data plane must not keep answering health checks as if it served traffic.
      if (code !== 0 && !this.closing) {
        logger.fatal({ code }, 'proxy worker exited; stopping the node');
        process.exit(1);
      }
    });
  }

  private call(msg: ToWorkerCall): Promise<WorkerDone> {
    if (this.exited) return Promise.reject(this.exited);
    return new Promise((resolve, reject) => {
      this.pending.set(msg.id, { resolve, reject });
      this.worker.postMessage(msg);
    });
  }

  /** The document last posted to `prepare`, until it is committed or its write fails. */
  private prepared: ConfigDocument | undefined;

  prepare(document: ConfigDocument, committed: Promise<boolean>): void {
    if (this.exited) return;
    this.prepared = document;
    this.worker.postMessage({ type: 'prepare', document: documentMessage(document) } satisfies ToWorker);
    void committed.then((ok) => {
      if (ok || this.prepared !== document || this.exited) return;
      this.prepared = undefined;
      this.worker.postMessage({ type: 'discard' } satisfies ToWorker);
    });
  }

  async apply(document: ConfigDocument, version: number): Promise<SnapshotError[]> {
    const prepared = this.prepared;
    this.prepared = undefined;
    // The worker has built this document's snapshot while the store wrote it; messages arrive in order.
    if (document === prepared) return (await this.call({ type: 'commit', id: this.nextId++, version })).errors ?? [];
    // Any other document makes the worker drop what it prepared (InProcessProxyPlane.apply).
    return (await this.call({ type: 'apply', id: this.nextId++, document: documentMessage(document), version })).errors ?? [];
  }
  async listen(host: string, port: number, fd?: number): Promise<void> {
    await this.call({ type: 'listen', id: this.nextId++, host, port, ...(fd !== undefined ? { fd } : {}) });
  }
  async close(graceMs: number): Promise<void> {
    if (this.exited) return;
    await this.call({ type: 'close', id: this.nextId++, graceMs });
    this.closing = true;
    await this.worker.terminate();
  }
  stats(): ProxyStats {
    return this.latest;
  }
  async resilience(): Promise<ResilienceView> {
    return (await this.call({ type: 'resilience', id: this.nextId++ })).result as ResilienceView;
  }
  async purgeCache(key?: string): Promise<number> {
    return (await this.call({ type: 'purge-cache', id: this.nextId++, ...(key !== undefined ? { key } : {}) })).result as number;
  }
  async shadowSamples(route?: string): Promise<ShadowSample[]> {
    return (await this.call({ type: 'shadow-samples', id: this.nextId++, ...(route !== undefined ? { route } : {}) })).result as ShadowSample[];
  }
  async clearShadowSamples(route?: string): Promise<number> {
    return (await this.call({ type: 'clear-shadow-samples', id: this.nextId++, ...(route !== undefined ? { route } : {}) })).result as number;
  }
  async metricsText(): Promise<string> {
    return (await this.call({ type: 'metrics', id: this.nextId++ })).result as string;
  }
  /** An ACME HTTP-01 answer for this node's listeners (undefined: forget it); see tls/acme.ts. */
  async setAcmeChallenge(token: string, keyAuthorization: string | undefined): Promise<void> {
    await this.call({ type: 'acme-challenge', id: this.nextId++, token, ...(keyAuthorization !== undefined ? { keyAuthorization } : {}) });
  }
  async recentErrors(route?: string, limit?: number): Promise<RecentErrorsView> {
    return (await this.call({ type: 'recent-errors', id: this.nextId++, ...(route !== undefined ? { route } : {}), ...(limit !== undefined ? { limit } : {}) })).result as RecentErrorsView;
  }
  /** The worker pushes every transition; listeners here only decide who sees them. */
  onEvent(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }
  /** The worker posts one aggregate a second whether or not anyone listens (a small message); see proxy-worker.ts. */
  onLive(listener: LiveListener): () => void {
    this.liveListeners.add(listener);
    return () => {
      this.liveListeners.delete(listener);
    };
  }
}

/**
 * The worker's answer to the requests that only read or purge resilience and traffic state (the others touch the
 * worker's lifecycle and stay in proxy-worker.ts); undefined for any other message. Exported so the
 * protocol can be tested without a worker thread.
 */
export async function answerResilienceRequest(plane: ProxyPlane, msg: ToWorkerCall): Promise<WorkerDone | undefined> {
  if (msg.type === 'resilience') return { type: 'done', id: msg.id, result: await plane.resilience() };
  if (msg.type === 'purge-cache') return { type: 'done', id: msg.id, result: await plane.purgeCache(msg.key) };
  if (msg.type === 'shadow-samples') return { type: 'done', id: msg.id, result: await plane.shadowSamples(msg.route) };
  if (msg.type === 'clear-shadow-samples') return { type: 'done', id: msg.id, result: await plane.clearShadowSamples(msg.route) };
  if (msg.type === 'metrics') return { type: 'done', id: msg.id, result: await plane.metricsText() };
  if (msg.type === 'recent-errors') return { type: 'done', id: msg.id, result: await plane.recentErrors(msg.route, msg.limit) };
  return undefined;
}
