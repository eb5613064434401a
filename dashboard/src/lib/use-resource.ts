/**
 * Loads one admin API resource for a component: loading / ready / error, cancelled on unmount, and a
 * `reload` for retry and refresh buttons.
 */
import { useCallback, useEffect, useState } from 'react';
import { asApiError, type ApiError } from './api-client';

export type ResourceState<T> = { status: 'loading' } | { status: 'ready'; data: T } | { status: 'error'; error: ApiError };

interface Settled<T> {
  load: (signal: AbortSignal) => Promise<T>;
  attempt: number;
  state: ResourceState<T>;
}

/** `load` must be stable (wrap it in useCallback); a new function starts a new load. */
export function useResource<T>(load: (signal: AbortSignal) => Promise<T>): ResourceState<T> & { reload: () => void } {
  const [attempt, setAttempt] = useState(0);
  const [settled, setSettled] = useState<Settled<T> | undefined>();

  useEffect(() => {
    const controller = new AbortController();
    load(controller.signal).then(
      (data) => {
        if (!controller.signal.aborted) setSettled({ load, attempt, state: { status: 'ready', data } });
      },
      (e: unknown) => {
        if (controller.signal.aborted) return;
        setSettled({ load, attempt, state: { status: 'error', error: asApiError(e) } });
      },
    );
    return () => controller.abort();
  }, [load, attempt]);

  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  // A result belongs to one (load, attempt) pair; anything older means a newer load is in flight.
  const state: ResourceState<T> = settled && settled.load === load && settled.attempt === attempt ? settled.state : { status: 'loading' };
  return { ...state, reload };
}
