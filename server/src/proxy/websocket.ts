/**
 * WebSocket (and any other HTTP/1.1 Upgrade) proxying: the request goes through the same routing,
 * plugins and header rules as a plain request, then a raw TCP/TLS connection to the target carries the
 * upgrade request and both directions are piped byte for byte.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { CompiledService } from './snapshot.js';
import { ProxyRequest, type ProxyHost } from './proxy-request.js';
import type { Snapshot } from './snapshot.js';
import { classifyUpstreamError } from './upstream-pool.js';

export type TunnelHandler = (ctx: ProxyRequest, service: CompiledService, client: Duplex, head: Buffer) => void;

/** Handles the server's 'upgrade' event. */
export function handleUpgrade(host: ProxyHost, snapshot: Snapshot, req: IncomingMessage, socket: Duplex, head: Buffer): void {
  snapshot.acquire();
  // A real ServerResponse bound to the socket lets plugins and errors answer exactly as for plain requests.
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  const ctx = new ProxyRequest(host, snapshot, req, res, { socket, head });
  res.on('finish', function endAfterAnswer() {
    socket.end();
  });
  socket.on('error', function ignoreClientError() {});
  socket.on('close', function upgradeClosed() {
    ctx.finishUpgrade();
  });
  ctx.start();
}

/** Opens the connection to a target and pipes the two sockets together. */
export const tunnelUpgrade: TunnelHandler = function tunnelUpgrade(ctx, service, client, head) {
  const target = ctx.pickTarget(service);
  if (target === undefined) return ctx.sendProblem('GW_ERR_NO_HEALTHY_TARGET');
  const opts = { host: target.host, port: target.port };
  const tls = service.tls;
  const upstream: Socket =
    service.protocol === 'https'
      ? tlsConnect({
          ...opts,
          servername: service.tlsServerName ?? target.host,
          ...(tls !== undefined ? { rejectUnauthorized: tls.verify, ca: tls.ca, cert: tls.cert, key: tls.key } : {}),
        })
      : netConnect(opts);
  target.active++;
  let connected = false;
  upstream.setTimeout(service.connectTimeout);
  upstream.once('timeout', function connectTimedOut() {
    if (!connected) {
      upstream.destroy();
      ctx.sendProblem('GW_ERR_UPSTREAM_TIMEOUT', 'connect timed out');
    }
  });
  upstream.once(service.protocol === 'https' ? 'secureConnect' : 'connect', function upstreamConnected() {
    connected = true;
    upstream.setTimeout(0);
    const h = ctx.upstreamRequestHeaders;
    let head1 = `${ctx.method} ${ctx.upstreamRequestPath} HTTP/1.1\r\n`;
    for (let i = 0; i < h.length; i += 2) head1 += `${h[i]}: ${h[i + 1]}\r\n`;
    upstream.write(head1 + '\r\n');
    if (head.length) upstream.write(head);
    // From here on the gateway no longer speaks HTTP on the client socket.
    ctx.res.detachSocket(client as Socket);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  upstream.on('error', function upstreamError(err) {
    if (!connected) ctx.sendProblem(classifyUpstreamError(err).code, err.message);
    else client.destroy();
  });
  upstream.on('close', function upstreamClosed() {
    target.active--;
    client.destroy();
  });
  client.on('close', function clientClosed() {
    upstream.destroy();
  });
};
