import { act, renderHook, waitFor } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLivePeer, tickAt, type LivePeer } from '../features/overview/test-support/live-peer';
import { INITIAL_LIVE_STATE, liveReducer, mergeTicks, useLiveTicks, type LiveTick } from './live';

const T0 = 1_750_000_000_000;
const seconds = (from: number, n: number) => Array.from({ length: n }, (_, i) => tickAt(T0 + (from + i) * 1000, { rps: from + i }));
const ats = (ticks: LiveTick[]) => ticks.map((t) => (t.at - T0) / 1000);

describe('mergeTicks', () => {
  it('appends a newer tick and trims to the window measured from the newest', () => {
    const b = seconds(0, 5);
    expect(ats(mergeTicks(b, [tickAt(T0 + 5000)], 10))).toEqual([0, 1, 2, 3, 4, 5]);
    expect(ats(mergeTicks(b, [tickAt(T0 + 5000)], 3))).toEqual([3, 4, 5]);
  });

  it('merges history with what is held: sorted, one tick per second, the incoming one wins', () => {
    const held = seconds(8, 3);
    const history = [...seconds(0, 10)].reverse();
    const merged = mergeTicks(held, history, 60);
    expect(ats(merged)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(merged.find((t) => t.at === T0 + 9000)).toBe(history.find((t) => t.at === T0 + 9000));
    // Garbage from the wire is ignored.
    expect(ats(mergeTicks(held, [{ nope: true } as unknown as LiveTick], 60))).toEqual([8, 9, 10]);
  });
});

describe('liveReducer', () => {
  it('tracks connecting → live → offline and keeps the ticks across reconnects', () => {
    let s = liveReducer(INITIAL_LIVE_STATE, { type: 'connected' });
    expect(s.status).toBe('live');
    s = liveReducer(s, { type: 'tick', tick: tickAt(T0), windowSeconds: 300 });
    s = liveReducer(s, { type: 'offline', error: 'connection lost; reconnecting' });
    expect(s).toMatchObject({ status: 'offline', error: 'connection lost; reconnecting' });
    expect(s.ticks).toHaveLength(1);
    s = liveReducer(s, { type: 'connecting' });
    expect(s).toEqual({ status: 'connecting', ticks: [tickAt(T0)] });
  });

  it('cuts the buffer when the window shrinks', () => {
    let s = liveReducer(INITIAL_LIVE_STATE, { type: 'history', ticks: seconds(0, 100), windowSeconds: 900 });
    expect(s.ticks).toHaveLength(100);
    s = liveReducer(s, { type: 'window', windowSeconds: 10 });
    expect(ats(s.ticks)).toEqual([90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
  });
});

describe('useLiveTicks against a real socket.io server', () => {
  let peer: LivePeer;
  beforeEach(async () => {
    peer = await startLivePeer('good-token');
    peer.history = seconds(0, 120);
  });
  afterEach(async () => {
    await peer.close();
  });

  it('fills the window from the history on connect, then appends each tick', async () => {
    const { result } = renderHook(() => useLiveTicks({ baseUrl: peer.url, token: 'good-token', windowSeconds: 60 }));
    expect(result.current.status).toBe('connecting');
    await waitFor(() => expect(result.current.status).toBe('live'));
    await waitFor(() => expect(result.current.ticks).toHaveLength(60));
    expect(peer.historyRequests).toEqual([{ seconds: 60 }]);
    expect(ats(result.current.ticks)[0]).toBe(60);
    act(() => peer.emitTick(tickAt(T0 + 120_000, { rps: 7 })));
    await waitFor(() => expect(result.current.ticks.at(-1)?.total.rps).toBe(7));
    expect(result.current.ticks).toHaveLength(60);
  });

  it('asks for more history when the window grows, not when it shrinks', async () => {
    const { result, rerender } = renderHook(({ w }) => useLiveTicks({ baseUrl: peer.url, token: 'good-token', windowSeconds: w }), { initialProps: { w: 30 } });
    await waitFor(() => expect(result.current.ticks).toHaveLength(30));
    rerender({ w: 10 });
    expect(result.current.ticks).toHaveLength(10);
    // The server rate-limits history requests; the peer does not, but the hook must not spam it anyway.
    await new Promise((r) => setTimeout(r, 300));
    rerender({ w: 90 });
    await waitFor(() => expect(result.current.ticks).toHaveLength(90));
    expect(peer.historyRequests).toEqual([{ seconds: 30 }, { seconds: 90 }]);
  });

  it('asks once more when the server refuses a history request as too frequent', async () => {
    peer.refuseHistory = 1;
    const { result } = renderHook(() => useLiveTicks({ baseUrl: peer.url, token: 'good-token', windowSeconds: 60 }));
    await waitFor(() => expect(result.current.ticks).toHaveLength(60));
    expect(peer.historyRequests).toEqual([{ seconds: 60 }, { seconds: 60 }]);
  });

  it('goes offline with the server’s reason when the token is refused', async () => {
    const { result } = renderHook(() => useLiveTicks({ baseUrl: peer.url, token: 'stale-token', windowSeconds: 60 }));
    await waitFor(() => expect(result.current.status).toBe('offline'));
    expect(result.current.error).toBe('invalid or expired token');
    expect(peer.connections).toBe(0);
  });

  it('reconnects after the connection drops, and asks for the history again to fill the gap', async () => {
    const { result } = renderHook(() => useLiveTicks({ baseUrl: peer.url, token: 'good-token', windowSeconds: 60 }));
    await waitFor(() => expect(result.current.status).toBe('live'));
    act(() => peer.dropClients());
    await waitFor(() => expect(result.current.status).not.toBe('live'));
    peer.history = seconds(0, 130);
    await waitFor(() => expect(result.current.status).toBe('live'), { timeout: 8000 });
    await waitFor(() => expect(ats(result.current.ticks).at(-1)).toBe(129));
    expect(peer.connections).toBe(2);
    expect(peer.historyRequests).toHaveLength(2);
  });

  it('closes its socket on unmount', async () => {
    const { result, unmount } = renderHook(() => useLiveTicks({ baseUrl: peer.url, token: 'good-token', windowSeconds: 60 }));
    await waitFor(() => expect(result.current.status).toBe('live'));
    expect(peer.connectedClients()).toBe(1);
    unmount();
    await waitFor(() => expect(peer.connectedClients()).toBe(0));
  });

  it('stays offline without a token', () => {
    const { result } = renderHook(() => useLiveTicks({ baseUrl: peer.url, token: undefined, windowSeconds: 60 }));
    expect(result.current).toMatchObject({ status: 'offline', error: 'not signed in' });
  });
});
