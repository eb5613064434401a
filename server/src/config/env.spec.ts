import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EnvError, loadEnv } from './env.js';

describe('loadEnv', () => {
  it('reads GATEHOUSE_WORKERS and GATEHOUSE_CONFIG_CACHE', () => {
    expect(loadEnv({}).workers).toBe(1);
    expect(loadEnv({ GATEHOUSE_WORKERS: '3', DATABASE_URL: 'postgres://x/y' }).workers).toBe(3);
    expect(loadEnv({ GATEHOUSE_WORKERS: 'auto', DATABASE_URL: 'postgres://x/y' }).workers).toBeGreaterThanOrEqual(1);
    for (const bad of ['0', '-1', '1.5', 'many']) expect(() => loadEnv({ GATEHOUSE_WORKERS: bad, DATABASE_URL: 'postgres://x/y' })).toThrow('GATEHOUSE_WORKERS');
    // Several processes on one embedded PGlite folder would corrupt it.
    expect(() => loadEnv({ GATEHOUSE_WORKERS: '2' })).toThrow(/GATEHOUSE_WORKERS: cluster mode needs DATABASE_URL/);
    expect(loadEnv({ GATEHOUSE_DATA_DIR: '/var/lib/gh' }).configCache).toBe('/var/lib/gh/config-cache.json');
    expect(loadEnv({ GATEHOUSE_CONFIG_CACHE: '/tmp/c.json' }).configCache).toBe('/tmp/c.json');
    expect(loadEnv({ GATEHOUSE_CONFIG_CACHE: 'off' }).configCache).toBeUndefined();
  });

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

  it('places the HTTPS listener on 8443 of the proxy host unless told otherwise; off disables it; h2c only when set', () => {
    expect(loadEnv({}).proxyTls).toEqual({ host: '0.0.0.0', port: 8443, mode: 'auto' });
    expect(loadEnv({ GATEHOUSE_PROXY_LISTEN: '[::1]:9000', GATEHOUSE_PROXY_TLS_PORT: '9443', GATEHOUSE_PROXY_TLS: 'on' }).proxyTls).toEqual({ host: '::1', port: 9443, mode: 'on' });
    expect(loadEnv({ GATEHOUSE_PROXY_TLS_PORT: '127.0.0.1:443' }).proxyTls).toEqual({ host: '127.0.0.1', port: 443, mode: 'auto' });
    expect(loadEnv({ GATEHOUSE_PROXY_TLS: 'off' }).proxyTls).toBeUndefined();
    expect(() => loadEnv({ GATEHOUSE_PROXY_TLS: 'maybe' })).toThrow('GATEHOUSE_PROXY_TLS');
    expect(loadEnv({}).proxyH2c).toBeUndefined();
    expect(loadEnv({ GATEHOUSE_PROXY_LISTEN: '127.0.0.1:8000', GATEHOUSE_PROXY_H2C_PORT: '8081' }).proxyH2c).toEqual({ host: '127.0.0.1', port: 8081 });
  });

  it('turns the demo off in production and DB-less modes', () => {
    expect(loadEnv({ DATABASE_URL: 'postgres://u:p@h/db' }).demo).toBe(false);
    expect(loadEnv({ GATEWAY_CONFIG: 'kong.yaml' }).demo).toBe(false);
  });

  it('keeps request metrics on unless GATEHOUSE_METRICS is false, and refuses anything but a boolean', () => {
    expect(loadEnv({}).requestMetrics).toBe(true);
    expect(loadEnv({ GATEHOUSE_METRICS: 'false' }).requestMetrics).toBe(false);
    expect(() => loadEnv({ GATEHOUSE_METRICS: 'sometimes' })).toThrow('GATEHOUSE_METRICS');
  });

  it('uses the gateway\'s own upstream client unless GATEHOUSE_UPSTREAM_CLIENT says undici', () => {
    expect(loadEnv({}).upstreamClient).toBe('gatehouse');
    expect(loadEnv({ GATEHOUSE_UPSTREAM_CLIENT: ' Undici ' }).upstreamClient).toBe('undici');
    expect(() => loadEnv({ GATEHOUSE_UPSTREAM_CLIENT: 'curl' })).toThrow(/GATEHOUSE_UPSTREAM_CLIENT.*gatehouse, undici/);
  });

  it('refuses DB-less mode together with a database', () => {
    expect(() => loadEnv({ GATEWAY_CONFIG: 'a.yaml', DATABASE_URL: 'postgres://h/db' })).toThrow('GATEWAY_CONFIG');
  });
});

