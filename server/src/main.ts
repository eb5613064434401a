/**
 * Starts one Gatehouse node: config store, proxy listener (data plane), admin listener (API + dashboard),
 * and the runtime that keeps the proxy's snapshot in step with the store.
 */
import 'reflect-metadata';
import type { Server } from 'node:http';
import path from 'node:path';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { EnvError, loadEnv, type GatewayEnv } from './config/env.js';
import { createLogger, type Logger } from './observability/logger.js';
import { createConfigStore } from './store/create-store.js';
import { loadCredentialKeys, setActiveCredentialKeys } from './auth/secrets.js';
import { FileConfigStore } from './store/file-config-store.js';
import { PLUGINS } from './plugins/index.js';
import { WorkerProxyPlane } from './proxy/proxy-plane.js';
import { ConfigRuntime } from './runtime/config-runtime.js';
import { createAdminApp } from './admin/create-admin-app.js';
import { demoDocument, startEchoUpstream } from './demo/echo-upstream.js';
import { createRedisConnection, waitReady } from './limits/redis-client.js';
import { RedisThrottlerStorage } from './limits/throttler-storage.js';
import { DiscoveryRegistry } from './discovery/registry.js';
import { DiscoveringProxyPlane } from './discovery/discovering-plane.js';
import { DISCOVERY_PROVIDERS } from './discovery/providers/index.js';
import { KubernetesRoutes } from './discovery/kubernetes-routes.js';
import { discoveryView } from './discovery/admin.js';
import { poolSizeAdvice } from './runtime/node-flags.js';
import cluster from 'node:cluster';
import { processCredentialKeys } from './auth/secrets.js';
import { isStoreUnreachable, type ConfigStore } from './store/config-store.js';
import { readSnapshotCache, SnapshotCacheWriter, type CachedSnapshot } from './runtime/snapshot-cache.js';
import { LateStore } from './runtime/late-store.js';
import { clusterWorkerInfo, reportListening, runClusterPrimary } from './runtime/cluster.js';
import type { AdminApp } from './admin/create-admin-app.js';
import { AcmeManager, acmeSettingsFromEnv } from './tls/acme.js';
import { MemoryAcmeCoordinator, RedisAcmeCoordinator } from './tls/acme-coordination.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const DASHBOARD_DIR = path.resolve(here, '../../dashboard/dist');

export interface RunningGateway {
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Run the admin listener (default true; in cluster mode only worker 1 does). */
  admin?: boolean;
  /** Listen on this inherited, already bound proxy socket (cluster mode) instead of binding GATEHOUSE_PROXY_LISTEN. */
  proxyFd?: number;
  /**
   * Cluster mode: the inherited HTTPS and h2c sockets (runtime/cluster.ts). With `proxyFd` set, a listener
   * configured without its descriptor is not opened: binding the port in every worker would fail in all but one.
   */
  tlsFd?: number;
  h2cFd?: number;
}

/** How long a node that started from its cache waits between attempts to reach the store, at most. */
const STORE_RETRY_MAX_MS = 10_000;

