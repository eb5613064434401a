/**
 * Cost of one access-log line: pino's `logger.info(obj)` (an object per request, pino's serialiser)
 * versus the hand-built line of access-log.ts written to the same pino destination (SonicBoom,
 * asynchronous, to a file). Both produce the same fields. Run from the build:
 * node server/dist/observability/access-log.bench.js
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import type { ProxyRequest } from '../proxy/proxy-request.js';
import { AccessLineFormatter, DEFAULT_ACCESS_LOG_FIELDS } from './access-log.js';

/** A finished request as the observer sees it (the fields the formatter reads). */
function fakeRequest(i: number): ProxyRequest {
  const t = 1000 + i;
  return {
    requestId: `8f0c6a4e-1b2d-4c3e-9f10-${String(i).padStart(12, '0')}`,
    traceId: undefined,
    clientIp: '203.0.113.7',
    consumer: { username: 'acme-mobile', groups: [], tags: [] },
    route: { name: 'orders-api', service: 'orders', tags: [] },
    serviceName: 'orders',
    method: 'GET',
    host: 'api.example.com',
    path: `/orders/${i % 1000}/items`,
    query: '',
    status: 200,
    bytesOut: 1834,
    startedAt: t,
    upstreamStartAt: t + 0.21,
    upstreamHeadAt: t + 3.4,
    upstreamEndAt: t + 3.9,
    endedAt: t + 4.05,
    targetAddress: '10.0.3.12:8080',
    upstreamFailure: undefined,
    errorCode: undefined,
    responseHeaders: { 'content-type': 'application/json' },
    userAgent: 'okhttp/4.12.0',
    declaredBodyLength: 0,
    req: { url: '/orders/1/items' },
  } as unknown as ProxyRequest;
}

const ms3 = (x: number): number => Math.round(x * 1000) / 1000;

function viaPinoInfo(logger: pino.Logger, r: ProxyRequest): void {
  const total = r.endedAt - r.startedAt;
  const up = r.upstreamEndAt - r.upstreamStartAt;
  logger.info({
    request_id: r.requestId,
    node: 'node-1',
    client_ip: r.clientIp,
    consumer: r.consumer?.username,
    route: r.route?.name,
    service: r.serviceName,
    method: r.method,
    host: r.host,
    path: r.path,
    status: r.status,
    bytes_in: 0,
    bytes_out: r.bytesOut,
    latency_ms: ms3(total),
    upstream_latency_ms: ms3(up),
    gateway_latency_ms: ms3(total - up),
    upstream: r.targetAddress,
    user_agent: r.userAgent,
  });
}

function measure(name: string, fn: (i: number) => void, durationMs: number): number {
  for (let i = 0; i < 50_000; i++) fn(i);
  let ops = 0;
  const t0 = performance.now();
  let now = t0;
  while (now - t0 < durationMs) {
    for (let i = 0; i < 5_000; i++) fn(ops + i);
    ops += 5_000;
    now = performance.now();
  }
  const rate = ops / ((now - t0) / 1000);
  console.log(`${name.padEnd(44)} ${Math.round(rate).toLocaleString().padStart(12)} lines/s  ${(1e9 / rate).toFixed(0).padStart(6)} ns/line`);
  return rate;
}

/** The writes pile up in SonicBoom's buffer during a synchronous burst; let them reach the file between bursts. */
async function run(durationMs = 1500): Promise<{ pino: number; hand: number }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-access-bench-'));
  const reqs = Array.from({ length: 1024 }, (_, i) => fakeRequest(i));
  try {
    const destA = pino.destination({ dest: path.join(dir, 'a.log'), sync: false });
    const logger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: () => ({ type: 'access' }) } }, destA);
    const fmt = new AccessLineFormatter(DEFAULT_ACCESS_LOG_FIELDS, 'node-1');
    const destB = pino.destination({ dest: path.join(dir, 'b.log'), sync: false });
    await new Promise((r) => setTimeout(r, 50));
    const results = { pino: 0, hand: 0 };
    for (let round = 0; round < 3; round++) {
      results.pino = Math.max(results.pino, measure('pino logger.info(obj) -> SonicBoom', (i) => viaPinoInfo(logger, reqs[i & 1023]!), durationMs));
      await new Promise((r) => setTimeout(r, 200));
      results.hand = Math.max(results.hand, measure('hand-built line -> SonicBoom (access-log.ts)', (i) => destB.write(fmt.format(reqs[i & 1023]!)), durationMs));
      await new Promise((r) => setTimeout(r, 200));
    }
    // Where the time goes: formatting alone, without the destination.
    let sink = 0;
    measure('hand-built line only (no write)', (i) => (sink += fmt.format(reqs[i & 1023]!).length), durationMs);
    const nullLogger = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: () => ({ type: 'access' }) } }, { write: (x: string) => (sink += x.length) });
    measure('pino logger.info(obj) only (no write)', (i) => viaPinoInfo(nullLogger, reqs[i & 1023]!), durationMs);
    if (sink === 0) throw new Error('nothing formatted');
    console.log(`sample pino line: ${JSON.stringify(JSON.parse((() => { let s = ''; const l = pino({ base: null, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: () => ({ type: 'access' }) } }, { write: (x: string) => (s = x) }); viaPinoInfo(l, reqs[0]!); return s; })()))}`);
    console.log(`sample hand line: ${fmt.format(reqs[0]!).trim()}`);
    destA.end();
    destB.end();
    return results;
  } finally {
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith('access-log.bench.js') || process.argv[1]?.endsWith('access-log.bench.ts')) {
  void run().then((r) => console.log(`hand-built / pino: ${(r.hand / r.pino).toFixed(2)}x`));
}
