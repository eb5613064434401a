/**
 * etcd discovery through etcd's v3 HTTP/JSON gateway (`/v3/kv/range`, `/v3/watch`; etcd 3.4+), so no gRPC
 * stack is needed: list the prefix, then watch it from the next revision. The watch is a long-lived POST
 * whose body streams one JSON object per line. When the watch breaks (connection lost, the revision was
 * compacted, etcd restarted) the prefix is listed again and a new watch starts from there, so no event
 * can be missed. While etcd cannot be reached the last known targets stay and the error is reported.
 */
import { Agent, request } from 'undici';
import type { EtcdDiscoveryConfig } from '../schema.js';
import type { DiscoveredTarget, DiscoveryProvider, DiscoverySink } from '../types.js';
import { formatTarget } from '../registry.js';
import { RetryingWatch } from './retrying-watch.js';

/** Watch lines above this size are refused: a value that large is not an address. */
const MAX_LINE = 4 * 1024 * 1024;

const b64 = (s: string) => Buffer.from(s, 'utf8').toString('base64');
const unb64 = (s: string | undefined) => (s ? Buffer.from(s, 'base64').toString('utf8') : '');

/** The range end that makes `[prefix, end)` the keys starting with `prefix` (etcd's clientv3.GetPrefixRangeEnd). */
export function prefixRangeEnd(prefix: string): string {
  const bytes = Buffer.from(prefix, 'utf8');
  for (let i = bytes.length - 1; i >= 0; i--) {
    if (bytes[i]! < 0xff) {
      const end = Buffer.from(bytes.subarray(0, i + 1));
      end[i]!++;
      return end.toString('base64');
    }
  }
  return b64('\0');
}

const HOST_PORT = /^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):([0-9]{1,5})$/;

