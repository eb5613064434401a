/**
 * `GET /events`: the live event bus as Server-Sent Events. Each event is
 *
 *     id: <n>
 *     event: <kind>              circuit-breaker | target-health | config
 *     data: <the event as JSON>
 *
 * with a `: heartbeat` comment every 15 s so proxies keep the connection open. A client that reads slower
 * than events arrive loses events rather than making this process buffer without bound; it is told how
 * many with an `event: dropped` (`data: {"count":n}`) before the next event it receives.
 *
 * Authentication is the normal bearer header. EventSource cannot set headers, but a token in the query
 * string would land in access logs, proxies and browser history, and the global guard reads headers
 * only: browsers use a fetch-based reader (or, later, the dashboard's socket.io channel) instead.
 */
import { Controller, Get, Res, type OnModuleDestroy } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { GatewayEvent } from '../../observability/events.js';
import { AdminEventBus } from './event-bus.js';

/** Per-connection limits; tests shorten the heartbeat. */
export const SSE_SETTINGS = {
  heartbeatMs: 15_000,
  /** Bytes a connection may have queued (stream plus socket) before further events are dropped for it. */
  maxBufferedBytes: 256 * 1024,
};

@Controller()
export class EventsController implements OnModuleDestroy {
  private readonly open = new Set<ServerResponse>();

  constructor(private readonly bus: AdminEventBus) {}

  @Get('events')
  stream(@Res() reply: FastifyReply): void {
    // The response is ours from here on: Fastify must neither serialize nor end it.
    void reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx would otherwise buffer the stream.
      'x-accel-buffering': 'no',
    });
    res.write('retry: 3000\n: connected\n\n');
    this.open.add(res);

    let seq = 0;
    let dropped = 0;
    const unsubscribe = this.bus.subscribe((event: GatewayEvent) => {
      if (res.writableLength > SSE_SETTINGS.maxBufferedBytes) {
        dropped++;
        this.bus.countDropped();
        return;
      }
      let chunk = '';
      if (dropped > 0) {
        chunk = `event: dropped\ndata: {"count":${dropped}}\n\n`;
        dropped = 0;
      }
      res.write(`${chunk}id: ${++seq}\nevent: ${event.kind}\ndata: ${JSON.stringify(event)}\n\n`);
    });
    const heartbeat = setInterval(() => {
      if (res.writableLength <= SSE_SETTINGS.maxBufferedBytes) res.write(': heartbeat\n\n');
    }, SSE_SETTINGS.heartbeatMs);
    heartbeat.unref();

    const cleanup = () => {
      clearInterval(heartbeat);
      unsubscribe();
      this.open.delete(res);
    };
    res.on('close', cleanup);
    res.on('error', cleanup);
  }

  /** Runs before the HTTP server closes, which would otherwise wait for every stream's client to leave. */
  onModuleDestroy(): void {
    for (const res of this.open) res.end();
    this.open.clear();
  }
}
