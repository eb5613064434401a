/**
 * The load sampler behind load-shedding. Measuring on the request path would cost more than the refusal
 * it decides, so one sampler per thread measures every ~100 ms (event-loop delay histogram, heap, RSS)
 * and pushes each sample to its watchers, which turn it into a boolean; requests only read that boolean.
 * The timer runs only while some watcher exists and is unref'd, so it never keeps a process alive.
 */
import { monitorEventLoopDelay, type ELDHistogram } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';

export interface LoadSample {
  /** p99 event-loop delay over the last interval, in milliseconds (0 when nothing was recorded). */
  readonly eventLoopDelayMs: number;
  /** Used heap / heap size limit of this thread's isolate. */
  readonly heapUsedRatio: number;
  /** Resident set size of the process (all threads), in MiB. */
  readonly rssMb: number;
}

export interface LoadWatcher {
  onSample(sample: LoadSample): void;
}

export interface LoadMonitorOptions {
  /** Time between samples; also the window the event-loop delay is measured over. */
  intervalMs?: number;
  /** Resolution of the event-loop delay histogram (Node's default of 10 ms is too coarse for short stalls). */
  resolutionMs?: number;
}

const IDLE: LoadSample = { eventLoopDelayMs: 0, heapUsedRatio: 0, rssMb: 0 };

function tick(m: LoadMonitor): void {
  m.sample();
}

export class LoadMonitor {
  private readonly watchers = new Set<LoadWatcher>();
  private histogram: ELDHistogram | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly resolutionMs: number;
  /** The most recent sample (what new watchers start from). */
  last: LoadSample = IDLE;

  constructor(opts: LoadMonitorOptions = {}) {
    this.intervalMs = opts.intervalMs ?? 100;
    this.resolutionMs = opts.resolutionMs ?? 5;
  }

  get running(): boolean {
    return this.timer !== undefined;
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Starts the sampler with the first watcher; the watcher gets the latest sample at once. */
  watch(w: LoadWatcher): void {
    this.watchers.add(w);
    if (this.timer === undefined) this.start();
    w.onSample(this.last);
  }

  /** Stops the sampler when the last watcher leaves. */
  unwatch(w: LoadWatcher): void {
    this.watchers.delete(w);
    if (this.watchers.size === 0) this.stop();
  }

  /**
   * Takes a sample (or uses `values`, which tests pass to drive the watchers deterministically), starts a
   * new event-loop delay window and notifies every watcher.
   */
  sample(values?: LoadSample): LoadSample {
    const s = values ?? this.measure();
    this.last = s;
    for (const w of this.watchers) w.onSample(s);
    return s;
  }

  private measure(): LoadSample {
    let delay = 0;
    const h = this.histogram;
    if (h !== undefined) {
      // An empty window reports percentile 0; a loop stalled for the whole window still records the stall
      // once it runs again, which is when this timer fires.
      delay = h.percentile(99) / 1e6;
      h.reset();
    }
    const heap = getHeapStatistics();
    return { eventLoopDelayMs: delay, heapUsedRatio: heap.used_heap_size / heap.heap_size_limit, rssMb: process.memoryUsage.rss() / 1_048_576 };
  }

  private start(): void {
    this.histogram = monitorEventLoopDelay({ resolution: this.resolutionMs });
    this.histogram.enable();
    this.timer = setInterval(tick, this.intervalMs, this);
    this.timer.unref();
  }

  private stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.histogram?.disable();
    this.histogram = undefined;
    this.last = IDLE;
  }
}

let current = new LoadMonitor();

/** The sampler new load-shedding instances watch. */
export function loadMonitor(): LoadMonitor {
  return current;
}

/** Replaces the sampler new instances watch (tests inject one they drive by hand); returns the previous one. */
export function setLoadMonitor(m: LoadMonitor): LoadMonitor {
  const prev = current;
  current = m;
  return prev;
}
