/**
 * Test harness for the data plane: real upstream node:http servers and a real ProxyServer on loopback
 * ports chosen by the OS, plus a small HTTP client that can send what browsers cannot (duplicate Host,
 * hop-by-hop headers).
 */
import { createServer, request, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { checkDocument } from '../../config/check.js';
import type { ConfigDocument } from '../../config/schema.js';
import { PLUGINS } from '../../plugins/index.js';
import type { PluginLogger } from '../../plugins/types.js';
import { ProxyServer } from '../proxy-server.js';
import type { RequestObserver } from '../proxy-request.js';
import { buildSnapshot, type Snapshot } from '../snapshot.js';
import { PoolRegistry } from '../upstream-pool.js';

export interface Upstream {
  server: Server;
  port: number;
  /** `127.0.0.1:port`, usable as a target or a service host:port. */
  address: string;
  hits: number;
  close(): Promise<void>;
}

export interface EchoBody {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  rawHeaders: string[];
  port: number;
  bodyBytes: number;
}

/** Echoes the request it received as JSON (after reading the whole body). */
export function echoHandler(port: () => number) {
  return function echo(req: IncomingMessage, res: ServerResponse): void {
    let bytes = 0;
    req.on('data', (c: Buffer) => (bytes += c.length));
    req.on('end', () => {
      const body: EchoBody = { method: req.method!, url: req.url!, headers: req.headers, rawHeaders: req.rawHeaders, port: port(), bodyBytes: bytes };
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(body));
    });
  };
}

export async function startUpstream(handler?: (req: IncomingMessage, res: ServerResponse) => void): Promise<Upstream> {
  const up: Upstream = { server: undefined as unknown as Server, port: 0, address: '', hits: 0, close: async () => {} };
  const h = handler ?? echoHandler(() => up.port);
  up.server = createServer((req, res) => {
    up.hits++;
    h(req, res);
  });
  await new Promise<void>((r) => up.server.listen(0, '127.0.0.1', r));
  up.port = (up.server.address() as { port: number }).port;
  up.address = `127.0.0.1:${up.port}`;
  up.close = () =>
    new Promise<void>((r) => {
      up.server.closeAllConnections();
      up.server.close(() => r());
    });
  return up;
}

/** A port nothing listens on (bound then released). */
/** A port nothing listens on: connections to it are refused. */
export { freePort as deadPort } from '../../test-support/processes.js';

export class MemoryLogger implements PluginLogger {
  readonly lines: { level: string; obj: object; msg?: string }[] = [];
  info(obj: object, msg?: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg?: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
}

export interface Gateway {
  proxy: ProxyServer;
  port: number;
  logger: MemoryLogger;
  pools: PoolRegistry;
  /** Validates, compiles and swaps in a new config; returns the new snapshot. */
  apply(doc: unknown): Snapshot;
  close(): Promise<void>;
}

let version = 0;

/** A test config (`_format_version` added) after checkDocument, as the store hands it to the proxy; throws when invalid. */
export function checkedDocument(doc: unknown): ConfigDocument {
  const checked = checkDocument({ _format_version: '1', ...(doc as object) }, PLUGINS);
  if (!checked.ok) throw new Error(`invalid test config: ${JSON.stringify(checked.issues)}`);
  return checked.document;
}

export function compile(doc: unknown, logger: PluginLogger, pools: PoolRegistry): Snapshot {
  return buildSnapshot(checkedDocument(doc), PLUGINS, { logger, pools, version: ++version });
}

export async function startGateway(doc: unknown, trustedProxies: string[] = [], opts: { observer?: RequestObserver } = {}): Promise<Gateway> {
  const logger = new MemoryLogger();
  const pools = new PoolRegistry();
  const proxy = new ProxyServer({ trustedProxies, logger, observer: opts.observer });
  const gw: Gateway = {
    proxy,
    port: 0,
    logger,
    pools,
    apply(d) {
      const s = compile(d, logger, pools);
      proxy.swap(s);
      return s;
    },
    close: () => proxy.close(500),
  };
  gw.apply(doc);
  await proxy.listen('127.0.0.1', 0);
  gw.port = proxy.address().port;
  return gw;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = EchoBody>(): T;
}

/** Sends one request; `headers` may be a flat [name, value, …] list to control order and duplicates. */
export function send(port: number, path: string, opts: { method?: string; headers?: OutgoingHttpHeaders | string[]; body?: string | Buffer } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers as OutgoingHttpHeaders, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode!, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

/** Writes a raw HTTP/1.1 request and returns the raw response text (connection closed by us). */
export function sendRaw(port: number, raw: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let out = '';
    sock.on('data', (d) => {
      out += d.toString();
      if (/\r\n\r\n/.test(out)) {
        const m = /content-length: (\d+)/i.exec(out);
        const headEnd = out.indexOf('\r\n\r\n') + 4;
        if (m && out.length - headEnd >= Number(m[1])) sock.destroy();
      }
    });
    sock.on('close', () => resolve(out));
    sock.on('error', reject);
    sock.write(raw);
    setTimeout(() => sock.destroy(), 3000).unref();
  });
}
