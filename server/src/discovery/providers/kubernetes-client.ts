/**
 * What the Kubernetes provider and the Kubernetes routes source share: how the API is reached (a KubeConfig
 * from a kubeconfig file, an API server URL with a token file, or the in-cluster service account) and a
 * list-then-watch loop over one collection, on top of @kubernetes/client-node's Watch.
 *
 * The library's informer (makeInformer) is not used: it stops for good on the first error, does not say when
 * a re-list succeeded (which is what tells "recovered" from "still failing"), and may start a watch after it
 * was stopped. The loop here is the informer's protocol (list, watch from the list's resourceVersion, BOOKMARK
 * moves the resourceVersion, 410 Gone lists again) with those three things made explicit.
 *
 * The library is imported on first use: loading its generated models takes seconds, which only nodes that
 * use Kubernetes should pay.
 */
import type * as K8s from '@kubernetes/client-node';
import { retryDelay } from '../registry.js';
import type { KubernetesConnection } from '../types.js';
import { WakeableSleep } from './wake-sleep.js';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
/** Pause before watching again after a watch ended cleanly, so a server that ends every watch at once cannot spin us. */
const REWATCH_PAUSE_MS = 200;

export type KubeClient = typeof K8s;
type KubernetesObject = K8s.KubernetesObject;

let loading: Promise<KubeClient> | undefined;
export function loadKubeClient(): Promise<KubeClient> {
  loading ??= import('@kubernetes/client-node');
  return loading;
}

/** The KubeConfig for an explicit kubeconfig path, else the connection settings of the environment. */
export function kubeConfigFor(lib: KubeClient, kubeconfigPath: string | undefined, conn: KubernetesConnection | undefined): K8s.KubeConfig {
  const kc = new lib.KubeConfig();
  const file = kubeconfigPath ?? conn?.kubeconfig;
  if (file) {
    kc.loadFromFile(file);
  } else if (conn?.apiServer) {
    const server = conn.apiServer.replace(/\/$/, '');
    kc.loadFromOptions({
      // Plain http (`kubectl proxy`) has no certificate to verify; the library insists on being told so.
      clusters: [{ name: 'gatehouse', server, skipTLSVerify: server.startsWith('http:'), ...(conn.caFile ? { caFile: conn.caFile } : {}) }],
      // The tokenFile provider re-reads the file as it rotates (projected service account tokens do).
      users: [{ name: 'gatehouse', ...(conn.tokenFile ? { authProvider: { name: 'tokenFile', config: { tokenFile: conn.tokenFile } } } : {}) }],
      contexts: [{ name: 'gatehouse', cluster: 'gatehouse', user: 'gatehouse' }],
      currentContext: 'gatehouse',
    });
  } else if (process.env.KUBERNETES_SERVICE_HOST) {
    kc.loadFromCluster();
  } else {
    throw new Error('no Kubernetes API: set `kubeconfig`, GATEHOUSE_KUBECONFIG or GATEHOUSE_KUBERNETES_API_SERVER, or run in a cluster');
  }
  if (!kc.getCurrentCluster()) throw new Error(`kubeconfig ${file ?? ''} has no current cluster`);
  return kc;
}

/** A short description of a failed call: the API's status message, else the socket error code, else the message. */
export function describeKubeError(err: unknown): string {
  const e = err as Error & { code?: unknown; statusCode?: number; body?: unknown; cause?: { code?: string; message?: string } };
  const status = typeof e.code === 'number' ? e.code : e.statusCode;
  if (typeof status === 'number') {
    let message = '';
    try {
      const body = (typeof e.body === 'string' ? JSON.parse(e.body) : e.body) as { message?: string } | undefined;
      message = body?.message ?? '';
    } catch {
      /* not a Status object */
    }
    return `HTTP ${status}${message ? `: ${message}` : e.statusCode && e.message ? `: ${e.message}` : ''}`;
  }
  return e.cause?.code ?? (typeof e.code === 'string' ? e.code : undefined) ?? e.cause?.message ?? e.message;
}

export interface ListedCollection<T> {
  items: T[];
  resourceVersion: string;
}

