/**
 * A small closed-loop load generator for e2e tests: N keep-alive connections sending GETs until stopped,
 * counting every answer by status and every failure (reset, refused, timeout) separately.
 */
import { Agent, request } from 'undici';

export interface LoadResult {
  sent: number;
  byStatus: Record<number, number>;
  failures: string[];
}

export function startLoad(url: string, connections: number): { stop(): Promise<LoadResult> } {
  const agent = new Agent({ connections, keepAliveTimeout: 10_000 });
  const result: LoadResult = { sent: 0, byStatus: {}, failures: [] };
  let running = true;
  async function worker(): Promise<void> {
    while (running) {
      result.sent++;
      try {
        const res = await request(url, { dispatcher: agent, headersTimeout: 10_000, bodyTimeout: 10_000 });
        await res.body.dump();
        result.byStatus[res.statusCode] = (result.byStatus[res.statusCode] ?? 0) + 1;
      } catch (err) {
        if (result.failures.length < 20) result.failures.push((err as Error).message);
        else result.failures.length++;
      }
    }
  }
  const workers = Array.from({ length: connections }, () => worker());
  return {
    async stop() {
      running = false;
      await Promise.all(workers);
      await agent.close();
      return result;
    },
  };
}
