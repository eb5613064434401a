import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deadPort, send, startGateway, startUpstream, type Gateway, type Upstream } from './test-support/harness.js';
import type { ProxyRequest, RequestObserver } from './proxy-request.js';

interface Seen {
  begun: boolean;
  status: number;
  route: string | undefined;
  code: string | undefined;
  failure: string | undefined;
  target: string | undefined;
  bytesOut: number;
  t: number[];
}

describe('request observer', () => {
  let up: Upstream;
  let gw: Gateway;
  const seen: Seen[] = [];
  const begun = new Set<ProxyRequest>();
  const observer: RequestObserver = {
    begin(req) {
      begun.add(req);
    },
    end(req) {
      seen.push({
        begun: begun.delete(req),
        status: req.status,
        route: req.route?.name,
        code: req.errorCode,
        failure: req.upstreamFailure,
        target: req.targetAddress,
        bytesOut: req.bytesOut,
        t: [req.startedAt, req.routedAt, req.accessDoneAt, req.upstreamPhaseDoneAt, req.upstreamStartAt, req.upstreamHeadAt, req.upstreamEndAt, req.endedAt],
      });
    },
  };

  beforeAll(async () => {
    up = await startUpstream((_req, res) => res.end('twelve bytes'));
    const dead = await deadPort();
    gw = await startGateway(
      {
        services: [
          { name: 'ok', url: `http://${up.address}` },
          { name: 'gone', url: `http://127.0.0.1:${dead}` },
        ],
        routes: [
          { name: 'ok', service: 'ok', paths: ['/ok'] },
          { name: 'gone', service: 'gone', paths: ['/gone'] },
        ],
      },
      [],
      { observer },
    );
  });
  afterAll(async () => {
    await gw.close();
    await up.close();
  });

  const last = async (): Promise<Seen> => {
    // `end` runs when the response's connection side is done; give it a turn.
    for (let i = 0; i < 50 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    return seen.shift()!;
  };

  it('sees a proxied request begin and end, with ordered timings and the bytes sent', async () => {
    expect((await send(gw.port, '/ok')).body).toBe('twelve bytes');
    const s = await last();
    expect(s).toMatchObject({ begun: true, status: 200, route: 'ok', code: undefined, failure: undefined, target: up.address, bytesOut: 12 });
    for (let i = 1; i < s.t.length; i++) expect(s.t[i], `timing ${i}`).toBeGreaterThanOrEqual(s.t[i - 1]!);
  });

  it('sees the gateway’s own answers with their code, and upstream failures with their kind', async () => {
    const miss = await send(gw.port, '/nowhere');
    const s1 = await last();
    expect(s1).toMatchObject({ begun: true, status: 404, route: undefined, code: 'GW_ERR_ROUTE_NOT_FOUND', bytesOut: Buffer.byteLength(miss.body) });
    expect(s1.t[1]).toBe(0);
    await send(gw.port, '/gone');
    const s2 = await last();
    expect(s2).toMatchObject({ status: 502, route: 'gone', code: 'GW_ERR_UPSTREAM_UNAVAILABLE', failure: 'connect' });
    expect(s2.t[5]).toBe(0);
    expect(s2.t[6]).toBeGreaterThan(0);
  });
});
