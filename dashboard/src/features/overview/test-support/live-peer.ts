/**
 * A real socket.io server at path `/live` standing in for the admin listener's live stream in component
 * tests: it checks the handshake token as the gateway does (refusing anything but `token`), answers the
 * ack-able `history` request from `history`, and pushes ticks on demand.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Server } from 'socket.io';
import type { LiveTick } from '../../../lib/live';

export interface LivePeer {
  url: string;
  /** What a `history` request is answered with (the last `seconds` of it). */
  history: LiveTick[];
  /** Every `history` request's body, in order. */
  historyRequests: unknown[];
  /** Refuse this many of the next `history` requests as the gateway does when asked too often. */
  refuseHistory: number;
  /** Handshakes the peer accepted. */
  connections: number;
  emitTick(tick: LiveTick): void;
  /** Cuts every client's connection (they reconnect by themselves). */
  dropClients(): void;
  connectedClients(): number;
  close(): Promise<void>;
}

export async function startLivePeer(token: string): Promise<LivePeer> {
  const http = createServer();
  const io = new Server(http, { path: '/live', serveClient: false });
  const peer: LivePeer = {
    url: '',
    history: [],
    historyRequests: [],
    refuseHistory: 0,
    connections: 0,
    emitTick: (tick) => io.emit('tick', tick),
    // Closing the transport looks like a network failure to the client (which reconnects); a server-side
    // disconnect() would look deliberate (which it does not retry).
    dropClients: () => {
      for (const s of io.sockets.sockets.values()) s.conn.close();
    },
    connectedClients: () => io.engine.clientsCount,
    close: async () => {
      io.disconnectSockets(true);
      await io.close();
    },
  };
  io.use((socket, next) => {
    if ((socket.handshake.auth as { token?: unknown }).token === token) next();
    else next(new Error('invalid or expired token'));
  });
  io.on('connection', (socket) => {
    peer.connections++;
    socket.on('history', (body: { seconds?: number }, ack: (r: { ticks: LiveTick[] } | { error: string }) => void) => {
      peer.historyRequests.push(body);
      if (peer.refuseHistory > 0) {
        peer.refuseHistory--;
        ack({ error: 'too many history requests; retry in a moment' });
        return;
      }
      const newest = peer.history.at(-1)?.at ?? 0;
      const seconds = body.seconds ?? 3600;
      ack({ ticks: peer.history.filter((t) => t.at > newest - seconds * 1000) });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  peer.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
  return peer;
}

/** A tick with `rps` requests on one route of one service; the other fields follow from it. */
export function tickAt(atMs: number, o: { rps?: number; errors?: number; limited?: number; p50?: number; route?: string; service?: string } = {}): LiveTick {
  const rps = o.rps ?? 10;
  const errors = o.errors ?? 0;
  const limited = o.limited ?? 0;
  const p50 = o.p50 ?? 12;
  const rate = {
    rps,
    errors,
    limited,
    error_rate: rps === 0 ? 0 : Math.round((errors / rps) * 10_000) / 10_000,
    p50: rps === 0 ? null : p50,
    p95: rps === 0 ? null : p50 * 3,
    p99: rps === 0 ? null : p50 * 6,
  };
  const route = o.route ?? 'orders';
  const service = o.service ?? 'shop';
  return {
    at: atMs,
    nodes: 1,
    total: rate,
    routes: rps === 0 ? [] : [{ route, ...rate }],
    services: rps === 0 ? [] : [{ service, ...rate }],
    breakers: [],
  };
}
