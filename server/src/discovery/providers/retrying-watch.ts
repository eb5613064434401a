/**
 * The skeleton the HTTP-based providers (etcd, Consul, Docker) share: one loop per watch that runs until
 * `stop()`, failed attempts counted, reported through the sink with the next retry time and waited out
 * with a backoff that `stop()` cuts short, and one keep-alive agent closed on stop. Each provider writes
 * only its loop: what one attempt is, and what a failure resets (an endpoint, an index, an API version).
 */
import type { Agent } from 'undici';
import { retryDelay } from '../registry.js';
import type { DiscoverySink, DiscoveryWatch } from '../types.js';
import { describeNetworkError, WakeableSleep } from './wake-sleep.js';

const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;

export abstract class RetryingWatch implements DiscoveryWatch {
  protected readonly abort = new AbortController();
  /** Failed attempts in a row; a provider resets it when an answer arrives. */
  protected failures = 0;
  protected abstract readonly agent: Agent;
  private readonly sleeper = new WakeableSleep();
  private running: Promise<void> | undefined;

  constructor(protected readonly sink: DiscoverySink) {}

  /** Called last in the subclass's constructor, once its fields are set. */
  protected start(): void {
    this.running = this.loop();
  }

  protected abstract loop(): Promise<void>;

  protected get stopped(): boolean {
    return this.abort.signal.aborted;
  }

  protected sleep(ms: number): Promise<void> {
    return this.sleeper.sleep(ms);
  }

  /** A failed attempt: counted, reported as `<where>: <reason>` with the retry time, then waited out. */
  protected async retryAfter(err: unknown, where: string): Promise<void> {
    this.failures++;
    const delay = retryDelay(this.failures, RETRY_MIN_MS, RETRY_MAX_MS);
    this.sink.fail(new Error(`${where}: ${describeNetworkError(err)}`), { retryInMs: delay });
    await this.sleep(delay);
  }

  async stop(): Promise<void> {
    this.abort.abort();
    this.sleeper.wake();
    await this.running?.catch(() => undefined);
    await this.agent.close().catch(() => undefined);
  }
}
