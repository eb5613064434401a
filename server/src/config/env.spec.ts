import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from './env.js';

describe('loadEnv', () => {
  it('uses the embedded defaults', () => {
    const env = loadEnv({});
    expect(env.proxyListen).toEqual({ host: '0.0.0.0', port: 8000 });
    expect(env.adminListen).toEqual({ host: '127.0.0.1', port: 8001 });
    expect(env.databaseUrl).toBeUndefined();
    expect(env.demo).toBe(true);
  });

  it.each([
    ['GATEHOUSE_PROXY_LISTEN', 'localhost:99999'],
    ['GATEHOUSE_ADMIN_LISTEN', 'nope'],
    ['DATABASE_URL', 'mysql://x'],
    ['GATEHOUSE_TRUSTED_PROXIES', '10.0.0.0/33'],
    ['GATEHOUSE_TRUSTED_PROXIES', 'example.com'],
    ['GATEHOUSE_DEMO', 'maybe'],
    ['GATEHOUSE_ADMIN_TOKEN', 'short'],
    ['GATEHOUSE_LOG_LEVEL', 'loud'],
  ])('rejects %s=%s naming the variable', (name, value) => {
    expect(() => loadEnv({ [name]: value })).toThrow(EnvError);
    expect(() => loadEnv({ [name]: value })).toThrow(name);
  });

  it('parses listen addresses, IPv6 and bare ports', () => {
    expect(loadEnv({ GATEHOUSE_PROXY_LISTEN: '[::1]:9000' }).proxyListen).toEqual({ host: '::1', port: 9000 });
    expect(loadEnv({ GATEHOUSE_ADMIN_LISTEN: '9001' }).adminListen).toEqual({ host: '127.0.0.1', port: 9001 });
  });

  it('turns the demo off in production and DB-less modes', () => {
    expect(loadEnv({ DATABASE_URL: 'postgres://u:p@h/db' }).demo).toBe(false);
    expect(loadEnv({ GATEWAY_CONFIG: 'kong.yaml' }).demo).toBe(false);
  });

  it('refuses DB-less mode together with a database', () => {
    expect(() => loadEnv({ GATEWAY_CONFIG: 'a.yaml', DATABASE_URL: 'postgres://h/db' })).toThrow('GATEWAY_CONFIG');
  });
});