function fromAddress(address: string): string | undefined {
  const a = address.trim();
  if (HOST_PORT.test(a)) return a;
  if (/^https?:\/\//.test(a)) {
    try {
      const u = new URL(a);
      const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
      const host = u.hostname.startsWith('[') ? u.hostname.slice(1, -1) : u.hostname;
      return formatTarget(host, port);
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** One etcd entry as a target, or undefined when it cannot be read (see EtcdDiscoverySchema's `prefix`). */
export function targetOfEntry(key: string, value: string, defaultWeight: number): DiscoveredTarget | undefined {
  const last = key.slice(key.lastIndexOf('/') + 1);
  const v = value.trim();
  if (v.startsWith('{')) {
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(v) as Record<string, unknown>;
    } catch {
      return undefined;
    }
    const weight = typeof o.weight === 'number' && Number.isInteger(o.weight) && o.weight >= 0 && o.weight <= 65535 ? o.weight : defaultWeight;
    let target: string | undefined;
    if (typeof o.address === 'string') target = fromAddress(o.address);
    else if (typeof o.host === 'string' && typeof o.port === 'number') target = fromAddress(formatTarget(o.host, o.port));
    else if (o.address === undefined && o.host === undefined) target = fromAddress(last);
    return target ? { target, weight } : undefined;
  }
  const target = fromAddress(v === '' ? last : v);
  return target ? { target, weight: defaultWeight } : undefined;
}

interface KeyValue {
  key?: string;
  value?: string;
  mod_revision?: string;
}

interface WatchLine {
  result?: {
    header?: { revision?: string };
    created?: boolean;
    canceled?: boolean;
    compact_revision?: string;
    cancel_reason?: string;
    events?: { type?: 'PUT' | 'DELETE'; kv?: KeyValue }[];
  };
  error?: { message?: string; grpc_code?: number; http_code?: number };
}

class WatchEnded extends Error {}

class EtcdWatch extends RetryingWatch {
  protected readonly agent = new Agent({ keepAliveTimeout: 10_000, connections: 4 });
  private readonly entries = new Map<string, string>();
  private endpoint = 0;

  constructor(
    private readonly config: EtcdDiscoveryConfig,
    private readonly endpoints: readonly string[],
    sink: DiscoverySink,
  ) {
    super(sink);
    this.start();
  }

  private url(path: string): string {
    return this.endpoints[this.endpoint % this.endpoints.length]!.replace(/\/$/, '') + path;
  }

  protected async loop(): Promise<void> {
    while (!this.stopped) {
      try {
        const revision = await this.list();
        await this.watch(revision + 1);
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof WatchEnded) {
          // Compaction or a clean end of the stream: list again, no error to report (the pause bounds a
          // server that keeps ending streams at once).
          await this.sleep(200);
          continue;
        }
        this.endpoint++;
        await this.retryAfter(err, `etcd ${this.url('')}`);
      }
    }
  }

  private async post(path: string, body: unknown, timeoutMs: number | null): Promise<Awaited<ReturnType<typeof request>>> {
    const res = await request(this.url(path), {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { 'content-type': 'application/json' },
      dispatcher: this.agent,
      signal: this.abort.signal,
      headersTimeout: timeoutMs ?? this.config.timeout,
      // The watch stays open for as long as etcd keeps it; undici's default would cut a quiet one after 5 minutes.
      bodyTimeout: timeoutMs ?? 0,
    });
    if (res.statusCode !== 200) {
      const text = (await res.body.text()).slice(0, 300);
      throw new Error(`${path} answered ${res.statusCode}: ${text}`);
    }
    return res;
  }

  /** Lists the prefix, replaces the known entries, reports them; returns the revision listed. */
  private async list(): Promise<number> {
    const res = await this.post('/v3/kv/range', { key: b64(this.config.prefix), range_end: prefixRangeEnd(this.config.prefix) }, this.config.timeout);
    const body = (await res.body.json()) as { header?: { revision?: string }; kvs?: KeyValue[] };
    const revision = Number(body.header?.revision ?? NaN);
    if (!Number.isFinite(revision)) throw new Error('range answer without a revision');
    this.entries.clear();
    for (const kv of body.kvs ?? []) this.entries.set(unb64(kv.key), unb64(kv.value));
    this.failures = 0;
    this.report();
    return revision;
  }

  private async watch(fromRevision: number): Promise<void> {
    const res = await this.post(
      '/v3/watch',
      { create_request: { key: b64(this.config.prefix), range_end: prefixRangeEnd(this.config.prefix), start_revision: String(fromRevision) } },
      null,
    );
    let buffered = '';
    for await (const chunk of res.body) {
      buffered += (chunk as Buffer).toString('utf8');
      if (buffered.length > MAX_LINE) throw new Error('watch line too long');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        if (line !== '') this.onWatchLine(JSON.parse(line) as WatchLine);
      }
    }
    if (buffered.trim() !== '') this.onWatchLine(JSON.parse(buffered) as WatchLine);
    throw new WatchEnded('watch stream ended');
  }

  private onWatchLine(line: WatchLine): void {
    if (line.error) throw new Error(`watch failed: ${line.error.message ?? JSON.stringify(line.error)}`);
    const r = line.result;
    if (!r) return;
    if (r.canceled) throw new WatchEnded(r.compact_revision ? `revision compacted at ${r.compact_revision}` : (r.cancel_reason ?? 'watch canceled'));
    if (!r.events?.length) return;
    for (const e of r.events) {
      const key = unb64(e.kv?.key);
      // The gateway omits the enum's default value: an event without a type is a PUT.
      if (e.type === 'DELETE') this.entries.delete(key);
      else this.entries.set(key, unb64(e.kv?.value));
    }
    this.report();
  }

  private report(): void {
    const targets: DiscoveredTarget[] = [];
    let skipped = 0;
    for (const [key, value] of this.entries) {
      const t = targetOfEntry(key, value, this.config.weight);
      if (t) targets.push(t);
      else skipped++;
    }
    this.sink.update(targets, { skipped, ...(skipped ? { note: `${skipped} key(s) under ${this.config.prefix} hold no readable address` } : {}) });
  }

}

export const etcdProvider: DiscoveryProvider<EtcdDiscoveryConfig> = {
  name: 'etcd',
  watch(_upstream, config, sink, defaults) {
    const endpoints = config.endpoints ?? defaults.etcdEndpoints ?? [];
    if (endpoints.length === 0) {
      sink.fail(new Error('no etcd endpoints: set `endpoints` in the discovery block or GATEHOUSE_ETCD_ENDPOINTS'));
      return { stop: () => Promise.resolve() };
    }
    return new EtcdWatch(config, endpoints, sink);
  },
};
