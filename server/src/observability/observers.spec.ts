import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryLogger, send, startGateway, startUpstream, type Gateway, type Upstream } from '../proxy/test-support/harness.js';
import type { ProxyRequest, RequestObserver } from '../proxy/proxy-request.js';
import { composeObservers } from './observers.js';
import { AccessLineFormatter, wallClockOf } from './access-log.js';

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

function recorder(name: string, calls: string[], opts: { throwOn?: string } = {}): RequestObserver {
  return {
    begin(req) {
      calls.push(`${name}.begin ${req.requestId}`);
    },
    end(req) {
      calls.push(`${name}.end ${req.requestId}`);
      if (req.requestId === opts.throwOn) throw new Error(`${name} fails on ${req.requestId}`);
    },
  };
}

const fake = (requestId: string): ProxyRequest => ({ requestId }) as unknown as ProxyRequest;

describe('composeObservers', () => {
  it('runs begin in line and hands the requests ended in one loop turn to each observer in turn', async () => {
    const calls: string[] = [];
    const o = composeObservers([recorder('a', calls), recorder('b', calls)], new MemoryLogger())!;
    o.begin(fake('r1'));
    expect(calls).toEqual(['a.begin r1', 'b.begin r1']);
    calls.length = 0;
    o.end(fake('r1'));
    o.end(fake('r2'));
    expect(calls).toEqual([]);
    await turn();
    expect(calls).toEqual(['a.end r1', 'a.end r2', 'b.end r1', 'b.end r2']);
    calls.length = 0;
    // The next turn's requests are a batch of their own.
    o.end(fake('r3'));
    await turn();
    expect(calls).toEqual(['a.end r3', 'b.end r3']);
  });

  it('logs an observer that throws and still runs it and the others for the rest of the batch', async () => {
    const calls: string[] = [];
    const logger = new MemoryLogger();
    const o = composeObservers([recorder('a', calls, { throwOn: 'r1' }), recorder('b', calls)], logger)!;
    o.end(fake('r1'));
    o.end(fake('r2'));
    await turn();
    expect(calls).toEqual(['a.end r1', 'a.end r2', 'b.end r1', 'b.end r2']);
    expect(logger.lines.filter((l) => l.msg === 'request observer failed').map((l) => (l.obj as { request_id: string }).request_id)).toEqual(['r1']);
  });

  it('endHeld runs what is held at once, and the scheduled turn then finds nothing', async () => {
    const calls: string[] = [];
    const o = composeObservers([recorder('a', calls), recorder('b', calls)], new MemoryLogger())!;
    o.end(fake('r1'));
    o.endHeld!();
    expect(calls).toEqual(['a.end r1', 'b.end r1']);
    await turn();
    expect(calls).toHaveLength(2);
  });

  it('gives a lone observer its calls in line', () => {
    const calls: string[] = [];
    const a = recorder('a', calls);
    expect(composeObservers([a], new MemoryLogger())).toBe(a);
    expect(composeObservers([], new MemoryLogger())).toBeUndefined();
  });
});

describe('deferred observers in the proxy', () => {
  let up: Upstream;
  let gw: Gateway;
  const calls: string[] = [];
  let flushes = 0;

  beforeAll(async () => {
    up = await startUpstream((_req, res) => res.end('ok'));
    const composite = composeObservers([recorder('a', calls), recorder('b', calls)], new MemoryLogger())!;
    const observer: RequestObserver = {
      begin: (req) => composite.begin(req),
      end: (req) => composite.end(req),
      endHeld() {
        flushes++;
        composite.endHeld!();
      },
    };
    gw = await startGateway({ services: [{ name: 's', url: `http://${up.address}` }], routes: [{ name: 'r', service: 's', paths: ['/'] }] }, [], { observer });
  });
  afterAll(async () => {
    await up.close();
  });

  it('ends every request, and closing the proxy runs the ends it holds (the access log closes right after)', async () => {
    for (let i = 0; i < 5; i++) expect((await send(gw.port, `/x${i}`)).status).toBe(200);
    for (let i = 0; i < 100 && calls.filter((c) => c.startsWith('b.end')).length < 5; i++) await new Promise((r) => setTimeout(r, 5));
    expect(calls.filter((c) => c.startsWith('a.end'))).toHaveLength(5);
    expect(calls.filter((c) => c.startsWith('b.end'))).toHaveLength(5);
    expect(flushes).toBe(0);
    await gw.close();
    expect(flushes).toBe(1);
  });
});

describe('the access log time of a deferred line', () => {
  it('is the wall-clock time of the request end, not of the formatting', () => {
    const fmt = new AccessLineFormatter(['time', 'status'], 'n');
    // performance.now() counts from this worker's start: a time 300 ms back is still positive here.
    const endedAt = performance.now() - 300;
    expect(endedAt).toBeGreaterThan(0);
    const line = JSON.parse(fmt.format({ endedAt, startedAt: endedAt - 1, status: 200, req: { url: '/' } } as unknown as ProxyRequest)) as { time: string };
    const expected = Date.now() - 300;
    expect(Math.abs(Date.parse(line.time) - expected)).toBeLessThan(30);
    expect(Math.abs(wallClockOf(performance.now()) - Date.now())).toBeLessThanOrEqual(2);
  });
});
