/**
 * OpenTelemetry tracing through the real gateway process: a stand-in OTLP/HTTP receiver records what the
 * gateway's exporter sends, a real upstream echoes the headers it received. The batch delay is set far
 * beyond the test, so the spans only arrive through the flush on graceful shutdown, which is under test too.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OtlpReceiver, KIND } from '../support/otlp-receiver.js';
import { startUpstream, type Upstream } from '../support/upstream.js';
import { startFileGateway, type FileGateway } from './resilience-helpers.js';

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');
const TP = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;

interface Echo {
  headers: Record<string, string | undefined>;
}

describe('tracing (real gateway process, OTLP/HTTP to a stand-in receiver)', () => {
  let receiver: OtlpReceiver;
  let up: Upstream;
  let gw: FileGateway;
  const callerTrace = hex(16);
  const callerSpan = hex(8);
  const seen: { sampled?: { traceId: string; parentId: string; requestId: string; echo: Echo }; unsampled?: { traceId: string; parentId: string; requestId: string }; fresh?: string } = {};

  beforeAll(async () => {
    receiver = await OtlpReceiver.start();
    up = await startUpstream('traced');
    gw = await startFileGateway(
      { services: [{ name: 'traced', url: up.url }], routes: [{ name: 'traced-route', service: 'traced', paths: ['/t'] }],
        // An access-phase plugin, so the trace has that phase's span (phases without plugins get none).
        plugins: [{ name: 'request-transformer', route: 'traced-route', config: { add: { headers: { 'x-e2e': '1' } } } }] },
      {
        GATEHOUSE_OTLP_ENDPOINT: `http://127.0.0.1:${receiver.port}`,
        GATEHOUSE_TRACE_SAMPLE_RATIO: '0',
        GATEHOUSE_TRACE_PROPAGATION: 'w3c,b3',
        OTEL_SERVICE_NAME: 'gatehouse-e2e',
        OTEL_BSP_SCHEDULE_DELAY: '600000',
        GATEHOUSE_NODE_ID: 'e2e-node',
        GATEHOUSE_LOG_LEVEL: 'info',
      },
    );
  });
  afterAll(async () => {
    await gw?.cleanup();
    await up?.close();
    await receiver?.close();
  });

  it('propagates the caller’s sampled trace upstream with the gateway as parent (W3C and B3)', async () => {
    const r = await fetch(`${gw.proxyUrl}/t/a`, { headers: { traceparent: `00-${callerTrace}-${callerSpan}-01`, tracestate: 'e2e=1' } });
    expect(r.status).toBe(200);
    const echo = (await r.json()) as Echo;
    const m = TP.exec(echo.headers.traceparent ?? '');
    expect(m, echo.headers.traceparent).not.toBeNull();
    expect(m![1]).toBe(callerTrace);
    expect(m![3]).toBe('01');
    expect(echo.headers.tracestate).toBe('e2e=1');
    expect(echo.headers.b3).toBe(`${callerTrace}-${m![2]}-1`);
    seen.sampled = { traceId: m![1]!, parentId: m![2]!, requestId: r.headers.get('x-request-id')!, echo };
  });

  it('keeps an unsampled trace going (flag 00) and gives new traces ids at ratio 0', async () => {
    const t = hex(16);
    const r = await fetch(`${gw.proxyUrl}/t/b`, { headers: { traceparent: `00-${t}-${hex(8)}-00` } });
    const m = TP.exec(((await r.json()) as Echo).headers.traceparent ?? '')!;
    expect(m[1]).toBe(t);
    expect(m[3]).toBe('00');
    seen.unsampled = { traceId: t, parentId: m[2]!, requestId: r.headers.get('x-request-id')! };
    const fresh = TP.exec(((await (await fetch(`${gw.proxyUrl}/t/c`)).json()) as Echo).headers.traceparent ?? '')!;
    expect(fresh[3]).toBe('00');
    seen.fresh = fresh[1];
  });

  it('exports the sampled request’s spans on graceful shutdown, and only those; the access log carries the trace id', async () => {
    expect(receiver.spans).toHaveLength(0); // the batch delay has not passed
    // A graceful stop exits 0 (the worker's terminate() code once made it 1, logged as a crash).
    expect(await gw.stop()).toBe(0);
    const spans = receiver.trace(callerTrace);
    expect(spans.map((s) => s.name).sort()).toEqual(['GET', 'GET traced-route', 'gatehouse.access']);
    expect(receiver.spans).toHaveLength(spans.length);
    const server = spans.find((s) => s.kind === KIND.SERVER)!;
    expect(server.parentSpanId).toBe(callerSpan);
    expect(server.traceState).toBe('e2e=1');
    expect(server.attributes).toMatchObject({ 'http.route': 'traced-route', 'http.response.status_code': 200, 'gatehouse.request_id': seen.sampled!.requestId, 'url.path': '/t/a' });
    expect(server.resource).toMatchObject({ 'service.name': 'gatehouse-e2e', 'service.instance.id': 'e2e-node' });
    const client = spans.find((s) => s.kind === KIND.CLIENT)!;
    expect(client.spanId).toBe(seen.sampled!.parentId);
    expect(client.parentSpanId).toBe(server.spanId);
    expect(client.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': up.port });
    expect(receiver.requests.every((q) => q.path === '/v1/traces' && q.contentType?.startsWith('application/json'))).toBe(true);

    // Every request's access-log line names its trace, sampled or not.
    const line = (requestId: string): Record<string, unknown> | undefined =>
      gw
        .logs()
        .split('\n')
        .filter((l) => l.includes(requestId) && l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l.trace_id !== undefined);
    expect(line(seen.sampled!.requestId)?.trace_id).toBe(callerTrace);
    expect(line(seen.unsampled!.requestId)?.trace_id).toBe(seen.unsampled!.traceId);
  });
});
