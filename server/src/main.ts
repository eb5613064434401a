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

const here = path.dirname(fileURLToPath(import.meta.url));
const DASHBOARD_DIR = path.resolve(here, '../../dashboard/dist');

export interface RunningGateway {
  stop(): Promise<void>;
}

export async function startGateway(env: GatewayEnv, logger: Logger): Promise<RunningGateway> {
  const store = await createConfigStore({
    databaseUrl: env.databaseUrl,
    dataDir: env.dataDir,
    configFile: env.configFile,
    plugins: PLUGINS,
    logger,
  });
  logger.info({ store: store.kind, read_only: store.readOnly }, 'config store ready');
  // Consumers' credentials: the cluster's pepper and encryption key (auth/secrets.ts), for every snapshot.
  const credentialKeys = await loadCredentialKeys(store, logger);
  setActiveCredentialKeys(credentialKeys);

  let demoUpstream: Server | undefined;
  if (env.demo && !store.readOnly) {
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
  const redis = env.redisUrl ? createRedisConnection(env.redisUrl, logger) : undefined;
  if (redis) {
    if (!(await waitReady(redis, 2_000))) logger.warn('redis not reachable yet; continuing (limits follow their fault policy)');
  }

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
      requestMetrics: env.requestMetrics,
      tracing: env.tracing,
      accessLog: { ...env.accessLog, nodeId: env.nodeId },
    },
    logger,
  );
  // Service discovery runs here, in the control thread, on every node independently; the proxy worker only
  // receives documents with the discovered targets merged in (discovery/discovering-plane.ts).
  const discovery = new DiscoveryRegistry({ providers: DISCOVERY_PROVIDERS, logger, defaults: env.discovery });
  const runtime = new ConfigRuntime(store, new DiscoveringProxyPlane(proxy, discovery, logger), logger, env.nodeId);
  await runtime.start();
  await proxy.listen(env.proxyListen.host, env.proxyListen.port);
  logger.info(`proxy listening on ${env.proxyListen.host}:${env.proxyListen.port}`);

  const throttlerStorage = redis ? new RedisThrottlerStorage(redis) : undefined;
  const admin = await createAdminApp({
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
    discovery,
  });
  await admin.listen(env.adminListen.host, env.adminListen.port);
  logger.info(`admin API and dashboard on http://${env.adminListen.host}:${env.adminListen.port}/`);

  // DB-less mode re-reads its file on SIGHUP (as nginx and Kong do); an invalid file keeps the old config.
  const onHangup = () => {
    if (store instanceof FileConfigStore) store.reload().catch((err: unknown) => logger.error({ err: (err as Error).message }, 'config file reload failed; keeping the current config'));
  };
  process.on('SIGHUP', onHangup);

  return {
    async stop() {
      process.off('SIGHUP', onHangup);
      await admin.close();
      await proxy.close(10_000);
      await runtime.close();
      await discovery.close();
      await store.close();
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
  const logger = createLogger(env.logLevel, { node: env.nodeId });
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(env, logger);
  } catch (err) {
    logger.fatal({ err }, 'gatehouse failed to start');
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'draining and stopping');
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main();
}
