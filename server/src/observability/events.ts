/**
 * Live events of the gateway (breaker and target-health transitions from the proxy thread, config
 * versions from the control thread) and the in-process bus the admin plane fans them out on. The SSE
 * endpoint (admin/resilience) subscribes to it, and so can a later socket.io gateway: producers do not
 * know who listens.
 *
 * Events are plain structured-clonable objects because the proxy's cross the worker boundary.
 */
import type { BreakerStateName } from '../resilience/circuit-breaker.js';

export interface CircuitBreakerEvent {
  kind: 'circuit-breaker';
  /** Epoch milliseconds. */
  at: number;
  group: string;
  /** The breaker's identity: its group plus its settings. */
  breaker: string;
  from: BreakerStateName;
  to: BreakerStateName;
}

export interface TargetHealthEvent {
  kind: 'target-health';
  at: number;
  upstream: string;
  /** `host:port` as configured. */
  target: string;
  up: boolean;
  reason: string;
}

export interface ConfigEvent {
  kind: 'config';
  at: number;
  version: number;
  /** Entities the snapshot builder had to disable. */
  errors: number;
}

export type GatewayEvent = CircuitBreakerEvent | TargetHealthEvent | ConfigEvent;
export type GatewayEventKind = GatewayEvent['kind'];

export type EventListener = (event: GatewayEvent) => void;

/** Fan-out of GatewayEvents to any number of subscribers; one failing subscriber does not starve the others. */
export class EventBus {
  private readonly listeners = new Set<EventListener>();
  /** Events published since creation. */
  published = 0;
  /** Events subscribers reported as dropped (e.g. an SSE client too slow to keep up); see `countDropped`. */
  dropped = 0;

  publish(event: GatewayEvent): void {
    this.published++;
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A subscriber's bug must not stop delivery to the others, nor the producer's transition.
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  countDropped(n = 1): void {
    this.dropped += n;
  }

  get subscribers(): number {
    return this.listeners.size;
  }
}
