/**
 * The admin thread's own part of `GET /metrics`, in a prom-client Registry: config reloads and store
 * errors of this node, and the process metrics prom-client collects by default (CPU, memory, file
 * descriptors, and this thread's heap, GC and event-loop lag). The proxy thread's request metrics come from
 * the worker (observability/request-metrics.ts); breakers, health checks and the rest from the resilience
 * view (resilience.service.ts). Values are read from the runtime at scrape time, so nothing here is on a
 * request path.
 */
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import type { GatewayRuntime } from '../../runtime/gateway-runtime.js';

/** Default metrics describe the process, so one registry (and one event-loop monitor) per process. */
let processRegistry: Registry | undefined;
function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

export class AdminMetrics {
  private readonly registry = new Registry();

  constructor(runtime: Pick<GatewayRuntime, 'reloadStats' | 'status'>) {
    const registers = [this.registry];
    // Counters whose value lives in the runtime: each scrape sets them to it (prom-client counters only add).
    new Counter({
      name: 'gatehouse_config_reloads_total',
      help: 'Config snapshots this node built and swapped in (the first one included).',
      registers,
      collect() {
        this.reset();
        this.inc(runtime.reloadStats().applied);
      },
    });
    new Counter({
      name: 'gatehouse_config_store_errors_total',
      help: 'Reads of the config store that failed; the last good snapshot kept serving.',
      registers,
      collect() {
        this.reset();
        this.inc(runtime.reloadStats().store_errors);
      },
    });
    new Gauge({
      name: 'gatehouse_config_store_up',
      help: 'Whether the last read of the config store succeeded (1) or failed (0).',
      registers,
      collect() {
        this.set(runtime.status().store_reachable ? 1 : 0);
      },
    });
    new Gauge({
      name: 'gatehouse_config_disabled_entities',
      help: 'Entities of the current config the snapshot builder disabled instead of failing the whole config.',
      registers,
      collect() {
        this.set(runtime.status().snapshot_errors.length);
      },
    });
    new Gauge({
      name: 'gatehouse_config_last_reload_timestamp_seconds',
      help: 'When the current config snapshot was applied (Unix time); 0 before the first.',
      registers,
      collect() {
        const at = runtime.status().config_applied_at;
        this.set(at === null ? 0 : Date.parse(at) / 1000);
      },
    });
  }

  async text(): Promise<string> {
    const [own, proc] = await Promise.all([this.registry.metrics(), processMetrics().metrics()]);
    return own + proc;
  }
}
