/**
 * The resilience admin API against the real process: the proxy runs in its worker thread, so /resilience,
 * /metrics, /proxy-cache and /events go through the worker protocol (request/answer and pushed events).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_TOKEN, startGateway, type Gateway } from '../support/gateway.js';
import { freePort } from '../support/ports.js';

/** Reads an SSE response body into a string as it arrives. */
function reader(res: Response): { text: () => string; waitFor: (re: RegExp, ms?: number) => Promise<string>; cancel: () => Promise<void> } {
  let buf = '';
  const r = res.body!.getReader();
  const dec = new TextDecoder();
  const pump = (async () => {
    for (;;) {
      const { done, value } = await r.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      buf += dec.decode(value, { stream: true });
    }
  })();
  return {
    text: () => buf,
    async waitFor(re, ms = 10_000) {
      const end = Date.now() + ms;
      for (;;) {
        const m = re.exec(buf);
        if (m) return m[0];
        if (Date.now() > end) throw new Error(`no ${re} in ${JSON.stringify(buf)}`);
        await new Promise((x) => setTimeout(x, 25));
      }
    },
    async cancel() {
      await r.cancel().catch(() => undefined);
      await pump;
    },
  };
}

describe('resilience admin API (worker data plane)', () => {
  let gw: Gateway;

  beforeAll(async () => {
    gw = await startGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('reports a breaker opened by real traffic as an event, in /resilience and in /metrics', async () => {
    const events = await fetch(`${gw.adminUrl}/events`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(events.status).toBe(200);
    expect(events.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    const sse = reader(events);
    await sse.waitFor(/: connected/);

    const dead = await freePort();
    const json = { 'content-type': 'application/json' };
    expect((await gw.admin('/services', { method: 'POST', headers: json, body: JSON.stringify({ name: 'dead', url: `http://127.0.0.1:${dead}` }) })).status).toBe(201);
    expect((await gw.admin('/routes', { method: 'POST', headers: json, body: JSON.stringify({ name: 'dead', service: 'dead', paths: ['/dead'] }) })).status).toBe(201);
    const plugin = { name: 'circuit-breaker', route: 'dead', config: { volume_threshold: 2, error_threshold_percentage: 50, reset_timeout: 60_000 } };
    const created = await gw.admin('/plugins', { method: 'POST', headers: json, body: JSON.stringify(plugin) });
    expect(created.status, await created.clone().text()).toBe(201);
    // Each write applied a config version, announced by the control thread.
    await sse.waitFor(/event: config\ndata: \{"kind":"config"/);

    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await fetch(`${gw.proxyUrl}/dead`)).status);
    expect(statuses.at(-1)).toBe(503);

    const frame = await sse.waitFor(/event: circuit-breaker\ndata: .*\n\n/);
    expect(JSON.parse(/data: (.*)/.exec(frame)![1]!)).toMatchObject({ kind: 'circuit-breaker', to: 'open', from: 'closed' });

    const view = (await (await gw.admin('/resilience')).json()) as { breakers: unknown[]; events: { subscribers: number } };
    expect(view.breakers).toEqual([expect.objectContaining({ state: 'open', transitions: expect.objectContaining({ opened: 1 }) })]);
    expect(view.events.subscribers).toBe(1);

    const metrics = await gw.admin('/metrics');
    expect(metrics.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
    const text = await metrics.text();
    expect(text).toMatch(/^gatehouse_circuit_breaker_state\{breaker="[^"]+",group="[^"]+"\} 2$/m);
    expect(text).toMatch(/^gatehouse_circuit_breaker_transitions_total\{group="[^"]+",to="open"\} 1$/m);
    expect(text).toMatch(/^gatehouse_requests_total [1-9]\d*$/m);
    // The proxy thread's request metrics (its own prom-client registry) come through the worker as well.
    expect(text).toMatch(/^gatehouse_http_requests_total\{route="dead",service="dead",code_class="5xx"\} 4$/m);
    expect(text).toMatch(/^gatehouse_http_request_duration_seconds_bucket\{route="dead",service="dead",le="\+Inf"\} 4$/m);
    expect(text).toMatch(/^gatehouse_config_reloads_total [1-9]\d*$/m);
    expect(text).toContain('# TYPE process_resident_memory_bytes gauge');
    await sse.cancel();
  });

  it('purges the cache through the worker', async () => {
    // No content-type on a body-less DELETE (gw.admin sets application/json, which Fastify wants a body for).
    const del = (p: string) => fetch(`${gw.adminUrl}${p}`, { method: 'DELETE', headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
    expect(((await (await gw.admin('/proxy-cache')).json()) as { entries: number }).entries).toBe(0);
    const all = await del('/proxy-cache');
    expect(all.status).toBe(200);
    expect(await all.json()).toEqual({ purged: 0 });
    const one = await del(`/proxy-cache/${'f'.repeat(64)}`);
    expect(one.status).toBe(404);
    expect(((await one.json()) as { code: string }).code).toBe('GW_ERR_ADMIN_NOT_FOUND');
  });
});
