/**
 * DNS discovery: A/AAAA addresses on a fixed port, or SRV records (lowest priority only, as RFC 2782 clients
 * and Kong do) with their own ports and weights. Re-resolves when the answer's TTL runs out, clamped to the
 * block's min_refresh..max_refresh; a failure is retried sooner (doubling from min_refresh) and keeps the last
 * known targets. An empty answer counts as a failure: a name that briefly resolves to nothing (a zone being
 * reloaded, a resolver restarting) must not drain the upstream.
 */
import { isIP } from 'node:net';
import { Resolver } from 'node:dns/promises';
import type { DnsDiscoveryConfig } from '../schema.js';
import type { DiscoveredTarget, DiscoveryProvider, DiscoverySink, DiscoveryWatch } from '../types.js';
import { clampRefresh, formatTarget, retryDelay } from '../registry.js';

interface Answer {
  targets: DiscoveredTarget[];
  /** Shortest TTL seen (seconds); Infinity when the answer carried none. */
  ttl: number;
  skipped: number;
  note?: string;
}

/** `ip`, `ip:port` or `[v6]:port` as node:dns's setServers accepts them. */
function serverList(servers: readonly string[]): string[] {
  return servers.map((s) => s.trim()).filter((s) => s !== '');
}

async function addresses(resolver: Resolver, name: string, family: 4 | 6): Promise<{ address: string; ttl: number }[]> {
  return family === 4 ? resolver.resolve4(name, { ttl: true }) : resolver.resolve6(name, { ttl: true });
}

export async function resolveOnce(resolver: Resolver, config: DnsDiscoveryConfig): Promise<Answer> {
  if (config.type === 'A' || config.type === 'AAAA') {
    const records = await addresses(resolver, config.name, config.type === 'A' ? 4 : 6);
    return {
      targets: records.map((r) => ({ target: formatTarget(r.address, config.port), weight: config.weight })),
      ttl: Math.min(...records.map((r) => r.ttl)),
      skipped: 0,
    };
  }
  const srv = await resolver.resolveSrv(config.name);
  if (srv.length === 0) return { targets: [], ttl: Infinity, skipped: 0 };
  const best = Math.min(...srv.map((r) => r.priority));
  const chosen = srv.filter((r) => r.priority === best);
  let ttl = Infinity;
  let skipped = 0;
  const problems: string[] = [];
  const targets: DiscoveredTarget[] = [];
  // Target names are resolved here, with the same servers, rather than left to the proxy's system resolver,
  // which may not know a service-discovery zone at all.
  for (const r of chosen) {
    const weight = r.weight === 0 ? 1 : r.weight;
    const name = r.name.endsWith('.') ? r.name.slice(0, -1) : r.name;
    if (isIP(name)) {
      targets.push({ target: formatTarget(name, r.port), weight });
      continue;
    }
    let records: { address: string; ttl: number }[] = [];
    let lastError: unknown;
    for (const family of [4, 6] as const) {
      try {
        records = await addresses(resolver, name, family);
        if (records.length) break;
      } catch (err) {
        lastError = err;
      }
    }
    if (records.length === 0) {
      skipped++;
      problems.push(`${name}: ${(lastError as Error | undefined)?.message ?? 'no address'}`);
      continue;
    }
    for (const a of records) {
      targets.push({ target: formatTarget(a.address, r.port), weight });
      ttl = Math.min(ttl, a.ttl);
    }
  }
  return { targets, ttl, skipped, ...(problems.length ? { note: `SRV targets without an address: ${problems.join('; ')}` } : {}) };
}

class DnsWatch implements DiscoveryWatch {
  private readonly resolver: Resolver;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private failures = 0;
  private running: Promise<void> | undefined;

  constructor(
    private readonly config: DnsDiscoveryConfig,
    private readonly sink: DiscoverySink,
    servers: readonly string[] | undefined,
  ) {
    this.resolver = new Resolver({ timeout: config.timeout, tries: 2 });
    const list = serverList(config.servers ?? servers ?? []);
    try {
      if (list.length) this.resolver.setServers(list);
    } catch (err) {
      this.stopped = true;
      sink.fail(new Error(`invalid DNS servers ${JSON.stringify(list)}: ${(err as Error).message}`));
      return;
    }
    this.running = this.refresh();
  }

  private async refresh(): Promise<void> {
    if (this.stopped) return;
    const { config, sink } = this;
    let delay: number;
    try {
      const answer = await resolveOnce(this.resolver, config);
      if (this.stopped) return;
      if (answer.targets.length === 0) throw new Error(`${config.type} ${config.name}: no usable records${answer.note ? ` (${answer.note})` : ''}`);
      this.failures = 0;
      delay = clampRefresh(answer.ttl, config.min_refresh, config.max_refresh);
      sink.update(answer.targets, { refreshInMs: delay, skipped: answer.skipped, ...(answer.note ? { note: answer.note } : {}) });
    } catch (err) {
      if (this.stopped) return;
      this.failures++;
      delay = retryDelay(this.failures, config.min_refresh, Math.min(config.max_refresh, 30_000));
      const e = err as NodeJS.ErrnoException;
      const message = e.message.startsWith(config.type) ? e.message : `${config.type} ${config.name}: ${e.code ?? e.message}`;
      sink.fail(new Error(message), { retryInMs: delay });
    }
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.refresh();
    }, delay);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.resolver.cancel();
    await this.running;
  }
}

export const dnsProvider: DiscoveryProvider<DnsDiscoveryConfig> = {
  name: 'dns',
  watch(_upstream, config, sink, defaults) {
    return new DnsWatch(config, sink, defaults.dnsServers);
  },
};
