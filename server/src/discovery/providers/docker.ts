/**
 * Docker discovery through the Engine API (unix socket or tcp://, no client library): running containers
 * labelled `gatehouse.upstream=<service>` are the instances, as Traefik's Docker provider does it.
 *
 * The event stream (`/events`, container start/die/stop/pause/unpause/health_status) is opened *before* the
 * containers are listed, so nothing that happens between the two is missed; any event then triggers a new
 * listing (folded over 100 ms), and a listing also runs every `resync` in case an event was lost (network
 * attach/detach, for one, is not a container event). A listing is authoritative: no matching container
 * empties the discovered targets. While the Engine cannot be reached the last known targets stay.
 *
 * The API version is negotiated with `/_ping` (as the docker CLI does): Engine 29 refuses clients older than
 * 1.44, older Engines refuse versions newer than their own.
 */
import { isIP } from 'node:net';
import { Agent, request } from 'undici';
import type { DockerDiscoveryConfig } from './docker-schema.js';
import type { DiscoveredTarget, DiscoveryProvider, DiscoverySink } from '../types.js';
import { formatTarget } from '../registry.js';
import { RetryingWatch } from './retrying-watch.js';

export const DEFAULT_DOCKER_HOST = 'unix:///var/run/docker.sock';
/** The newest API version whose shapes this provider reads (container summary, events). */
export const MAX_API_VERSION = '1.52';
export const LABEL_UPSTREAM = 'gatehouse.upstream';
export const LABEL_PORT = 'gatehouse.port';
export const LABEL_NETWORK = 'gatehouse.network';
export const LABEL_WEIGHT = 'gatehouse.weight';

const EVENT_FOLD_MS = 100;
const MAX_LINE = 1024 * 1024;
const EVENTS = ['start', 'die', 'stop', 'pause', 'unpause', 'health_status'];

/** The part of an Engine container summary (`GET /containers/json`) this provider reads. */
export interface ContainerSummary {
  Id: string;
  Names?: string[];
  Labels?: Record<string, string> | null;
  State?: string;
  /** `Up 5 minutes (healthy)`, `Up 3 seconds (health: starting)`, `Up 1 hour (unhealthy)`. */
  Status?: string;
  /** API 1.52+. */
  Health?: { Status?: string } | null;
  Ports?: { PrivatePort?: number; PublicPort?: number; Type?: string; IP?: string }[] | null;
  NetworkSettings?: { Networks?: Record<string, { IPAddress?: string; GlobalIPv6Address?: string } | null> | null } | null;
}

export type ContainerVerdict = { target: DiscoveredTarget } | { skipped: string } | { unhealthy: string };

