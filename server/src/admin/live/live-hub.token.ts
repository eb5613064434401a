/**
 * Nest injection token of the admin thread's LiveHub (observability/live-hub.ts), for controllers that read
 * what it remembers, e.g. the developer portal's per-consumer usage:
 * `constructor(@Inject(LIVE_HUB) private readonly hub: LiveHub) {}` then `hub.consumerUsage(consumer, sinceMs)`.
 */
export const LIVE_HUB = Symbol('LIVE_HUB');