export interface ListWatchOptions<T extends KubernetesObject> {
  /** The library's Watch on the cluster's KubeConfig. */
  watcher: K8s.Watch;
  /** The collection's path for watching, e.g. `/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices`. */
  path: string;
  labelSelector?: string;
  /** Lists the collection (with the same selector); may do more (read a Service) before it. */
  list(): Promise<ListedCollection<T>>;
  listTimeoutMs: number;
  /** After every successful list and every applied watch event: all objects, keyed `namespace/name`. */
  onSync(objects: ReadonlyMap<string, T>): void;
  /** A failed list or watch; the objects stay as last known, the loop lists again after `retryInMs`. */
  onError(error: Error, retryInMs: number): void;
}

class WatchFailed extends Error {}

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export class ListWatch<T extends KubernetesObject> {
  private readonly objects = new Map<string, T>();
  private resourceVersion = '';
  private failures = 0;
  private stopped = false;
  private request: AbortController | undefined;
  /** Ends the current watchOnce; lets stop() return even while the watch's headers have not arrived yet. */
  private endWatch: (() => void) | undefined;
  private readonly sleeper = new WakeableSleep();
  private readonly watcher: K8s.Watch;
  private readonly running: Promise<void>;

  constructor(private readonly opts: ListWatchOptions<T>) {
    this.watcher = opts.watcher;
    this.running = this.loop();
  }

  private async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.resourceVersion) await this.relist();
        if (this.stopped) return;
        await this.watchOnce();
        await this.sleep(REWATCH_PAUSE_MS);
      } catch (err) {
        if (this.stopped) return;
        this.failures++;
        // After any failure the next round lists again: the watch may have missed events while it was down.
        this.resourceVersion = '';
        const delay = retryDelay(this.failures, RETRY_MIN_MS, RETRY_MAX_MS);
        this.opts.onError(new Error(describeKubeError(err)), delay);
        await this.sleep(delay);
      }
    }
  }

  private async relist(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const listed = await Promise.race([
      this.opts.list(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`listing ${this.opts.path} timed out after ${this.opts.listTimeoutMs} ms`)), this.opts.listTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    if (this.stopped) return;
    this.objects.clear();
    for (const o of listed.items) this.objects.set(keyOf(o), o);
    this.resourceVersion = listed.resourceVersion;
    this.opts.onSync(this.objects);
  }

  /**
   * One watch from the current resourceVersion. Resolves when it ends cleanly (the server closed it, or it was
   * quiet for the library's 30 s; the next one resumes from the last resourceVersion) or expired (410 Gone:
   * the resourceVersion is cleared so the next round lists); rejects on anything else.
   */
  private watchOnce(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let failure: Error | undefined;
      this.endWatch = resolve;
      const onEvent = (type: string, obj: T & { code?: number; message?: string; reason?: string }) => {
        if (this.stopped || failure) return;
        if (type === 'ERROR') {
          // A Status object; 410 means our resourceVersion is too old to resume from.
          if (obj.code === 410) this.resourceVersion = '';
          else failure = new WatchFailed(`watch ${this.opts.path}: ${obj.code ?? ''} ${obj.reason ?? ''} ${obj.message ?? ''}`.replace(/\s+/g, ' ').trim());
          this.request?.abort();
          return;
        }
        const rv = obj.metadata?.resourceVersion;
        if (type === 'ADDED' || type === 'MODIFIED') this.objects.set(keyOf(obj), obj);
        else if (type === 'DELETED') this.objects.delete(keyOf(obj));
        if (rv) this.resourceVersion = rv;
        if (type !== 'BOOKMARK') this.opts.onSync(this.objects);
      };
      const done = (err: (Error & { statusCode?: number }) | null) => {
        this.request = undefined;
        this.endWatch = undefined;
        if (failure) return reject(failure);
        if (this.stopped || !err || err.name === 'TimeoutError' || (err.name === 'AbortError' && !this.resourceVersion)) return resolve();
        if (err.statusCode === 410) {
          this.resourceVersion = '';
          return resolve();
        }
        reject(err);
      };
      const query = { resourceVersion: this.resourceVersion, allowWatchBookmarks: true, ...(this.opts.labelSelector ? { labelSelector: this.opts.labelSelector } : {}) };
      this.watcher.watch(this.opts.path, query, onEvent, done).then(
        (controller) => {
          if (this.stopped) controller.abort();
          else if (!controller.signal.aborted) {
            this.request = controller;
            // Connected: the backoff starts over at the next failure.
            this.failures = 0;
          }
        },
        (err: unknown) => reject(err as Error),
      );
    });
  }

  private sleep(ms: number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return this.sleeper.sleep(ms);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.request?.abort();
    this.endWatch?.();
    this.sleeper.wake();
    await this.running.catch(() => undefined);
  }
}
