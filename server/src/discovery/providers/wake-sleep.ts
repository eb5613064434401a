/**
 * What the polling and watching providers share: a sleep between attempts that `stop()` can cut short (a
 * stopped watch must not linger for a 30 s backoff), and the short reason a network error is shown with.
 */
export class WakeableSleep {
  private pending: { timer: NodeJS.Timeout; resolve: () => void } | undefined;

  /** Resolves after `ms`, or at once when woken; never keeps the process alive. */
  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        resolve();
      }, ms);
      timer.unref();
      this.pending = { timer, resolve };
    });
  }

  /** Ends the current sleep now (used on stop). */
  wake(): void {
    if (this.pending) {
      clearTimeout(this.pending.timer);
      this.pending.resolve();
      this.pending = undefined;
    }
  }
}

/** `ECONNREFUSED`, `ENOENT`… when the error has a code (also undici's `cause`), else its message. */
export function describeNetworkError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException };
  return e.cause?.code ?? e.code ?? e.message;
}