export async function startGateway(env: GatewayEnv, logger: Logger, opts: StartOptions = {}): Promise<RunningGateway> {
  const poolAdvice = poolSizeAdvice(process.execArgv, process.env.NODE_OPTIONS);
  if (poolAdvice !== undefined) logger.info(poolAdvice);
  const storeOptions = { databaseUrl: env.databaseUrl, dataDir: env.dataDir, configFile: env.configFile, plugins: PLUGINS, logger };
  // The snapshot cache serves PostgreSQL nodes only: an embedded or file store is never unreachable.
  const cache = env.configCache && env.databaseUrl ? new SnapshotCacheWriter(env.configCache, env.nodeId, logger) : undefined;
  // Automatic certificates (tls/acme.ts): read first, so a bad GATEHOUSE_ACME_* value stops the start at once.
  const acmeSettings = acmeSettingsFromEnv();
  let store: ConfigStore | undefined;
  let late: LateStore | undefined;
  let cached: CachedSnapshot | undefined;
  try {
    store = await createConfigStore(storeOptions);
    logger.info({ store: store.kind, read_only: store.readOnly }, 'config store ready');
  } catch (err) {
    cached = cache && isStoreUnreachable(err) ? await readSnapshotCache(cache.file) : undefined;
    if (!cached) throw err;
    late = new LateStore('postgres', err);
    logger.warn(
      { err: (err as Error).message, cache: cache!.file, version: cached.version, written_at: cached.writtenAt },
      'config store unreachable at start: serving the cached snapshot and retrying the store (admin listener opens once it answers)',
    );
  }
  // Consumers' credentials: the cluster's pepper and encryption key (auth/secrets.ts), for every snapshot.
  let credentialKeys;
  if (store) credentialKeys = await loadCredentialKeys(store, logger);
  else {
    try {
      credentialKeys = await loadCredentialKeys({ setting: () => Promise.reject(new Error('store unreachable')) }, logger);
    } catch {
      // Random keys verify no stored credential: credential-authenticated routes fail closed until a restart.
      credentialKeys = processCredentialKeys();
      logger.error('GATEHOUSE_CREDENTIAL_PEPPER / GATEHOUSE_SECRET_KEY are not set and the store is unreachable: consumer credentials are refused until this node restarts with its store');
    }
  }
  setActiveCredentialKeys(credentialKeys);

  let demoUpstream: Server | undefined;
  if (store && env.demo && !store.readOnly) {
    const { document, version } = await store.current();
    const empty = version === 0 || (document.services.length === 0 && document.routes.length === 0);
    if (empty) {
      await store.replace(demoDocument(env.demoUpstreamPort), { author: 'system', message: 'demo configuration (GATEHOUSE_DEMO)' });
      logger.info('seeded the demo service and route: try `curl localhost:%d/demo`', env.proxyListen.port);
    }
    const usesDemo = (await store.current()).document.services.some((s) => s.name === 'demo-echo');
    if (usesDemo) demoUpstream = await startEchoUpstream(env.demoUpstreamPort);
  }

  // The admin throttler's Redis client (the proxy worker has its own for limits); optional. Start-up waits
  // for it briefly, then continues: limits on the `redis` policy follow their fault policy until it connects.
  const redis = env.redisUrl && opts.admin !== false ? createRedisConnection(env.redisUrl, logger) : undefined;
  if (redis) {
    if (!(await waitReady(redis, 2_000))) logger.warn('redis not reachable yet; continuing (limits follow their fault policy)');
  }

  const clustered = opts.proxyFd !== undefined;
  if (clustered && env.proxyTls && opts.tlsFd === undefined) logger.warn('no HTTPS socket from the cluster primary (see its log): HTTPS is off in this worker');
  const tls = env.proxyTls && (!clustered || opts.tlsFd !== undefined) ? { host: env.proxyTls.host, port: env.proxyTls.port, mode: env.proxyTls.mode, ...(opts.tlsFd !== undefined ? { fd: opts.tlsFd } : {}) } : undefined;
  const h2c = env.proxyH2c && (!clustered || opts.h2cFd !== undefined) ? { ...env.proxyH2c, ...(opts.h2cFd !== undefined ? { fd: opts.h2cFd } : {}) } : undefined;
  // The data plane runs in its own thread and heap (proxy/proxy-plane.ts says why).
  const proxy = new WorkerProxyPlane(
    {
      trustedProxies: env.trustedProxies,
      nodeId: env.nodeId,
      logLevel: env.logLevel,
      redisUrl: env.redisUrl,
      credentialKeys,
      maxHeaderSize: env.maxHeaderSize,
      maxUriLength: env.maxUriLength,
      clientLimits: env.clientLimits,
      requestMetrics: env.requestMetrics,
      upstreamClient: env.upstreamClient,
      tracing: env.tracing,
      accessLog: { ...env.accessLog, nodeId: env.nodeId },
      ...(tls ? { tls } : {}),
      ...(h2c ? { h2c } : {}),
      ...(acmeSettings ? { acme: true } : {}),
    },
    logger,
  );
  // Service discovery runs here, in the control thread, on every node independently; the proxy worker only
  // receives documents with the discovered targets merged in (discovery/discovering-plane.ts).
  const discovery = new DiscoveryRegistry({ providers: DISCOVERY_PROVIDERS, logger, defaults: env.discovery });
  // Routes from Ingress / HTTPRoute objects (GATEHOUSE_KUBERNETES_INGRESS_CLASS): merged like discovered
  // targets, never stored.
  const kubeRoutes = env.kubernetesRoutes ? new KubernetesRoutes({ settings: env.kubernetesRoutes, connection: env.discovery.kubernetes, logger }) : undefined;
  const runtime = new ConfigRuntime(store ?? late!, new DiscoveringProxyPlane(proxy, discovery, logger, kubeRoutes ? [kubeRoutes] : []), logger, env.nodeId, { cache });
  await runtime.start(cached);
  await proxy.listen(env.proxyListen.host, env.proxyListen.port, opts.proxyFd);
  logger.info(`proxy listening on ${env.proxyListen.host}:${env.proxyListen.port}${opts.proxyFd !== undefined ? ' (shared cluster socket)' : ''}`);

  // One ACME manager per node (the admin process in cluster mode); orders are serialised across nodes by Redis.
  let acmeManager: AcmeManager | undefined;
  if (acmeSettings && opts.admin !== false) {
    if (!store || store.readOnly || !store.certificates) {
      logger.warn({ store: store?.kind ?? 'unreachable' }, 'GATEHOUSE_ACME_DOMAINS is set but this node cannot write certificates (DB-less or unreachable store): ACME is off');
    } else {
      acmeManager = new AcmeManager(acmeSettings, {
        store,
        keys: credentialKeys,
        coordinator: redis ? new RedisAcmeCoordinator(redis) : new MemoryAcmeCoordinator(),
        logger,
        nodeId: env.nodeId,
        publishLocal: (token, keyAuthorization) => proxy.setAcmeChallenge(token, keyAuthorization),
        afterWrite: () => runtime.reload().then(() => undefined),
      });
      if (!redis) logger.warn('ACME without REDIS_URL: challenges, locks and backoff are kept by this node only (run one node, or set REDIS_URL)');
      acmeManager.start();
    }
  }

  const throttlerStorage = redis ? new RedisThrottlerStorage(redis) : undefined;
  let admin: AdminApp | undefined;
  const startAdmin = async (store: ConfigStore) => {
    if (opts.admin === false) return;
    admin = await createAdminApp({
      store,
      runtime,
      logger,
      env: {
        adminToken: env.adminToken,
        adminUser: env.adminUser,
        adminPassword: env.adminPassword,
        jwtSecret: env.jwtSecret,
        readOnly: store.readOnly,
      },
      dashboardDir: existsSync(DASHBOARD_DIR) ? DASHBOARD_DIR : undefined,
      throttlerStorage,
      live: { nodeId: env.nodeId, redisUrl: env.redisUrl },
      discovery: discoveryView(discovery, kubeRoutes),
      ...(acmeManager ? { acme: acmeManager } : {}),
    });
    await admin.listen(env.adminListen.host, env.adminListen.port);
    logger.info(`admin API and dashboard on http://${env.adminListen.host}:${env.adminListen.port}/`);
  };
  let stopped = false;
  let storeRetry: NodeJS.Timeout | undefined;
  if (store) await startAdmin(store);
  else {
    // Keep trying the store; once it answers the runtime follows it (LateStore) and the admin listener opens.
    let delay = 1_000;
    const attempt = async () => {
      storeRetry = undefined;
      let connected: ConfigStore | undefined;
      try {
        connected = await createConfigStore(storeOptions);
        if (stopped) return void (await connected.close());
        await late!.connect(connected);
        store = connected;
      } catch (err) {
        await connected?.close().catch(() => undefined);
        late!.failed(err);
        delay = Math.min(delay * 2, STORE_RETRY_MAX_MS);
        if (!stopped) storeRetry = setTimeout(() => void attempt(), delay);
        return;
      }
      logger.info('config store reachable: following it');
      if (stopped) return;
      try {
        await startAdmin(connected);
      } catch (err) {
        logger.error({ err }, 'admin listener failed to start');
      }
    };
    storeRetry = setTimeout(() => void attempt(), delay);
  }

  // DB-less mode re-reads its file on SIGHUP (as nginx and Kong do); an invalid file keeps the old config.
  const onHangup = () => {
    if (store instanceof FileConfigStore) store.reload().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'config file reload failed; keeping the current config'));
  };
  process.on('SIGHUP', onHangup);

  return {
    async stop() {
      process.off('SIGHUP', onHangup);
      stopped = true;
      if (storeRetry) clearTimeout(storeRetry);
      await admin?.close();
      await acmeManager?.stop();
      await proxy.close(10_000);
      await runtime.close();
      await discovery.close();
      await kubeRoutes?.close();
      await store?.close();
      throttlerStorage?.close();
      redis?.disconnect();
      await new Promise<void>((resolve) => (demoUpstream ? demoUpstream.close(() => resolve()) : resolve()));
    },
  };
}

