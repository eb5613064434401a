/**
 * An admin API resource read again every `ms` (target health, recent errors). Unlike useResource, a
 * refresh keeps the last answer on screen until the new one arrives, so the section does not flash its
 * loading state every few seconds; a failed refresh shows the error (with Retry) and polling goes on.
 */
import { useCallback, useEffect, useState } from 'react';
import { asApiError } from '../../lib/api-client';
import type { ResourceState } from '../../lib/use-resource';

export function usePolled<T>(load: (signal: AbortSignal) => Promise<T>, ms: number): ResourceState<T> & { reload: () => void } {
  const [state, setState] = useState<ResourceState<T>>({ status: 'loading' });
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const controller = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const run = () => {
      // A hidden tab skips the read but keeps the schedule.
      const read = typeof document !== 'undefined' && document.visibilityState === 'hidden' ? Promise.resolve(undefined) : load(controller.signal).then((data) => ({ data }));
      read
        .then(
          (r) => {
            if (r && !controller.signal.aborted) setState({ status: 'ready', data: r.data });
          },
          (e: unknown) => {
            if (controller.signal.aborted) return;
            setState({ status: 'error', error: asApiError(e) });
          },
        )
        .finally(() => {
          if (!controller.signal.aborted) timer = setTimeout(run, ms);
        });
    };
    run();
    return () => {
      controller.abort();
      clearTimeout(timer);
    };
  }, [load, ms, attempt]);

  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  return { ...state, reload };
}
