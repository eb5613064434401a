/**
 * Entry point of the proxy worker thread (see proxy-plane.ts for why the data plane has a thread and a
 * heap of its own). It owns the ProxyServer, builds snapshots from the documents the control thread
 * posts, and reports its counters.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createLogger } from '../observability/logger.js';
import { setActiveCredentialKeys } from '../auth/secrets.js';
import { PLUGINS } from '../plugins/index.js';
import { createRedisConnection } from '../limits/redis-client.js';
import { attachRedis } from '../limits/backends.js';
import { ProxyServer } from './proxy-server.js';
import { setUpstreamClient } from './upstream-pool.js';
import { AcmeChallengeResponder } from '../tls/acme-challenge.js';
import type { RequestObserver } from './proxy-request.js';
import { composeObservers } from '../observability/observers.js';
import { RequestMetrics } from '../observability/request-metrics.js';
import { createAccessLog } from '../observability/access-log.js';
import { recentErrors } from '../observability/recent-errors.js';
import { LiveAggregator } from '../observability/live-aggregates.js';
import { BREAKERS } from '../resilience/circuit-breaker.js';
import { answerResilienceRequest, documentOf, InProcessProxyPlane, type FromWorker, type ProxyWorkerData, type ToWorker, type ToWorkerCall } from './proxy-plane.js';

const STATS_INTERVAL_MS = 250;

const data = workerData as ProxyWorkerData;
const port = parentPort!;
const logger = createLogger(data.logLevel, { node: data.nodeId, thread: 'proxy' });
setActiveCredentialKeys(data.credentialKeys);
if (data.upstreamClient !== undefined) setUpstreamClient(data.upstreamClient);
// Limits on the `redis` policy use this thread's own client; counters are in Redis, so it is the same
// state the other nodes see.
const redis = data.redisUrl ? createRedisConnection(data.redisUrl, logger) : undefined;
if (redis) attachRedis(redis);
// Request observers (issue 7): each part of observability adds itself here from its workerData settings.
const observers: RequestObserver[] = [];
// Tracing first: it sets req.traceId/spanId in `begin`, which the others may read. Loaded only when on.
const tracing = data.tracing ? new (await import('../observability/tracing.js')).TracingObserver(data.tracing, logger, { instanceId: data.nodeId }) : undefined;
if (tracing) observers.push(tracing);
// Per-second aggregates for the dashboard's live stream; posted to the admin thread below.
const live = new LiveAggregator({ node: data.nodeId, breakers: () => BREAKERS.list() });
observers.push(live);
// Error tracking (GET /errors) and the access log (GATEHOUSE_ACCESS_LOG*).
observers.push(recentErrors);
const accessLog = data.accessLog ? createAccessLog(data.accessLog, logger) : undefined;
if (accessLog) observers.push(accessLog);
// Prometheus request metrics (GET /metrics on the admin listener asks for them); on unless GATEHOUSE_METRICS=false.
const metrics = data.requestMetrics === false ? undefined : new RequestMetrics();
if (metrics) observers.push(metrics);
if (metrics && redis) redis.on('error', () => metrics.countRedisError());
// ACME HTTP-01 answers: this node's own (posted below) or, through this thread's Redis client, any node's.
const acmeChallenges = data.acme ? new AcmeChallengeResponder(redis) : undefined;
const server = new ProxyServer({
  trustedProxies: data.trustedProxies,
  logger,
  nodeId: data.nodeId,
  maxHeaderSize: data.maxHeaderSize,
  maxUriLength: data.maxUriLength,
  ...(data.clientLimits !== undefined ? { clientLimits: data.clientLimits } : {}),
  ...(data.tls !== undefined ? { tls: data.tls } : {}),
  ...(data.h2c !== undefined ? { h2c: data.h2c } : {}),
  ...(acmeChallenges !== undefined ? { acmeChallenges } : {}),
  observer: composeObservers(observers, logger),
});
const plane = new InProcessProxyPlane(server, PLUGINS, logger, live, metrics);

const timer = setInterval(function reportStats() {
  port.postMessage({ type: 'stats', stats: server.stats() } satisfies FromWorker);
}, STATS_INTERVAL_MS);
timer.unref();

// One small message a second; the proxy never waits for the admin thread to read it.
const stopLive = plane.onLive(function forwardLive(second) {
  port.postMessage({ type: 'live', second } satisfies FromWorker);
});

// Transitions are rare (a breaker opening, a target ejected), so each one is posted as it happens.
const stopEvents = plane.onEvent(function forwardEvent(event) {
  port.postMessage({ type: 'event', event } satisfies FromWorker);
});

async function handle(msg: ToWorkerCall): Promise<FromWorker> {
  switch (msg.type) {
    case 'apply':
      return { type: 'done', id: msg.id, errors: await plane.apply(documentOf(msg.document), msg.version) };
    case 'commit':
      return { type: 'done', id: msg.id, errors: await plane.commitPrebuilt(msg.version) };
    case 'listen':
      await plane.listen(msg.host, msg.port, msg.fd);
      return { type: 'done', id: msg.id };
    case 'resilience':
    case 'purge-cache':
    case 'shadow-samples':
    case 'clear-shadow-samples':
    case 'metrics':
    case 'recent-errors':
      return (await answerResilienceRequest(plane, msg))!;
    case 'acme-challenge':
      acmeChallenges?.set(msg.token, msg.keyAuthorization);
      return { type: 'done', id: msg.id };
    case 'close':
      await plane.close(msg.graceMs);
      // After the drain: the last requests' lines are written (and the last batch sent) before the thread ends.
      await accessLog?.close();
      await tracing?.shutdown();
      clearInterval(timer);
      stopEvents();
      stopLive();
      if (redis) {
        attachRedis(undefined);
        redis.disconnect();
      }
      return { type: 'done', id: msg.id };
  }
}

port.on('message', (msg: ToWorker) => {
  if (msg.type === 'prepare') {
    plane.prebuild(documentOf(msg.document));
    return;
  }
  if (msg.type === 'discard') {
    plane.discardPrebuilt().catch((err: unknown) => logger.error({ err }, 'rebuilding the live snapshot after a failed write failed'));
    return;
  }
  handle(msg).then(
    (reply) => {
      if (reply.type === 'done' && msg.type !== 'close') port.postMessage({ type: 'stats', stats: server.stats() } satisfies FromWorker);
      port.postMessage(reply);
    },
    (err: unknown) => port.postMessage({ type: 'done', id: msg.id, failure: (err as Error).message } satisfies FromWorker),
  );
});