export async function main(): Promise<void> {
  let env: GatewayEnv;
  try {
    env = loadEnv();
  } catch (err) {
    if (err instanceof EnvError) {
      process.stderr.write(`gatehouse: invalid environment: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  if (env.workers > 1 && cluster.isPrimary) return runPrimary(env);
  const worker = clusterWorkerInfo();
  if (worker) env = { ...env, nodeId: worker.nodeId };
  const logger = createLogger(env.logLevel, { node: env.nodeId });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(env, logger, worker ? { admin: worker.admin, proxyFd: worker.proxyFd, tlsFd: worker.tlsFd, h2cFd: worker.h2cFd } : {});
    if (worker) reportListening();
  } catch (err) {
    logger.fatal({ err }, 'gatehouse failed to start');
    process.exit(1);
  }
  const stop = stopOnSignals(logger, 'draining and stopping', () => gateway.stop());
  // A worker whose primary is gone has nobody to restart or stop it.
  if (worker) process.on('disconnect', () => stop('primary exited'));
}

/** SIGTERM/SIGINT run `stop` once, then exit 0 (1 if stopping failed); returns the trigger for other causes. */
function stopOnSignals(logger: Logger, message: string, stop: () => Promise<void>): (cause: string) => void {
  let stopping = false;
  const trigger = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, message);
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => trigger('SIGTERM'));
  process.on('SIGINT', () => trigger('SIGINT'));
  return trigger;
}

/** GATEHOUSE_WORKERS > 1: this process only supervises the gateway workers (runtime/cluster.ts). */
async function runPrimary(env: GatewayEnv): Promise<void> {
  const logger = createLogger(env.logLevel, { node: env.nodeId, role: 'primary' });
  let primary: Awaited<ReturnType<typeof runClusterPrimary>>;
  try {
    primary = await runClusterPrimary(env, logger);
  } catch (err) {
    logger.fatal({ err }, 'gatehouse cluster failed to start');
    process.exit(1);
  }
  let stopping = false;
  stopOnSignals(logger, 'draining and stopping every worker', () => {
    stopping = true;
    return primary.stop();
  });
  process.on('SIGHUP', () => {
    if (!stopping) primary.rollingRestart().catch((err: unknown) => logger.error({ err }, 'rolling restart failed'));
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main();
}
