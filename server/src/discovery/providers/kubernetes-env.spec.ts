// The Kubernetes settings of the environment (config/env.ts) and how they become a connection.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from '../../config/env.js';
import { kubeConfigFor, loadKubeClient } from './kubernetes-client.js';

describe('Kubernetes environment', () => {
  it('is off when nothing is set', () => {
    const env = loadEnv({});
    expect(env.discovery.kubernetes).toBeUndefined();
    expect(env.kubernetesRoutes).toBeUndefined();
  });

  it('reads the connection and the route sources', () => {
    const env = loadEnv({
      GATEHOUSE_KUBERNETES_API_SERVER: 'https://10.0.0.1:6443',
      GATEHOUSE_KUBERNETES_TOKEN_FILE: '/var/run/secrets/token',
      GATEHOUSE_KUBERNETES_INGRESS_CLASS: 'gatehouse',
      GATEHOUSE_KUBERNETES_GATEWAY: 'infra/public',
      GATEHOUSE_KUBERNETES_NAMESPACE: 'shop',
    });
    expect(env.discovery.kubernetes).toEqual({ apiServer: 'https://10.0.0.1:6443', tokenFile: '/var/run/secrets/token' });
    expect(env.kubernetesRoutes).toEqual({ ingressClass: 'gatehouse', gateway: 'infra/public', namespace: 'shop' });
    expect(loadEnv({ GATEHOUSE_KUBECONFIG: 'k.yaml' }).discovery.kubernetes).toEqual({ kubeconfig: path.resolve('k.yaml') });
  });

  it('stops on values it cannot use, naming the variable', () => {
    expect(() => loadEnv({ GATEHOUSE_KUBERNETES_API_SERVER: '10.0.0.1:6443' })).toThrow(/GATEHOUSE_KUBERNETES_API_SERVER/);
    expect(() => loadEnv({ GATEHOUSE_KUBERNETES_TOKEN_FILE: '/t' })).toThrow(/GATEHOUSE_KUBERNETES_TOKEN_FILE: needs GATEHOUSE_KUBERNETES_API_SERVER/);
    expect(() => loadEnv({ GATEHOUSE_KUBERNETES_INGRESS_CLASS: 'Gate House' })).toThrow(EnvError);
    expect(() => loadEnv({ GATEHOUSE_KUBERNETES_GATEWAY: 'a/b/c' })).toThrow(/GATEHOUSE_KUBERNETES_GATEWAY/);
    expect(() => loadEnv({ GATEHOUSE_KUBERNETES_NAMESPACE: 'shop' })).toThrow(/needs GATEHOUSE_KUBERNETES_INGRESS_CLASS/);
  });

  it('builds a KubeConfig from an API server and token file; plain http only means no TLS to verify', async () => {
    const lib = await loadKubeClient();
    const kc = kubeConfigFor(lib, undefined, { apiServer: 'https://10.0.0.1:6443/', tokenFile: '/var/run/secrets/token', caFile: '/ca.crt' });
    expect(kc.getCurrentCluster()).toMatchObject({ server: 'https://10.0.0.1:6443', skipTLSVerify: false, caFile: '/ca.crt' });
    expect(kc.getCurrentUser()).toMatchObject({ authProvider: { name: 'tokenFile', config: { tokenFile: '/var/run/secrets/token' } } });
    expect(kubeConfigFor(lib, undefined, { apiServer: 'http://127.0.0.1:8001' }).getCurrentCluster()).toMatchObject({ skipTLSVerify: true });
  }, 60_000);
});
