/**
 * A retry budget per service and node, as Linkerd defines it: over a sliding 10 s window, retries may be
 * at most `ratio` of the requests plus `minPerSecond` per second. Without it, a service that fails makes
 * every client request into 1 + retries upstream requests exactly when the upstream can least take them.
 */
const WINDOW_SECONDS = 10;

export class RetryBudget {
  private readonly requests = new Uint32Array(WINDOW_SECONDS);
  private readonly retries = new Uint32Array(WINDOW_SECONDS);
  /** The second the newest bucket counts. */
  private second = 0;
  private requestTotal = 0;
  private retryTotal = 0;

  constructor(
    readonly ratio: number,
    readonly minPerSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  /** Counts a client request (its first attempt). */
  recordRequest(): void {
    const i = this.advance();
    this.requests[i]!++;
    this.requestTotal++;
  }

  /** Takes one retry from the budget; false when the budget is spent (the caller answers the failure). */
  tryRetry(): boolean {
    const i = this.advance();
    if (this.retryTotal + 1 > this.requestTotal * this.ratio + this.minPerSecond * WINDOW_SECONDS) {
      this.exhausted++;
      return false;
    }
    this.retries[i]!++;
    this.retryTotal++;
    return true;
  }

  /** Retries refused so far (for metrics and tests). */
  exhausted = 0;

  private advance(): number {
    const sec = Math.floor(this.now() / 1000);
    if (sec !== this.second) {
      // Clear the buckets of the seconds that passed (all of them after a pause of a window or more).
      const steps = Math.min(sec - this.second, WINDOW_SECONDS);
      for (let k = 1; k <= steps; k++) {
        const j = (this.second + k) % WINDOW_SECONDS;
        this.requestTotal -= this.requests[j]!;
        this.retryTotal -= this.retries[j]!;
        this.requests[j] = 0;
        this.retries[j] = 0;
      }
      this.second = sec;
    }
    return sec % WINDOW_SECONDS;
  }
}
