/**
 * Consul catalog discovery: the instances of a service whose checks all pass
 * (`GET /v1/health/service/<name>?passing=true`), followed with blocking queries (`index` = the last
 * `X-Consul-Index`, `wait`). Following Consul's rules for blocking clients
 * (https://developer.hashicorp.com/consul/api-docs/features/blocking):
 *
 * - an index that goes backwards (a restored snapshot, a new leader with a reset store) resets it to 0, so
 *   the next query answers at once instead of blocking on an index that may never come;
 * - an index of 0 or less from Consul is treated as 1, so the loop keeps blocking instead of spinning;
 * - queries start at most every MIN_GAP_MS, since an answer may come back at once without a change;
 * - a failure backs off (0.5 s doubling to 30 s), resets the index and keeps the last known targets.
 *
 * Every successful answer is complete and authoritative: a service without passing instances empties the
 * discovered targets.
 */
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import type { ConsulDiscoveryConfig } from './consul-schema.js';
import type { DiscoveredTarget, DiscoveryProvider, DiscoverySink } from '../types.js';
import { formatTarget } from '../registry.js';
import { RetryingWatch } from './retrying-watch.js';

export const DEFAULT_CONSUL_ADDR = 'http://127.0.0.1:8500';
const MIN_GAP_MS = 200;

/** The part of one `/v1/health/service` entry this provider reads. */
export interface ConsulServiceEntry {
  Node?: { Node?: string; Address?: string } | null;
  Service?: { ID?: string; Service?: string; Address?: string; Port?: number; Weights?: { Passing?: number; Warning?: number } | null } | null;
}

const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;

/** One entry as a target, or the reason it cannot be one. */
export function targetOfEntry(entry: ConsulServiceEntry, defaultWeight: number): { target: DiscoveredTarget } | { skipped: string } {
  const s = entry.Service ?? {};
  const id = s.ID || s.Service || '?';
  const host = (s.Address || entry.Node?.Address || '').trim().replace(/\.$/, '');
  if (!host) return { skipped: `${id}: no address` };
  if (!isIP(host) && !HOSTNAME.test(host)) return { skipped: `${id}: address '${host}' is not a host` };
  const port = s.Port;
  if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) return { skipped: `${id}: no port` };
  const w = s.Weights?.Passing;
  const weight = typeof w === 'number' && Number.isInteger(w) && w >= 0 ? Math.min(w, 65535) : defaultWeight;
  return { target: { target: formatTarget(host, port), weight } };
}

/** The index for the next query, from the one sent and the one Consul answered with. */
export function nextIndex(sent: number, answered: number): number {
  if (answered < sent) return 0;
  return answered > 0 ? answered : 1;
}

class ConsulWatch extends RetryingWatch {
  protected readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 2 });
  private readonly base: string;
  private index = 0;

  constructor(
    private readonly config: ConsulDiscoveryConfig,
    address: string,
    private readonly token: string | undefined,
    sink: DiscoverySink,
  ) {
    super(sink);
    this.base = address.replace(/\/$/, '');
    this.start();
  }

  private url(): string {
    const q = new URLSearchParams({ passing: 'true' });
    if (this.config.tag) q.set('tag', this.config.tag);
    if (this.config.dc) q.set('dc', this.config.dc);
    if (this.index > 0) {
      q.set('index', String(this.index));
      q.set('wait', `${Math.ceil(this.config.wait / 1000)}s`);
    }
    return `${this.base}/v1/health/service/${encodeURIComponent(this.config.service)}?${q.toString()}`;
  }

  protected async loop(): Promise<void> {
    while (!this.stopped) {
      const started = Date.now();
      try {
        await this.query();
        const gap = started + MIN_GAP_MS - Date.now();
        if (gap > 0) await this.sleep(gap);
      } catch (err) {
        if (this.stopped) return;
        // Consul may come back with a store whose index is lower: start over with a query that answers at once.
        this.index = 0;
        await this.retryAfter(err, `consul ${this.base}`);
      }
    }
  }

  private async query(): Promise<void> {
    const blocking = this.index > 0;
    // Consul adds up to wait/16 of jitter to a blocking query.
    const timeout = this.config.timeout + (blocking ? this.config.wait + Math.ceil(this.config.wait / 16) : 0);
    const res = await request(this.url(), {
      method: 'GET',
      headers: this.token ? { 'x-consul-token': this.token } : {},
      dispatcher: this.agent,
      signal: this.abort.signal,
      headersTimeout: timeout,
      bodyTimeout: this.config.timeout,
    });
    if (res.statusCode !== 200) {
      const text = (await res.body.text()).trim().slice(0, 300);
      throw new Error(`/v1/health/service/${this.config.service} answered ${res.statusCode}${text ? `: ${text}` : ''}`);
    }
    const header = res.headers['x-consul-index'];
    const answered = Number(Array.isArray(header) ? header[0] : header);
    const entries = (await res.body.json()) as ConsulServiceEntry[];
    if (!Number.isFinite(answered)) throw new Error('answer without an X-Consul-Index header');
    if (!Array.isArray(entries)) throw new Error('answer is not a list');
    if (this.stopped) return;
    this.index = nextIndex(this.index, answered);
    this.failures = 0;
    const targets: DiscoveredTarget[] = [];
    const skipped: string[] = [];
    for (const e of entries) {
      const v = targetOfEntry(e, this.config.weight);
      if ('target' in v) targets.push(v.target);
      else skipped.push(v.skipped);
    }
    const notes: string[] = [];
    if (skipped.length) notes.push(`instances of ${this.config.service} skipped: ${skipped.join('; ')}`);
    // A token without service:read gets an empty list rather than an error; say so, it looks like an outage.
    if (res.headers['x-consul-results-filtered-by-acls'] === 'true') notes.push('Consul filtered instances out by ACL: the token (GATEHOUSE_CONSUL_TOKEN) lacks service:read or node:read');
    this.sink.update(targets, { skipped: skipped.length, ...(notes.length ? { note: notes.join('. ') } : {}) });
  }

}

export const consulProvider: DiscoveryProvider<ConsulDiscoveryConfig> = {
  name: 'consul',
  watch(_upstream, config, sink, defaults) {
    return new ConsulWatch(config, config.address ?? defaults.consulAddr ?? DEFAULT_CONSUL_ADDR, defaults.consulToken, sink);
  },
};
