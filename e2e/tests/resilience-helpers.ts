/**
 * Shared by the resilience e2e files: a DB-less gateway started from a JSON document, an HTTP client that
 * reports transport errors instead of throwing, and a polling helper. Not a test file itself (no `.e2e.`).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { expect } from 'vitest';
import { Agent, request } from 'undici';
import { startGateway, type Gateway } from '../support/gateway.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  ms: number;
  /** Set when the exchange broke (no head, or the body was cut short): the transport error's code or message. */
  error?: string;
}

export interface Problem {
  code: string;
  status: number;
  detail?: string;
}

// One pooled client per file process; sequential calls reuse the connection, as a real client would.
export const agent = new Agent({ connections: 128, keepAliveTimeout: 10_000, pipelining: 1 });

export interface CallOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  signal?: AbortSignal;
}

export async function call(base: string, pathname: string, opts: CallOptions = {}): Promise<Reply> {
  const t0 = performance.now();
  let status = 0;
  let headers: Reply['headers'] = {};
  try {
    const r = await request(`${base}${pathname}`, { dispatcher: agent, method: (opts.method ?? 'GET') as 'GET', headers: opts.headers, body: opts.body, signal: opts.signal });
    status = r.statusCode;
    headers = r.headers;
    const body = await r.body.text();
    return { status, headers, body, ms: performance.now() - t0 };
  } catch (err) {
    const e = err as { code?: string; message: string };
    return { status, headers, body: '', ms: performance.now() - t0, error: e.code ?? e.message };
  }
}

export function problemOf(r: Reply): Problem {
  expect(r.headers['content-type'], r.body).toMatch(/^application\/problem\+json/);
  return JSON.parse(r.body) as Problem;
}

/** The name the test upstream (support/upstream.ts) put in its JSON answer, or undefined for anything else. */
export function upstreamOf(r: Reply): string | undefined {
  if (r.status !== 200 || !String(r.headers['content-type']).startsWith('application/json')) return undefined;
  return (JSON.parse(r.body) as { upstream?: string }).upstream;
}

/** Says so when an admin endpoint a check relies on is absent, so a skipped check is visible in the output. */
export function missing(what: string): undefined {
  console.warn(`[resilience e2e] ${what} answered 404: endpoint-based assertions skipped`);
  return undefined;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls until `check` holds; fails with `what` after `ms`. */
export async function until(what: string, check: () => Promise<boolean> | boolean, ms = 5_000, every = 25): Promise<number> {
  const t0 = Date.now();
  while (!(await check())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for: ${what}`);
    await sleep(every);
  }
  return Date.now() - t0;
}

export interface FileGateway extends Gateway {
  cleanup(): Promise<void>;
}

/** Starts the real gateway DB-less on `doc` (GATEWAY_CONFIG). */
export async function startFileGateway(doc: object, env: Record<string, string> = {}): Promise<FileGateway> {
  const dir = mkdtempSync(path.join(tmpdir(), 'gh-e2e-res-'));
  const file = path.join(dir, 'gatehouse.json');
  writeFileSync(file, JSON.stringify({ _format_version: '1', ...doc }, null, 2));
  const gw = await startGateway({ env: { GATEWAY_CONFIG: file, GATEHOUSE_LOG_LEVEL: 'warn', ...env } });
  return Object.assign(gw, {
    async cleanup() {
      await gw.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  });
}

/**
 * The admin API's view of breakers (GET /resilience), or undefined while that endpoint does not exist in
 * this build. Shape as in server/src/resilience/circuit-breaker.ts `BreakerView`.
 */
export interface BreakerView {
  group: string;
  state: 'closed' | 'open' | 'half-open';
  transitions: { opened: number; half_opened: number; closed: number };
  recent: { from: string; to: string; at: number }[];
}

export async function breakers(gw: Gateway): Promise<BreakerView[] | undefined> {
  const r = await gw.admin('/resilience');
  if (r.status === 404) return missing('GET /resilience');
  expect(r.status).toBe(200);
  const body = (await r.json()) as { breakers?: BreakerView[] } | BreakerView[];
  return Array.isArray(body) ? body : (body.breakers ?? []);
}

export interface GatewayEventSeen {
  kind: string;
  group?: string;
  from?: string;
  to?: string;
  upstream?: string;
  target?: string;
  up?: boolean;
}

export interface EventFeed {
  events: GatewayEventSeen[];
  close(): void;
}

/**
 * Subscribes to GET /events (SSE) and collects the events as they arrive; undefined while the endpoint
 * does not exist in this build.
 */
export async function subscribeEvents(gw: Gateway): Promise<EventFeed | undefined> {
  const ac = new AbortController();
  const r = await gw.admin('/events', { signal: ac.signal, headers: { accept: 'text/event-stream' } });
  if (r.status === 404) {
    ac.abort();
    return missing('GET /events');
  }
  expect(r.status).toBe(200);
  expect(r.headers.get('content-type')).toMatch(/^text\/event-stream/);
  const events: GatewayEventSeen[] = [];
  const decoder = new TextDecoder();
  let buf = '';
  void (async () => {
    try {
      for await (const chunk of r.body as unknown as AsyncIterable<Uint8Array>) {
        buf += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data: '))
            .map((l) => l.slice(6))
            .join('\n');
          if (data !== '') events.push(JSON.parse(data) as GatewayEventSeen);
        }
      }
    } catch {
      /* aborted */
    }
  })();
  return { events, close: () => ac.abort() };
}
