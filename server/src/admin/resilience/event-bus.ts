/**
 * The admin plane's live event bus: fed by the runtime (the data plane's transitions and config versions)
 * for as long as the admin app runs. The SSE endpoint subscribes to it; a socket.io gateway can inject it
 * the same way.
 */
import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import { EventBus } from '../../observability/events.js';
import type { GatewayRuntime } from '../../runtime/gateway-runtime.js';
import { ADMIN_RUNTIME } from '../admin-env.js';

@Injectable()
export class AdminEventBus extends EventBus implements OnModuleDestroy {
  private readonly unsubscribe: () => void;

  constructor(@Inject(ADMIN_RUNTIME) runtime: GatewayRuntime) {
    super();
    this.unsubscribe = runtime.onEvent((e) => this.publish(e));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }
}
