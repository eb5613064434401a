/** The discovery providers a node runs; a provider named in a `discovery` block but absent here reports an error. */
import type { DiscoveryProvider } from '../types.js';
import { dnsProvider } from './dns.js';
import { etcdProvider } from './etcd.js';
import { dockerProvider } from './docker.js';
import { consulProvider } from './consul.js';
import { kubernetesProvider } from './kubernetes.js';

export const DISCOVERY_PROVIDERS: readonly DiscoveryProvider[] = [dnsProvider as DiscoveryProvider, etcdProvider as DiscoveryProvider, dockerProvider as DiscoveryProvider, consulProvider as DiscoveryProvider, kubernetesProvider as DiscoveryProvider];
