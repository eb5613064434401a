/**
 * The live stream (server: admin/live/live-socket.ts): one merged tick a second over socket.io at path
 * `/live`, authenticated with the session's token in the handshake.
 *
 * On every (re)connect the hook asks the server for the ticks of its window (the ack-able `history`
 * event), so a chart is full as soon as the page opens and a reconnect fills the gap; it asks again when
 * the window grows. Ticks are kept in one buffer sorted by time without duplicates (the server also sends
 * its last tick on connect, which the history contains too) and trimmed to the window.
 */
import { useEffect, useReducer, useRef } from 'react';
import { io, type Socket } from 'socket.io-client';

export const LIVE_PATH = '/live';
/** The most the server keeps (HISTORY_SECONDS on the server). */
export const MAX_WINDOW_SECONDS = 3600;

/** One row of a tick: requests per second, errors, 429s, share of errors, latency percentiles in ms (null: no requests). */
export interface LiveRate {
  rps: number;
  errors: number;
  /** Responses with status 429 in that second. */
  limited: number;
  error_rate: number;
  p50: number | null;
  p95: number | null;
  p99: number | null;
}

export interface LiveBreakerTick {
  group: string;
  breaker: string;
  /** The worst state among the nodes. */
  state: 'closed' | 'open' | 'half-open';
  nodes: { closed: number; open: number; half_open: number };
}

export interface LiveTick {
  /** Start of the second, epoch milliseconds. */
  at: number;
  /** Nodes whose aggregates were merged. */
  nodes: number;
  total: LiveRate;
  routes: (LiveRate & { route: string })[];
  services: (LiveRate & { service: string })[];
  breakers: LiveBreakerTick[];
}

export type LiveStatus = 'connecting' | 'live' | 'offline';

export interface LiveState {
  ticks: LiveTick[];
  status: LiveStatus;
  /** Why the stream is offline (refused handshake, lost connection). */
  error?: string;
}

export type LiveAction =
  | { type: 'connecting' }
  | { type: 'connected' }
  | { type: 'offline'; error: string }
  | { type: 'tick'; tick: LiveTick; windowSeconds: number }
  | { type: 'history'; ticks: LiveTick[]; windowSeconds: number }
  | { type: 'window'; windowSeconds: number };

export const INITIAL_LIVE_STATE: LiveState = { ticks: [], status: 'connecting' };

/**
 * Merges `incoming` into the sorted buffer (a tick for a second already held replaces it) and drops what
 * is older than the window, measured from the newest tick. Returns `buffer` itself when nothing changed.
 */
export function mergeTicks(buffer: readonly LiveTick[], incoming: readonly LiveTick[], windowSeconds: number): LiveTick[] {
  let out: LiveTick[];
  const last = buffer.at(-1);
  if (incoming.length === 1 && (last === undefined || incoming[0]!.at > last.at)) {
    // The common case, once a second: append.
    out = [...buffer, incoming[0]!];
  } else if (incoming.length === 0) {
    out = buffer.slice();
  } else {
    const byAt = new Map<number, LiveTick>();
    for (const t of buffer) byAt.set(t.at, t);
    for (const t of incoming) if (isTick(t)) byAt.set(t.at, t);
    out = [...byAt.values()].sort((a, b) => a.at - b.at);
  }
  const newest = out.at(-1);
  if (newest === undefined) return buffer.length === 0 ? (buffer as LiveTick[]) : out;
  const from = newest.at - windowSeconds * 1000;
  let cut = 0;
  while (cut < out.length && out[cut]!.at <= from) cut++;
  return cut > 0 ? out.slice(cut) : out;
}

function isTick(t: unknown): t is LiveTick {
  return typeof t === 'object' && t !== null && typeof (t as LiveTick).at === 'number' && typeof (t as LiveTick).total === 'object';
}

export function liveReducer(state: LiveState, action: LiveAction): LiveState {
  switch (action.type) {
    case 'connecting':
      return state.status === 'connecting' && state.error === undefined ? state : { ticks: state.ticks, status: 'connecting' };
    case 'connected':
      return { ticks: state.ticks, status: 'live' };
    case 'offline':
      return { ticks: state.ticks, status: 'offline', error: action.error };
    case 'tick':
      if (!isTick(action.tick)) return state;
      return { ...state, ticks: mergeTicks(state.ticks, [action.tick], action.windowSeconds) };
    case 'history':
      return { ...state, ticks: mergeTicks(state.ticks, action.ticks, action.windowSeconds) };
    case 'window': {
      const ticks = mergeTicks(state.ticks, [], action.windowSeconds);
      return ticks.length === state.ticks.length ? state : { ...state, ticks };
    }
  }
}