describe('loadEnv: tracing', () => {
  it('is off without an OTLP endpoint, and with OTEL_SDK_DISABLED', () => {
    expect(loadEnv({}).tracing).toBeUndefined();
    expect(loadEnv({ GATEHOUSE_OTLP_ENDPOINT: 'http://c:4318', OTEL_SDK_DISABLED: 'true' }).tracing).toBeUndefined();
  });

  it('takes the endpoint from GATEHOUSE_OTLP_ENDPOINT, then the standard OTEL_* variables', () => {
    expect(loadEnv({ GATEHOUSE_OTLP_ENDPOINT: 'http://c:4318/' }).tracing?.endpoint).toBe('http://c:4318/v1/traces');
    expect(loadEnv({ GATEHOUSE_OTLP_ENDPOINT: 'http://c:4318/v1/traces' }).tracing?.endpoint).toBe('http://c:4318/v1/traces');
    expect(loadEnv({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://c/custom' }).tracing?.endpoint).toBe('https://c/custom');
    expect(loadEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318' }).tracing?.endpoint).toBe('http://c:4318/v1/traces');
    expect(loadEnv({ GATEHOUSE_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://b:2/v1/traces' }).tracing?.endpoint).toBe('http://a:1/v1/traces');
    expect(() => loadEnv({ GATEHOUSE_OTLP_ENDPOINT: 'grpc://c:4317' })).toThrow('GATEHOUSE_OTLP_ENDPOINT');
  });

  it('defaults to parent-based 10% sampling, W3C propagation and the service name gatehouse', () => {
    expect(loadEnv({ GATEHOUSE_OTLP_ENDPOINT: 'http://c:4318' }).tracing).toEqual({
      endpoint: 'http://c:4318/v1/traces',
      sampleRatio: 0.1,
      parentBased: true,
      propagation: ['w3c'],
      serviceName: 'gatehouse',
      exportDelayMs: 5_000,
      maxQueueSize: 2_048,
    });
  });

  it('honours the OTEL_* sampler, propagator and batch variables, with GATEHOUSE_TRACE_* first', () => {
    const t = (env: Record<string, string>) => loadEnv({ GATEHOUSE_OTLP_ENDPOINT: 'http://c:4318', ...env }).tracing!;
    expect(t({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.5' })).toMatchObject({ sampleRatio: 0.5, parentBased: false });
    expect(t({ OTEL_TRACES_SAMPLER: 'parentbased_always_on' })).toMatchObject({ sampleRatio: 1, parentBased: true });
    expect(t({ OTEL_TRACES_SAMPLER: 'always_off' })).toMatchObject({ sampleRatio: 0, parentBased: false });
    expect(t({ OTEL_TRACES_SAMPLER_ARG: '0.5', GATEHOUSE_TRACE_SAMPLE_RATIO: '0.25' }).sampleRatio).toBe(0.25);
    expect(t({ OTEL_PROPAGATORS: 'tracecontext,baggage,b3multi' }).propagation).toEqual(['w3c', 'b3multi']);
    expect(t({ OTEL_PROPAGATORS: 'b3', GATEHOUSE_TRACE_PROPAGATION: 'b3,w3c' }).propagation).toEqual(['b3', 'w3c']);
    expect(t({ OTEL_SERVICE_NAME: 'edge', OTEL_BSP_SCHEDULE_DELAY: '200', OTEL_BSP_MAX_QUEUE_SIZE: '100' })).toMatchObject({ serviceName: 'edge', exportDelayMs: 200, maxQueueSize: 100 });
    expect(() => t({ GATEHOUSE_TRACE_SAMPLE_RATIO: '1.5' })).toThrow('GATEHOUSE_TRACE_SAMPLE_RATIO');
    expect(() => t({ GATEHOUSE_TRACE_PROPAGATION: 'jaeger' })).toThrow('GATEHOUSE_TRACE_PROPAGATION');
    expect(() => t({ OTEL_TRACES_SAMPLER: 'sometimes' })).toThrow('OTEL_TRACES_SAMPLER');
  });

  it('reads the access log settings: stdout by default, off, a file, fields and the HTTP sink', () => {
    const def = loadEnv({}).accessLog;
    expect(def).toMatchObject({ destination: 'stdout', maxSize: 100 * 1024 * 1024, maxFiles: 5, httpUrl: undefined });
    expect(def.fields).not.toContain('query');
    expect(def.fields).toContain('request_id');
    expect(loadEnv({ GATEHOUSE_ACCESS_LOG: 'off' }).accessLog.destination).toBe('off');
    const a = loadEnv({
      GATEHOUSE_ACCESS_LOG: 'logs/access.log',
      GATEHOUSE_ACCESS_LOG_FIELDS: 'time, status,query',
      GATEHOUSE_ACCESS_LOG_MAX_SIZE: '2048',
      GATEHOUSE_ACCESS_LOG_MAX_FILES: '2',
      GATEHOUSE_ACCESS_LOG_HTTP_URL: 'https://logs.example.com/ingest',
      GATEHOUSE_ACCESS_LOG_REDACT: 'sid, k',
    }).accessLog;
    expect(a).toMatchObject({ destination: path.resolve('logs/access.log'), fields: ['time', 'status', 'query'], maxSize: 2048, maxFiles: 2, httpUrl: 'https://logs.example.com/ingest', redactParams: ['sid', 'k'] });
    expect(() => loadEnv({ GATEHOUSE_ACCESS_LOG_FIELDS: 'status,authorization' })).toThrow('GATEHOUSE_ACCESS_LOG_FIELDS');
    expect(() => loadEnv({ GATEHOUSE_ACCESS_LOG_HTTP_URL: 'ftp://x' })).toThrow('GATEHOUSE_ACCESS_LOG_HTTP_URL');
    expect(() => loadEnv({ GATEHOUSE_ACCESS_LOG_MAX_FILES: '0' })).toThrow('GATEHOUSE_ACCESS_LOG_MAX_FILES');
  });
});

describe('docker and consul discovery environment', () => {
  it('reads GATEHOUSE_DOCKER_HOST, GATEHOUSE_CONSUL_ADDR and GATEHOUSE_CONSUL_TOKEN', () => {
    const none = loadEnv({}).discovery;
    expect([none.dockerHost, none.consulAddr, none.consulToken]).toEqual([undefined, undefined, undefined]);
    const env = loadEnv({ GATEHOUSE_DOCKER_HOST: 'unix:///run/user/1000/docker.sock', GATEHOUSE_CONSUL_ADDR: 'https://consul.internal:8501', GATEHOUSE_CONSUL_TOKEN: ' s3cr3t ' });
    expect(env.discovery).toMatchObject({ dockerHost: 'unix:///run/user/1000/docker.sock', consulAddr: 'https://consul.internal:8501', consulToken: 's3cr3t' });
    expect(loadEnv({ GATEHOUSE_DOCKER_HOST: 'tcp://10.0.0.5:2375' }).discovery.dockerHost).toBe('tcp://10.0.0.5:2375');
    // Like CONSUL_HTTP_ADDR, a bare host:port means http.
    expect(loadEnv({ GATEHOUSE_CONSUL_ADDR: '10.0.0.9:8500' }).discovery.consulAddr).toBe('http://10.0.0.9:8500');
  });

  it('stops on a Docker host or Consul address it cannot use, naming the variable', () => {
    expect(() => loadEnv({ GATEHOUSE_DOCKER_HOST: '/var/run/docker.sock' })).toThrow('GATEHOUSE_DOCKER_HOST');
    expect(() => loadEnv({ GATEHOUSE_DOCKER_HOST: 'tcp://10.0.0.5' })).toThrow('GATEHOUSE_DOCKER_HOST');
    expect(() => loadEnv({ GATEHOUSE_DOCKER_HOST: 'ssh://me@host' })).toThrow(EnvError);
    expect(() => loadEnv({ GATEHOUSE_CONSUL_ADDR: 'http://consul:8500/v1' })).toThrow('GATEHOUSE_CONSUL_ADDR');
  });
});
