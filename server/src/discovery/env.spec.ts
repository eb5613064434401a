// The discovery settings of the environment (config/env.ts).
import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from '../config/env.js';

describe('discovery environment', () => {
  it('reads GATEHOUSE_ETCD_ENDPOINTS and GATEHOUSE_DNS_SERVERS as comma-separated lists', () => {
    expect(loadEnv({}).discovery).toEqual({ etcdEndpoints: undefined, dnsServers: undefined });
    const env = loadEnv({ GATEHOUSE_ETCD_ENDPOINTS: 'http://10.0.0.2:2379, https://etcd.internal:2379/', GATEHOUSE_DNS_SERVERS: '10.0.0.53,127.0.0.1:5353,[::1]:53' });
    expect(env.discovery).toEqual({ etcdEndpoints: ['http://10.0.0.2:2379', 'https://etcd.internal:2379/'], dnsServers: ['10.0.0.53', '127.0.0.1:5353', '[::1]:53'] });
  });

  it('stops on values that are not URLs or addresses, naming the variable', () => {
    expect(() => loadEnv({ GATEHOUSE_ETCD_ENDPOINTS: '10.0.0.2:2379' })).toThrow(EnvError);
    expect(() => loadEnv({ GATEHOUSE_ETCD_ENDPOINTS: 'http://10.0.0.2:2379/v3' })).toThrow(/GATEHOUSE_ETCD_ENDPOINTS/);
    expect(() => loadEnv({ GATEHOUSE_DNS_SERVERS: 'dns.internal' })).toThrow(/GATEHOUSE_DNS_SERVERS/);
  });
});