export interface UseLiveTicksOptions {
  /** Admin API origin; empty for the page's own origin. */
  baseUrl: string;
  /** The session's bearer token; no connection without one. */
  token: string | undefined;
  /** Seconds of ticks to keep (and to ask the server for), at most MAX_WINDOW_SECONDS. */
  windowSeconds: number;
}

type HistoryReply = { ticks: LiveTick[] } | { error: string };

export function useLiveTicks({ baseUrl, token, windowSeconds }: UseLiveTicksOptions): LiveState {
  const [state, dispatch] = useReducer(liveReducer, INITIAL_LIVE_STATE);
  const windowRef = useRef(windowSeconds);
  const socketRef = useRef<Socket | undefined>(undefined);
  /** The largest window the server was asked for since the last connect. */
  const askedRef = useRef(0);

  useEffect(() => {
    if (!token) {
      dispatch({ type: 'offline', error: 'not signed in' });
      return;
    }
    dispatch({ type: 'connecting' });
    const options = { path: LIVE_PATH, auth: { token }, transports: ['websocket'], reconnectionDelayMax: 5000 };
    const socket = baseUrl ? io(baseUrl, options) : io(options);
    socketRef.current = socket;

    socket.on('connect', () => {
      dispatch({ type: 'connected' });
      askedRef.current = 0;
      askHistory(socket, windowRef, askedRef, dispatch);
    });
    socket.on('tick', (tick: LiveTick) => dispatch({ type: 'tick', tick, windowSeconds: windowRef.current }));
    socket.on('connect_error', (err: Error) => {
      // `active` is false when the server refused the handshake (bad or expired token): no retry will help.
      dispatch({ type: 'offline', error: socket.active ? `cannot reach the live stream (${err.message}); retrying` : err.message });
    });
    socket.on('disconnect', (reason: string) => {
      if (reason === 'io client disconnect') return;
      dispatch({ type: 'offline', error: socket.active ? 'connection lost; reconnecting' : `disconnected by the server (${reason})` });
    });
    socket.io.on('reconnect_attempt', () => dispatch({ type: 'connecting' }));

    return () => {
      socketRef.current = undefined;
      socket.removeAllListeners();
      socket.io.removeAllListeners();
      socket.close();
    };
  }, [baseUrl, token]);

  useEffect(() => {
    windowRef.current = windowSeconds;
    dispatch({ type: 'window', windowSeconds });
    // The buffer was just cut to the new window: growing it again needs the server's history again.
    if (windowSeconds < askedRef.current) askedRef.current = windowSeconds;
    const socket = socketRef.current;
    if (socket?.connected) askHistory(socket, windowRef, askedRef, dispatch);
  }, [windowSeconds]);

  return state;
}

const HISTORY_RETRY_MS = 500;

function askHistory(socket: Socket, windowRef: { current: number }, asked: { current: number }, dispatch: (a: LiveAction) => void, retry = true): void {
  const seconds = Math.min(MAX_WINDOW_SECONDS, Math.max(1, Math.ceil(windowRef.current)));
  // A smaller window is a slice of what is already held.
  if (seconds <= asked.current) return;
  asked.current = seconds;
  socket
    .timeout(10_000)
    .emitWithAck('history', { seconds })
    .then(
      (reply: HistoryReply) => {
        if ('ticks' in reply && Array.isArray(reply.ticks)) {
          dispatch({ type: 'history', ticks: reply.ticks, windowSeconds: windowRef.current });
          return;
        }
        // Refused: asked too often (the server allows one request per HISTORY_MIN_INTERVAL_MS); ask once more shortly.
        asked.current = 0;
        if (retry) setTimeout(() => {
          if (socket.connected) askHistory(socket, windowRef, asked, dispatch, false);
        }, HISTORY_RETRY_MS);
      },
      () => {
        asked.current = 0;
      },
    );
}
