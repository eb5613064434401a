/**
 * Environment configuration, validated once at start: a bad value stops the process with a message
 * naming the variable, instead of surfacing later as a confusing runtime error.
 */
import { isIP } from 'node:net';
import path from 'node:path';

export interface Listen {
  host: string;
  port: number;
}

export interface GatewayEnv {
  proxyListen: Listen;
  adminListen: Listen;
  databaseUrl: string | undefined;
  dataDir: string;
  configFile: string | undefined;
  adminToken: string | undefined;
  adminUser: string | undefined;
  adminPassword: string | undefined;
  jwtSecret: string | undefined;
  trustedProxies: string[];
  redisUrl: string | undefined;
  /** Seed a demo service, route and echo upstream when the store is empty (embedded mode only). */
  demo: boolean;
  demoUpstreamPort: number;
  nodeId: string;
  logLevel: 'debug' | 'info' | 'warn' | 'error' | 'silent';
  /** Largest request head the proxy accepts, in bytes (431 above). */
  maxHeaderSize: number;
  /** Longest request target the proxy accepts, in characters (414 above). */
  maxUriLength: number;
}

export class EnvError extends Error {
  constructor(variable: string, reason: string) {
    super(`${variable}: ${reason}`);
    this.name = 'EnvError';
  }
}

function parseListen(name: string, value: string | undefined, fallback: string): Listen {
  const raw = value && value.trim() !== '' ? value.trim() : fallback;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:]+)):(\d{1,5})$/.exec(raw) ?? /^()()(\d{1,5})$/.exec(raw);
  if (!m) throw new EnvError(name, `expected host:port or port, got '${raw}'`);
  const port = Number(m[3]);
  if (port > 65535) throw new EnvError(name, `port out of range in '${raw}'`);
  const host = m[1] || m[2] || fallback.slice(0, fallback.lastIndexOf(':'));
  return { host, port };
}

function parseCidrList(name: string, value: string | undefined): string[] {
  if (!value) return [];
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const cidr of list) {
    const [addr, bits] = cidr.split('/');
    const family = isIP(addr ?? '');
    const max = family === 4 ? 32 : 128;
    if (!family || (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= max))) {
      throw new EnvError(name, `'${cidr}' is not an IP address or CIDR block`);
    }
  }
  return list;
}

function parseBool(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value === '') return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new EnvError(name, `expected true/false, got '${value}'`);
}

function parseSize(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value.trim() === '') return fallback;
  const n = Number(value.trim());
  if (!Number.isInteger(n) || n < min || n > max) throw new EnvError(name, `expected an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error', 'silent'] as const;

export function loadEnv(env: NodeJS.ProcessEnv = process.env): GatewayEnv {
  const databaseUrl = env.DATABASE_URL || undefined;
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) throw new EnvError('DATABASE_URL', 'must be a postgres:// or postgresql:// URL');
  const configFile = env.GATEWAY_CONFIG || undefined;
  if (configFile && databaseUrl) throw new EnvError('GATEWAY_CONFIG', 'DB-less mode cannot be combined with DATABASE_URL');
  const logLevel = (env.GATEHOUSE_LOG_LEVEL || 'info') as GatewayEnv['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) throw new EnvError('GATEHOUSE_LOG_LEVEL', `one of ${LOG_LEVELS.join(', ')}`);
  const adminPassword = env.GATEHOUSE_ADMIN_PASSWORD || undefined;
  if (adminPassword !== undefined && adminPassword.length < 8) throw new EnvError('GATEHOUSE_ADMIN_PASSWORD', 'must be at least 8 characters');
  const adminToken = env.GATEHOUSE_ADMIN_TOKEN || undefined;
  if (adminToken !== undefined && adminToken.length < 16) throw new EnvError('GATEHOUSE_ADMIN_TOKEN', 'must be at least 16 characters');
  const demoPort = Number(env.GATEHOUSE_DEMO_UPSTREAM_PORT || 8002);
  if (!Number.isInteger(demoPort) || demoPort < 1 || demoPort > 65535) throw new EnvError('GATEHOUSE_DEMO_UPSTREAM_PORT', 'must be a port number');
  return {
    proxyListen: parseListen('GATEHOUSE_PROXY_LISTEN', env.GATEHOUSE_PROXY_LISTEN, '0.0.0.0:8000'),
    adminListen: parseListen('GATEHOUSE_ADMIN_LISTEN', env.GATEHOUSE_ADMIN_LISTEN, '127.0.0.1:8001'),
    databaseUrl,
    dataDir: path.resolve(env.GATEHOUSE_DATA_DIR || 'data'),
    configFile: configFile ? path.resolve(configFile) : undefined,
    adminToken,
    adminUser: env.GATEHOUSE_ADMIN_USER || undefined,
    adminPassword,
    jwtSecret: env.GATEHOUSE_JWT_SECRET || undefined,
    trustedProxies: parseCidrList('GATEHOUSE_TRUSTED_PROXIES', env.GATEHOUSE_TRUSTED_PROXIES),
    redisUrl: env.REDIS_URL || undefined,
    demo: parseBool('GATEHOUSE_DEMO', env.GATEHOUSE_DEMO, !databaseUrl && !configFile),
    demoUpstreamPort: demoPort,
    nodeId: env.GATEHOUSE_NODE_ID || `${process.pid}`,
    logLevel,
    maxHeaderSize: parseSize('GATEHOUSE_MAX_HEADER_SIZE', env.GATEHOUSE_MAX_HEADER_SIZE, 16 * 1024, 1024, 1024 * 1024),
    maxUriLength: parseSize('GATEHOUSE_MAX_URI_LENGTH', env.GATEHOUSE_MAX_URI_LENGTH, 8 * 1024, 256, 1024 * 1024),
  };
}
