/**
 * Tests of the limits model: which instance applies to a route or service (override vs global, the
 * inherited global limit, disabled and consumer instances), and the descriptions shown in the tables.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN_ROUTE, CONCURRENCY, CONSUMER, DISABLED_ROUTE, GLOBAL, ORDERS } from './fixtures';
import { describeKey, describeLimit, describeQuota, effectiveFor, explain, instanceBody, scopeLabel, scopeOf, sortInstances } from './model';

const ALL = [CONSUMER, ADMIN_ROUTE, ORDERS, DISABLED_ROUTE, CONCURRENCY, GLOBAL];

describe('effectiveFor', () => {
  it('uses the global limit where there is no enabled override', () => {
    const e = effectiveFor(ALL, { service: 'users', route: 'users-api' });
    expect(e.rate?.instance.id).toBe(GLOBAL.id);
    expect(e.rate?.source).toBe('global');
    expect(e.alsoGlobal).toBeUndefined();
    expect(e.concurrency).toBeUndefined();
    expect(explain(e)).toBe('The global limit applies (no override).');
    // The consumer instance applies to alice on every route.
    expect(e.consumerOverrides.map((p) => p.id)).toEqual([CONSUMER.id]);
  });

  it('lets a service override replace the global limit while still enforcing it', () => {
    const e = effectiveFor(ALL, { service: 'orders', route: 'orders-api' });
    expect(e.rate?.instance.id).toBe(ORDERS.id);
    expect(e.rate?.source).toBe('service');
    expect(e.alsoGlobal?.id).toBe(GLOBAL.id);
    expect(e.concurrency?.instance.id).toBe(CONCURRENCY.id);
    expect(explain(e)).toBe('The service override replaces the global limit here; the global limit (100/min · 1000/h) is still enforced across all services.');
  });

  it('prefers a route override over the service and global ones, without the global when inherit_global is off', () => {
    const withService = [...ALL, { ...ORDERS, id: 'x', service: 'users' }];
    const e = effectiveFor(withService, { service: 'users', route: 'users-admin' });
    expect(e.rate?.instance.id).toBe(ADMIN_ROUTE.id);
    expect(e.rate?.source).toBe('route');
    expect(e.alsoGlobal).toBeUndefined();
    expect(explain(e)).toBe('The route override replaces the global limit here (inherit_global is off).');
  });

  it('for a service ignores route overrides, and finds nothing without any limit', () => {
    expect(effectiveFor(ALL, { service: 'users' }).rate?.source).toBe('global');
    const none = effectiveFor([DISABLED_ROUTE], { service: 'users', route: 'users-api' });
    expect(none.rate).toBeUndefined();
    expect(explain(none)).toBe('No rate limit applies.');
  });
});

describe('descriptions', () => {
  it('describes windows, quotas, keys and scopes', () => {
    expect(describeLimit(GLOBAL)).toBe('100/min · 1000/h');
    expect(describeLimit(CONCURRENCY)).toBe('max 5 in flight');
    expect(describeQuota(ORDERS)).toBe('500/day (UTC)');
    expect(describeQuota(GLOBAL)).toBe('');
    expect(describeKey(ORDERS)).toBe('consumer + route');
    expect(describeKey(ADMIN_ROUTE)).toBe('header x-tenant');
    expect(describeKey({ ...GLOBAL, config: { minute: 1 } })).toBe('consumer');
    expect(scopeLabel(scopeOf(GLOBAL))).toBe('Global');
    expect(scopeLabel(scopeOf(ORDERS))).toBe('Service orders');
    expect(scopeLabel(scopeOf({ ...CONSUMER, route: 'users-api' }))).toBe('Consumer alice (route users-api)');
  });

  it('sorts global, services, routes, consumers', () => {
    expect(sortInstances(ALL).map((p) => scopeLabel(scopeOf(p)) + ' ' + p.name)).toEqual([
      'Global rate-limiting',
      'Service orders concurrency-limit',
      'Service orders rate-limiting',
      'Route users-admin rate-limiting',
      'Route users-api rate-limiting',
      'Consumer alice rate-limiting',
    ]);
  });

  it('builds the instance body of a scope, keeping a consumer instance narrowing', () => {
    expect(instanceBody('rate-limiting', { kind: 'global', name: '' }, true, { minute: 3 })).toEqual({ name: 'rate-limiting', enabled: true, config: { minute: 3 } });
    expect(instanceBody('rate-limiting', { kind: 'route', name: 'r' }, false, {})).toEqual({ name: 'rate-limiting', enabled: false, config: {}, route: 'r' });
    expect(instanceBody('rate-limiting', { kind: 'consumer', name: 'alice' }, true, {}, { ...CONSUMER, service: 'orders', tags: ['t'] })).toEqual({
      name: 'rate-limiting',
      enabled: true,
      config: {},
      consumer: 'alice',
      service: 'orders',
      tags: ['t'],
    });
  });
});
