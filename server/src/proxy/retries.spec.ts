import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send, startGateway, startUpstream, type Gateway, type Upstream } from './test-support/harness.js';

/** Two targets: `bad` answers 503 (or whatever `badStatus` says), `good` answers 200 with its name. */
describe('retries on upstream statuses, with a retry budget', () => {
  let bad: Upstream;
  let good: Upstream;
  let gw: Gateway;
  let badStatus = 503;

  beforeAll(async () => {
    bad = await startUpstream((req, res) => {
      req.resume();
      res.statusCode = badStatus;
      res.end('bad');
    });
    good = await startUpstream((req, res) => {
      req.resume();
      res.end('good');
    });
  });
  afterAll(async () => {
    await gw?.close();
    await bad.close();
    await good.close();
  });

  function doc(service: Record<string, unknown>): unknown {
    return {
      upstreams: [{ name: 'pair', algorithm: 'round-robin', targets: [{ target: bad.address }, { target: good.address }] }],
      services: [{ name: 's', url: 'http://pair', ...service }],
      routes: [{ name: 'r', service: 's', paths: ['/'] }],
    };
  }

  it('retries a listed status on the other target for idempotent methods', async () => {
    gw = await startGateway(doc({ retries: 1, retry_on_statuses: [503] }));
    for (let i = 0; i < 6; i++) {
      const r = await send(gw.port, '/x');
      expect(r.status).toBe(200);
      expect(r.body).toBe('good');
    }
  });

  it('does not retry a POST, nor a status that is not listed', async () => {
    gw.apply(doc({ retries: 1, retry_on_statuses: [503] }));
    const posts = await Promise.all([0, 1, 2, 3].map(() => send(gw.port, '/x', { method: 'POST', body: 'b' })));
    expect(posts.map((r) => r.status).sort()).toEqual([200, 200, 503, 503]);
    badStatus = 500;
    try {
      const gets = await Promise.all([0, 1, 2, 3].map(() => send(gw.port, '/x')));
      expect(gets.map((r) => r.status).sort()).toEqual([200, 200, 500, 500]);
    } finally {
      badStatus = 503;
    }
  });

  it('stops retrying when the budget is spent, and answers the status as it came', async () => {
    // Ratio 0 and one retry per second over the 10 s window: ten retries, then none.
    gw.apply(doc({ retries: 1, retry_on_statuses: [503], retry_budget: { ratio: 0, min_per_second: 1 } }));
    const statuses: number[] = [];
    for (let i = 0; i < 40; i++) statuses.push((await send(gw.port, '/x')).status);
    const failures = statuses.filter((s) => s === 503).length;
    // While the budget lasts, every request hits the bad target and its retry the good one (the retry takes
    // the good target's turn); the first 10 succeed that way. Then the targets alternate: 15 of the other 30
    // hit the bad one, and each is refused a retry.
    expect(statuses.slice(0, 10).every((s) => s === 200)).toBe(true);
    expect(failures).toBe(15);
    const s = gw.proxy.snapshot.services.get('s')!;
    expect(s.retryBudget!.exhausted).toBe(15);
  });
});
