/**
 * Entry point of the admin plane: a Nest application on Fastify serving the admin API at root paths
 * (Kong style), the OpenAPI document, and the dashboard's static build with an HTML-only SPA fallback.
 */
import type { ThrottlerStorage } from '@nestjs/throttler';
import 'reflect-metadata';
import { existsSync } from 'node:fs';
import { randomBytes, randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { LoggerService } from '@nestjs/common';
import passport from 'passport';
import type { InjectOptions, LightMyRequestResponse as InjectResponse } from 'fastify';
import { PLUGINS } from '../plugins/index.js';
import type { GatewayRuntime } from '../runtime/gateway-runtime.js';
import type { ConfigStore } from '../store/config-store.js';
import type { AdminEnv, AdminLogger, AuthSettings, PluginRegistry } from './admin-env.js';
import { AdminModule } from './admin.module.js';
import { LiveHub } from '../observability/live-hub.js';
import { attachLiveSocket } from './live/live-socket.js';
import { ADMIN_CSP, SECURITY_HEADERS } from './security/security-headers.js';
import type { DiscoveryView } from '../discovery/types.js';
import type { AcmeManager } from '../tls/acme.js';

export type { AdminEnv } from './admin-env.js';

/** Declarative documents can be large; everything else is a single entity. */
export const CONFIG_BODY_LIMIT = 10 * 1024 * 1024;
export const DEFAULT_BODY_LIMIT = 1024 * 1024;
const TOKEN_TTL_SECONDS = 8 * 3600;
const YAML_TYPES = ['application/yaml', 'application/x-yaml', 'text/yaml'];

export interface AdminAppDeps {
  store: ConfigStore;
  runtime: GatewayRuntime;
  env: AdminEnv;
  logger: AdminLogger;
  /** The dashboard build to serve at `/`; defaults to <repo>/dashboard/dist when it exists. */
  dashboardDir?: string;
  /** Plugin registry used for validation and `/plugins-available`; defaults to the built-in plugins. */
  plugins?: PluginRegistry;
  /** Storage of the login throttler; in memory per node when unset (REDIS_URL set: shared, see limits/throttler-storage.ts). */
  throttlerStorage?: ThrottlerStorage;
  /** The live stream (socket.io at `/live`): this node's id, and Redis to merge every node's seconds (this node only when unset). */
  live?: { nodeId: string; redisUrl?: string; graceMs?: number };
  /** Service discovery state for GET /discovery and the targets' `source`; none when unset. */
  discovery?: DiscoveryView;
  /** Automatic certificates for GET /acme (tls/acme.ts); off when unset. */
  acme?: Pick<AcmeManager, 'status'>;
}

export interface RegisteredRoute {
  method: string;
  url: string;
}

export interface AdminApp {
  listen(host: string, port: number): Promise<void>;
  close(): Promise<void>;
  /** Base URL once listening, e.g. `http://127.0.0.1:8001`. */
  url(): string;
  /** In-process requests without a socket (tests, health probes). */
  inject(opts: InjectOptions): Promise<InjectResponse>;
  /** Routes the API registered (not the dashboard's files); the OpenAPI coverage test reads these. */
  routes(): readonly RegisteredRoute[];
}

function defaultDashboardDir(): string | undefined {
  const dir = fileURLToPath(new URL('../../../dashboard/dist', import.meta.url));
  return existsSync(path.join(dir, 'index.html')) ? dir : undefined;
}

/** Nest's own log lines (route mapping, bootstrap) are noise in the gateway's log; only problems pass through. */
function nestLogger(logger: AdminLogger): LoggerService {
  return {
    log() {},
    debug() {},
    verbose() {},
    warn(message: unknown, context?: unknown) {
      logger.warn({ context }, String(message));
    },
    error(message: unknown, trace?: unknown, context?: unknown) {
      logger.error({ context, trace }, String(message));
    },
  };
}

export async function createAdminApp(deps: AdminAppDeps): Promise<AdminApp> {
  const auth: AuthSettings = {
    // Without GATEHOUSE_JWT_SECRET, every node shares one secret kept in the store, so a session from
    // one node is valid on all of them and survives restarts (DB-less mode keeps it in memory only).
    jwtSecret: deps.env.jwtSecret ?? (await deps.store.setting('admin_jwt_secret', () => randomBytes(32).toString('base64url'))),
    jwtSecretGenerated: !deps.env.jwtSecret && deps.store.readOnly,
    tokenTtlSeconds: TOKEN_TTL_SECONDS,
    strategyName: `gatehouse-jwt-${randomUUID()}`,
  };
  const dashboardDir = deps.dashboardDir ?? defaultDashboardDir();
  const serveDashboard = dashboardDir !== undefined && existsSync(path.join(dashboardDir, 'index.html'));
  if (deps.dashboardDir && !serveDashboard) deps.logger.warn({ dashboardDir: deps.dashboardDir }, 'dashboard directory has no index.html; not serving the dashboard');

  const adapter = new FastifyAdapter({ bodyLimit: CONFIG_BODY_LIMIT, logger: false, trustProxy: false, return503OnClosing: true });
  const fastify = adapter.getInstance();
  const routes: RegisteredRoute[] = [];
  let registeringStatic = false;
  fastify.addHook('onRoute', function limitAndRecord(route) {
    if (registeringStatic) return;
    const url = route.url ?? route.path;
    route.bodyLimit ??= url === '/config' || url.startsWith('/config/') ? CONFIG_BODY_LIMIT : DEFAULT_BODY_LIMIT;
    for (const method of [route.method].flat()) routes.push({ method, url });
  });
  // An empty JSON body is no body: clients (fetch wrappers, the dashboard) send `content-type: application/json`
  // on every call, DELETE included, and Fastify's own parser answers those with a 400. Non-empty bodies go
  // through Fastify's parser with its prototype-poisoning protection.
  // (Nest's own body parsers are off: it would register a second `application/json` parser.)
  const parseJson = fastify.getDefaultJsonParser('error', 'error');
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, function jsonOrNothing(req, body, done) {
    if (body === '') return done(null, undefined);
    void parseJson(req, body as string, done);
  });
  // Browser hardening on every answer, the dashboard's files included (security/security-headers.ts).
  fastify.addHook('onSend', function securityHeaders(_req, reply, payload, done) {
    for (const name in SECURITY_HEADERS) reply.header(name, SECURITY_HEADERS[name]!);
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', ADMIN_CSP);
    done(null, payload);
  });
  // YAML bodies reach the handlers as text; the config service parses them and reports syntax errors by field.
  fastify.addContentTypeParser(YAML_TYPES, { parseAs: 'string' }, function yamlAsText(_req, body, done) {
    done(null, body);
  });

  // Before the Nest app, so controllers can read what the hub remembers (LIVE_HUB, e.g. consumer usage).
  const hub = new LiveHub({ nodeId: deps.live?.nodeId ?? 'local', redisUrl: deps.live?.redisUrl, graceMs: deps.live?.graceMs, logger: deps.logger });
  const app = await NestFactory.create<NestFastifyApplication>(
    AdminModule.register({
      liveHub: hub,
      store: deps.store,
      runtime: deps.runtime,
      env: deps.env,
      logger: deps.logger,
      plugins: deps.plugins ?? PLUGINS,
      auth,
      dashboardIndex: serveDashboard ? dashboardDir : null,
      throttlerStorage: deps.throttlerStorage,
      discovery: deps.discovery,
      acme: deps.acme,
    }),
    adapter,
    { logger: nestLogger(deps.logger), abortOnError: false, bodyParser: false },
  );
  await app.init();
  if (serveDashboard) {
    // Registered after Nest's routes, and with one route per file (no wildcard), so it never shadows the API.
    registeringStatic = true;
    await fastify.register((await import('@fastify/static')).default, { root: dashboardDir, prefix: '/', wildcard: false, decorateReply: true });
    registeringStatic = false;
  }
  await fastify.ready();

  const stopLive = deps.runtime.onLive((second) => hub.push(second));
  const liveSocket = attachLiveSocket(fastify.server, { hub, store: deps.store, auth, adminToken: deps.env.adminToken, logger: deps.logger });

  let address = '';
  return {
    async listen(host: string, port: number) {
      await fastify.listen({ host, port });
      const a = fastify.server.address();
      const actual = typeof a === 'object' && a ? a.port : port;
      address = `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
      deps.logger.info({ url: address, dashboard: serveDashboard ? dashboardDir : null }, 'admin API listening');
    },
    async close() {
      passport.unuse(auth.strategyName);
      stopLive();
      await liveSocket.close();
      await hub.close();
      await app.close();
    },
    url() {
      if (!address) throw new Error('the admin API is not listening');
      return address;
    },
    inject(opts: InjectOptions) {
      return fastify.inject(opts);
    },
    routes() {
      return routes;
    },
  };
}
