/**
 * The dashboard's live stream: a socket.io server on the admin listener at path `/live` that pushes one
 * `tick` (observability/live-hub.ts LiveTick) a second to every authenticated client.
 *
 * Authentication happens in the handshake: the client sends the admin API's bearer token (a login JWT, or
 * GATEHOUSE_ADMIN_TOKEN) as `auth: { token }`, checked as the HTTP guard checks it (the role is read from
 * the store, so a removed user is refused); viewer and above may watch. A JWT's socket is disconnected
 * when the token expires, so a stream does not outlive its session.
 *
 * History: a client asks for the last seconds with the ack-able event `history` (`socket.emit('history',
 * { seconds: 900 }, (reply) => …)`; reply `{ ticks: LiveTick[] }`, oldest first, at most HISTORY_SECONDS),
 * so its 5/15/60 minute charts are full right after the page opens, and asks again after a reconnect to
 * fill the gap. Asking is rate-limited per socket (HISTORY_MIN_INTERVAL_MS; a refused request gets
 * `{ error }`), as a reply can be a few megabytes with many routes.
 *
 * Slow clients: ticks are emitted volatile, i.e. dropped for a client whose connection is still busy with
 * an earlier packet, so nothing queues per client; the data plane only ever posts to this thread and
 * never waits for it.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Server as HttpServer } from 'node:http';
import { jwtVerify } from 'jose';
import { Server } from 'socket.io';
import type { ConfigStore } from '../../store/config-store.js';
import { HISTORY_SECONDS, type LiveHub, type LiveTick } from '../../observability/live-hub.js';
import type { AdminLogger, AuthSettings } from '../admin-env.js';
import type { AdminPrincipal } from '../common/current-user.js';
import { effectiveRole } from '../developers/developer-accounts.js';
import { ROLE_RANK } from '../auth/roles.decorator.js';

export const LIVE_PATH = '/live';
/** Shortest interval between two `history` requests of one socket. */
export const HISTORY_MIN_INTERVAL_MS = 250;

/** The reply to a `history` request. */
export type LiveHistoryReply = { ticks: LiveTick[] } | { error: string };

/** The seconds a `history` request asks for: a whole number in 1..HISTORY_SECONDS, all of them by default. */
export function historySeconds(body: unknown): number {
  const s = typeof body === 'object' && body !== null ? (body as { seconds?: unknown }).seconds : undefined;
  if (typeof s !== 'number' || !Number.isFinite(s)) return HISTORY_SECONDS;
  return Math.min(HISTORY_SECONDS, Math.max(1, Math.ceil(s)));
}

export interface LiveSocketDeps {
  hub: LiveHub;
  store: ConfigStore;
  auth: AuthSettings;
  adminToken: string | undefined;
  logger: AdminLogger;
}

export interface LiveSocket {
  readonly io: Server;
  /** Disconnects every client; leaves the HTTP server to its owner. */
  close(): Promise<void>;
}

function sameSecret(a: string, b: string): boolean {
  return timingSafeEqual(createHash('sha256').update(a).digest(), createHash('sha256').update(b).digest());
}

interface Authenticated {
  user: AdminPrincipal;
  /** Epoch seconds the token expires at; undefined for the static token. */
  exp: number | undefined;
}

/** The handshake's token as the HTTP guards would judge it; a reason when refused. */
export async function authenticateLive(token: unknown, deps: Pick<LiveSocketDeps, 'store' | 'auth' | 'adminToken'>): Promise<Authenticated | string> {
  if (typeof token !== 'string' || token === '') return 'send the admin bearer token as `auth: { token }`';
  if (deps.adminToken && sameSecret(token, deps.adminToken)) return { user: { username: 'admin-token', role: 'admin', via: 'token' }, exp: undefined };
  let claims: { sub?: string; exp?: number };
  try {
    ({ payload: claims } = await jwtVerify(token, new TextEncoder().encode(deps.auth.jwtSecret), { algorithms: ['HS256'] }));
  } catch {
    return 'invalid or expired token';
  }
  if (typeof claims.sub !== 'string') return 'invalid or expired token';
  const user = await deps.store.adminUsers.find(claims.sub);
  if (!user) return 'invalid or expired token';
  const role = await effectiveRole(deps.store, user);
  if (ROLE_RANK[role] < ROLE_RANK.viewer) return `role '${role}' cannot watch the live stream; it needs 'viewer'`;
  return { user: { username: user.username, role, via: 'jwt' }, exp: claims.exp };
}

export function attachLiveSocket(server: HttpServer, deps: LiveSocketDeps): LiveSocket {
  const io = new Server(server, {
    path: LIVE_PATH,
    serveClient: false,
    // Clients only listen; a large inbound message is not something a dashboard sends.
    maxHttpBufferSize: 16 * 1024,
    cors: { origin: false },
  });
  const expiries = new Set<NodeJS.Timeout>();

  io.use((socket, next) => {
    authenticateLive((socket.handshake.auth as { token?: unknown } | undefined)?.token, deps).then(
      (r) => {
        if (typeof r === 'string') return next(Object.assign(new Error(r), { data: { code: 'GW_ERR_ADMIN_UNAUTHORIZED' } }));
        socket.data.user = r.user;
        if (r.exp !== undefined) {
          const t = setTimeout(() => socket.disconnect(true), Math.max(0, r.exp * 1000 - Date.now()));
          t.unref();
          expiries.add(t);
          socket.once('disconnect', () => {
            clearTimeout(t);
            expiries.delete(t);
          });
        }
        next();
      },
      (err: unknown) => {
        deps.logger.error({ err }, 'live stream: authentication failed');
        next(new Error('authentication failed'));
      },
    );
  });

  io.on('connection', (socket) => {
    // A dashboard that just opened has something to draw before the next second.
    if (deps.hub.last !== undefined) socket.emit('tick', deps.hub.last);
    let lastHistory = 0;
    socket.on('history', (body: unknown, ack: unknown) => {
      // Called without a callback, `body` may be the callback itself.
      const reply = typeof ack === 'function' ? ack : typeof body === 'function' ? body : undefined;
      if (reply === undefined) return;
      const now = Date.now();
      if (now - lastHistory < HISTORY_MIN_INTERVAL_MS) {
        (reply as (r: LiveHistoryReply) => void)({ error: 'too many history requests; retry in a moment' });
        return;
      }
      lastHistory = now;
      (reply as (r: LiveHistoryReply) => void)({ ticks: deps.hub.history(historySeconds(typeof body === 'function' ? undefined : body), now) });
    });
  });

  const off = deps.hub.subscribe((tick) => {
    if (io.engine.clientsCount > 0) io.volatile.emit('tick', tick);
  });

  return {
    io,
    async close() {
      off();
      for (const t of expiries) clearTimeout(t);
      expiries.clear();
      io.disconnectSockets(true);
      // Not io.close(): that would also close the admin HTTP server, which Nest closes itself.
      io.engine.close();
    },
  };
}
