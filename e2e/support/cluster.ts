/** Helpers of the cluster-mode tests: who the workers are, and which worker served a request. */
import { readFileSync } from 'node:fs';

/** Child pids of a process (the cluster primary's workers). */
export function children(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** request id → node id, from the access-log lines printed so far. */
export function servedBy(logs: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of logs.split('\n')) {
    if (!line.startsWith('{') || !line.includes('"request_id"')) continue;
    try {
      const entry = JSON.parse(line) as { request_id?: string; node?: string };
      if (entry.request_id && entry.node) map.set(entry.request_id, entry.node);
    } catch {
      /* a partial line */
    }
  }
  return map;
}
