/**
 * Kubernetes discovery: the ready endpoints of a Service, from its EndpointSlices (discovery.k8s.io/v1, label
 * `kubernetes.io/service-name`), listed and then watched from the list's resourceVersion (kubernetes-client.ts).
 * All slices of the Service are merged (a Service has several once it passes 100 endpoints, and two during
 * a rollout of a changed targetPort); each slice resolves the port on its own.
 *
 * A port given by number is a Service port, as Ingress backends and HTTPRoute backendRefs name it: the Service
 * is read at every (re)list to find that port's name, which is what its EndpointSlices carry.
 */
import type { V1EndpointSlice } from '@kubernetes/client-node';
import type { KubernetesDiscoveryConfig } from './kubernetes-schema.js';
import type { DiscoveredTarget, DiscoveryProvider, DiscoverySink, DiscoveryWatch, KubernetesConnection } from '../types.js';
import { formatTarget } from '../registry.js';
import { kubeConfigFor, ListWatch, loadKubeClient } from './kubernetes-client.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

export interface SliceTargets {
  targets: DiscoveredTarget[];
  skipped: number;
  note?: string;
}

/**
 * The targets of a Service's slices: every endpoint whose `conditions.ready` is not false (unknown counts as
 * ready, as kube-proxy does), on its first address (the API says addresses are fungible), on the port named
 * `portName` (undefined: the slice's only port). A slice without that port is skipped and counted.
 */
export function endpointSliceTargets(slices: Iterable<V1EndpointSlice>, portName: string | undefined, weight: number): SliceTargets {
  const targets: DiscoveredTarget[] = [];
  const problems: string[] = [];
  for (const slice of slices) {
    const ports = slice.ports ?? [];
    const port = portName === undefined ? (ports.length === 1 ? ports[0] : undefined) : ports.find((p) => (p.name ?? '') === portName);
    if (!port?.port) {
      if ((slice.endpoints ?? []).length) {
        problems.push(`${slice.metadata?.name ?? '?'}: ${portName === undefined ? `${ports.length} ports, name one` : `no port '${portName}'`}`);
      }
      continue;
    }
    for (const ep of slice.endpoints ?? []) {
      if (ep.conditions?.ready === false) continue;
      const address = ep.addresses?.[0];
      if (address) targets.push({ target: formatTarget(address, port.port), weight });
    }
  }
  return { targets, skipped: problems.length, ...(problems.length ? { note: `EndpointSlices without the port: ${problems.join('; ')}` } : {}) };
}

class KubernetesWatch implements DiscoveryWatch {
  private lw: ListWatch<V1EndpointSlice> | undefined;
  private stopped = false;
  private readonly starting: Promise<void>;
  /** The slice port name the config's port stands for, found at the last list. */
  private portName: string | undefined;

  constructor(
    private readonly config: KubernetesDiscoveryConfig,
    private readonly sink: DiscoverySink,
    conn: KubernetesConnection | undefined,
  ) {
    this.portName = typeof config.port === 'string' ? config.port : undefined;
    this.starting = this.start(conn).catch((err: unknown) => {
      // A missing or unreadable kubeconfig: nothing will change until the config does.
      if (!this.stopped) sink.fail(new Error(`kubernetes ${config.namespace}/${config.service}: ${(err as Error).message}`));
    });
  }

  private async start(conn: KubernetesConnection | undefined): Promise<void> {
    const lib = await loadKubeClient();
    if (this.stopped) return;
    const { config, sink } = this;
    const kc = kubeConfigFor(lib, config.kubeconfig, conn);
    const core = kc.makeApiClient(lib.CoreV1Api);
    const discovery = kc.makeApiClient(lib.DiscoveryV1Api);
    const { namespace, service } = config;
    const labelSelector = `${SERVICE_NAME_LABEL}=${service}`;
    this.lw = new ListWatch<V1EndpointSlice>({
      watcher: new lib.Watch(kc),
      path: `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`,
      labelSelector,
      listTimeoutMs: config.timeout,
      list: async () => {
        if (typeof config.port === 'number') {
          const svc = await core.readNamespacedService({ name: service, namespace });
          const p = svc.spec?.ports?.find((sp) => sp.port === config.port);
          if (!p) throw new Error(`Service ${namespace}/${service} has no port ${config.port} (it has ${(svc.spec?.ports ?? []).map((sp) => sp.port).join(', ') || 'none'})`);
          this.portName = p.name ?? '';
        }
        const list = await discovery.listNamespacedEndpointSlice({ namespace, labelSelector });
        return { items: list.items, resourceVersion: list.metadata?.resourceVersion ?? '' };
      },
      onSync: (slices) => {
        const r = endpointSliceTargets(slices.values(), this.portName, config.weight);
        sink.update(r.targets, { skipped: r.skipped, ...(r.note ? { note: r.note } : {}) });
      },
      onError: (error, retryInMs) => sink.fail(new Error(`kubernetes ${namespace}/${service}: ${error.message}`), { retryInMs }),
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.starting;
    await this.lw?.stop();
  }
}

export const kubernetesProvider: DiscoveryProvider<KubernetesDiscoveryConfig> = {
  name: 'kubernetes',
  watch(_upstream, config, sink, defaults) {
    return new KubernetesWatch(config, sink, defaults.kubernetes);
  },
};
