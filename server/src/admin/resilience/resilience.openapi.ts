/** OpenAPI operations of the resilience endpoints, merged into admin/openapi's OPERATIONS. */
import { Type } from '@sinclair/typebox';
import { ProxyCacheStatsSchema, PurgeResultSchema, ResilienceViewSchema, UpstreamHealthSchema } from './resilience.dto.js';

export const RESILIENCE_OPERATIONS = [
  { method: 'get', path: '/resilience', summary: 'Circuit breakers, target health, proxy-cache, load-shedding and traffic (split, mirror) counters of the data plane', tag: 'resilience', access: 'viewer', status: 200, response: ResilienceViewSchema },
  { method: 'get', path: '/upstreams/{name}/health', summary: "Health of an upstream's targets (HEALTHY, UNHEALTHY or HEALTHCHECKS_OFF), as in Kong", tag: 'upstreams', access: 'viewer', status: 200, response: UpstreamHealthSchema },
  { method: 'get', path: '/proxy-cache', summary: 'Proxy cache statistics', tag: 'resilience', access: 'viewer', status: 200, response: ProxyCacheStatsSchema },
  { method: 'delete', path: '/proxy-cache', summary: 'Purge the whole proxy cache (memory, and Redis when configured)', tag: 'resilience', access: 'operator', status: 200, response: PurgeResultSchema },
  { method: 'delete', path: '/proxy-cache/{key}', summary: 'Purge one cache key (the X-Cache-Key response header; 64 hex digits, else 400) with its variants; 404 when nothing was cached under it', tag: 'resilience', access: 'operator', status: 200, response: PurgeResultSchema },
  {
    method: 'get', path: '/events', summary: 'Live events as Server-Sent Events: circuit-breaker, target-health and config (event name = kind, data = JSON)', tag: 'resilience', access: 'viewer', status: 200,
    produces: { 'text/event-stream': Type.String({ description: 'An SSE stream; `: heartbeat` comments every 15 s.' }) },
  },
  {
    method: 'get', path: '/metrics', summary: 'Prometheus metrics (text format 0.0.4); public when GATEHOUSE_METRICS_PUBLIC=true', tag: 'resilience', access: 'viewer', status: 200,
    produces: { 'text/plain': Type.String({ description: 'Prometheus text exposition format 0.0.4.' }) },
  },
] as const;