function nameOf(c: ContainerSummary): string {
  const n = c.Names?.[0];
  return n ? n.replace(/^\//, '') : c.Id.slice(0, 12);
}

/** `healthy`, `unhealthy`, `starting`, or `none` when the container has no healthcheck. */
export function healthOf(c: ContainerSummary): string {
  const h = c.Health?.Status;
  if (h) return h;
  const m = /\((healthy|unhealthy|health: starting)\)\s*$/.exec(c.Status ?? '');
  if (!m) return 'none';
  return m[1] === 'health: starting' ? 'starting' : m[1]!;
}

function integerLabel(value: string, min: number, max: number): number | undefined {
  if (!/^[0-9]{1,5}$/.test(value.trim())) return undefined;
  const n = Number(value.trim());
  return n >= min && n <= max ? n : undefined;
}

/** One container as a target, a reason to skip it (a labelling problem), or the health that excludes it. */
export function targetOfContainer(c: ContainerSummary, config: Pick<DockerDiscoveryConfig, 'network' | 'port' | 'weight'>): ContainerVerdict {
  const name = nameOf(c);
  const labels = c.Labels ?? {};
  const health = healthOf(c);
  if (health === 'unhealthy' || health === 'starting') return { unhealthy: `${name} (${health})` };

  const networks = c.NetworkSettings?.Networks ?? {};
  const wanted = labels[LABEL_NETWORK]?.trim() || config.network;
  let network: { IPAddress?: string; GlobalIPv6Address?: string } | null | undefined;
  if (wanted) {
    network = networks[wanted];
    if (!network) return { skipped: `${name}: not attached to network '${wanted}'` };
  } else {
    const names = Object.keys(networks);
    if (names.length !== 1) {
      return { skipped: `${name}: attached to ${names.length} networks (${names.join(', ') || 'none'}); set the label ${LABEL_NETWORK} or the block's network` };
    }
    network = networks[names[0]!];
  }
  const ip = network?.IPAddress || network?.GlobalIPv6Address || '';
  if (!isIP(ip)) return { skipped: `${name}: no IP address on network '${wanted ?? Object.keys(networks)[0]}'` };

  let port: number | undefined;
  const portLabel = labels[LABEL_PORT];
  if (portLabel !== undefined) {
    port = integerLabel(portLabel, 1, 65535);
    if (port === undefined) return { skipped: `${name}: label ${LABEL_PORT}='${portLabel}' is not a port` };
  } else if (config.port !== undefined) {
    port = config.port;
  } else {
    const exposed = [...new Set((c.Ports ?? []).filter((p) => (p.Type ?? 'tcp') === 'tcp' && p.PrivatePort).map((p) => p.PrivatePort!))];
    if (exposed.length !== 1) {
      return { skipped: `${name}: ${exposed.length === 0 ? 'exposes no TCP port' : `exposes ${exposed.length} TCP ports (${exposed.sort((a, b) => a - b).join(', ')})`}; set the label ${LABEL_PORT} or the block's port` };
    }
    port = exposed[0]!;
  }

  let weight = config.weight;
  const weightLabel = labels[LABEL_WEIGHT];
  if (weightLabel !== undefined) {
    const w = integerLabel(weightLabel, 0, 65535);
    if (w === undefined) return { skipped: `${name}: label ${LABEL_WEIGHT}='${weightLabel}' is not a weight (0-65535)` };
    weight = w;
  }
  return { target: { target: formatTarget(ip, port), weight } };
}

/** The `label` filters of the block: the upstream label, then the block's `labels`. */
export function labelFilters(upstream: string, config: DockerDiscoveryConfig): string[] {
  return [`${LABEL_UPSTREAM}=${config.service ?? upstream}`, ...(config.labels ?? [])];
}

function compareVersions(a: string, b: string): number {
  const [a1 = 0, a2 = 0] = a.split('.').map(Number);
  const [b1 = 0, b2 = 0] = b.split('.').map(Number);
  return a1 - b1 || a2 - b2;
}

/** Where requests go: a unix socket (any origin will do; the Engine ignores Host) or a tcp address. */
function endpointOf(host: string): { origin: string; agent: Agent } {
  if (host.startsWith('unix://')) {
    return { origin: 'http://docker', agent: new Agent({ connect: { socketPath: host.slice('unix://'.length) }, keepAliveTimeout: 10_000 }) };
  }
  return { origin: `http://${host.slice('tcp://'.length).replace(/\/$/, '')}`, agent: new Agent({ keepAliveTimeout: 10_000 }) };
}

class StreamEnded extends Error {}

class DockerWatch extends RetryingWatch {
  private readonly origin: string;
  protected readonly agent: Agent;
  private readonly filters: string[];
  private version: string | undefined;

  constructor(
    upstream: string,
    private readonly config: DockerDiscoveryConfig,
    private readonly host: string,
    sink: DiscoverySink,
  ) {
    super(sink);
    ({ origin: this.origin, agent: this.agent } = endpointOf(host));
    this.filters = labelFilters(upstream, config);
    this.start();
  }

  protected async loop(): Promise<void> {
    while (!this.stopped) {
      const session = new AbortController();
      const onStop = () => session.abort();
      this.abort.signal.addEventListener('abort', onStop);
      try {
        this.version ??= await this.negotiate(session.signal);
        const events = await this.openEvents(session.signal);
        await this.list(session.signal);
        await this.follow(events, session);
      } catch (err) {
        if (this.stopped) return;
        if (err instanceof StreamEnded) {
          // The Engine closed the stream (restart, shutdown): list again at once; the pause bounds an
          // Engine that keeps closing it.
          await this.sleep(200);
          continue;
        }
        // A restarted Engine may be another version.
        this.version = undefined;
        await this.retryAfter(err, `docker ${this.host}`);
      } finally {
        session.abort();
        this.abort.signal.removeEventListener('abort', onStop);
      }
    }
  }

  private async get(path: string, signal: AbortSignal, stream: boolean): Promise<Awaited<ReturnType<typeof request>>> {
    const res = await request(this.origin + path, {
      method: 'GET',
      dispatcher: this.agent,
      signal,
      headersTimeout: this.config.timeout,
      // The event stream is quiet for as long as nothing happens; undici's default would cut it after 5 minutes.
      bodyTimeout: stream ? 0 : this.config.timeout,
    });
    if (res.statusCode !== 200) {
      const text = (await res.body.text()).slice(0, 300);
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {
        /* not the Engine's JSON error */
      }
      throw new Error(`${path.split('?')[0]} answered ${res.statusCode}: ${message}`);
    }
    return res;
  }

  private async negotiate(signal: AbortSignal): Promise<string> {
    const res = await this.get('/_ping', signal, false);
    await res.body.dump();
    const server = String(res.headers['api-version'] ?? '');
    if (!/^[0-9]+\.[0-9]+$/.test(server)) throw new Error('/_ping answered without an API-Version header');
    return compareVersions(server, MAX_API_VERSION) < 0 ? server : MAX_API_VERSION;
  }

  private async openEvents(signal: AbortSignal): Promise<Awaited<ReturnType<typeof request>>> {
    const filters = JSON.stringify({ type: ['container'], event: EVENTS, label: this.filters });
    return this.get(`/v${this.version}/events?filters=${encodeURIComponent(filters)}`, signal, true);
  }

  private async list(signal: AbortSignal): Promise<void> {
    const filters = JSON.stringify({ label: this.filters, status: ['running'] });
    const res = await this.get(`/v${this.version}/containers/json?filters=${encodeURIComponent(filters)}`, signal, false);
    const containers = (await res.body.json()) as ContainerSummary[];
    if (!Array.isArray(containers)) throw new Error('/containers/json answered something other than a list');
    if (this.stopped) return;
    const targets: DiscoveredTarget[] = [];
    const skipped: string[] = [];
    const unhealthy: string[] = [];
    for (const c of containers) {
      // The status filter already asks for running ones; a paused or restarting container is no target either way.
      if (c.State && c.State !== 'running') continue;
      const v = targetOfContainer(c, this.config);
      if ('target' in v) targets.push(v.target);
      else if ('skipped' in v) skipped.push(v.skipped);
      else unhealthy.push(v.unhealthy);
    }
    this.failures = 0;
    const notes = [...(skipped.length ? [`skipped: ${skipped.join('; ')}`] : []), ...(unhealthy.length ? [`not healthy: ${unhealthy.join(', ')}`] : [])];
    this.sink.update(targets, { skipped: skipped.length, ...(notes.length ? { note: notes.join('. ') } : {}) });
  }

  /** Reads the event stream until it ends; every event, and every `resync`, lists the containers again. */
  private async follow(events: Awaited<ReturnType<typeof request>>, session: AbortController): Promise<void> {
    let fold: NodeJS.Timeout | undefined;
    let listing: Promise<void> | undefined;
    let again = false;
    let failed: unknown;
    const relist = () => {
      if (listing) {
        again = true;
        return;
      }
      listing = this.list(session.signal)
        .catch((err: unknown) => {
          // A listing that fails while the stream is up still means the Engine is in trouble: start over.
          failed ??= err;
          session.abort();
        })
        .finally(() => {
          listing = undefined;
          if (again && !session.signal.aborted) {
            again = false;
            relist();
          }
        });
    };
    const resync = setInterval(relist, this.config.resync);
    resync.unref();
    try {
      let buffered = '';
      for await (const chunk of events.body) {
        buffered += (chunk as Buffer).toString('utf8');
        if (buffered.length > MAX_LINE) throw new Error('event line too long');
        let nl: number;
        let seen = false;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl).trim();
          buffered = buffered.slice(nl + 1);
          if (line === '') continue;
          JSON.parse(line);
          seen = true;
        }
        if (seen && !fold) {
          fold = setTimeout(() => {
            fold = undefined;
            relist();
          }, EVENT_FOLD_MS);
          fold.unref();
        }
      }
    } catch (err) {
      if (failed) throw failed;
      throw err;
    } finally {
      clearInterval(resync);
      clearTimeout(fold);
      await listing;
    }
    if (failed) throw failed;
    throw new StreamEnded('event stream ended');
  }

}

export const dockerProvider: DiscoveryProvider<DockerDiscoveryConfig> = {
  name: 'docker',
  watch(upstream, config, sink, defaults) {
    return new DockerWatch(upstream, config, config.host ?? defaults.dockerHost ?? DEFAULT_DOCKER_HOST, sink);
  },
};
